package commands

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"time"

	"crm/aggregates"
)

// TypeWebForm is the entity type of web-to-lead forms.
const TypeWebForm = "webform"

// ClaimWebFormToken maps a form's public token to the form.
const ClaimWebFormToken = "webform_token"

// CreateWebForm creates a web-to-lead form with a fresh public token;
// Result.Extra["token"] is the token.
type CreateWebForm struct {
	Envelope
	aggregates.CreateWebForm
}

// newFormToken returns 24 random bytes, base64url-encoded (32
// characters).
func newFormToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// CreateWebForm handles CreateWebForm. A campaign the form names must
// exist (Invalid naming campaign_id).
func (h *Handler) CreateWebForm(ctx context.Context, c *CreateWebForm) error {
	if err := h.mustExist(ctx, "campaign_id", TypeCampaign, c.CampaignID); err != nil {
		return err
	}
	id := h.newID()
	c.Token = newFormToken()
	stream := streamOf(TypeWebForm, id)
	return h.run(ctx, &c.Envelope, id, stream, func(u *unit) error {
		f := aggregates.NewWebForm(id)
		if err := u.loadNew(stream, f); err != nil {
			return err
		}
		evs, err := f.Create(c.CreateWebForm, u.now)
		if err != nil {
			return err
		}
		u.emit(stream, evs)
		u.batch.Claims = append(u.batch.Claims, Claim{Kind: ClaimWebFormToken, Key: c.Token, OwnerType: TypeWebForm, OwnerID: id})
		u.created = true
		u.extra["token"] = c.Token
		return nil
	})
}

// WebForm returns a form's current state by id.
func (h *Handler) WebForm(ctx context.Context, id string, asOf time.Time) (aggregates.WebFormView, int64, error) {
	f := aggregates.NewWebForm(id)
	v, err := h.fold(ctx, TypeWebForm, id, asOf, f)
	return f.View(), v, err
}

// WebFormByToken returns the form a public token opens, or a NotFound
// error.
func (h *Handler) WebFormByToken(ctx context.Context, token string) (aggregates.WebFormView, error) {
	_, id, ok, err := h.repo.ClaimOwner(ctx, ClaimWebFormToken, token)
	if err != nil {
		return aggregates.WebFormView{}, err
	}
	if !ok {
		return aggregates.WebFormView{}, notFound("web form", "with that token")
	}
	v, _, err := h.WebForm(ctx, id, time.Time{})
	return v, err
}

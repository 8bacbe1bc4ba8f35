package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"crm/aggregates"
)

// SubmitWebForm takes one submission of a public web form. A new email
// captures a lead (source web_form, the form's campaign); an email an open
// lead holds becomes a contact attempt on that lead instead of a second
// lead; an email a contact holds becomes an activity on the contact's
// account. Result.Extra["outcome"] is "captured", "contact_attempt" or
// "account_activity".
type SubmitWebForm struct {
	Envelope
	FormID string
	aggregates.Submission
}

// Outcomes of a web form submission.
const (
	SubmissionCaptured        = "captured"
	SubmissionContactAttempt  = "contact_attempt"
	SubmissionAccountActivity = "account_activity"
)

// SubmitWebForm handles SubmitWebForm. Two submissions racing with one new
// email make one lead and one contact attempt.
func (h *Handler) SubmitWebForm(ctx context.Context, c *SubmitWebForm) error {
	err := h.submitWebForm(ctx, c)
	var taken *ClaimTakenError
	if errors.As(err, &taken) && taken.Claim.Kind == ClaimEmail {
		err = h.submitWebForm(ctx, c)
	}
	return err
}

func (h *Handler) submitWebForm(ctx context.Context, c *SubmitWebForm) error {
	f := aggregates.NewWebForm(c.FormID)
	if _, err := h.fold(ctx, TypeWebForm, c.FormID, time.Time{}, f); err != nil {
		return err
	}
	capture, err := f.CaptureFrom(c.Submission)
	if err != nil {
		return err
	}
	// Validate the whole capture first, so a bad submission is refused
	// the same way whether or not its email is known.
	if _, err := aggregates.NewLead("check").Capture(capture, h.now()); err != nil {
		return err
	}
	email, _ := aggregates.NormalizeEmail("email", capture.Email)
	note := "Web form " + f.View().Name + " submitted"
	if c.Message != "" {
		note += ": " + c.Message
	}
	ownerType, ownerID, held, err := h.repo.ClaimOwner(ctx, ClaimEmail, email)
	if err != nil {
		return err
	}
	switch {
	case held && ownerType == TypeLead:
		lc := LogContactAttempt{Envelope: c.Envelope, LeadID: ownerID, Channel: "web", Outcome: "reached", Note: note}
		err := h.LogContactAttempt(ctx, &lc)
		c.Result = lc.Result
		c.Result.Created = false
		setExtra(&c.Result, "outcome", SubmissionContactAttempt)
		return err
	case held && ownerType == "contact":
		_, accountID, ok, err := h.repo.ClaimOwner(ctx, ClaimContact, ownerID)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("submit web form: contact %s has no account", ownerID)
		}
		la := LogActivity{Envelope: c.Envelope, EntityType: TypeAccount, EntityID: accountID,
			LogActivity: aggregates.LogActivity{Kind: "note", Subject: "Web form submission", Body: note}}
		err = h.LogActivity(ctx, &la)
		c.Result = la.Result
		c.Result.Created = false
		setExtra(&c.Result, "outcome", SubmissionAccountActivity)
		return err
	}
	cl := CaptureLead{Envelope: c.Envelope, CaptureLead: capture}
	err = h.CaptureLead(ctx, &cl)
	c.Result = cl.Result
	setExtra(&c.Result, "outcome", SubmissionCaptured)
	return err
}

// setExtra sets one extra value of a result.
func setExtra(r *Result, k, v string) {
	if r.Extra == nil {
		r.Extra = map[string]string{}
	}
	r.Extra[k] = v
}

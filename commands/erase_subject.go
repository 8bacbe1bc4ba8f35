package commands

import (
	"context"

	"crm/aggregates"
)

// TypeSubject is the entity type of a data subject's stream
// ("subject-<id>"), which holds its erasure.
const TypeSubject = "subject"

// noPersonalData is the error for an email no personal data is held
// under (never seen, or erased already).
func noPersonalData() error {
	return &aggregates.Error{Kind: aggregates.NotFound, Code: "not_found", Message: "no personal data held for that email"}
}

// EraseSubject crypto-shreds a person's personal data: the leads and
// contacts with that email.
type EraseSubject struct {
	Envelope
	Email string
	// SubjectID and Erased are set on success.
	SubjectID string
	Erased    []aggregates.ErasedEntity
}

// EraseSubject handles EraseSubject: it appends the erasure event to the
// subject's stream, deletes the subject's key and frees the email's
// reservations, in one transaction. An email with no personal data held
// (never seen, or erased already) is NotFound.
func (h *Handler) EraseSubject(ctx context.Context, c *EraseSubject) error {
	email, err := aggregates.NormalizeEmail("email", c.Email)
	if err != nil {
		return err
	}
	s, ok, err := h.repo.Subject(ctx, email)
	if err != nil {
		return err
	}
	if !ok {
		return noPersonalData()
	}
	stream := streamOf(TypeSubject, s.ID)
	return h.run(ctx, &c.Envelope, s.ID, stream, func(u *unit) error {
		// Read again on every attempt: a retry after a conflict (a
		// conversion added a contact meanwhile) names every entity.
		again, ok, err := h.repo.Subject(ctx, email)
		if err != nil {
			return err
		}
		if !ok || again.ID != s.ID {
			return noPersonalData()
		}
		s := again
		subject := aggregates.NewSubject(s.ID)
		if _, err := u.load(stream, subject); err != nil {
			return err
		}
		evs, err := subject.Erase(s.Entities, u.now)
		if err != nil {
			return err
		}
		u.emit(stream, evs)
		u.batch.Erase = append(u.batch.Erase, s)
		for _, e := range s.Entities {
			u.batch.Releases = append(u.batch.Releases, Claim{Kind: ClaimEmail, Key: email, OwnerType: e.EntityType, OwnerID: e.EntityID})
		}
		u.erased = evs[0].(aggregates.SubjectErasedEvent).Entities
		c.SubjectID, c.Erased = s.ID, u.erased
		return nil
	})
}

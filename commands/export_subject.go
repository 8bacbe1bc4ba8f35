package commands

import (
	"context"
	"time"

	"crm/aggregates"
)

// SubjectExport is everything held about a person, decrypted.
type SubjectExport struct {
	SubjectID string
	// Email is the subject's email, normalised.
	Email    string
	Leads    []LeadExport
	Contacts []aggregates.ContactView
}

// LeadExport is a lead of a subject: its state and every event.
type LeadExport struct {
	Lead    aggregates.LeadView
	Version int64
	History []Recorded
}

// ExportSubject returns everything held about the person with that email
// while their key exists; NotFound when nothing is held (never seen, or
// erased).
func (h *Handler) ExportSubject(ctx context.Context, email string) (SubjectExport, error) {
	email, err := aggregates.NormalizeEmail("email", email)
	if err != nil {
		return SubjectExport{}, err
	}
	s, ok, err := h.repo.Subject(ctx, email)
	if err != nil {
		return SubjectExport{}, err
	}
	if !ok {
		return SubjectExport{}, noPersonalData()
	}
	out := SubjectExport{SubjectID: s.ID, Email: email, Leads: []LeadExport{}, Contacts: []aggregates.ContactView{}}
	for _, e := range s.Entities {
		switch e.EntityType {
		case TypeLead:
			view, version, err := h.Lead(ctx, e.EntityID, time.Time{})
			if err != nil {
				return SubjectExport{}, err
			}
			history, err := h.History(ctx, TypeLead, e.EntityID)
			if err != nil {
				return SubjectExport{}, err
			}
			out.Leads = append(out.Leads, LeadExport{Lead: view, Version: version, History: history})
		case "contact":
			view, _, err := h.Contact(ctx, e.EntityID, time.Time{})
			if err != nil {
				return SubjectExport{}, err
			}
			out.Contacts = append(out.Contacts, view)
		}
	}
	return out, nil
}

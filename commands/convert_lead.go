package commands

import (
	"context"
	"fmt"

	"crm/aggregates"
)

// ConvertLead turns a qualified lead into an account (new, or AccountID),
// a contact and optionally an opportunity, atomically.
type ConvertLead struct {
	Envelope
	LeadID    string
	AccountID string
	// Opportunity, when set, is opened on the account.
	Opportunity *ConvertOpportunity
}

// ConvertOpportunity is the opportunity a conversion opens.
type ConvertOpportunity struct {
	Name, Amount, Currency, ExpectedCloseDate string
}

// Result.Extra keys of a conversion.
const (
	ExtraAccountID     = "account_id"
	ExtraContactID     = "contact_id"
	ExtraOpportunityID = "opportunity_id"
)

// ConvertLead handles ConvertLead: one atomic append to the lead's, the
// account's and the opportunity's streams; the lead's email moves to the
// new contact. A retry after a crash finds the lead converted and refuses
// (lead_already_converted), so nothing is ever created twice.
func (h *Handler) ConvertLead(ctx context.Context, c *ConvertLead) error {
	contactID := h.newID()
	newAccountID := h.newID()
	oppID := ""
	if c.Opportunity != nil {
		oppID = h.newID()
	}
	leadStream := streamOf(TypeLead, c.LeadID)
	return h.run(ctx, &c.Envelope, c.LeadID, leadStream, func(u *unit) error {
		l := aggregates.NewLead(c.LeadID)
		if _, err := u.load(leadStream, l); err != nil {
			return err
		}
		accountID, isNew := c.AccountID, c.AccountID == ""
		if isNew {
			accountID = newAccountID
		}
		leadEvents, err := l.Convert(accountID, isNew, contactID, oppID, u.now)
		if err != nil {
			return err
		}
		captured := l.Captured()
		acc := aggregates.NewAccount(accountID)
		accStream := streamOf(TypeAccount, accountID)
		load := u.loadNew
		if !isNew {
			load = func(stream string, agg applier) error { _, err := u.load(stream, agg); return err }
		}
		if err := load(accStream, acc); err != nil {
			return err
		}
		var accEvents []aggregates.Event
		if isNew {
			accEvents, err = acc.Open(aggregates.OpenAccount{Name: captured.Company, Industry: captured.Industry,
				Size: captured.CompanySize, Region: captured.Region, OwnerID: l.Owner()}, u.now)
			if err != nil {
				return fmt.Errorf("open account from lead: %w", err)
			}
			for _, e := range accEvents {
				acc.Apply(e)
			}
		} else if !acc.Exists() {
			return &aggregates.Error{Kind: aggregates.Invalid, Code: "invalid", Field: "account_id", Message: "no account " + accountID}
		}
		person := l.Person()
		added, err := acc.AddContact(aggregates.AddContact{ContactID: contactID, Name: person.Name, Email: person.Email, Phone: person.Phone}, u.now)
		if err != nil {
			return err
		}
		u.subjects[leadStream] = person.Email
		u.emit(leadStream, leadEvents)
		u.emit(accStream, append(accEvents, added...))
		if c.Opportunity != nil {
			o := aggregates.NewOpportunity(oppID)
			oppStream := streamOf(TypeOpportunity, oppID)
			if err := u.loadNew(oppStream, o); err != nil {
				return err
			}
			opened, err := o.Open(aggregates.OpenOpportunity{AccountID: accountID, LeadID: c.LeadID, Name: c.Opportunity.Name,
				Amount: c.Opportunity.Amount, Currency: c.Opportunity.Currency, ExpectedCloseDate: c.Opportunity.ExpectedCloseDate,
				OwnerID: l.Owner()}, u.now)
			if err != nil {
				return prefixField("opportunity.", err)
			}
			u.emit(oppStream, opened)
		}
		u.batch.Releases = append(u.batch.Releases, Claim{Kind: ClaimEmail, Key: person.Email, OwnerType: TypeLead, OwnerID: c.LeadID})
		u.batch.Claims = append(u.batch.Claims,
			Claim{Kind: ClaimEmail, Key: person.Email, OwnerType: "contact", OwnerID: contactID},
			Claim{Kind: ClaimContact, Key: contactID, OwnerType: TypeAccount, OwnerID: accountID})
		u.extra[ExtraAccountID], u.extra[ExtraContactID], u.extra[ExtraOpportunityID] = accountID, contactID, oppID
		return nil
	})
}

// prefixField qualifies an Invalid error's field with a nested object's
// name.
func prefixField(prefix string, err error) error {
	if de, ok := err.(*aggregates.Error); ok && de.Kind == aggregates.Invalid && de.Field != "" {
		cp := *de
		cp.Field = prefix + de.Field
		return &cp
	}
	return err
}

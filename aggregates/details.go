package aggregates

// Changing a record's details after it was created: a lead's, a
// contact's, an opportunity's and a ticket's. Each change is one event
// that carries only the fields whose value really changes, each with its
// value before and after (FieldChange); a change that changes nothing
// returns no events. The command's values are checked before the record's
// state, and every invalid field is reported at once (see Errors).

// LeadDetailsChangedEvent records changes to a lead's details. Email is
// the lead's email after the change (normalised), so the event names the
// person whose key protects its personal values (name, email, phone).
type LeadDetailsChangedEvent struct {
	LeadID  string        `json:"lead_id"`
	Email   string        `json:"email"`
	Changes []FieldChange `json:"changes"`
}

// ContactDetailsChangedEvent records changes to a contact's details, on
// its account's stream. Email is the contact's email after the change.
type ContactDetailsChangedEvent struct {
	AccountID string        `json:"account_id"`
	ContactID string        `json:"contact_id"`
	Email     string        `json:"email"`
	Changes   []FieldChange `json:"changes"`
}

// OpportunityDetailsChangedEvent records changes to an opportunity's name
// or owner.
type OpportunityDetailsChangedEvent struct {
	OpportunityID string        `json:"opportunity_id"`
	Changes       []FieldChange `json:"changes"`
}

// TicketDetailsChangedEvent records changes to a ticket's subject,
// description or channel.
type TicketDetailsChangedEvent struct {
	TicketID string        `json:"ticket_id"`
	Changes  []FieldChange `json:"changes"`
}

// TypeName implements Event.
func (LeadDetailsChangedEvent) TypeName() string { return "lead.details_changed" }

// SchemaVersion implements Event.
func (LeadDetailsChangedEvent) SchemaVersion() int { return 1 }

// TypeName implements Event.
func (ContactDetailsChangedEvent) TypeName() string { return "account.contact_details_changed" }

// SchemaVersion implements Event.
func (ContactDetailsChangedEvent) SchemaVersion() int { return 1 }

// TypeName implements Event.
func (OpportunityDetailsChangedEvent) TypeName() string { return "opportunity.details_changed" }

// SchemaVersion implements Event.
func (OpportunityDetailsChangedEvent) SchemaVersion() int { return 1 }

// TypeName implements Event.
func (TicketDetailsChangedEvent) TypeName() string { return "ticket.details_changed" }

// SchemaVersion implements Event.
func (TicketDetailsChangedEvent) SchemaVersion() int { return 1 }

// DetailsEvents lists a sample of every details-changed event type, for
// codec registration.
func DetailsEvents() []Event {
	return []Event{LeadDetailsChangedEvent{}, ContactDetailsChangedEvent{}, OpportunityDetailsChangedEvent{}, TicketDetailsChangedEvent{}}
}

// ChangeLeadDetails is the command that changes a lead's details. A nil
// field stays as it is; a non-nil one is the new value (an empty string
// clears an optional field).
type ChangeLeadDetails struct {
	Name, Company, Email, Phone, Source, Campaign, Region, Industry, CompanySize *string
}

// ChangeContactDetails is the command that changes a contact's details.
type ChangeContactDetails struct {
	Name, Email, Phone, Title, Role *string
}

// ChangeOpportunityDetails is the command that changes an opportunity's
// name or owner.
type ChangeOpportunityDetails struct {
	Name, OwnerID *string
}

// ChangeTicketDetails is the command that changes a ticket's subject,
// description or channel.
type ChangeTicketDetails struct {
	Subject, Description, Channel *string
}

// detailField is one field of a details change: its name, the new value
// (nil: unchanged), the current value and its rule.
type detailField struct {
	name    string
	to      *string
	from    string
	require bool // may not become empty
	long    bool // long free text
	email   bool // an email address, normalised
	enum    []string
}

// diffDetails checks every given field (all invalid ones reported
// together) and returns the changes of those whose value really changes.
func diffDetails(fields []detailField) ([]FieldChange, error) {
	var errs Errors
	var changes []FieldChange
	for _, f := range fields {
		if f.to == nil {
			continue
		}
		to := *f.to
		var err error
		switch {
		case f.email:
			to, err = NormalizeEmail(f.name, to)
		case f.enum != nil:
			err = oneOf(f.name, to, f.enum...)
		case f.require && f.long:
			err = requiredLong(f.name, to)
		case f.require:
			err = required(f.name, to)
		case f.long:
			err = optional(f.name, to, maxLongText)
		default:
			err = optional(f.name, to, maxShortText)
		}
		if err != nil {
			errs = append(errs, err.(*Error))
			continue
		}
		if to != f.from {
			changes = append(changes, FieldChange{Field: f.name, From: f.from, To: to})
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return changes, nil
}

// ChangeDetails changes the lead's details: name, company and source may
// not become empty, email must be valid (and is normalised), the others
// are optional text of at most 200 bytes. Errors: Invalid (every field);
// NotFound; Refused lead_already_converted or lead_disqualified.
func (l *Lead) ChangeDetails(c ChangeLeadDetails) ([]Event, error) {
	was := l.captured
	changes, err := diffDetails([]detailField{
		{name: "name", to: c.Name, from: l.person.Name, require: true},
		{name: "company", to: c.Company, from: l.company, require: true},
		{name: "email", to: c.Email, from: l.person.Email, email: true},
		{name: "phone", to: c.Phone, from: l.person.Phone},
		{name: "source", to: c.Source, from: was.Source, require: true},
		{name: "campaign", to: c.Campaign, from: was.Campaign},
		{name: "region", to: c.Region, from: was.Region},
		{name: "industry", to: c.Industry, from: was.Industry},
		{name: "company_size", to: c.CompanySize, from: was.CompanySize},
	})
	if err != nil {
		return nil, err
	}
	if err := l.open(); err != nil {
		return nil, err
	}
	if l.person.Email == ErasedValue {
		return nil, refused("personal_data_erased", "lead %s: its person's data was erased", l.id)
	}
	if len(changes) == 0 {
		return nil, nil
	}
	email := l.person.Email
	for _, ch := range changes {
		if ch.Field == "email" {
			email = ch.To
		}
	}
	return []Event{LeadDetailsChangedEvent{LeadID: l.id, Email: email, Changes: changes}}, nil
}

func (l *Lead) applyDetails(e LeadDetailsChangedEvent) {
	for _, ch := range e.Changes {
		switch ch.Field {
		case "name":
			l.person.Name = ch.To
		case "company":
			l.company, l.captured.Company = ch.To, ch.To
		case "email":
			l.person.Email = ch.To
		case "phone":
			l.person.Phone = ch.To
		case "source":
			l.captured.Source = ch.To
		case "campaign":
			l.captured.Campaign = ch.To
		case "region":
			l.captured.Region = ch.To
		case "industry":
			l.captured.Industry = ch.To
		case "company_size":
			l.captured.CompanySize = ch.To
		}
	}
	l.captured.Name, l.captured.Email, l.captured.Phone = l.person.Name, l.person.Email, l.person.Phone
}

// ChangeContactDetails changes a contact's details: the name may not
// become empty, the email must be valid (normalised) and not another
// contact's of the account; phone, title and role are optional text.
// Errors: Invalid (every field); NotFound for an unknown account or
// contact; Refused duplicate_email (ConflictID the other contact) or
// personal_data_erased.
func (a *Account) ChangeContactDetails(contactID string, c ChangeContactDetails) ([]Event, error) {
	var cur ContactView
	i, known := a.byID[contactID]
	if known {
		cur = a.contacts[i]
	}
	changes, err := diffDetails([]detailField{
		{name: "name", to: c.Name, from: cur.Name, require: true},
		{name: "email", to: c.Email, from: cur.Email, email: true},
		{name: "phone", to: c.Phone, from: cur.Phone},
		{name: "title", to: c.Title, from: cur.Title},
		{name: "role", to: c.Role, from: cur.Role},
	})
	if err != nil {
		return nil, err
	}
	if !a.exists {
		return nil, a.notFound()
	}
	if !known {
		return nil, &Error{Kind: NotFound, Code: "not_found", Message: "contact " + contactID + " not found"}
	}
	if cur.Email == ErasedValue {
		return nil, refused("personal_data_erased", "contact %s: its person's data was erased", contactID)
	}
	if len(changes) == 0 {
		return nil, nil
	}
	email := cur.Email
	for _, ch := range changes {
		if ch.Field == "email" {
			email = ch.To
			if other, ok := a.byEmail[email]; ok && other != contactID {
				e := refused("duplicate_email", "contact %s of account %s already has email %s", other, a.id, email)
				e.ConflictID = other
				return nil, e
			}
		}
	}
	return []Event{ContactDetailsChangedEvent{AccountID: a.id, ContactID: contactID, Email: email, Changes: changes}}, nil
}

func (a *Account) applyContactDetails(e ContactDetailsChangedEvent) {
	i, ok := a.byID[e.ContactID]
	if !ok {
		return
	}
	c := &a.contacts[i]
	for _, ch := range e.Changes {
		switch ch.Field {
		case "name":
			c.Name = ch.To
		case "email":
			delete(a.byEmail, c.Email)
			c.Email = ch.To
			a.byEmail[c.Email] = c.ID
		case "phone":
			c.Phone = ch.To
		case "title":
			c.Title = ch.To
		case "role":
			c.Role = ch.To
		}
	}
}

// ChangeDetails changes the opportunity's name (required) or owner
// (optional). Errors: Invalid (every field); NotFound; Refused
// opportunity_closed.
func (o *Opportunity) ChangeDetails(c ChangeOpportunityDetails) ([]Event, error) {
	changes, err := diffDetails([]detailField{
		{name: "name", to: c.Name, from: o.name, require: true},
		{name: "owner_id", to: c.OwnerID, from: o.opened.OwnerID},
	})
	if err != nil {
		return nil, err
	}
	if err := o.open(); err != nil {
		return nil, err
	}
	if len(changes) == 0 {
		return nil, nil
	}
	return []Event{OpportunityDetailsChangedEvent{OpportunityID: o.id, Changes: changes}}, nil
}

func (o *Opportunity) applyDetails(e OpportunityDetailsChangedEvent) {
	for _, ch := range e.Changes {
		switch ch.Field {
		case "name":
			o.name, o.opened.Name = ch.To, ch.To
		case "owner_id":
			o.opened.OwnerID = ch.To
		}
	}
}

// ChangeDetails changes the ticket's subject (required), description
// (long text) or channel (one of TicketChannels). Errors: Invalid (every
// field); NotFound; Refused ticket_closed.
func (t *Ticket) ChangeDetails(c ChangeTicketDetails) ([]Event, error) {
	changes, err := diffDetails([]detailField{
		{name: "subject", to: c.Subject, from: t.opened.Subject, require: true},
		{name: "description", to: c.Description, from: t.opened.Description, long: true},
		{name: "channel", to: c.Channel, from: t.opened.Channel, enum: TicketChannels},
	})
	if err != nil {
		return nil, err
	}
	if err := t.notClosed(); err != nil {
		return nil, err
	}
	if len(changes) == 0 {
		return nil, nil
	}
	return []Event{TicketDetailsChangedEvent{TicketID: t.id, Changes: changes}}, nil
}

func (t *Ticket) applyDetails(e TicketDetailsChangedEvent) {
	for _, ch := range e.Changes {
		switch ch.Field {
		case "subject":
			t.opened.Subject = ch.To
		case "description":
			t.opened.Description = ch.To
		case "channel":
			t.opened.Channel = ch.To
		}
	}
}

// Owner is the account's owner id, if any.
func (a *Account) Owner() string { return a.owner }

// Owner is the opportunity's owner id, if any.
func (o *Opportunity) Owner() string { return o.opened.OwnerID }

// Assignee is the ticket's assignee id, if any.
func (t *Ticket) Assignee() string { return t.assignee }

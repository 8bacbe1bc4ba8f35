package aggregates

import "time"

// Lead statuses.
const (
	LeadCaptured     = "captured"
	LeadContacted    = "contacted"
	LeadQualified    = "qualified"
	LeadDisqualified = "disqualified"
	LeadConverted    = "converted"
)

// Person is the personal data a lead or contact carries.
type Person struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Phone string `json:"phone,omitempty"`
}

// LeadCapturedEvent records a new lead.
type LeadCapturedEvent struct {
	LeadID      string    `json:"lead_id"`
	Name        string    `json:"name"`
	Company     string    `json:"company"`
	Email       string    `json:"email"`
	Phone       string    `json:"phone,omitempty"`
	Source      string    `json:"source"`
	Campaign    string    `json:"campaign,omitempty"`
	Region      string    `json:"region,omitempty"`
	Industry    string    `json:"industry,omitempty"`
	CompanySize string    `json:"company_size,omitempty"`
	OwnerID     string    `json:"owner_id,omitempty"`
	CapturedAt  time.Time `json:"captured_at"`
}

// LeadAssignedEvent records a new owner of a lead.
type LeadAssignedEvent struct {
	LeadID          string `json:"lead_id"`
	OwnerID         string `json:"owner_id"`
	PreviousOwnerID string `json:"previous_owner_id,omitempty"`
}

// LeadContactAttemptedEvent records one attempt to reach a lead.
type LeadContactAttemptedEvent struct {
	LeadID        string    `json:"lead_id"`
	Channel       string    `json:"channel"`
	Outcome       string    `json:"outcome"`
	Note          string    `json:"note,omitempty"`
	AttemptedAt   time.Time `json:"attempted_at"`
	AttemptNumber int       `json:"attempt_number"`
}

// LeadQualifiedEvent records that a lead was qualified.
type LeadQualifiedEvent struct {
	LeadID         string `json:"lead_id"`
	Note           string `json:"note,omitempty"`
	PreviousStatus string `json:"previous_status"`
}

// LeadDisqualifiedEvent records that a lead was disqualified.
type LeadDisqualifiedEvent struct {
	LeadID         string `json:"lead_id"`
	Reason         string `json:"reason"`
	PreviousStatus string `json:"previous_status"`
}

// LeadConvertedEvent records the conversion of a lead into an account, a
// contact and optionally an opportunity.
type LeadConvertedEvent struct {
	LeadID        string    `json:"lead_id"`
	AccountID     string    `json:"account_id"`
	NewAccount    bool      `json:"new_account"`
	ContactID     string    `json:"contact_id"`
	OpportunityID string    `json:"opportunity_id,omitempty"`
	ConvertedAt   time.Time `json:"converted_at"`
}

// TypeName implements Event.
func (LeadCapturedEvent) TypeName() string { return "lead.captured" }

// TypeName implements Event.
func (LeadAssignedEvent) TypeName() string { return "lead.assigned" }

// TypeName implements Event.
func (LeadContactAttemptedEvent) TypeName() string { return "lead.contact_attempted" }

// TypeName implements Event.
func (LeadQualifiedEvent) TypeName() string { return "lead.qualified" }

// TypeName implements Event.
func (LeadDisqualifiedEvent) TypeName() string { return "lead.disqualified" }

// TypeName implements Event.
func (LeadConvertedEvent) TypeName() string { return "lead.converted" }

// SchemaVersion implements Event.
func (LeadCapturedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (LeadAssignedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (LeadContactAttemptedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (LeadQualifiedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (LeadDisqualifiedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (LeadConvertedEvent) SchemaVersion() int { return 1 }

// LeadEvents lists a sample of every lead event type, for codec
// registration.
func LeadEvents() []Event {
	return []Event{LeadCapturedEvent{}, LeadAssignedEvent{}, LeadContactAttemptedEvent{},
		LeadQualifiedEvent{}, LeadDisqualifiedEvent{}, LeadConvertedEvent{}}
}

// CaptureLead is the command that creates a lead.
type CaptureLead struct {
	Name, Company, Email, Phone, Source, Campaign, Region, Industry, CompanySize, OwnerID string
}

// LeadContactChannels and LeadContactOutcomes are the allowed values of a
// contact attempt.
var (
	LeadContactChannels = []string{"call", "email", "meeting", "chat", "web"}
	LeadContactOutcomes = []string{"reached", "no_answer", "left_message", "bounced"}
)

// Lead is a prospective customer, from capture to conversion.
type Lead struct {
	id         string
	exists     bool
	status     string
	owner      string
	person     Person
	company    string
	captured   LeadCapturedEvent
	attempts   int
	converted  LeadConvertedEvent
	activities int
	outcomes   []string
	score      int
	scored     bool
}

// NewLead returns an empty lead with the given id, to capture or to fold
// history into.
func NewLead(id string) *Lead { return &Lead{id: id} }

// ID is the lead's id.
func (l *Lead) ID() string { return l.id }

// Exists reports whether the lead was captured.
func (l *Lead) Exists() bool { return l.exists }

// Status is the lead's status (LeadCaptured ... LeadConverted).
func (l *Lead) Status() string { return l.status }

// Person is the lead's name, email and phone.
func (l *Lead) Person() Person { return l.person }

// Company is the lead's company name.
func (l *Lead) Company() string { return l.company }

// Captured returns the data the lead was captured with.
func (l *Lead) Captured() LeadCapturedEvent { return l.captured }

// Owner is the lead's owner id, if assigned.
func (l *Lead) Owner() string { return l.owner }

// ContactAttempts counts logged contact attempts.
func (l *Lead) ContactAttempts() int { return l.attempts }

// Conversion returns the ids the lead converted into; ok is false until it
// converts.
func (l *Lead) Conversion() (e LeadConvertedEvent, ok bool) {
	return l.converted, l.status == LeadConverted
}

// Activities counts activities logged on the lead.
func (l *Lead) Activities() int { return l.activities }

// Apply folds one event into the lead's state. Unknown events are ignored.
func (l *Lead) Apply(e Event) {
	switch e := e.(type) {
	case LeadCapturedEvent:
		l.exists, l.status, l.captured = true, LeadCaptured, e
		l.owner, l.company = e.OwnerID, e.Company
		l.person = Person{Name: e.Name, Email: e.Email, Phone: e.Phone}
	case LeadAssignedEvent:
		l.owner = e.OwnerID
	case LeadContactAttemptedEvent:
		l.attempts = e.AttemptNumber
		l.outcomes = append(l.outcomes, e.Outcome)
		if l.status == LeadCaptured {
			l.status = LeadContacted
		}
	case LeadQualifiedEvent:
		l.status = LeadQualified
	case LeadDisqualifiedEvent:
		l.status = LeadDisqualified
	case LeadConvertedEvent:
		l.status, l.converted = LeadConverted, e
	case ActivityLoggedEvent:
		l.activities++
	case LeadScoredEvent:
		l.score, l.scored = e.Score, true
	case LeadDetailsChangedEvent:
		l.applyDetails(e)
	}
}

// Capture validates c and returns the event that creates the lead.
func (l *Lead) Capture(c CaptureLead, now time.Time) ([]Event, error) {
	if l.exists {
		return nil, refused("lead_exists", "lead %s already exists", l.id)
	}
	email, err := NormalizeEmail("email", c.Email)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct{ name, v string }{{"name", c.Name}, {"company", c.Company}, {"source", c.Source}} {
		if err := required(f.name, f.v); err != nil {
			return nil, err
		}
	}
	for _, f := range []struct{ name, v string }{{"phone", c.Phone}, {"campaign", c.Campaign}, {"region", c.Region},
		{"industry", c.Industry}, {"company_size", c.CompanySize}, {"owner_id", c.OwnerID}} {
		if err := optional(f.name, f.v, maxShortText); err != nil {
			return nil, err
		}
	}
	return []Event{LeadCapturedEvent{
		LeadID: l.id, Name: c.Name, Company: c.Company, Email: email, Phone: c.Phone, Source: c.Source,
		Campaign: c.Campaign, Region: c.Region, Industry: c.Industry, CompanySize: c.CompanySize,
		OwnerID: c.OwnerID, CapturedAt: utc(now),
	}}, nil
}

// open refuses commands on a lead that is missing, converted or
// disqualified.
func (l *Lead) open() error {
	switch {
	case !l.exists:
		return &Error{Kind: NotFound, Code: "not_found", Message: "lead " + l.id + " not found"}
	case l.status == LeadConverted:
		return refused("lead_already_converted", "lead %s is already converted", l.id)
	case l.status == LeadDisqualified:
		return refused("lead_disqualified", "lead %s is disqualified", l.id)
	}
	return nil
}

// Assign gives the lead to ownerID. Assigning the current owner again
// changes nothing.
func (l *Lead) Assign(ownerID string) ([]Event, error) {
	if err := l.open(); err != nil {
		return nil, err
	}
	if err := required("owner_id", ownerID); err != nil {
		return nil, err
	}
	if ownerID == l.owner {
		return nil, nil
	}
	return []Event{LeadAssignedEvent{LeadID: l.id, OwnerID: ownerID, PreviousOwnerID: l.owner}}, nil
}

// LogContactAttempt records an attempt to reach the lead; the first one
// moves a captured lead to contacted.
func (l *Lead) LogContactAttempt(channel, outcome, note string, now time.Time) ([]Event, error) {
	if err := l.open(); err != nil {
		return nil, err
	}
	if err := oneOf("channel", channel, LeadContactChannels...); err != nil {
		return nil, err
	}
	if err := oneOf("outcome", outcome, LeadContactOutcomes...); err != nil {
		return nil, err
	}
	if err := optional("note", note, maxLongText); err != nil {
		return nil, err
	}
	return []Event{LeadContactAttemptedEvent{LeadID: l.id, Channel: channel, Outcome: outcome, Note: note,
		AttemptedAt: utc(now), AttemptNumber: l.attempts + 1}}, nil
}

// Qualify marks the lead as qualified.
func (l *Lead) Qualify(note string) ([]Event, error) {
	if err := l.open(); err != nil {
		return nil, err
	}
	if l.status == LeadQualified {
		return nil, refused("lead_already_qualified", "lead %s is already qualified", l.id)
	}
	if err := optional("note", note, maxLongText); err != nil {
		return nil, err
	}
	return []Event{LeadQualifiedEvent{LeadID: l.id, Note: note, PreviousStatus: l.status}}, nil
}

// Disqualify closes the lead with a reason.
func (l *Lead) Disqualify(reason string) ([]Event, error) {
	if err := l.open(); err != nil {
		return nil, err
	}
	if err := required("reason", reason); err != nil {
		return nil, err
	}
	return []Event{LeadDisqualifiedEvent{LeadID: l.id, Reason: reason, PreviousStatus: l.status}}, nil
}

// Convert records the lead's conversion into the given account (newAccount
// when the conversion creates it), contact and optional opportunity. Only a
// qualified lead converts, and only once.
func (l *Lead) Convert(accountID string, newAccount bool, contactID, opportunityID string, now time.Time) ([]Event, error) {
	if err := l.open(); err != nil {
		return nil, err
	}
	if l.status != LeadQualified {
		return nil, refused("lead_not_qualified", "lead %s must be qualified before it converts (it is %s)", l.id, l.status)
	}
	if l.person.Email == ErasedValue {
		return nil, refused("personal_data_erased", "lead %s: its person's data was erased, so no contact can be made from it", l.id)
	}
	return []Event{LeadConvertedEvent{LeadID: l.id, AccountID: accountID, NewAccount: newAccount,
		ContactID: contactID, OpportunityID: opportunityID, ConvertedAt: utc(now)}}, nil
}

// LeadView is a lead's current state as the API shows it.
type LeadView struct {
	ID              string          `json:"id"`
	Status          string          `json:"status"`
	Name            string          `json:"name"`
	Company         string          `json:"company"`
	Email           string          `json:"email"`
	Phone           string          `json:"phone,omitempty"`
	Source          string          `json:"source"`
	Campaign        string          `json:"campaign,omitempty"`
	Region          string          `json:"region,omitempty"`
	Industry        string          `json:"industry,omitempty"`
	CompanySize     string          `json:"company_size,omitempty"`
	OwnerID         string          `json:"owner_id,omitempty"`
	ContactAttempts int             `json:"contact_attempts"`
	Score           int             `json:"score"`
	Activities      int             `json:"activities"`
	CapturedAt      time.Time       `json:"captured_at"`
	Conversion      *LeadConversion `json:"conversion"`
}

// LeadConversion is what a converted lead became.
type LeadConversion struct {
	AccountID     string    `json:"account_id"`
	ContactID     string    `json:"contact_id"`
	OpportunityID *string   `json:"opportunity_id"`
	ConvertedAt   time.Time `json:"converted_at"`
}

// View returns the lead's current state.
func (l *Lead) View() LeadView {
	c := l.captured
	v := LeadView{ID: l.id, Status: l.status, Name: l.person.Name, Company: l.company, Email: l.person.Email,
		Phone: l.person.Phone, Source: c.Source, Campaign: c.Campaign, Region: c.Region, Industry: c.Industry,
		CompanySize: c.CompanySize, OwnerID: l.owner, ContactAttempts: l.attempts, Score: l.score, Activities: l.activities, CapturedAt: c.CapturedAt}
	if conv, ok := l.Conversion(); ok {
		v.Conversion = &LeadConversion{AccountID: conv.AccountID, ContactID: conv.ContactID, ConvertedAt: conv.ConvertedAt}
		if conv.OpportunityID != "" {
			id := conv.OpportunityID
			v.Conversion.OpportunityID = &id
		}
	}
	return v
}

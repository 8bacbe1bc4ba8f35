package aggregates

import (
	"slices"
	"strings"
	"time"
)

// Account tiers.
const (
	AccountTierStandard = "standard"
	AccountTierVIP      = "vip"
)

// AccountTiers are the allowed tiers of an account.
var AccountTiers = []string{AccountTierStandard, AccountTierVIP}

// Limits on an account's tags.
const (
	// maxAccountTagLen is the longest tag, in bytes.
	maxAccountTagLen = 50
	// maxAccountTagsPerRequest is the most tags one ChangeTags call may name,
	// added and removed together.
	maxAccountTagsPerRequest = 50
)

// AccountOpenedEvent records a new account.
type AccountOpenedEvent struct {
	AccountID string    `json:"account_id"`
	Name      string    `json:"name"`
	Industry  string    `json:"industry,omitempty"`
	Size      string    `json:"size,omitempty"`
	Region    string    `json:"region,omitempty"`
	Tier      string    `json:"tier"`
	OwnerID   string    `json:"owner_id,omitempty"`
	OpenedAt  time.Time `json:"opened_at"`
}

// FieldChange is one field of an entity that changed, with its value
// before and after. Field is the API's name of the field (such as
// "owner_id").
type FieldChange struct {
	Field string `json:"field"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// AccountDetailsChangedEvent records changes to an account's details. It
// carries only the fields that actually changed, in the order name,
// industry, size, region, tier, owner_id.
type AccountDetailsChangedEvent struct {
	AccountID string        `json:"account_id"`
	Changes   []FieldChange `json:"changes"`
}

// ContactAddedEvent records a new contact of an account. Email is
// normalised (see NormalizeEmail).
type ContactAddedEvent struct {
	AccountID string    `json:"account_id"`
	ContactID string    `json:"contact_id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	Phone     string    `json:"phone,omitempty"`
	Title     string    `json:"title,omitempty"`
	Role      string    `json:"role,omitempty"`
	AddedAt   time.Time `json:"added_at"`
}

// AccountTaggedEvent records tags added to an account: only tags it did not
// have, sorted.
type AccountTaggedEvent struct {
	AccountID string   `json:"account_id"`
	Tags      []string `json:"tags"`
}

// AccountUntaggedEvent records tags removed from an account: only tags it
// had, sorted.
type AccountUntaggedEvent struct {
	AccountID string   `json:"account_id"`
	Tags      []string `json:"tags"`
}

// TypeName implements Event.
func (AccountOpenedEvent) TypeName() string { return "account.opened" }

// TypeName implements Event.
func (AccountDetailsChangedEvent) TypeName() string { return "account.details_changed" }

// TypeName implements Event.
func (ContactAddedEvent) TypeName() string { return "account.contact_added" }

// TypeName implements Event.
func (AccountTaggedEvent) TypeName() string { return "account.tagged" }

// TypeName implements Event.
func (AccountUntaggedEvent) TypeName() string { return "account.untagged" }

// SchemaVersion implements Event.
func (AccountOpenedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (AccountDetailsChangedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (ContactAddedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (AccountTaggedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (AccountUntaggedEvent) SchemaVersion() int { return 1 }

// AccountEvents lists a sample of every account event type, for codec
// registration (activities are ActivityLoggedEvent, listed elsewhere).
func AccountEvents() []Event {
	return []Event{AccountOpenedEvent{}, AccountDetailsChangedEvent{}, ContactAddedEvent{},
		AccountTaggedEvent{}, AccountUntaggedEvent{}}
}

// OpenAccount is the command that creates an account. Name is required;
// Tier is standard (the default when empty) or vip; the other fields are
// optional, at most 200 bytes each.
type OpenAccount struct {
	Name, Industry, Size, Region, Tier, OwnerID string
}

// ChangeAccountDetails is the command that changes an account's details. A
// nil field stays as it is; a non-nil one is the new value (an empty string
// clears an optional field).
type ChangeAccountDetails struct {
	Name, Industry, Size, Region, Tier, OwnerID *string
}

// AddContact is the command that adds a contact to an account. ContactID is
// the new contact's id, chosen by the caller; Name and Email are required.
type AddContact struct {
	ContactID, Name, Email, Phone, Title, Role string
}

// Account is a customer company with its details, tags and contacts.
type Account struct {
	id         string
	exists     bool
	name       string
	industry   string
	size       string
	region     string
	tier       string
	owner      string
	openedAt   time.Time
	tags       map[string]bool
	contacts   []ContactView
	byID       map[string]int
	byEmail    map[string]string
	activities int
}

// NewAccount returns an empty account with the given id, to open or to
// fold history into.
func NewAccount(id string) *Account {
	return &Account{id: id, tags: map[string]bool{}, byID: map[string]int{}, byEmail: map[string]string{}}
}

// ID is the account's id.
func (a *Account) ID() string { return a.id }

// Exists reports whether the account was opened.
func (a *Account) Exists() bool { return a.exists }

// Apply folds one event into the account's state. Unknown events are
// ignored; nothing is re-validated.
func (a *Account) Apply(e Event) {
	if a.tags == nil {
		a.tags, a.byID, a.byEmail = map[string]bool{}, map[string]int{}, map[string]string{}
	}
	switch e := e.(type) {
	case AccountOpenedEvent:
		a.exists, a.openedAt = true, e.OpenedAt
		a.name, a.industry, a.size, a.region, a.tier, a.owner = e.Name, e.Industry, e.Size, e.Region, e.Tier, e.OwnerID
	case AccountDetailsChangedEvent:
		for _, c := range e.Changes {
			if f := a.accountField(c.Field); f != nil {
				*f = c.To
			}
		}
	case ContactDetailsChangedEvent:
		a.applyContactDetails(e)
	case ContactAddedEvent:
		a.byID[e.ContactID] = len(a.contacts)
		a.byEmail[e.Email] = e.ContactID
		a.contacts = append(a.contacts, ContactView{ID: e.ContactID, AccountID: e.AccountID, Name: e.Name, Email: e.Email,
			Phone: e.Phone, Title: e.Title, Role: e.Role, AddedAt: e.AddedAt})
	case AccountTaggedEvent:
		for _, t := range e.Tags {
			a.tags[t] = true
		}
	case AccountUntaggedEvent:
		for _, t := range e.Tags {
			delete(a.tags, t)
		}
	case ActivityLoggedEvent:
		a.activities++
	}
}

// accountField returns the state field a FieldChange names, or nil for an
// unknown name.
func (a *Account) accountField(name string) *string {
	switch name {
	case "name":
		return &a.name
	case "industry":
		return &a.industry
	case "size":
		return &a.size
	case "region":
		return &a.region
	case "tier":
		return &a.tier
	case "owner_id":
		return &a.owner
	}
	return nil
}

// notFound is the error for a command on an account never opened.
func (a *Account) notFound() error {
	return &Error{Kind: NotFound, Code: "not_found", Message: "account " + a.id + " not found"}
}

// Open validates c and returns the event that creates the account.
// Errors: Refused account_exists; Invalid name, industry, size, region,
// tier or owner_id.
func (a *Account) Open(c OpenAccount, now time.Time) ([]Event, error) {
	if a.exists {
		return nil, refused("account_exists", "account %s already exists", a.id)
	}
	if err := required("name", c.Name); err != nil {
		return nil, err
	}
	for _, f := range []struct{ name, v string }{{"industry", c.Industry}, {"size", c.Size}, {"region", c.Region},
		{"owner_id", c.OwnerID}} {
		if err := optional(f.name, f.v, maxShortText); err != nil {
			return nil, err
		}
	}
	tier := c.Tier
	if tier == "" {
		tier = AccountTierStandard
	}
	if err := oneOf("tier", tier, AccountTiers...); err != nil {
		return nil, err
	}
	return []Event{AccountOpenedEvent{AccountID: a.id, Name: c.Name, Industry: c.Industry, Size: c.Size,
		Region: c.Region, Tier: tier, OwnerID: c.OwnerID, OpenedAt: utc(now)}}, nil
}

// ChangeDetails changes the fields of c that are not nil. The name may not
// become empty; the tier must be standard or vip (empty is refused here).
// Only fields whose value really changes are recorded; when none does, it
// returns no events. Errors: NotFound; Invalid name, industry, size,
// region, tier or owner_id.
func (a *Account) ChangeDetails(c ChangeAccountDetails) ([]Event, error) {
	if !a.exists {
		return nil, a.notFound()
	}
	fields := []struct {
		name string
		v    *string
	}{{"name", c.Name}, {"industry", c.Industry}, {"size", c.Size}, {"region", c.Region}, {"tier", c.Tier},
		{"owner_id", c.OwnerID}}
	var changes []FieldChange
	for _, f := range fields {
		if f.v == nil {
			continue
		}
		var err error
		switch f.name {
		case "name":
			err = required(f.name, *f.v)
		case "tier":
			err = oneOf(f.name, *f.v, AccountTiers...)
		default:
			err = optional(f.name, *f.v, maxShortText)
		}
		if err != nil {
			return nil, err
		}
		if from := *a.accountField(f.name); from != *f.v {
			changes = append(changes, FieldChange{Field: f.name, From: from, To: *f.v})
		}
	}
	if len(changes) == 0 {
		return nil, nil
	}
	return []Event{AccountDetailsChangedEvent{AccountID: a.id, Changes: changes}}, nil
}

// AddContact validates c and returns the event that adds the contact, its
// email normalised. Errors: NotFound; Invalid contact_id, name, email,
// phone, title or role; Refused contact_exists when the account already
// has a contact with that id; Refused duplicate_email (ConflictID the other
// contact's id) when another contact of the account has that email.
func (a *Account) AddContact(c AddContact, now time.Time) ([]Event, error) {
	if !a.exists {
		return nil, a.notFound()
	}
	if err := required("contact_id", c.ContactID); err != nil {
		return nil, err
	}
	if err := required("name", c.Name); err != nil {
		return nil, err
	}
	email, err := NormalizeEmail("email", c.Email)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct{ name, v string }{{"phone", c.Phone}, {"title", c.Title}, {"role", c.Role}} {
		if err := optional(f.name, f.v, maxShortText); err != nil {
			return nil, err
		}
	}
	if _, ok := a.byID[c.ContactID]; ok {
		return nil, refused("contact_exists", "contact %s already exists on account %s", c.ContactID, a.id)
	}
	if other, ok := a.byEmail[email]; ok {
		e := refused("duplicate_email", "contact %s of account %s already has email %s", other, a.id, email)
		e.ConflictID = other
		return nil, e
	}
	return []Event{ContactAddedEvent{AccountID: a.id, ContactID: c.ContactID, Name: c.Name, Email: email,
		Phone: c.Phone, Title: c.Title, Role: c.Role, AddedAt: utc(now)}}, nil
}

// ChangeTags adds the tags in add and removes those in remove. Tags are
// trimmed; each must be non-empty and at most 50 bytes, and add and remove
// together may name at most 50 tags. It returns an AccountTaggedEvent for
// the tags the account did not have and an AccountUntaggedEvent for those
// it had (each sorted, and only when not empty); when nothing changes it
// returns no events. Errors: NotFound; Invalid add or remove (a tag in both
// lists is Invalid remove).
func (a *Account) ChangeTags(add, remove []string) ([]Event, error) {
	if !a.exists {
		return nil, a.notFound()
	}
	if n := len(add) + len(remove); n > maxAccountTagsPerRequest {
		field := "remove"
		if len(add) > maxAccountTagsPerRequest {
			field = "add"
		}
		return nil, invalid(field, "names %d tags; at most %d per request", n, maxAccountTagsPerRequest)
	}
	adding, err := accountTags("add", add)
	if err != nil {
		return nil, err
	}
	removing, err := accountTags("remove", remove)
	if err != nil {
		return nil, err
	}
	for _, t := range removing {
		if slices.Contains(adding, t) {
			return nil, invalid("remove", "tag %q is also in add", t)
		}
	}
	var tagged, untagged []string
	for _, t := range adding {
		if !a.tags[t] {
			tagged = append(tagged, t)
		}
	}
	for _, t := range removing {
		if a.tags[t] {
			untagged = append(untagged, t)
		}
	}
	var events []Event
	if len(tagged) > 0 {
		events = append(events, AccountTaggedEvent{AccountID: a.id, Tags: tagged})
	}
	if len(untagged) > 0 {
		events = append(events, AccountUntaggedEvent{AccountID: a.id, Tags: untagged})
	}
	return events, nil
}

// accountTags validates and trims the tags of one list of a ChangeTags
// request, naming field in errors; it returns them sorted without
// duplicates.
func accountTags(field string, tags []string) ([]string, error) {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if t == "" {
			return nil, invalid(field, "contains an empty tag")
		}
		if err := optional(field, t, maxAccountTagLen); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// LogActivity logs an activity on the account. Errors: NotFound; Invalid
// kind, subject or body.
func (a *Account) LogActivity(c LogActivity, now time.Time) ([]Event, error) {
	if !a.exists {
		return nil, a.notFound()
	}
	return logActivity("account", a.id, c, now)
}

// ContactView is a contact's current state as the API shows it.
type ContactView struct {
	ID        string    `json:"id"`
	AccountID string    `json:"account_id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	Phone     string    `json:"phone,omitempty"`
	Title     string    `json:"title,omitempty"`
	Role      string    `json:"role,omitempty"`
	AddedAt   time.Time `json:"added_at"`
}

// AccountView is an account's current state as the API shows it. Tags are
// sorted and Contacts are in the order they were added; neither is nil.
type AccountView struct {
	ID         string        `json:"id"`
	Name       string        `json:"name"`
	Industry   string        `json:"industry,omitempty"`
	Size       string        `json:"size,omitempty"`
	Region     string        `json:"region,omitempty"`
	Tier       string        `json:"tier"`
	OwnerID    string        `json:"owner_id,omitempty"`
	Tags       []string      `json:"tags"`
	Contacts   []ContactView `json:"contacts"`
	Activities int           `json:"activities"`
	OpenedAt   time.Time     `json:"opened_at"`
}

// View returns the account's current state. The result shares nothing
// with the account.
func (a *Account) View() AccountView {
	tags := make([]string, 0, len(a.tags))
	for t := range a.tags {
		tags = append(tags, t)
	}
	slices.Sort(tags)
	contacts := make([]ContactView, len(a.contacts))
	copy(contacts, a.contacts)
	return AccountView{ID: a.id, Name: a.name, Industry: a.industry, Size: a.size, Region: a.region, Tier: a.tier,
		OwnerID: a.owner, Tags: tags, Contacts: contacts, Activities: a.activities, OpenedAt: a.openedAt}
}

// Contact returns the account's contact with the given id; ok is false when
// the account has none.
func (a *Account) Contact(id string) (c ContactView, ok bool) {
	i, ok := a.byID[id]
	if !ok {
		return ContactView{}, false
	}
	return a.contacts[i], true
}

// ContactByEmail returns the id of the account's contact with the given
// email (compared trimmed and case-insensitively); ok is false when there
// is none.
func (a *Account) ContactByEmail(email string) (id string, ok bool) {
	id, ok = a.byEmail[strings.ToLower(strings.TrimSpace(email))]
	return id, ok
}

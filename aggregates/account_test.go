package aggregates

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

var (
	accountT1 = t0.Add(time.Hour)

	accountOpened = AccountOpenedEvent{AccountID: "A1", Name: "Engines Ltd", Industry: "manufacturing", Size: "51-200",
		Region: "EMEA", Tier: AccountTierStandard, OwnerID: "U1", OpenedAt: t0}
	accountAda = ContactAddedEvent{AccountID: "A1", ContactID: "C1", Name: "Ada Lovelace", Email: "ada@example.com",
		Phone: "+44 20 7946 0000", Title: "CTO", Role: "decision_maker", AddedAt: t0}
	accountTaggedKey = AccountTaggedEvent{AccountID: "A1", Tags: []string{"enterprise", "key"}}
)

// accountStr returns a pointer to s, for ChangeAccountDetails.
func accountStr(s string) *string { return &s }

// accountTagList returns n distinct tags.
func accountTagList(prefix string, n int) []string {
	tags := make([]string, n)
	for i := range tags {
		tags[i] = prefix + strings.Repeat("x", i%10) + string(rune('a'+i/10))
	}
	return tags
}

func TestAccountEventsAreNamed(t *testing.T) {
	want := []string{"account.opened.v1", "account.details_changed.v1", "account.contact_added.v1",
		"account.tagged.v1", "account.untagged.v1"}
	var got []string
	for _, e := range AccountEvents() {
		got = append(got, EventType(e))
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestAccountOpen(t *testing.T) {
	valid := OpenAccount{Name: "Engines Ltd", Industry: "manufacturing", Size: "51-200", Region: "EMEA", OwnerID: "U1"}
	tests := []struct {
		name    string
		history []Event
		cmd     func(OpenAccount) OpenAccount
		want    outcome
	}{
		{"opens as standard by default", nil, func(c OpenAccount) OpenAccount { return c }, expectEvents(accountOpened)},
		{"opens as vip", nil, func(c OpenAccount) OpenAccount { c.Tier = "vip"; return c },
			expectEvents(func() Event { e := accountOpened; e.Tier = AccountTierVIP; return e }())},
		{"only a name", nil, func(OpenAccount) OpenAccount { return OpenAccount{Name: "Solo"} },
			expectEvents(AccountOpenedEvent{AccountID: "A1", Name: "Solo", Tier: AccountTierStandard, OpenedAt: t0})},
		{"twice", []Event{accountOpened}, func(c OpenAccount) OpenAccount { return c }, expectRefused("account_exists")},
		{"no name", nil, func(c OpenAccount) OpenAccount { c.Name = " "; return c }, expectInvalid("name")},
		{"long name", nil, func(c OpenAccount) OpenAccount { c.Name = strings.Repeat("n", 201); return c }, expectInvalid("name")},
		{"unknown tier", nil, func(c OpenAccount) OpenAccount { c.Tier = "gold"; return c }, expectInvalid("tier")},
		{"long industry", nil, func(c OpenAccount) OpenAccount { c.Industry = strings.Repeat("i", 201); return c }, expectInvalid("industry")},
		{"long size", nil, func(c OpenAccount) OpenAccount { c.Size = strings.Repeat("s", 201); return c }, expectInvalid("size")},
		{"long region", nil, func(c OpenAccount) OpenAccount { c.Region = strings.Repeat("r", 201); return c }, expectInvalid("region")},
		{"NUL in owner", nil, func(c OpenAccount) OpenAccount { c.OwnerID = "U\x001"; return c }, expectInvalid("owner_id")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := given(NewAccount("A1"), tt.history...).Open(tt.cmd(valid), t0)
			check(t, got, err, tt.want)
		})
	}
}

func TestAccountCommands(t *testing.T) {
	opened := []Event{accountOpened}
	withAda := []Event{accountOpened, accountAda}
	tagged := []Event{accountOpened, accountTaggedKey}
	details := func(c ChangeAccountDetails) func(*Account) ([]Event, error) {
		return func(a *Account) ([]Event, error) { return a.ChangeDetails(c) }
	}
	contact := func(c AddContact) func(*Account) ([]Event, error) {
		return func(a *Account) ([]Event, error) { return a.AddContact(c, accountT1) }
	}
	tags := func(add, remove []string) func(*Account) ([]Event, error) {
		return func(a *Account) ([]Event, error) { return a.ChangeTags(add, remove) }
	}
	grace := AddContact{ContactID: "C2", Name: "Grace Hopper", Email: " Grace@Example.COM ", Title: "Admiral"}
	graceAdded := ContactAddedEvent{AccountID: "A1", ContactID: "C2", Name: "Grace Hopper", Email: "grace@example.com",
		Title: "Admiral", AddedAt: accountT1}
	tests := []struct {
		name    string
		history []Event
		when    func(*Account) ([]Event, error)
		want    outcome
	}{
		{"change only changed fields", opened,
			details(ChangeAccountDetails{Name: accountStr("Engines plc"), Industry: accountStr("manufacturing"),
				Tier: accountStr("vip"), OwnerID: accountStr("U2"), Region: accountStr("")}),
			expectEvents(AccountDetailsChangedEvent{AccountID: "A1", Changes: []FieldChange{
				{Field: "name", From: "Engines Ltd", To: "Engines plc"}, {Field: "region", From: "EMEA", To: ""},
				{Field: "tier", From: "standard", To: "vip"}, {Field: "owner_id", From: "U1", To: "U2"}}})},
		{"change size", opened, details(ChangeAccountDetails{Size: accountStr("201-500")}),
			expectEvents(AccountDetailsChangedEvent{AccountID: "A1", Changes: []FieldChange{{Field: "size", From: "51-200", To: "201-500"}}})},
		{"change to the same values is a no-op", opened,
			details(ChangeAccountDetails{Name: accountStr("Engines Ltd"), Tier: accountStr("standard")}), expectEvents()},
		{"change nothing is a no-op", opened, details(ChangeAccountDetails{}), expectEvents()},
		{"empty name", opened, details(ChangeAccountDetails{Name: accountStr(" ")}), expectInvalid("name")},
		{"unknown tier", opened, details(ChangeAccountDetails{Tier: accountStr("gold")}), expectInvalid("tier")},
		{"empty tier", opened, details(ChangeAccountDetails{Tier: accountStr("")}), expectInvalid("tier")},
		{"long industry", opened, details(ChangeAccountDetails{Industry: accountStr(strings.Repeat("i", 201))}), expectInvalid("industry")},
		{"long size", opened, details(ChangeAccountDetails{Size: accountStr(strings.Repeat("s", 201))}), expectInvalid("size")},
		{"long region", opened, details(ChangeAccountDetails{Region: accountStr(strings.Repeat("r", 201))}), expectInvalid("region")},
		{"long owner", opened, details(ChangeAccountDetails{OwnerID: accountStr(strings.Repeat("u", 201))}), expectInvalid("owner_id")},
		{"an invalid field fails the whole change", opened,
			details(ChangeAccountDetails{Name: accountStr("Engines plc"), Tier: accountStr("gold")}), expectInvalid("tier")},
		{"change a missing account", nil, details(ChangeAccountDetails{Name: accountStr("x")}), expectNotFound()},

		{"add a contact with a normalised email", withAda, contact(grace), expectEvents(graceAdded)},
		{"add the first contact", opened, contact(AddContact{ContactID: "C1", Name: "Ada Lovelace", Email: "ada@example.com",
			Phone: "+44 20 7946 0000", Title: "CTO", Role: "decision_maker"}),
			expectEvents(func() Event { e := accountAda; e.AddedAt = accountT1; return e }())},
		{"contact without id", opened, contact(AddContact{Name: "Grace", Email: "grace@example.com"}), expectInvalid("contact_id")},
		{"contact without name", opened, contact(AddContact{ContactID: "C2", Name: "", Email: "grace@example.com"}), expectInvalid("name")},
		{"contact without email", opened, contact(AddContact{ContactID: "C2", Name: "Grace"}), expectInvalid("email")},
		{"contact with a bad email", opened, contact(AddContact{ContactID: "C2", Name: "Grace", Email: "grace@"}), expectInvalid("email")},
		{"contact with a long phone", opened,
			contact(AddContact{ContactID: "C2", Name: "Grace", Email: "grace@example.com", Phone: strings.Repeat("9", 201)}), expectInvalid("phone")},
		{"contact with a long title", opened,
			contact(AddContact{ContactID: "C2", Name: "Grace", Email: "grace@example.com", Title: strings.Repeat("t", 201)}), expectInvalid("title")},
		{"contact with NUL in role", opened,
			contact(AddContact{ContactID: "C2", Name: "Grace", Email: "grace@example.com", Role: "a\x00b"}), expectInvalid("role")},
		{"contact id already present", withAda,
			contact(AddContact{ContactID: "C1", Name: "Grace", Email: "grace@example.com"}), expectRefused("contact_exists")},
		{"email already on another contact", withAda,
			contact(AddContact{ContactID: "C2", Name: "Ada again", Email: "ADA@example.com"}), expectRefused("duplicate_email")},
		{"contact on a missing account", nil, contact(grace), expectNotFound()},

		{"tag", opened, tags([]string{" key ", "enterprise", "key"}, nil), expectEvents(accountTaggedKey)},
		{"tag only new tags", tagged, tags([]string{"key", "emea"}, nil),
			expectEvents(AccountTaggedEvent{AccountID: "A1", Tags: []string{"emea"}})},
		{"untag only present tags", tagged, tags(nil, []string{"key", "absent"}),
			expectEvents(AccountUntaggedEvent{AccountID: "A1", Tags: []string{"key"}})},
		{"tag and untag", tagged, tags([]string{"z", "a"}, []string{"key", "enterprise"}),
			expectEvents(AccountTaggedEvent{AccountID: "A1", Tags: []string{"a", "z"}},
				AccountUntaggedEvent{AccountID: "A1", Tags: []string{"enterprise", "key"}})},
		{"tags that change nothing", tagged, tags([]string{"key"}, []string{"absent"}), expectEvents()},
		{"no tags at all", tagged, tags(nil, nil), expectEvents()},
		{"empty tag to add", opened, tags([]string{"ok", "  "}, nil), expectInvalid("add")},
		{"empty tag to remove", opened, tags(nil, []string{""}), expectInvalid("remove")},
		{"long tag to add", opened, tags([]string{strings.Repeat("t", 51)}, nil), expectInvalid("add")},
		{"long tag to remove", opened, tags(nil, []string{strings.Repeat("t", 51)}), expectInvalid("remove")},
		{"tag of exactly 50 bytes", opened, tags([]string{strings.Repeat("t", 50)}, nil),
			expectEvents(AccountTaggedEvent{AccountID: "A1", Tags: []string{strings.Repeat("t", 50)}})},
		{"NUL in a tag", opened, tags([]string{"a\x00b"}, nil), expectInvalid("add")},
		{"tag in both lists", tagged, tags([]string{"key"}, []string{" key"}), expectInvalid("remove")},
		{"50 tags", opened, tags(accountTagList("t", 50), nil),
			expectEvents(AccountTaggedEvent{AccountID: "A1", Tags: func() []string {
				l, _ := accountTags("add", accountTagList("t", 50))
				return l
			}()})},
		{"too many tags to add", opened, tags(accountTagList("t", 51), nil), expectInvalid("add")},
		{"too many tags in one request", opened, tags(accountTagList("a", 30), accountTagList("r", 21)), expectInvalid("remove")},
		{"tag a missing account", nil, tags([]string{"key"}, nil), expectNotFound()},

		{"log an activity", opened, func(a *Account) ([]Event, error) {
			return a.LogActivity(LogActivity{ActivityID: "X1", Kind: "meeting", Subject: "kick-off"}, t0)
		}, expectEvents(ActivityLoggedEvent{ActivityID: "X1", EntityType: "account", EntityID: "A1", Kind: "meeting",
			Subject: "kick-off", LoggedAt: t0})},
		{"activity of an unknown kind", opened, func(a *Account) ([]Event, error) {
			return a.LogActivity(LogActivity{ActivityID: "X1", Kind: "party", Subject: "s"}, t0)
		}, expectInvalid("kind")},
		{"activity without subject", opened, func(a *Account) ([]Event, error) {
			return a.LogActivity(LogActivity{ActivityID: "X1", Kind: "note"}, t0)
		}, expectInvalid("subject")},
		{"activity on a missing account", nil, func(a *Account) ([]Event, error) {
			return a.LogActivity(LogActivity{ActivityID: "X1", Kind: "note", Subject: "s"}, t0)
		}, expectNotFound()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.when(given(NewAccount("A1"), tt.history...))
			check(t, got, err, tt.want)
		})
	}
}

func TestAccountDuplicateEmailNamesTheConflict(t *testing.T) {
	a := given(NewAccount("A1"), accountOpened, accountAda)
	_, err := a.AddContact(AddContact{ContactID: "C2", Name: "Ada again", Email: "ada@example.com"}, t0)
	de, ok := err.(*Error)
	if !ok || de.Kind != Refused || de.ConflictID != "C1" {
		t.Fatalf("got %#v, want a Refused error with ConflictID C1", err)
	}
}

func TestAccountErrorsHaveKinds(t *testing.T) {
	_, err := NewAccount("A9").ChangeTags([]string{"x"}, nil)
	if de, ok := err.(*Error); !ok || de.Kind != NotFound || !strings.Contains(de.Message, "A9") {
		t.Fatalf("got %#v, want NotFound naming A9", err)
	}
	_, err = given(NewAccount("A1"), accountOpened).Open(OpenAccount{Name: "x"}, t0)
	if de, ok := err.(*Error); !ok || de.Kind != Refused {
		t.Fatalf("got %#v, want Refused", err)
	}
	_, err = given(NewAccount("A1"), accountOpened).ChangeDetails(ChangeAccountDetails{Tier: accountStr("gold")})
	if de, ok := err.(*Error); !ok || de.Kind != Invalid {
		t.Fatalf("got %#v, want Invalid", err)
	}
}

func TestAccountFoldsView(t *testing.T) {
	grace := ContactAddedEvent{AccountID: "A1", ContactID: "C2", Name: "Grace Hopper", Email: "grace@example.com", AddedAt: accountT1}
	a := given(NewAccount("A1"), accountOpened, accountAda,
		AccountDetailsChangedEvent{AccountID: "A1", Changes: []FieldChange{{Field: "tier", From: "standard", To: "vip"},
			{Field: "owner_id", From: "U1", To: "U2"}, {Field: "unknown", From: "", To: "ignored"}}},
		AccountTaggedEvent{AccountID: "A1", Tags: []string{"key", "emea", "beta"}},
		AccountUntaggedEvent{AccountID: "A1", Tags: []string{"beta"}},
		grace,
		ActivityLoggedEvent{ActivityID: "X1", EntityType: "account", EntityID: "A1", Kind: "call", Subject: "s", LoggedAt: t0},
		ActivityLoggedEvent{ActivityID: "X2", EntityType: "account", EntityID: "A1", Kind: "note", Subject: "s", LoggedAt: t0},
	)
	ada := ContactView{ID: "C1", AccountID: "A1", Name: "Ada Lovelace", Email: "ada@example.com", Phone: "+44 20 7946 0000",
		Title: "CTO", Role: "decision_maker", AddedAt: t0}
	graceView := ContactView{ID: "C2", AccountID: "A1", Name: "Grace Hopper", Email: "grace@example.com", AddedAt: accountT1}
	want := AccountView{ID: "A1", Name: "Engines Ltd", Industry: "manufacturing", Size: "51-200", Region: "EMEA",
		Tier: AccountTierVIP, OwnerID: "U2", Tags: []string{"emea", "key"}, Contacts: []ContactView{ada, graceView},
		Activities: 2, OpenedAt: t0}
	v := a.View()
	if !reflect.DeepEqual(v, want) {
		t.Fatalf("view\n got %#v\nwant %#v", v, want)
	}
	if a.ID() != "A1" || !a.Exists() {
		t.Fatalf("ID %q, Exists %v", a.ID(), a.Exists())
	}
	if c, ok := a.Contact("C2"); !ok || c != graceView {
		t.Fatalf("Contact(C2) = %+v, %v", c, ok)
	}
	if _, ok := a.Contact("C9"); ok {
		t.Fatalf("Contact(C9) found")
	}
	if id, ok := a.ContactByEmail(" ADA@example.com"); !ok || id != "C1" {
		t.Fatalf("ContactByEmail(ada) = %q, %v", id, ok)
	}
	if _, ok := a.ContactByEmail("nobody@example.com"); ok {
		t.Fatalf("ContactByEmail(nobody) found")
	}

	// The view is a copy.
	v.Tags[0], v.Contacts[0].Name = "changed", "changed"
	if again := a.View(); !reflect.DeepEqual(again, want) {
		t.Fatalf("mutating a view changed the account: %#v", again)
	}
}

func TestAccountEmptyViewHasNoNilSlices(t *testing.T) {
	for _, a := range []*Account{NewAccount("A1"), given(NewAccount("A1"), accountOpened), given(&Account{id: "A1"}, accountOpened, accountAda)} {
		v := a.View()
		if v.Tags == nil || v.Contacts == nil {
			t.Fatalf("nil slices in %#v", v)
		}
		b, err := json.Marshal(v)
		if err != nil || strings.Contains(string(b), "null") {
			t.Fatalf("json %s, %v", b, err)
		}
	}
	if NewAccount("A1").Exists() {
		t.Fatalf("a new account exists")
	}
}

func TestAccountEventsEncode(t *testing.T) {
	b, err := json.Marshal(AccountDetailsChangedEvent{AccountID: "A1", Changes: []FieldChange{{Field: "region", From: "EMEA", To: ""}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"account_id":"A1","changes":[{"field":"region","from":"EMEA","to":""}]}`; string(b) != want {
		t.Fatalf("got %s, want %s", b, want)
	}
	b, err = json.Marshal(accountAda)
	if err != nil {
		t.Fatal(err)
	}
	var back ContactAddedEvent
	if err := json.Unmarshal(b, &back); err != nil || back != accountAda {
		t.Fatalf("round trip: %+v, %v (%s)", back, err, b)
	}
}

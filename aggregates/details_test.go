package aggregates

import (
	"errors"
	"testing"
)

func ptr(s string) *string { return &s }

func TestLeadChangeDetails(t *testing.T) {
	captured := LeadCapturedEvent{LeadID: "L1", Name: "Ada", Company: "Engines", Email: "ada@example.com", Source: "web", CapturedAt: t0}
	tests := []struct {
		name    string
		history []Event
		change  ChangeLeadDetails
		want    outcome
	}{
		{"only changed fields", []Event{captured}, ChangeLeadDetails{Name: ptr("Ada King"), Company: ptr("Engines"), Email: ptr(" ADA.K@Example.com")},
			expectEvents(LeadDetailsChangedEvent{LeadID: "L1", Email: "ada.k@example.com", Changes: []FieldChange{
				{Field: "name", From: "Ada", To: "Ada King"}, {Field: "email", From: "ada@example.com", To: "ada.k@example.com"}}})},
		{"nothing changes", []Event{captured}, ChangeLeadDetails{Name: ptr("Ada")}, expectEvents()},
		{"bad email", []Event{captured}, ChangeLeadDetails{Email: ptr("nope")}, expectInvalid("email")},
		{"empty name on a missing lead is invalid first", nil, ChangeLeadDetails{Name: ptr(" ")}, expectInvalid("name")},
		{"missing lead", nil, ChangeLeadDetails{Name: ptr("X")}, expectNotFound()},
		{"converted lead", []Event{captured, LeadConvertedEvent{LeadID: "L1"}}, ChangeLeadDetails{Name: ptr("X")}, expectRefused("lead_already_converted")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := given(NewLead("L1"), tt.history...).ChangeDetails(tt.change)
			check(t, got, err, tt.want)
		})
	}
	// Every invalid field at once.
	_, err := given(NewLead("L1"), captured).ChangeDetails(ChangeLeadDetails{Name: ptr(""), Email: ptr("x"), Source: ptr("")})
	var es Errors
	if !errors.As(err, &es) || len(es) != 3 {
		t.Fatalf("want three invalid fields, got %v", err)
	}
	// The change folds into the lead.
	l := given(NewLead("L1"), captured, LeadDetailsChangedEvent{LeadID: "L1", Email: "b@example.com",
		Changes: []FieldChange{{Field: "email", From: "ada@example.com", To: "b@example.com"}, {Field: "region", To: "APAC"}}})
	if l.Person().Email != "b@example.com" || l.View().Region != "APAC" {
		t.Fatalf("folded: %+v", l.View())
	}
}

func TestUserLifecycle(t *testing.T) {
	reg := UserRegisteredEvent{UserID: "U1", Name: "Rita", Email: "rita@example.com", RegisteredAt: t0}
	deact := UserDeactivatedEvent{UserID: "U1", SuccessorID: "U2", DeactivatedAt: t0}
	tests := []struct {
		name    string
		history []Event
		when    func(*User) ([]Event, error)
		want    outcome
	}{
		{"register", nil, func(u *User) ([]Event, error) {
			return u.Register(RegisterUser{Name: "Rita", Email: "Rita@Example.com"}, t0)
		}, expectEvents(reg)},
		{"register twice", []Event{reg}, func(u *User) ([]Event, error) {
			return u.Register(RegisterUser{Name: "Rita", Email: "rita@example.com"}, t0)
		}, expectRefused("user_exists")},
		{"own manager", nil, func(u *User) ([]Event, error) {
			return u.Register(RegisterUser{Name: "Rita", Email: "rita@example.com", ManagerID: "U1"}, t0)
		}, expectInvalid("manager_id")},
		{"deactivate", []Event{reg}, func(u *User) ([]Event, error) { return u.Deactivate("U2", t0) }, expectEvents(deact)},
		{"deactivate twice", []Event{reg, deact}, func(u *User) ([]Event, error) { return u.Deactivate("U2", t0) }, expectEvents()},
		{"own successor", []Event{reg}, func(u *User) ([]Event, error) { return u.Deactivate("U1", t0) }, expectInvalid("successor_id")},
		{"reactivate", []Event{reg, deact}, func(u *User) ([]Event, error) { return u.Reactivate(t0) },
			expectEvents(UserReactivatedEvent{UserID: "U1", ReactivatedAt: t0})},
		{"change a missing user", nil, func(u *User) ([]Event, error) { return u.ChangeDetails(ChangeUserDetails{Team: ptr("x")}) }, expectNotFound()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.when(given(NewUser("U1"), tt.history...))
			check(t, got, err, tt.want)
		})
	}
	if u := given(NewUser("U1"), reg, deact); u.Active() || !u.Exists() {
		t.Fatal("a deactivated user is active")
	}
}

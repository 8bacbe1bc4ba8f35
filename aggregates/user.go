package aggregates

import "time"

// UserRegisteredEvent records a new user of the CRM: a person records are
// owned by or assigned to. Email is normalised.
type UserRegisteredEvent struct {
	UserID       string    `json:"user_id"`
	Name         string    `json:"name"`
	Email        string    `json:"email"`
	Title        string    `json:"title,omitempty"`
	Team         string    `json:"team,omitempty"`
	ManagerID    string    `json:"manager_id,omitempty"`
	RegisteredAt time.Time `json:"registered_at"`
}

// UserDetailsChangedEvent records changes to a user's name, email, title,
// team or manager: only the fields that changed, before and after.
type UserDetailsChangedEvent struct {
	UserID  string        `json:"user_id"`
	Changes []FieldChange `json:"changes"`
}

// UserDeactivatedEvent records that a user left; their open records went
// to SuccessorID in the same command.
type UserDeactivatedEvent struct {
	UserID        string    `json:"user_id"`
	SuccessorID   string    `json:"successor_id,omitempty"`
	DeactivatedAt time.Time `json:"deactivated_at"`
}

// UserReactivatedEvent records that a deactivated user is active again.
type UserReactivatedEvent struct {
	UserID        string    `json:"user_id"`
	ReactivatedAt time.Time `json:"reactivated_at"`
}

// TypeName implements Event.
func (UserRegisteredEvent) TypeName() string { return "user.registered" }

// SchemaVersion implements Event.
func (UserRegisteredEvent) SchemaVersion() int { return 1 }

// TypeName implements Event.
func (UserDetailsChangedEvent) TypeName() string { return "user.details_changed" }

// SchemaVersion implements Event.
func (UserDetailsChangedEvent) SchemaVersion() int { return 1 }

// TypeName implements Event.
func (UserDeactivatedEvent) TypeName() string { return "user.deactivated" }

// SchemaVersion implements Event.
func (UserDeactivatedEvent) SchemaVersion() int { return 1 }

// TypeName implements Event.
func (UserReactivatedEvent) TypeName() string { return "user.reactivated" }

// SchemaVersion implements Event.
func (UserReactivatedEvent) SchemaVersion() int { return 1 }

// UserEvents lists a sample of every user event type, for codec
// registration.
func UserEvents() []Event {
	return []Event{UserRegisteredEvent{}, UserDetailsChangedEvent{}, UserDeactivatedEvent{}, UserReactivatedEvent{}}
}

// RegisterUser is the command that adds a user. Name and Email are
// required; ManagerID, when set, must name another active user (the
// command handler checks that).
type RegisterUser struct {
	Name, Email, Title, Team, ManagerID string
}

// ChangeUserDetails is the command that changes a user's details; a nil
// field stays as it is.
type ChangeUserDetails struct {
	Name, Email, Title, Team, ManagerID *string
}

// UserView is a user as the API shows it.
type UserView struct {
	ID            string     `json:"id"`
	Name          string     `json:"name"`
	Email         string     `json:"email"`
	Title         string     `json:"title,omitempty"`
	Team          string     `json:"team,omitempty"`
	ManagerID     string     `json:"manager_id,omitempty"`
	Active        bool       `json:"active"`
	RegisteredAt  time.Time  `json:"registered_at"`
	DeactivatedAt *time.Time `json:"deactivated_at"`
}

// User is a person of the CRM's directory.
type User struct {
	id     string
	exists bool
	view   UserView
}

// NewUser returns an empty user with the given id.
func NewUser(id string) *User { return &User{id: id} }

// Exists reports whether the user was registered.
func (u *User) Exists() bool { return u.exists }

// Active reports whether the user exists and is not deactivated.
func (u *User) Active() bool { return u.exists && u.view.Active }

// Manager is the user's manager's id, if any.
func (u *User) Manager() string { return u.view.ManagerID }

// Email is the user's email.
func (u *User) Email() string { return u.view.Email }

// View returns the user's current state.
func (u *User) View() UserView {
	v := u.view
	if v.DeactivatedAt != nil {
		at := *v.DeactivatedAt
		v.DeactivatedAt = &at
	}
	return v
}

// Apply folds one event into the user's state.
func (u *User) Apply(e Event) {
	switch e := e.(type) {
	case UserRegisteredEvent:
		u.exists = true
		u.view = UserView{ID: e.UserID, Name: e.Name, Email: e.Email, Title: e.Title, Team: e.Team, ManagerID: e.ManagerID,
			Active: true, RegisteredAt: e.RegisteredAt}
	case UserDetailsChangedEvent:
		for _, c := range e.Changes {
			if f := map[string]*string{"name": &u.view.Name, "email": &u.view.Email, "title": &u.view.Title,
				"team": &u.view.Team, "manager_id": &u.view.ManagerID}[c.Field]; f != nil {
				*f = c.To
			}
		}
	case UserDeactivatedEvent:
		at := e.DeactivatedAt
		u.view.Active, u.view.DeactivatedAt = false, &at
	case UserReactivatedEvent:
		u.view.Active, u.view.DeactivatedAt = true, nil
	}
}

func (u *User) notFound() error {
	return &Error{Kind: NotFound, Code: "not_found", Message: "user " + u.id + " not found"}
}

// Register validates c and returns the event that creates the user.
// Errors: Invalid (every field); Refused user_exists.
func (u *User) Register(c RegisterUser, now time.Time) ([]Event, error) {
	var errs Errors
	email, err := NormalizeEmail("email", c.Email)
	if err != nil {
		errs = append(errs, err.(*Error))
	}
	for _, f := range []struct{ name, v string }{{"name", c.Name}} {
		if err := required(f.name, f.v); err != nil {
			errs = append(errs, err.(*Error))
		}
	}
	for _, f := range []struct{ name, v string }{{"title", c.Title}, {"team", c.Team}, {"manager_id", c.ManagerID}} {
		if err := optional(f.name, f.v, maxShortText); err != nil {
			errs = append(errs, err.(*Error))
		}
	}
	if c.ManagerID == u.id && c.ManagerID != "" {
		errs = append(errs, invalid("manager_id", "may not be the user themself"))
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	if u.exists {
		return nil, refused("user_exists", "user %s already exists", u.id)
	}
	return []Event{UserRegisteredEvent{UserID: u.id, Name: c.Name, Email: email, Title: c.Title, Team: c.Team,
		ManagerID: c.ManagerID, RegisteredAt: utc(now)}}, nil
}

// ChangeDetails changes the user's details; only changed fields are
// recorded. Errors: Invalid (every field); NotFound.
func (u *User) ChangeDetails(c ChangeUserDetails) ([]Event, error) {
	changes, err := diffDetails([]detailField{
		{name: "name", to: c.Name, from: u.view.Name, require: true},
		{name: "email", to: c.Email, from: u.view.Email, email: true},
		{name: "title", to: c.Title, from: u.view.Title},
		{name: "team", to: c.Team, from: u.view.Team},
		{name: "manager_id", to: c.ManagerID, from: u.view.ManagerID},
	})
	if err != nil {
		return nil, err
	}
	if c.ManagerID != nil && *c.ManagerID == u.id {
		return nil, invalid("manager_id", "may not be the user themself")
	}
	if !u.exists {
		return nil, u.notFound()
	}
	if len(changes) == 0 {
		return nil, nil
	}
	return []Event{UserDetailsChangedEvent{UserID: u.id, Changes: changes}}, nil
}

// Deactivate records that the user left, their open records going to
// successorID (checked by the handler). Deactivating an inactive user
// changes nothing. Errors: Invalid successor_id (the user themself);
// NotFound.
func (u *User) Deactivate(successorID string, now time.Time) ([]Event, error) {
	if successorID == u.id {
		return nil, invalid("successor_id", "may not be the user being deactivated")
	}
	if !u.exists {
		return nil, u.notFound()
	}
	if !u.view.Active {
		return nil, nil
	}
	return []Event{UserDeactivatedEvent{UserID: u.id, SuccessorID: successorID, DeactivatedAt: utc(now)}}, nil
}

// Reactivate makes a deactivated user active again. Errors: NotFound.
func (u *User) Reactivate(now time.Time) ([]Event, error) {
	if !u.exists {
		return nil, u.notFound()
	}
	if u.view.Active {
		return nil, nil
	}
	return []Event{UserReactivatedEvent{UserID: u.id, ReactivatedAt: utc(now)}}, nil
}

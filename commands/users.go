package commands

import (
	"context"
	"time"

	"crm/aggregates"
)

// TypeUser is the stream type of the users directory.
const TypeUser = "user"

// ClaimUserEmail reserves an email for one user.
const ClaimUserEmail = "user_email"

// RecordRef names a record by its entity type (TypeLead, TypeAccount,
// TypeOpportunity, TypeTicket) and id.
type RecordRef struct {
	Type, ID string
}

// RegisterUser adds a user to the directory and reserves their email among
// users.
type RegisterUser struct {
	Envelope
	aggregates.RegisterUser
}

// RegisterUser handles RegisterUser. A manager_id that names no active
// user is Invalid; an email another user has is *ClaimTakenError.
func (h *Handler) RegisterUser(ctx context.Context, c *RegisterUser) error {
	id := h.newID()
	stream := streamOf(TypeUser, id)
	return h.run(ctx, &c.Envelope, id, stream, func(u *unit) error {
		usr := aggregates.NewUser(id)
		if err := u.loadNew(stream, usr); err != nil {
			return err
		}
		evs, err := usr.Register(c.RegisterUser, u.now)
		if err != nil {
			return err
		}
		if err := h.ActiveUser(ctx, "manager_id", c.ManagerID); err != nil {
			return err
		}
		u.emit(stream, evs)
		u.created = true
		u.batch.Claims = append(u.batch.Claims, Claim{Kind: ClaimUserEmail, Key: evs[0].(aggregates.UserRegisteredEvent).Email, OwnerType: TypeUser, OwnerID: id})
		return nil
	})
}

// ChangeUserDetails changes a user's details.
type ChangeUserDetails struct {
	Envelope
	UserID string
	aggregates.ChangeUserDetails
}

// ChangeUserDetails handles ChangeUserDetails; a new email moves the
// user's reservation of it, and a new manager must be an active user.
func (h *Handler) ChangeUserDetails(ctx context.Context, c *ChangeUserDetails) error {
	stream := streamOf(TypeUser, c.UserID)
	return h.run(ctx, &c.Envelope, c.UserID, stream, func(u *unit) error {
		usr := aggregates.NewUser(c.UserID)
		if _, err := u.load(stream, usr); err != nil {
			return err
		}
		old := usr.Email()
		evs, err := usr.ChangeDetails(c.ChangeUserDetails)
		if err != nil {
			return err
		}
		if c.ManagerID != nil {
			if err := h.ActiveUser(ctx, "manager_id", *c.ManagerID); err != nil {
				return err
			}
		}
		for _, ev := range evs {
			for _, ch := range ev.(aggregates.UserDetailsChangedEvent).Changes {
				if ch.Field == "email" {
					u.batch.Claims = append(u.batch.Claims, Claim{Kind: ClaimUserEmail, Key: ch.To, OwnerType: TypeUser, OwnerID: c.UserID})
					u.batch.Releases = append(u.batch.Releases, Claim{Kind: ClaimUserEmail, Key: old, OwnerType: TypeUser, OwnerID: c.UserID})
				}
			}
		}
		u.emit(stream, evs)
		return nil
	})
}

// DeactivateUser records that a user left and, in the same transaction,
// hands every open record they own or are assigned (leads, accounts,
// opportunities, tickets) to SuccessorID, an active user. Result.Extra
// counts nothing; each handed-over record's event is in Result.Events.
type DeactivateUser struct {
	Envelope
	UserID, SuccessorID string
}

// DeactivateUser handles DeactivateUser. The open records come from the
// handler's OwnedRecords option (nil: the user's records are not handed
// over); each is re-read and handed over only while the user still holds
// it, under its own expected version, so a record changed meanwhile makes
// the command retry, never lose the change. A successor that is not an
// active user is Invalid.
func (h *Handler) DeactivateUser(ctx context.Context, c *DeactivateUser) error {
	if c.SuccessorID == "" {
		return &aggregates.Error{Kind: aggregates.Invalid, Code: "invalid", Field: "successor_id", Message: "is required"}
	}
	stream := streamOf(TypeUser, c.UserID)
	return h.run(ctx, &c.Envelope, c.UserID, stream, func(u *unit) error {
		usr := aggregates.NewUser(c.UserID)
		if _, err := u.load(stream, usr); err != nil {
			return err
		}
		evs, err := usr.Deactivate(c.SuccessorID, u.now)
		if err != nil {
			return err
		}
		if err := h.ActiveUser(ctx, "successor_id", c.SuccessorID); err != nil {
			return err
		}
		if len(evs) == 0 {
			return nil
		}
		u.emit(stream, evs)
		if h.owned == nil {
			return nil
		}
		refs, err := h.owned(ctx, c.UserID)
		if err != nil {
			return err
		}
		for _, ref := range refs {
			if err := u.handOver(ref, c.UserID, c.SuccessorID); err != nil {
				return err
			}
		}
		return nil
	})
}

// handOver gives one record the user holds to the successor.
func (u *unit) handOver(ref RecordRef, from, to string) error {
	s := streamOf(ref.Type, ref.ID)
	var evs []aggregates.Event
	var err error
	switch ref.Type {
	case TypeLead:
		l := aggregates.NewLead(ref.ID)
		if _, err := u.load(s, l); err != nil {
			return err
		}
		if l.Owner() != from || l.Status() == aggregates.LeadConverted || l.Status() == aggregates.LeadDisqualified {
			return nil
		}
		u.subjects[s] = l.Person().Email
		evs, err = l.Assign(to)
	case TypeAccount:
		a := aggregates.NewAccount(ref.ID)
		if _, err := u.load(s, a); err != nil {
			return err
		}
		if a.Owner() != from {
			return nil
		}
		evs, err = a.ChangeDetails(aggregates.ChangeAccountDetails{OwnerID: &to})
	case TypeOpportunity:
		o := aggregates.NewOpportunity(ref.ID)
		if _, err := u.load(s, o); err != nil {
			return err
		}
		if o.Owner() != from || o.IsClosed() {
			return nil
		}
		evs, err = o.ChangeDetails(aggregates.ChangeOpportunityDetails{OwnerID: &to})
	case TypeTicket:
		t := aggregates.NewTicket(ref.ID)
		if _, err := u.load(s, t); err != nil {
			return err
		}
		if t.Assignee() != from || t.Status() == aggregates.TicketClosed {
			return nil
		}
		evs, err = t.Assign(to)
	default:
		return nil
	}
	if err != nil {
		return err
	}
	u.emit(s, evs)
	return nil
}

// ReactivateUser makes a deactivated user active again.
type ReactivateUser struct {
	Envelope
	UserID string
}

// ReactivateUser handles ReactivateUser.
func (h *Handler) ReactivateUser(ctx context.Context, c *ReactivateUser) error {
	stream := streamOf(TypeUser, c.UserID)
	return h.run(ctx, &c.Envelope, c.UserID, stream, func(u *unit) error {
		usr := aggregates.NewUser(c.UserID)
		if _, err := u.load(stream, usr); err != nil {
			return err
		}
		evs, err := usr.Reactivate(u.now)
		if err != nil {
			return err
		}
		u.emit(stream, evs)
		return nil
	})
}

// User returns a user's state and version.
func (h *Handler) User(ctx context.Context, id string, asOf time.Time) (aggregates.UserView, int64, error) {
	usr := aggregates.NewUser(id)
	v, err := h.fold(ctx, TypeUser, id, asOf, usr)
	return usr.View(), v, err
}

// ActiveUser checks that id names an active user; an empty id passes. A
// missing or deactivated user is an Invalid error naming field.
func (h *Handler) ActiveUser(ctx context.Context, field, id string) error {
	if id == "" {
		return nil
	}
	usr := aggregates.NewUser(id)
	recs, err := h.repo.Load(ctx, streamOf(TypeUser, id), time.Time{})
	if err != nil {
		return err
	}
	for _, r := range recs {
		usr.Apply(r.Event)
	}
	switch {
	case !usr.Exists():
		return &aggregates.Error{Kind: aggregates.Invalid, Code: "invalid", Field: field, Message: "names no user (" + id + ")"}
	case !usr.Active():
		return &aggregates.Error{Kind: aggregates.Invalid, Code: "invalid", Field: field, Message: "names a deactivated user (" + id + ")"}
	}
	return nil
}

// ManagerOf returns the manager of the user id ("" when the user has none
// or does not exist).
func (h *Handler) ManagerOf(ctx context.Context, id string) (string, error) {
	if id == "" {
		return "", nil
	}
	usr := aggregates.NewUser(id)
	recs, err := h.repo.Load(ctx, streamOf(TypeUser, id), time.Time{})
	if err != nil {
		return "", err
	}
	for _, r := range recs {
		usr.Apply(r.Event)
	}
	return usr.Manager(), nil
}

package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"crm/aggregates"
)

// Stream names: one stream per aggregate, "<type>-<id>".
func streamOf(entityType, id string) string { return entityType + "-" + id }

// Entity types, as used in stream names and in the API.
const (
	TypeLead        = "lead"
	TypeAccount     = "account"
	TypeOpportunity = "opportunity"
	TypeTicket      = "ticket"
	// TypeLeadScore is the stream type of a lead's scores: the scoring
	// automation writes them there, beside the lead's own stream, so a
	// new score never moves the version a client holds of the lead.
	TypeLeadScore = "lead_score"
)

// StreamID returns the stream that holds an entity's events.
func StreamID(entityType, id string) string { return streamOf(entityType, id) }

// Envelope carries what every command has besides its own fields, and
// receives its result.
type Envelope struct {
	Metadata Metadata
	// IfMatch, when set, makes the command fail with a StaleVersionError
	// (ErrPreconditionFailed, naming the current version) unless the target stream is at this version; conflicts are then not
	// retried.
	IfMatch *int64
	// Idempotency, when set, stores the response with the events.
	Idempotency *Idempotency
	// Result is set by the handler on success.
	Result Result
}

// Result is the outcome of a successful command. It is what an
// idempotency record stores, so it is plain data.
type Result struct {
	// ID is the target entity's id.
	ID string `json:"id"`
	// Version is the target stream's version after the command.
	Version int64 `json:"version"`
	// Position is the log cursor of the command's last event; empty when
	// the command changed nothing.
	Position string `json:"position,omitempty"`
	// Events are the appended events.
	Events []EventRef `json:"events"`
	// Created reports that the command created the target.
	Created bool `json:"created,omitempty"`
	// Extra carries further ids a command created (conversion).
	Extra map[string]string `json:"extra,omitempty"`
	// Erased lists the entities an erasure crypto-shredded.
	Erased []aggregates.ErasedEntity `json:"erased,omitempty"`
}

// Completed returns r with what an append saved: the log position, the
// appended events and the target stream's new version.
func (r Result) Completed(target string, saved Saved) Result {
	r.Position, r.Events = saved.Position, saved.Events
	if v, ok := saved.Versions[target]; ok {
		r.Version = v
	}
	if r.Events == nil {
		r.Events = []EventRef{}
	}
	return r
}

// Handler executes commands. Its zero value is not usable; see New.
type Handler struct {
	repo       Repository
	now        func() time.Time
	newID      func() string
	maxRetries int
	sla        aggregates.SLAPolicy
	slaFunc    func(context.Context) (aggregates.SLAPolicy, error)
	approvals  func(context.Context) (threshold, currency string, err error)
	// quoteThreshold is the discount (percent) above which a quote needs
	// approval.
	quoteThreshold string
	owned          func(ctx context.Context, userID string) ([]RecordRef, error)
}

// Options configure a Handler.
type Options struct {
	// Clock defaults to time.Now.
	Clock func() time.Time
	// NewID defaults to UUIDv7 strings.
	NewID func() string
	// MaxRetries bounds reload-and-retry on version conflicts (default 20).
	MaxRetries int
	// SLA is the ticket SLA policy (default aggregates.DefaultSLA()).
	SLA aggregates.SLAPolicy
	// SLAFunc, when set, is asked for the SLA policy on every command that
	// computes due times (a policy configurable at runtime); it wins over
	// SLA.
	SLAFunc func(context.Context) (aggregates.SLAPolicy, error)
	// ApprovalPolicy, when set, returns the amount (a decimal string) and
	// currency above which a deal that entered negotiation may be won
	// only after a manager approved it, whether or not the approval
	// automation has requested the approval yet.
	ApprovalPolicy func(context.Context) (threshold, currency string, err error)
	// QuoteDiscountThreshold is the discount in percent (a decimal string)
	// above which a quote needs a manager's approval before it is sent
	// (default aggregates.DefaultDiscountThreshold, 20).
	QuoteDiscountThreshold string
	// OwnedRecords, when set, lists the open records a user owns or is
	// assigned, for DeactivateUser to hand over.
	OwnedRecords func(ctx context.Context, userID string) ([]RecordRef, error)
}

// New returns a Handler over repo.
func New(repo Repository, o Options) *Handler {
	h := &Handler{repo: repo, now: o.Clock, newID: o.NewID, maxRetries: o.MaxRetries, sla: o.SLA, slaFunc: o.SLAFunc, approvals: o.ApprovalPolicy,
		quoteThreshold: o.QuoteDiscountThreshold, owned: o.OwnedRecords}
	if h.now == nil {
		h.now = time.Now
	}
	if h.newID == nil {
		h.newID = func() string { return uuid.Must(uuid.NewV7()).String() }
	}
	if h.maxRetries == 0 {
		h.maxRetries = 20
	}
	if h.sla == nil {
		h.sla = aggregates.DefaultSLA()
	}
	return h
}

// policy returns the SLA policy in force.
func (h *Handler) policy(ctx context.Context) (aggregates.SLAPolicy, error) {
	if h.slaFunc == nil {
		return h.sla, nil
	}
	p, err := h.slaFunc(ctx)
	if err != nil {
		return nil, fmt.Errorf("sla policy: %w", err)
	}
	return p, nil
}

// NewID returns a fresh entity id.
func (h *Handler) NewID() string { return h.newID() }

// applier is any aggregate.
type applier interface{ Apply(aggregates.Event) }

// unit is one attempt at a command: the streams it loaded and the changes
// it decided.
type unit struct {
	ctx     context.Context
	h       *Handler
	attempt int
	// target is the stream the command is about. Unless fresh is set it
	// loads from the repository's cache, and cached records that it did.
	target  string
	fresh   bool
	cached  bool
	now     time.Time
	loaded  map[string]int64
	order   []string
	pending map[string][]aggregates.Event
	batch   Batch
	created bool
	extra   map[string]string
	erased  []aggregates.ErasedEntity
	// subjects maps a stream to the email of the person it is about.
	subjects map[string]string
}

// result builds the command's result from what was saved.
func (u *unit) result(id, target string, saved Saved) Result {
	r := Result{ID: id, Version: u.loaded[target], Created: u.created, Extra: u.extra, Erased: u.erased}
	return r.Completed(target, saved)
}

// load folds a stream into agg and remembers its version as the expected
// one.
func (u *unit) load(stream string, agg applier) (int64, error) {
	var (
		recs   []Recorded
		cached bool
		err    error
	)
	if stream == u.target && !u.fresh {
		recs, cached, err = u.h.repo.Current(u.ctx, stream)
		u.cached = u.cached || cached
	} else {
		recs, err = u.h.repo.Load(u.ctx, stream, time.Time{})
	}
	if err != nil {
		return 0, fmt.Errorf("load %s: %w", stream, err)
	}
	for _, r := range recs {
		agg.Apply(r.Event)
	}
	v := int64(len(recs))
	if len(recs) > 0 {
		v = recs[len(recs)-1].Version
	}
	if _, seen := u.loaded[stream]; !seen {
		u.order = append(u.order, stream)
	}
	u.loaded[stream] = v
	return v, nil
}

// loadNew is load for a stream named by an id the handler has just
// generated: no event can be stored under it yet, so the first attempt
// expects it empty without reading it (the append still refuses a stream
// that exists, as a version conflict), and a retry reads it.
func (u *unit) loadNew(stream string, agg applier) error {
	if u.attempt > 0 {
		_, err := u.load(stream, agg)
		return err
	}
	if _, seen := u.loaded[stream]; !seen {
		u.order = append(u.order, stream)
	}
	u.loaded[stream] = 0
	return nil
}

// emit queues events for a loaded stream.
func (u *unit) emit(stream string, events []aggregates.Event) {
	if _, ok := u.loaded[stream]; !ok {
		panic("commands: emit to a stream that was not loaded: " + stream)
	}
	u.pending[stream] = append(u.pending[stream], events...)
}

// run executes decide with bounded reload-and-retry on version conflicts.
// target is the stream whose version the result and If-Match refer to.
//
// The target loads from the repository's cache, which another writer may
// have moved past: an append of a decision on it then conflicts. Any
// outcome that no append confirms (a refusal, an If-Match mismatch, a
// command that changes nothing, a conflict) is therefore decided again
// on a fresh read before it is reported.
func (h *Handler) run(ctx context.Context, env *Envelope, id, target string, decide func(u *unit) error) error {
	fresh := false
	for attempt := 0; ; attempt++ {
		u := &unit{ctx: ctx, h: h, attempt: attempt, target: target, fresh: fresh, now: h.now().UTC(), loaded: map[string]int64{},
			pending: map[string][]aggregates.Event{}, extra: map[string]string{}, subjects: map[string]string{}}
		// again decides once more on fresh reads when this attempt
		// decided on cached ones.
		again := func() bool {
			if !u.cached {
				return false
			}
			fresh = true
			return true
		}
		if err := decide(u); err != nil {
			if again() {
				continue
			}
			// A refusal of the record's state on a version the caller
			// did not expect is the stale version, as HTTP evaluates
			// preconditions first; an invalid command stays invalid.
			var ae *aggregates.Error
			if ver, ok := u.loaded[target]; ok && env.IfMatch != nil && *env.IfMatch != ver && !(errors.As(err, &ae) && ae.Kind == aggregates.Invalid) {
				return &StaleVersionError{Current: ver}
			}
			return err
		}
		ver, ok := u.loaded[target]
		if !ok {
			panic("commands: target stream not loaded: " + target)
		}
		if env.IfMatch != nil && *env.IfMatch != ver {
			if again() {
				continue
			}
			return &StaleVersionError{Current: ver}
		}
		if len(u.pending[target]) == 0 && again() {
			continue
		}
		u.batch.Metadata = env.Metadata
		if idem := env.Idempotency; idem != nil {
			u.batch.Response = &StoredResponse{Scope: idem.Scope, Key: idem.Key, RequestHash: idem.RequestHash,
				Target: target, Result: u.result(id, target, Saved{})}
		}
		var total int
		for _, s := range u.order {
			if evs := u.pending[s]; len(evs) > 0 {
				u.batch.Changes = append(u.batch.Changes, Change{Stream: s, Expected: u.loaded[s], Events: evs, Subject: u.subjects[s]})
				total += len(evs)
			}
		}
		if total == 0 && env.Idempotency == nil {
			// Nothing to store: report the current state.
			env.Result = u.result(id, target, Saved{})
			return nil
		}
		saved, err := h.repo.Save(ctx, u.batch)
		switch {
		case err == nil:
			env.Result = u.result(id, target, saved)
			return nil
		case errors.Is(err, ErrVersionConflict):
			if again() {
				// The cache was behind: no back-off, and not a failed
				// If-Match either.
				continue
			}
			if env.IfMatch != nil {
				return h.stale(ctx, target)
			}
			if attempt >= h.maxRetries {
				return ErrBusy
			}
			// Back off a little, growing, so racers spread out.
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt*attempt) * time.Millisecond):
			}
		default:
			return err
		}
	}
}

// stale is the precondition failure of a command on target whose append
// found the stream moved: it reads the version the stream is at now.
func (h *Handler) stale(ctx context.Context, target string) error {
	recs, err := h.repo.Load(ctx, target, time.Time{})
	if err != nil {
		return fmt.Errorf("%w (reading its version: %v)", ErrPreconditionFailed, err)
	}
	var v int64
	if len(recs) > 0 {
		v = recs[len(recs)-1].Version
	}
	return &StaleVersionError{Current: v}
}

// Env returns the envelope itself; command structs embedding Envelope get
// it as a method, which lets transports fill and read any command's
// envelope generically.
func (e *Envelope) Env() *Envelope { return e }

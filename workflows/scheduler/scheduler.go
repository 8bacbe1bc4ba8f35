package scheduler

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"crm/internal/pgmigrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations create the deadlines table.
var Migrations = pgmigrate.Set{Name: "scheduler", FS: pgmigrate.Sub(migrationFiles, "migrations"), VersionTable: "crm_schema_scheduler"}

// Clock tells the scheduler what time it is. Tests inject a clock they
// move by hand, so deadlines hours away fire without waiting.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Deadline is something to do at a time.
type Deadline struct {
	// ID identifies the deadline; scheduling an ID that exists already
	// changes nothing, so callers derive it from what caused it.
	ID string
	// Kind selects the handler.
	Kind string
	// DueAt is when it fires (on the scheduler's clock).
	DueAt time.Time
	// Payload is the handler's input: a JSON object (nil: {}).
	Payload json.RawMessage
}

// Handler does a deadline's work. It must be idempotent; an error makes
// the deadline fire again later.
type Handler func(ctx context.Context, d Deadline) error

// Options configure a Scheduler.
type Options struct {
	// PollInterval is how often Run looks for due deadlines (default 1 s).
	PollInterval time.Duration
	// Lease is how long a process holds a deadline while its handler runs
	// before another may take it (default 1 min).
	Lease time.Duration
	// MaxBackoff caps the delay before a failed deadline fires again
	// (default 5 min; the first retry waits 1 s, doubling).
	MaxBackoff time.Duration
	// Owner names this process (default host:pid).
	Owner string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Scheduler stores and fires deadlines.
type Scheduler struct {
	pool  *pgxpool.Pool
	clock Clock
	opts  Options

	mu       sync.Mutex
	handlers map[string]Handler
	wake     chan struct{}
}

// New returns a scheduler over a migrated pool (see Migrations).
func New(pool *pgxpool.Pool, clock Clock, opts Options) *Scheduler {
	if clock == nil {
		clock = SystemClock{}
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.Lease <= 0 {
		opts.Lease = time.Minute
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Owner == "" {
		host, _ := os.Hostname()
		opts.Owner = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	return &Scheduler{pool: pool, clock: clock, opts: opts, handlers: map[string]Handler{}, wake: make(chan struct{}, 1)}
}

// Handle registers the handler of a kind; deadlines of a kind with no
// handler wait until a process that has one takes them.
func (s *Scheduler) Handle(kind string, h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[kind] = h
}

func (s *Scheduler) kinds() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.handlers))
	for k := range s.handlers {
		out = append(out, k)
	}
	return out
}

func (s *Scheduler) handler(kind string) Handler {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.handlers[kind]
}

// ErrInvalid reports a deadline without an id, a kind or a due time.
var ErrInvalid = errors.New("invalid deadline")

// Schedule stores d. A deadline with d.ID already stored (fired or not) is
// left as it is.
func (s *Scheduler) Schedule(ctx context.Context, d Deadline) error {
	if d.ID == "" || d.Kind == "" || d.DueAt.IsZero() {
		return fmt.Errorf("%w: id %q, kind %q, due %v", ErrInvalid, d.ID, d.Kind, d.DueAt)
	}
	if d.Payload == nil {
		d.Payload = json.RawMessage(`{}`)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO crm_deadlines (id, kind, due_at, payload) VALUES ($1, $2, $3, $4)
ON CONFLICT (id) DO NOTHING`, d.ID, d.Kind, d.DueAt.UTC(), []byte(d.Payload)); err != nil {
		return fmt.Errorf("schedule %s: %w", d.ID, err)
	}
	s.Wake()
	return nil
}

// Wake makes Run look for due deadlines now (for example after the clock
// moved).
func (s *Scheduler) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run fires due deadlines until ctx ends; it returns nil then.
func (s *Scheduler) Run(ctx context.Context) error {
	for {
		if _, err := s.FireDue(ctx); err != nil && ctx.Err() == nil {
			s.opts.Logger.Warn("fire deadlines", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		case <-time.After(s.opts.PollInterval):
		}
	}
}

// FireDue fires every deadline due on the clock that no other process
// holds, one at a time, and returns how many fired. A handler's error is
// recorded on the deadline, which fires again after a backoff; it is not
// returned.
func (s *Scheduler) FireDue(ctx context.Context) (int, error) {
	fired := 0
	for ctx.Err() == nil {
		d, ok, err := s.lease(ctx)
		if err != nil || !ok {
			return fired, err
		}
		h := s.handler(d.Kind)
		if h == nil {
			continue
		}
		if herr := h(ctx, d); herr != nil {
			if err := s.failed(ctx, d, herr); err != nil {
				return fired, err
			}
			continue
		}
		if _, err := s.pool.Exec(ctx, `UPDATE crm_deadlines SET fired_at = $2, lease_until = NULL WHERE id = $1 AND leased_by = $3`,
			d.ID, s.clock.Now().UTC(), s.opts.Owner); err != nil {
			return fired, fmt.Errorf("mark %s fired: %w", d.ID, err)
		}
		fired++
	}
	return fired, ctx.Err()
}

// lease takes the earliest due deadline nobody holds.
func (s *Scheduler) lease(ctx context.Context) (Deadline, bool, error) {
	var d Deadline
	var payload []byte
	err := s.pool.QueryRow(ctx, `UPDATE crm_deadlines SET lease_until = now() + make_interval(secs => $3::float8), leased_by = $4
WHERE id = (SELECT id FROM crm_deadlines
            WHERE fired_at IS NULL AND due_at <= $1 AND kind = ANY($2) AND (lease_until IS NULL OR lease_until < now())
            ORDER BY due_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING id, kind, due_at, payload`, s.clock.Now().UTC(), s.kinds(), s.opts.Lease.Seconds(), s.opts.Owner).Scan(&d.ID, &d.Kind, &d.DueAt, &payload)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, false, nil
	}
	if err != nil {
		return d, false, fmt.Errorf("lease a deadline: %w", err)
	}
	d.DueAt, d.Payload = d.DueAt.UTC(), payload
	return d, true, nil
}

// failed records a handler error and moves the deadline back by a backoff
// that doubles per attempt, up to MaxBackoff.
func (s *Scheduler) failed(ctx context.Context, d Deadline, herr error) error {
	s.opts.Logger.Warn("deadline handler failed; it fires again later", "deadline", d.ID, "kind", d.Kind, "err", herr)
	_, err := s.pool.Exec(ctx, `UPDATE crm_deadlines SET attempts = attempts + 1, last_error = $2, lease_until = NULL,
due_at = $3::timestamptz + least(interval '1 second' * power(2, least(attempts, 30)), make_interval(secs => $4::float8))
WHERE id = $1 AND leased_by = $5`, d.ID, herr.Error(), s.clock.Now().UTC(), s.opts.MaxBackoff.Seconds(), s.opts.Owner)
	if err != nil {
		return fmt.Errorf("record failure of %s: %w", d.ID, err)
	}
	return nil
}

// Pending counts deadlines not fired yet.
func (s *Scheduler) Pending(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM crm_deadlines WHERE fired_at IS NULL`).Scan(&n)
	return n, err
}

package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"crm/aggregates"
	"crm/internal/pgmigrate"
	"crm/internal/strictjson"
	"crm/workflows"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations create the subscription, delivery and attempt tables.
var Migrations = pgmigrate.Set{Name: "webhooks", FS: pgmigrate.Sub(migrationFiles, "migrations"), VersionTable: "crm_schema_webhooks"}

// Options configure Webhooks.
type Options struct {
	// Guard decides which addresses deliveries may reach.
	Guard Guard
	// Timeout bounds one delivery attempt (default 10 s).
	Timeout time.Duration
	// Backoff is the wait after the first failed attempt (default 5 s); it
	// doubles after each failure up to MaxBackoff (default 1 h).
	Backoff, MaxBackoff time.Duration
	// MaxAttempts is how many attempts a delivery gets before it is marked
	// failed (default 10).
	MaxAttempts int
	// PollInterval is how often the worker looks for due deliveries
	// (default 1 s).
	PollInterval time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Revealer, when set, reveals personal values just before a request
	// is sent; the delivery log keeps the event as stored (encrypted).
	Revealer workflows.Revealer
	// SubscriptionsTTL is how long the list of active subscriptions that
	// events are matched against is kept in memory (default 1 s). A
	// subscription created or deleted through this Webhooks applies to
	// the next event at once; one changed by another process, within
	// SubscriptionsTTL.
	SubscriptionsTTL time.Duration
}

// Webhooks manages subscriptions and delivers events to them.
type Webhooks struct {
	pool   *pgxpool.Pool
	opts   Options
	client *http.Client
	wake   chan struct{}
	subs   subscriptions
}

// subscriptions are the active subscriptions as last read, and when.
type subscriptions struct {
	mu   sync.Mutex
	list []subscription
	read time.Time
	// gen counts changes made here; a read that began before one is not
	// kept.
	gen uint64
}

// subscription is what an event is matched against.
type subscription struct {
	id     uuid.UUID
	events []string
}

// changed forgets the cached list: a subscription was created or
// deleted here.
func (s *subscriptions) changed() {
	s.mu.Lock()
	s.list, s.read = nil, time.Time{}
	s.gen++
	s.mu.Unlock()
}

// active returns the active subscriptions, read again when the cached
// list is older than ttl.
func (w *Webhooks) active(ctx context.Context) ([]subscription, error) {
	s := &w.subs
	s.mu.Lock()
	list, read, gen := s.list, s.read, s.gen
	s.mu.Unlock()
	if !read.IsZero() && time.Since(read) < w.opts.SubscriptionsTTL {
		return list, nil
	}
	at := time.Now()
	rows, err := w.pool.Query(ctx, `SELECT id, events FROM crm_webhooks WHERE deleted_at IS NULL`)
	if err != nil {
		return nil, err
	}
	list, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (subscription, error) {
		var sub subscription
		return sub, r.Scan(&sub.id, &sub.events)
	})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.gen == gen {
		s.list, s.read = list, at
	}
	s.mu.Unlock()
	return list, nil
}

// New returns the webhooks over a migrated pool (see Migrations).
func New(pool *pgxpool.Pool, opts Options) *Webhooks {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 5 * time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = time.Hour
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 10
	}
	if opts.SubscriptionsTTL <= 0 {
		opts.SubscriptionsTTL = time.Second
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	dialer := &net.Dialer{Timeout: opts.Timeout, Control: opts.Guard.control}
	transport := &http.Transport{DialContext: dialer.DialContext, Proxy: nil, TLSHandshakeTimeout: opts.Timeout,
		MaxIdleConnsPerHost: 4, IdleConnTimeout: 90 * time.Second}
	client := &http.Client{Transport: transport, Timeout: opts.Timeout,
		// A redirect is an answer, not a new destination.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &Webhooks{pool: pool, opts: opts, client: client, wake: make(chan struct{}, 1)}
}

// Webhook is a subscription as the API shows it (never its secret).
type Webhook struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	CreatedAt time.Time `json:"created_at"`
}

func invalid(field, msg string) error {
	return &aggregates.Error{Kind: aggregates.Invalid, Code: "invalid", Field: field, Message: msg}
}

// Create validates and stores a subscription from its JSON body {url,
// events, secret}. Errors: aggregates.Error Invalid naming the field.
func (w *Webhooks) Create(ctx context.Context, body []byte) (Webhook, error) {
	var req struct {
		URL    string   `json:"url"`
		Events []string `json:"events"`
		Secret string   `json:"secret"`
	}
	if err := strictjson.Decode(body, &req); err != nil {
		var se *strictjson.Error
		if !errors.As(err, &se) {
			return Webhook{}, invalid("body", "malformed JSON")
		}
		field := se.Field
		if field == strictjson.Body {
			field = "body"
		}
		return Webhook{}, invalid(field, se.Message)
	}
	if req.URL == "" {
		return Webhook{}, invalid("url", "is required")
	}
	if err := w.opts.Guard.CheckURL(req.URL); err != nil {
		return Webhook{}, invalid("url", err.Error())
	}
	if len(req.Events) == 0 || len(req.Events) > 100 {
		return Webhook{}, invalid("events", "must list 1 to 100 event types or patterns")
	}
	for i, p := range req.Events {
		if !validPattern(p) {
			return Webhook{}, invalid(fmt.Sprintf("events[%d]", i), `must be an event type ("ticket.closed.v1"), a prefix pattern ("opportunity.*") or "*"`)
		}
	}
	if len(req.Secret) < 16 || len(req.Secret) > 256 {
		return Webhook{}, invalid("secret", "must be 16 to 256 characters")
	}
	h := Webhook{ID: uuid.Must(uuid.NewV7()).String(), URL: req.URL, Events: req.Events}
	if err := w.pool.QueryRow(ctx, `INSERT INTO crm_webhooks (id, url, events, secret) VALUES ($1, $2, $3, $4) RETURNING created_at`,
		h.ID, h.URL, h.Events, req.Secret).Scan(&h.CreatedAt); err != nil {
		return Webhook{}, fmt.Errorf("store webhook: %w", err)
	}
	w.subs.changed()
	h.CreatedAt = h.CreatedAt.UTC()
	return h, nil
}

func validPattern(p string) bool {
	if p == "*" {
		return true
	}
	body := strings.TrimSuffix(p, ".*")
	if body == "" || len(p) > 200 {
		return false
	}
	for _, r := range body {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '.') {
			return false
		}
	}
	return !strings.Contains(body, "..") && !strings.HasPrefix(body, ".") && !strings.HasSuffix(body, ".")
}

// Matches reports whether an event type matches a subscription pattern:
// "*" matches all, "opportunity.*" every type starting "opportunity.",
// anything else only that exact type.
func Matches(pattern, eventType string) bool {
	if pattern == "*" {
		return true
	}
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(eventType, prefix)
	}
	return pattern == eventType
}

// List returns the active subscriptions, oldest first.
func (w *Webhooks) List(ctx context.Context) ([]Webhook, error) {
	rows, err := w.pool.Query(ctx, `SELECT id, url, events, created_at FROM crm_webhooks WHERE deleted_at IS NULL ORDER BY id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Webhook, error) {
		var h Webhook
		var id uuid.UUID
		err := r.Scan(&id, &h.URL, &h.Events, &h.CreatedAt)
		h.ID, h.CreatedAt = id.String(), h.CreatedAt.UTC()
		return h, err
	})
}

// Delete stops a subscription and cancels its deliveries not yet made:
// none of them is sent after Delete returns (an attempt already under
// way finishes, and is not retried). An unknown id is an aggregates.Error
// NotFound.
func (w *Webhooks) Delete(ctx context.Context, id string) error {
	defer w.subs.changed()
	return pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE crm_webhooks SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL`, id)
		if err != nil {
			return fmt.Errorf("delete webhook: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return &aggregates.Error{Kind: aggregates.NotFound, Code: "not_found", Message: "no webhook " + id}
		}
		if _, err := tx.Exec(ctx, `UPDATE crm_webhook_deliveries SET status = 'cancelled', lease_until = NULL
WHERE webhook_id = $1 AND status = 'pending'`, id); err != nil {
			return fmt.Errorf("cancel deliveries: %w", err)
		}
		return nil
	})
}

// Name implements workflows.Automation.
func (w *Webhooks) Name() string { return "webhooks" }

// Handle implements workflows.Automation: it records a delivery of ev for
// every active subscription whose patterns match its type, once per
// subscription and event however often ev is delivered.
func (w *Webhooks) Handle(ctx context.Context, ev workflows.Event) error {
	subs, err := w.active(ctx)
	if err != nil {
		return err
	}
	var payload []byte
	added := false
	for _, s := range subs {
		match := false
		for _, p := range s.events {
			match = match || Matches(p, ev.Type)
		}
		if !match {
			continue
		}
		if payload == nil {
			if payload, err = json.Marshal(ev.IntegrationEvent); err != nil {
				return err
			}
		}
		if _, err := w.pool.Exec(ctx, `INSERT INTO crm_webhook_deliveries (id, webhook_id, event_id, event_type, payload)
VALUES ($1, $2, $3, $4, $5) ON CONFLICT (webhook_id, event_id) DO NOTHING`, uuid.Must(uuid.NewV7()), s.id, ev.ID, ev.Type, payload); err != nil {
			return fmt.Errorf("record delivery: %w", err)
		}
		added = true
	}
	if added {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// reveal returns the request body of a recorded payload: the event with
// its personal values revealed when a Revealer is set.
func (w *Webhooks) reveal(ctx context.Context, payload []byte) ([]byte, error) {
	if w.opts.Revealer == nil {
		return payload, nil
	}
	var ev workflows.IntegrationEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("read delivery payload: %w", err)
	}
	ev, err := workflows.Reveal(ctx, w.opts.Revealer, ev)
	if err != nil {
		return nil, err
	}
	return json.Marshal(ev)
}

// Sign returns the X-CRM-Signature value of body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Run delivers due deliveries until ctx ends; it returns nil then.
func (w *Webhooks) Run(ctx context.Context) error {
	for {
		for ctx.Err() == nil {
			ok, err := w.deliverOne(ctx)
			if err != nil && ctx.Err() == nil {
				w.opts.Logger.Warn("webhook delivery", "err", err)
			}
			if !ok || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-w.wake:
		case <-time.After(w.opts.PollInterval):
		}
	}
}

// deliverOne leases the earliest due delivery, attempts it and records the
// outcome. It reports whether there was one.
func (w *Webhooks) deliverOne(ctx context.Context) (bool, error) {
	var id uuid.UUID
	var eventID uuid.UUID
	var eventType, url, secret string
	var payload []byte
	var attempts int
	err := w.pool.QueryRow(ctx, `UPDATE crm_webhook_deliveries d SET lease_until = now() + make_interval(secs => $1::float8)
FROM crm_webhooks h
WHERE h.id = d.webhook_id AND h.deleted_at IS NULL AND d.id = (SELECT q.id FROM crm_webhook_deliveries q
     WHERE q.status = 'pending' AND q.next_attempt_at <= now() AND (q.lease_until IS NULL OR q.lease_until < now())
       AND EXISTS (SELECT 1 FROM crm_webhooks a WHERE a.id = q.webhook_id AND a.deleted_at IS NULL)
     ORDER BY q.next_attempt_at, q.id LIMIT 1 FOR UPDATE OF q SKIP LOCKED)
RETURNING d.id, d.event_id, d.event_type, d.payload, d.attempts, h.url, h.secret`, (2*w.opts.Timeout).Seconds()).Scan(
		&id, &eventID, &eventType, &payload, &attempts, &url, &secret)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("lease a delivery: %w", err)
	}
	body, err := w.reveal(ctx, payload)
	if err != nil {
		return true, err
	}
	start := time.Now()
	code, sendErr := w.send(ctx, url, secret, eventType, eventID.String(), body)
	if ctx.Err() != nil {
		// Shutting down: the lease runs out and the attempt is made again.
		return true, nil
	}
	attempts++
	// What the delivery log shows of a failure says nothing of the
	// network behind the URL (whether a port was open, refused, reset or
	// filtered): one message, no duration, times taken from the start of
	// the attempt. The operator's log has the detail.
	var errText *string
	duration := time.Since(start).Milliseconds()
	if sendErr != nil {
		s := deliveryFailed
		if errors.Is(sendErr, ErrForbiddenAddress) {
			s = deliveryRefused
		}
		errText, duration = &s, 0
		w.opts.Logger.Info("webhook delivery failed", "delivery", id, "attempt", attempts, "err", sendErr)
	}
	var codePtr *int
	if code != 0 {
		codePtr = &code
	}
	ok := sendErr == nil && code >= 200 && code < 300
	status := "pending"
	switch {
	case ok:
		status = "delivered"
	case attempts >= w.opts.MaxAttempts:
		status = "failed"
	}
	backoff := w.opts.Backoff << min(attempts-1, 30)
	if backoff <= 0 || backoff > w.opts.MaxBackoff {
		backoff = w.opts.MaxBackoff
	}
	err = pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO crm_webhook_attempts (delivery_id, attempt, at, status_code, error, duration_ms) VALUES ($1, $2, $3, $4, $5, $6)`,
			id, attempts, start, codePtr, errText, duration); err != nil {
			return err
		}
		// A delivery cancelled while its attempt was under way stays
		// cancelled.
		_, err := tx.Exec(ctx, `UPDATE crm_webhook_deliveries SET attempts = $2, status = CASE WHEN status = 'cancelled' THEN status ELSE $3 END,
lease_until = NULL, next_attempt_at = $4::timestamptz + make_interval(secs => $5::float8),
delivered_at = CASE WHEN $3 = 'delivered' THEN now() END WHERE id = $1`,
			id, attempts, status, start, backoff.Seconds())
		return err
	})
	if err != nil {
		return true, fmt.Errorf("record delivery attempt: %w", err)
	}
	return true, nil
}

// deliveryFailed is the one error the delivery log shows for an attempt
// that got no HTTP response; deliveryRefused, for one whose destination
// resolved to an address deliveries may not reach.
const (
	deliveryFailed  = "delivery failed"
	deliveryRefused = "delivery refused: the destination is not a global unicast address"
)

// send POSTs one delivery and returns the response status.
func (w *Webhooks) send(ctx context.Context, url, secret, eventType, deliveryID string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "crm-webhooks/1")
	req.Header.Set("X-CRM-Event", eventType)
	req.Header.Set("X-CRM-Delivery", deliveryID)
	req.Header.Set("X-CRM-Signature", Sign(secret, body))
	res, err := w.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	return res.StatusCode, nil
}

// Delivery is one event's delivery to a subscription with its attempts.
type Delivery struct {
	ID          string     `json:"id"`
	EventID     string     `json:"event_id"`
	EventType   string     `json:"event_type"`
	Status      string     `json:"status"`
	Attempts    []Attempt  `json:"attempts"`
	NextAttempt *time.Time `json:"next_attempt_at"`
	CreatedAt   time.Time  `json:"created_at"`
	DeliveredAt *time.Time `json:"delivered_at"`
}

// Attempt is one try at a delivery.
type Attempt struct {
	Attempt    int       `json:"attempt"`
	At         time.Time `json:"at"`
	StatusCode *int      `json:"status_code"`
	Error      *string   `json:"error"`
	DurationMS int       `json:"duration_ms"`
}

// Deliveries returns up to limit deliveries of a subscription after the
// cursor (a delivery id), oldest first, and the next cursor. Errors:
// aggregates.Error NotFound for an unknown subscription, Invalid for a
// malformed cursor.
func (w *Webhooks) Deliveries(ctx context.Context, webhookID, cursor string, limit int) ([]Delivery, string, error) {
	var exists bool
	if err := w.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM crm_webhooks WHERE id = $1)`, webhookID).Scan(&exists); err != nil {
		return nil, "", err
	}
	if !exists {
		return nil, "", &aggregates.Error{Kind: aggregates.NotFound, Code: "not_found", Message: "no webhook " + webhookID}
	}
	var after uuid.UUID
	if cursor != "" {
		c, err := uuid.Parse(cursor)
		if err != nil {
			return nil, "", invalid("cursor", "must be the next_cursor of an earlier page, unchanged")
		}
		after = c
	}
	rows, err := w.pool.Query(ctx, `SELECT d.id, d.event_id, d.event_type, d.status, d.next_attempt_at, d.created_at, d.delivered_at,
  coalesce((SELECT json_agg(json_build_object('attempt', a.attempt, 'at', a.at, 'status_code', a.status_code, 'error', a.error,
           'duration_ms', a.duration_ms) ORDER BY a.attempt) FROM crm_webhook_attempts a WHERE a.delivery_id = d.id), '[]')
FROM crm_webhook_deliveries d WHERE d.webhook_id = $1 AND d.id > $2 ORDER BY d.id LIMIT $3`, webhookID, after, limit+1)
	if err != nil {
		return nil, "", err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Delivery, error) {
		var d Delivery
		var id, eventID uuid.UUID
		var next time.Time
		var attempts []byte
		if err := r.Scan(&id, &eventID, &d.EventType, &d.Status, &next, &d.CreatedAt, &d.DeliveredAt, &attempts); err != nil {
			return d, err
		}
		d.ID, d.EventID, d.CreatedAt = id.String(), eventID.String(), d.CreatedAt.UTC()
		if d.Status == "pending" {
			n := next.UTC()
			d.NextAttempt = &n
		}
		if d.DeliveredAt != nil {
			t := d.DeliveredAt.UTC()
			d.DeliveredAt = &t
		}
		if err := json.Unmarshal(attempts, &d.Attempts); err != nil {
			return d, err
		}
		for i := range d.Attempts {
			d.Attempts[i].At = d.Attempts[i].At.UTC()
		}
		return d, nil
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

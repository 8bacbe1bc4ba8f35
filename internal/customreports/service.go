package customreports

import (
	"context"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"crm/eventstore"
	"crm/internal/pgmigrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations create the reports' catalog.
var Migrations = pgmigrate.Set{Name: "custom reports", FS: pgmigrate.Sub(migrationFiles, "migrations"), VersionTable: "crm_schema_custom_reports"}

// Log is the part of the event store reports read: the same no-skip global
// read and live subscription the projection engine uses.
type Log interface {
	ReadAll(ctx context.Context, after eventstore.Cursor, limit int) ([]eventstore.Event, error)
	Head(ctx context.Context) (eventstore.Cursor, error)
	Subscribe(ctx context.Context, opts eventstore.SubscribeOptions, handle func(context.Context, []eventstore.Event) error) error
}

// Options configure a Service. The zero value is usable.
type Options struct {
	// Types are the stored event types this build knows (for example
	// eventstore.Registry.Types); a handler for any other type is refused.
	// Nil accepts every well-formed type name.
	Types []string
	// BatchSize is the most events applied in one transaction (default 1000).
	BatchSize int
	// StatementTimeout bounds each statement of a report (default 5 s,
	// and never more than BatchTimeout).
	StatementTimeout time.Duration
	// BatchTimeout bounds a whole batch's transaction (default 2 s): while
	// it runs, the log's readers (projections, automations, other
	// reports) wait for it, so it is also the longest a report can delay
	// them. A batch that takes longer is rolled back and retried in
	// batches half its size; a single event over it fails the report.
	BatchTimeout time.Duration
	// MaxBytes bounds the size of a report's tables with their indexes,
	// checked after every statement (default 256 MiB), and of the
	// temporary files of each of its sessions.
	MaxBytes int64
	// MaxReports bounds how many reports may exist at once (default 20):
	// each running report holds its own database sessions.
	MaxReports int
	// Poll is how often Run looks for reports to run and a running report
	// checks that it was not dropped or rebuilt elsewhere (default 1 s).
	Poll time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Service defines, runs and reads analysts' reports.
type Service struct {
	pool  *pgxpool.Pool
	log   Log
	opts  Options
	types map[string]int

	mu      sync.Mutex
	readers map[string]*pgxpool.Pool      // report -> sessions of its role for reads
	cancels map[string]context.CancelFunc // report -> its runner in this process
	wake    chan struct{}
	closed  bool
}

// New returns a service over a pool migrated with Migrations. Close
// releases its read sessions.
func New(pool *pgxpool.Pool, log Log, opts Options) *Service {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1000
	}
	if opts.StatementTimeout <= 0 {
		opts.StatementTimeout = 5 * time.Second
	}
	if opts.BatchTimeout <= 0 {
		opts.BatchTimeout = 2 * time.Second
	}
	if opts.MaxReports <= 0 {
		opts.MaxReports = 20
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 256 << 20
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Service{pool: pool, log: log, opts: opts, types: typeVersions(opts.Types),
		readers: map[string]*pgxpool.Pool{}, cancels: map[string]context.CancelFunc{}, wake: make(chan struct{}, 1)}
}

// Close releases the read sessions. It is idempotent; stop Run first.
func (s *Service) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, p := range s.readers {
		p.Close()
		delete(s.readers, name)
	}
	s.closed = true
}

// Status is a report as listed: its definition's outline, state and
// progress through the log.
type Status struct {
	Name string `json:"name"`
	// State is "running" (replaying, then following the log), "complete"
	// (an until report that reached its time) or "failed".
	State    string     `json:"state"`
	Until    *time.Time `json:"until"`
	Tables   []string   `json:"tables"`
	Handlers []string   `json:"handlers"`
	Progress Progress   `json:"progress"`
	Error    *Failure   `json:"error"`
	// CreatedBy is the actor that defined the report.
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Progress is how far a report has read the log.
type Progress struct {
	// Position is the cursor of the last event the report has read.
	Position string `json:"position"`
	// EventsSeen counts the events read; EventsApplied those a handler ran for.
	EventsSeen    int64 `json:"events_seen"`
	EventsApplied int64 `json:"events_applied"`
	// Head is the log's last readable cursor; CaughtUp is true once the
	// report has read up to it (or, with until, reached its time).
	Head     string `json:"head"`
	CaughtUp bool   `json:"caught_up"`
}

// Failure names where a report stopped: the handler (event type; empty
// when the report outgrew its size limit) and the event's position.
type Failure struct {
	Message  string `json:"message"`
	Handler  string `json:"handler"`
	Position string `json:"position"`
}

// Page is one page of a report table's rows, in primary-key order.
type Page struct {
	Table      string            `json:"table"`
	Items      []json.RawMessage `json:"items"`
	NextCursor *string           `json:"next_cursor"`
	// Position is the cursor of the last event the report had read when
	// the page was read: the rows reflect every event up to it.
	Position string `json:"position"`
}

// waitPoll is how often WaitFor looks at a report's progress.
const waitPoll = 25 * time.Millisecond

// WaitFor blocks until the report has read the log up to position (a
// cursor from a command response), or has completed (an until report,
// whose rows are final), or ctx ends (ctx's error). Errors: ErrNotFound,
// *InvalidError naming min_position for a malformed position,
// ErrReportFailed for a report stopped on an error.
func (s *Service) WaitFor(ctx context.Context, name, position string) error {
	want, err := eventstore.ParseCursor(position)
	if err != nil {
		return invalid("min_position", "must be a position from a command response")
	}
	for {
		var state, at string
		err := s.pool.QueryRow(ctx, `SELECT state, position FROM crm_custom_reports WHERE name = $1`, name).Scan(&state, &at)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: %s", ErrNotFound, name)
		}
		if err != nil {
			return err
		}
		switch state {
		case "complete":
			return nil
		case "failed":
			return fmt.Errorf("%w: %s", ErrReportFailed, name)
		}
		if c, err := eventstore.ParseCursor(at); err == nil && c.Compare(want) >= 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(waitPoll):
		}
	}
}

// Create validates d and, when it is sound, creates the report's role,
// schema and tables; the report then replays the log in Run. Errors:
// *InvalidError (nothing created), ErrExists, ErrTooMany,
// ErrSandboxUnavailable.
func (s *Service) Create(ctx context.Context, d Definition, actor string) (Status, error) {
	p, err := check(d, s.types)
	if err != nil {
		return Status{}, err
	}
	if d.Until != nil {
		u := d.Until.UTC()
		p.def.Until = &u
	}
	var exists bool
	var count int
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM crm_custom_reports WHERE name = $1), (SELECT count(*) FROM crm_custom_reports)`,
		d.Name).Scan(&exists, &count); err != nil {
		return Status{}, fmt.Errorf("look up report %s: %w", d.Name, err)
	}
	if exists {
		return Status{}, fmt.Errorf("%w: %s", ErrExists, d.Name)
	}
	if count >= s.opts.MaxReports {
		return Status{}, fmt.Errorf("%w: %d reports exist; drop one first", ErrTooMany, count)
	}
	sb, err := newSandbox(d.Name)
	if err != nil {
		return Status{}, err
	}
	if err := s.createSandbox(ctx, sb); err != nil {
		if !errors.Is(err, ErrSandboxUnavailable) || !strings.Contains(err.Error(), "cannot create roles") {
			s.cleanup(ctx, sb)
		}
		return Status{}, err
	}
	kept := false
	defer func() {
		if !kept {
			s.cleanup(ctx, sb)
		}
	}()
	conn, err := s.connectAs(ctx, d.Name, sb)
	if err != nil {
		return Status{}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	// The check's transaction, like a batch, holds the log's readers
	// back while it runs: bound it.
	vctx, cancel := context.WithTimeout(ctx, 5*s.opts.BatchTimeout)
	defer cancel()
	tables, err := s.validate(vctx, conn, p, sb)
	if err != nil && ctx.Err() == nil && errors.Is(vctx.Err(), context.DeadlineExceeded) {
		return Status{}, invalid("handlers", "checking the definition took longer than %v; make it smaller", 5*s.opts.BatchTimeout)
	}
	if err != nil {
		return Status{}, err
	}
	if err := setup(ctx, conn, p, sb, 1); err != nil {
		return Status{}, fmt.Errorf("create report %s: %w", d.Name, err)
	}
	def, _ := json.Marshal(p.def)
	tj, _ := json.Marshal(tables)
	tag, err := s.pool.Exec(ctx, `INSERT INTO crm_custom_reports (name, definition, tables, schema_name, role_name, role_password, until, created_by)
VALUES ($1, $2, $3, $4, $4, $5, $6, $7) ON CONFLICT (name) DO NOTHING`, d.Name, def, tj, sb.name, sb.password, p.def.Until, actor)
	if err != nil {
		return Status{}, fmt.Errorf("record report %s: %w", d.Name, err)
	}
	if tag.RowsAffected() == 0 {
		return Status{}, fmt.Errorf("%w: %s", ErrExists, d.Name)
	}
	kept = true
	s.poke()
	return s.Get(ctx, d.Name)
}

// cleanup drops a sandbox that was not kept, logging a failure.
func (s *Service) cleanup(ctx context.Context, sb sandbox) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := s.dropSandbox(ctx, sb); err != nil {
		s.opts.Logger.Error("custom reports: remove a refused report's role", "role", sb.name, "err", err)
	}
}

// poke wakes Run in this process.
func (s *Service) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

const statusColumns = `name, definition, state, until, position, events_seen, events_applied, error, error_handler, error_position, created_by, created_at, updated_at`

func scanStatus(row pgx.Row) (Status, error) {
	var (
		st                   Status
		def                  []byte
		errMsg, errH, errPos *string
	)
	if err := row.Scan(&st.Name, &def, &st.State, &st.Until, &st.Progress.Position, &st.Progress.EventsSeen,
		&st.Progress.EventsApplied, &errMsg, &errH, &errPos, &st.CreatedBy, &st.CreatedAt, &st.UpdatedAt); err != nil {
		return st, err
	}
	var d Definition
	if err := json.Unmarshal(def, &d); err != nil {
		return st, fmt.Errorf("stored definition of %s: %w", st.Name, err)
	}
	if ddl, err := checkDDL(d.Table); err == nil {
		for _, s := range ddl {
			if s.table != "" {
				st.Tables = append(st.Tables, s.table)
			}
		}
	}
	for t := range d.Handlers {
		st.Handlers = append(st.Handlers, t)
	}
	slices.Sort(st.Handlers)
	if errMsg != nil {
		st.Error = &Failure{Message: *errMsg}
		if errH != nil {
			st.Error.Handler = *errH
		}
		if errPos != nil {
			st.Error.Position = *errPos
		}
	}
	if st.Until != nil {
		u := st.Until.UTC()
		st.Until = &u
	}
	st.CreatedAt, st.UpdatedAt = st.CreatedAt.UTC(), st.UpdatedAt.UTC()
	return st, nil
}

// progress fills in the log's head and whether the report reached it.
func progress(st *Status, head eventstore.Cursor) {
	st.Progress.Head = head.String()
	if head.IsZero() {
		st.Progress.Head = ""
	}
	pos, err := eventstore.ParseCursor(st.Progress.Position)
	st.Progress.CaughtUp = st.State == "complete" || (st.State == "running" && (head.IsZero() || (err == nil && pos.Compare(head) >= 0)))
}

// List returns every report by name.
func (s *Service) List(ctx context.Context) ([]Status, error) {
	head, err := s.log.Head(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+statusColumns+` FROM crm_custom_reports ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list reports: %w", err)
	}
	defer rows.Close()
	out := []Status{}
	for rows.Next() {
		st, err := scanStatus(rows)
		if err != nil {
			return nil, err
		}
		progress(&st, head)
		out = append(out, st)
	}
	return out, rows.Err()
}

// Get returns one report's status, or ErrNotFound.
func (s *Service) Get(ctx context.Context, name string) (Status, error) {
	head, err := s.log.Head(ctx)
	if err != nil {
		return Status{}, err
	}
	st, err := scanStatus(s.pool.QueryRow(ctx, `SELECT `+statusColumns+` FROM crm_custom_reports WHERE name = $1`, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return Status{}, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return Status{}, err
	}
	progress(&st, head)
	return st, nil
}

// Rows returns a page of one of the report's tables (its first table when
// table is empty), limit rows in primary-key order after cursor (a
// previous page's NextCursor, or empty). The rows are read by the
// report's own role. Errors: ErrNotFound, *InvalidError for a table the
// report does not have or a malformed cursor.
func (s *Service) Rows(ctx context.Context, name, table, cursor string, limit int) (Page, error) {
	var (
		tj []byte
		sb sandbox
	)
	var position string
	err := s.pool.QueryRow(ctx, `SELECT tables, role_name, role_password, position FROM crm_custom_reports WHERE name = $1`, name).Scan(&tj, &sb.name, &sb.password, &position)
	if errors.Is(err, pgx.ErrNoRows) {
		return Page{}, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return Page{}, err
	}
	var tables []tableInfo
	if err := json.Unmarshal(tj, &tables); err != nil || len(tables) == 0 {
		return Page{}, fmt.Errorf("stored tables of %s: %v", name, err)
	}
	t := tables[0]
	if table != "" {
		i := slices.IndexFunc(tables, func(ti tableInfo) bool { return ti.Name == table })
		if i < 0 {
			names := make([]string, len(tables))
			for j, ti := range tables {
				names[j] = ti.Name
			}
			return Page{}, invalid("table", "report %s has no table %q (it has %s)", name, table, strings.Join(names, ", "))
		}
		t = tables[i]
	}
	var after []byte
	if cursor != "" {
		after, err = base64.RawURLEncoding.DecodeString(cursor)
		var probe map[string]any
		if err != nil || json.Unmarshal(after, &probe) != nil {
			return Page{}, invalid("cursor", "malformed cursor")
		}
	}
	rel := sb.ident() + "." + pgx.Identifier{t.Name}.Sanitize()
	keys := make([]string, len(t.Key))
	pairs := make([]string, len(t.Key))
	for i, k := range t.Key {
		keys[i] = "t." + pgx.Identifier{k}.Sanitize()
		pairs[i] = quoteLiteral(k) + ", " + keys[i]
	}
	keyList := strings.Join(keys, ", ")
	where := ""
	args := []any{limit + 1}
	if after != nil {
		c := make([]string, len(t.Key))
		for i, k := range t.Key {
			c[i] = "c." + pgx.Identifier{k}.Sanitize()
		}
		where = fmt.Sprintf(`WHERE (%s) > (SELECT %s FROM jsonb_populate_record(NULL::%s, $2::jsonb) AS c)`, keyList, strings.Join(c, ", "), rel)
		args = append(args, string(after))
	}
	pool, err := s.reader(ctx, name, sb)
	if err != nil {
		return Page{}, err
	}
	cols, err := rowColumns(ctx, pool, rel)
	if err != nil {
		return Page{}, fmt.Errorf("read report %s: %w", name, err)
	}
	q := fmt.Sprintf(`SELECT (SELECT row_to_json(r) FROM (SELECT %s) AS r), jsonb_build_object(%s) FROM %s AS t %s ORDER BY %s LIMIT $1`,
		cols, strings.Join(pairs, ", "), rel, where, keyList)
	rows, err := pool.Query(ctx, q, args...)
	if err != nil {
		return Page{}, cursorError(name, after, err)
	}
	defer rows.Close()
	page := Page{Table: t.Name, Items: []json.RawMessage{}, Position: position}
	var lastKey []byte
	for rows.Next() {
		var item, key []byte
		if err := rows.Scan(&item, &key); err != nil {
			return Page{}, err
		}
		if len(page.Items) == limit {
			c := base64.RawURLEncoding.EncodeToString(lastKey)
			page.NextCursor = &c
			break
		}
		page.Items = append(page.Items, item)
		lastKey = key
	}
	if err := rows.Err(); err != nil {
		return Page{}, cursorError(name, after, err)
	}
	return page, nil
}

// rowColumns is the select list of a page's rows over rel AS t: every
// column in table order, numeric ones as text, so that amounts keep their
// digits in JSON as a decimal string, as money is everywhere else.
func rowColumns(ctx context.Context, pool *pgxpool.Pool, rel string) (string, error) {
	rows, err := pool.Query(ctx, `SELECT attname::text, atttypid IN ('numeric'::regtype, 'money'::regtype)
FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, rel)
	if err != nil {
		return "", err
	}
	var list []string
	var col string
	var decimal bool
	if _, err := pgx.ForEachRow(rows, []any{&col, &decimal}, func() error {
		c := "t." + pgx.Identifier{col}.Sanitize()
		if decimal {
			c += "::text AS " + pgx.Identifier{col}.Sanitize()
		}
		list = append(list, c)
		return nil
	}); err != nil {
		return "", err
	}
	if len(list) == 0 {
		return "", fmt.Errorf("table %s has no columns", rel)
	}
	return strings.Join(list, ", "), nil
}

// cursorError is err of a page read: a cursor whose values the key
// columns refuse (data exception, SQLSTATE class 22) is the client's
// *InvalidError, anything else the server's.
func cursorError(name string, after []byte, err error) error {
	var pgErr *pgconn.PgError
	if after != nil && errors.As(err, &pgErr) && strings.HasPrefix(pgErr.Code, "22") {
		return invalid("cursor", "malformed cursor")
	}
	return fmt.Errorf("read report %s: %w", name, err)
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// reader returns the pool of sessions of the report's role that reads its
// rows, opening it on first use.
func (s *Service) reader(ctx context.Context, name string, sb sandbox) (*pgxpool.Pool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("custom reports: closed")
	}
	if p := s.readers[name]; p != nil {
		if p.Config().ConnConfig.User == sb.name {
			return p, nil
		}
		p.Close()
		delete(s.readers, name)
	}
	cfg := s.pool.Config()
	s.asRole(cfg.ConnConfig, name, sb)
	cfg.MaxConns, cfg.MinConns = 2, 0
	cfg.MaxConnIdleTime = time.Minute
	cfg.PrepareConn, cfg.AfterRelease, cfg.AfterConnect, cfg.BeforeConnect = nil, nil, nil, nil
	p, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("sessions of report %s: %w", name, err)
	}
	s.readers[name] = p
	return p, nil
}

// forget closes this process's read sessions and runner of a report.
func (s *Service) forget(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.readers[name]; p != nil {
		p.Close()
		delete(s.readers, name)
	}
	if cancel := s.cancels[name]; cancel != nil {
		cancel()
	}
}

// Drop deletes the report: its catalog row at once, then (once its runner,
// here or in another process, has stopped) its schema and role. Errors:
// ErrNotFound.
func (s *Service) Drop(ctx context.Context, name string) error {
	var sb sandbox
	err := s.pool.QueryRow(ctx, `DELETE FROM crm_custom_reports WHERE name = $1 RETURNING role_name, role_password`, name).Scan(&sb.name, &sb.password)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return fmt.Errorf("drop report %s: %w", name, err)
	}
	s.forget(name)
	// A runner elsewhere notices within Options.Poll and lets go of the
	// report's lock; its sessions end with it.
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig)
	if err != nil {
		return fmt.Errorf("drop report %s: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	lockCtx, cancel := context.WithTimeout(ctx, 10*s.opts.Poll+10*time.Second)
	defer cancel()
	if _, err := conn.Exec(lockCtx, `SELECT pg_advisory_lock(hashtextextended('crm_custom_report:' || $1, 0))`, name); err != nil {
		return fmt.Errorf("drop report %s: wait for its runner to stop: %w", name, err)
	}
	return s.dropSandbox(ctx, sb)
}

// Rebuild starts the report over: its tables are recreated empty (in one
// transaction, so readers see the old rows until then) and it replays the
// log from the start; a failed report runs again. Errors: ErrNotFound.
func (s *Service) Rebuild(ctx context.Context, name string) (Status, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE crm_custom_reports SET generation = generation + 1, state = 'running',
position = '', events_seen = 0, events_applied = 0, error = NULL, error_handler = NULL, error_position = NULL, updated_at = now()
WHERE name = $1`, name)
	if err != nil {
		return Status{}, fmt.Errorf("rebuild report %s: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return Status{}, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	s.mu.Lock()
	if cancel := s.cancels[name]; cancel != nil {
		cancel()
	}
	s.mu.Unlock()
	s.poke()
	return s.Get(ctx, name)
}

package customreports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"crm/eventstore"
)

// Run runs every report in state "running" until ctx ends (it returns nil
// then). Each report runs in one process at a time, the one holding its
// PostgreSQL advisory lock; other processes running Run stand by.
func (s *Service) Run(ctx context.Context) error {
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		running = map[string]bool{}
	)
	defer wg.Wait()
	tick := time.NewTicker(s.opts.Poll)
	defer tick.Stop()
	for {
		rows, err := s.pool.Query(ctx, `SELECT name FROM crm_custom_reports WHERE state = 'running' ORDER BY name`)
		var names []string
		if err == nil {
			names, err = pgx.CollectRows(rows, pgx.RowTo[string])
		}
		if err != nil && ctx.Err() == nil {
			s.opts.Logger.Warn("custom reports: list reports to run", "err", err)
		}
		for _, name := range names {
			mu.Lock()
			if running[name] {
				mu.Unlock()
				continue
			}
			running[name] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.hold(ctx, name)
				mu.Lock()
				delete(running, name)
				mu.Unlock()
			}()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-s.wake:
		}
	}
}

// Reasons a report's run ends.
var (
	errGone    = errors.New("report dropped")
	errStopped = errors.New("report not running")
	errDone    = errors.New("report reached its until time")
)

// failure is a report stopped at an event: the handler that failed (or
// none, for the size limit) and the event's position.
type failure struct {
	handler  string
	position string
	err      error
}

func (f *failure) Error() string {
	if f.handler == "" {
		return fmt.Sprintf("at %s: %v", f.position, f.err)
	}
	return fmt.Sprintf("handler %s at %s: %v", f.handler, f.position, f.err)
}

// hold takes the report's lock and runs it while it is running; it
// returns when the report is dropped, complete or failed, another process
// holds it, or ctx ends.
func (s *Service) hold(ctx context.Context, name string) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig)
	if err != nil {
		if ctx.Err() == nil {
			s.opts.Logger.Warn("custom reports: connect", "report", name, "err", err)
		}
		return
	}
	defer conn.Close(context.Background()) // ends the session and with it the lock
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended('crm_custom_report:' || $1, 0))`, name).Scan(&locked); err != nil || !locked {
		return
	}
	log := s.opts.Logger.With("report", name)
	backoff := s.opts.Poll
	size := s.opts.BatchSize
	for ctx.Err() == nil {
		rctx, cancel := context.WithCancel(ctx)
		s.mu.Lock()
		s.cancels[name] = cancel
		s.mu.Unlock()
		err := s.runOnce(rctx, name, size)
		s.mu.Lock()
		delete(s.cancels, name)
		s.mu.Unlock()
		cancel()
		var f *failure
		var slow *slowBatch
		if errors.As(err, &slow) {
			if slow.events > 1 {
				size = slow.events / 2
				log.Info("custom report batch over its time limit; retrying in smaller batches", "batch_size", size)
				continue
			}
			err = &failure{handler: slow.handler, position: slow.position, err: fmt.Errorf("the event's statement took longer than the batch limit of %v", s.opts.BatchTimeout)}
		}
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, errGone), errors.Is(err, errStopped):
			return
		case errors.Is(err, errDone):
			log.Info("custom report complete: it reached its until time")
			return
		case errors.As(err, &f):
			log.Error("custom report failed; rebuild it to run it again", "handler", f.handler, "position", f.position, "err", f.err)
			s.recordFailure(context.WithoutCancel(ctx), name, f)
			s.release(context.WithoutCancel(ctx), name)
			return
		case err != nil && !errors.Is(err, context.Canceled):
			log.Warn("custom report interrupted; retrying", "err", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 30*time.Second)
		default:
			backoff = s.opts.Poll
		}
	}
}

func (s *Service) recordFailure(ctx context.Context, name string, f *failure) {
	var handler *string
	if f.handler != "" {
		handler = &f.handler
	}
	if _, err := s.pool.Exec(ctx, `UPDATE crm_custom_reports SET state = 'failed', error = $2, error_handler = $3, error_position = $4, updated_at = now() WHERE name = $1`,
		name, describe(f.err), handler, f.position); err != nil {
		s.opts.Logger.Error("custom reports: record a failure", "report", name, "err", err)
	}
}

// release empties a failed report's tables (keeping its checkpoint), so
// that a report that failed, say at its size limit, gives its disk back.
// A rebuild fills them again.
func (s *Service) release(ctx context.Context, name string) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	e, err := s.load(ctx, name)
	if err != nil {
		return
	}
	conn, err := s.connectAs(ctx, name, e.sb)
	if err != nil {
		s.opts.Logger.Error("custom reports: release a failed report's tables", "report", name, "err", err)
		return
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname <> $2`, e.sb.name, checkpointTable)
	var rels []string
	if err == nil {
		rels, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err == nil && len(rels) > 0 {
		_, err = conn.Exec(ctx, `TRUNCATE `+strings.Join(rels, ", "))
	}
	if err != nil {
		s.opts.Logger.Error("custom reports: release a failed report's tables", "report", name, "err", err)
	}
}

// slowBatch is a batch rolled back at the batch time limit: the number of
// events it held and the position of its first.
type slowBatch struct {
	events   int
	handler  string // the first event's type, when a handler runs for it
	position string
}

func (e *slowBatch) Error() string {
	return fmt.Sprintf("a batch of %d events took longer than its time limit", e.events)
}

// entry is a report's catalog row as its runner needs it.
type entry struct {
	plan       *plan
	sb         sandbox
	until      *time.Time
	generation int64
	state      string
	rels       []uint32 // the report's tables, once its run has set them up
}

func (s *Service) load(ctx context.Context, name string) (entry, error) {
	var (
		e   entry
		def []byte
	)
	err := s.pool.QueryRow(ctx, `SELECT definition, role_name, role_password, until, generation, state FROM crm_custom_reports WHERE name = $1`, name).
		Scan(&def, &e.sb.name, &e.sb.password, &e.until, &e.generation, &e.state)
	if errors.Is(err, pgx.ErrNoRows) {
		return e, errGone
	}
	if err != nil {
		return e, err
	}
	var d Definition
	if err := json.Unmarshal(def, &d); err != nil {
		return e, fmt.Errorf("stored definition: %w", err)
	}
	// Stored definitions were checked against the types known then.
	if e.plan, err = check(d, nil); err != nil {
		return e, fmt.Errorf("stored definition: %w", err)
	}
	return e, nil
}

// checkpoint is the row of crm_checkpoint.
type checkpoint struct {
	generation    int64
	position      string
	seen, applied int64
}

// runOnce runs the report from its checkpoint: it catches up with the log
// and follows it until ctx ends, the report is dropped or rebuilt (seen
// within Options.Poll), it reaches its until time, or a batch fails.
func (s *Service) runOnce(ctx context.Context, name string, batchSize int) error {
	e, err := s.load(ctx, name)
	if err != nil {
		return err
	}
	if e.state != "running" {
		return errStopped
	}
	conn, err := s.connectAs(ctx, name, e.sb)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var cp checkpoint
	q := `SELECT generation, position, events_seen, events_applied FROM ` + e.sb.ident() + `.` + checkpointTable
	if err := conn.QueryRow(ctx, q).Scan(&cp.generation, &cp.position, &cp.seen, &cp.applied); err != nil {
		return fmt.Errorf("read checkpoint: %w", err)
	}
	if cp.generation != e.generation {
		if err := setup(ctx, conn, e.plan, e.sb, e.generation); err != nil {
			return fmt.Errorf("rebuild: %w", err)
		}
		cp = checkpoint{generation: e.generation}
	}
	// The functions each statement calls are checked again as it is
	// prepared: the definition passed the check when it was created, and
	// this holds whatever changed since.
	for _, typ := range e.plan.sortedTypes() {
		h := e.plan.handlers[typ]
		if err := prepareChecked(ctx, conn.Conn, conn.notices, h.stmt, h.sql); err != nil {
			if isConnErr(err) && !errors.As(err, new(*funcError)) {
				return err
			}
			return &failure{handler: typ, position: cp.position, err: err}
		}
	}
	if err := checkTableFunctions(ctx, conn, e.sb.name); err != nil {
		if errors.As(err, new(*funcError)) {
			return &failure{position: cp.position, err: err}
		}
		return err
	}
	// The report's tables, whose size every statement is checked against.
	var rels []uint32
	// Every file of them: tables, indexes, TOAST tables and their indexes.
	if err := conn.QueryRow(ctx, `SELECT coalesce(array_agg(c.oid), '{}') FROM pg_class c
WHERE c.relnamespace = $1::regnamespace AND c.relkind IN ('r', 'p', 'm', 'i')
   OR c.oid IN (SELECT reltoastrelid FROM pg_class WHERE relnamespace = $1::regnamespace AND reltoastrelid <> 0)
   OR c.oid IN (SELECT i.indexrelid FROM pg_index i JOIN pg_class t ON t.reltoastrelid = i.indrelid WHERE t.relnamespace = $1::regnamespace)`,
		e.sb.name).Scan(&rels); err != nil {
		return fmt.Errorf("list the report's tables: %w", err)
	}
	e.rels = rels
	if _, err := conn.Prepare(ctx, guardStmt, guardSQL); err != nil {
		return fmt.Errorf("prepare the size guard: %w", err)
	}
	after, err := eventstore.ParseCursor(cp.position)
	if err != nil && cp.position != "" {
		return fmt.Errorf("stored checkpoint %q: %w", cp.position, err)
	}

	// Watch the catalog: a drop or a rebuild from any process ends this run.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		t := time.NewTicker(s.opts.Poll)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			var gen int64
			var state string
			err := s.pool.QueryRow(ctx, `SELECT generation, state FROM crm_custom_reports WHERE name = $1`, name).Scan(&gen, &state)
			switch {
			case errors.Is(err, pgx.ErrNoRows):
				cancel(errGone)
				return
			case err == nil && (gen != e.generation || state != "running"):
				cancel(errStopped)
				return
			}
		}
	}()
	defer func() { <-watched }()
	defer cancel(nil)

	// Batches start at batchSize events (smaller after a batch over the
	// time limit) and grow back while they take under a quarter of it.
	chunk := max(1, min(batchSize, s.opts.BatchSize))
	err = s.log.Subscribe(ctx, eventstore.SubscribeOptions{After: after, BatchSize: s.opts.BatchSize},
		func(ctx context.Context, batch []eventstore.Event) error {
			for len(batch) > 0 {
				n := min(chunk, len(batch))
				start := time.Now()
				if err := s.applyBatch(ctx, conn, name, e, &cp, batch[:n]); err != nil {
					return err
				}
				batch = batch[n:]
				if chunk < s.opts.BatchSize && time.Since(start) < s.opts.BatchTimeout/4 {
					chunk = min(2*chunk, s.opts.BatchSize)
				}
			}
			return nil
		})
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		if errors.Is(cause, errStopped) {
			return nil // run again from the catalog's current state
		}
		return cause
	}
	var f *failure
	var slow *slowBatch
	switch {
	case errors.As(err, &f):
		return f
	case errors.As(err, &slow):
		return slow
	case errors.Is(err, errDone):
		return errDone
	}
	return err
}

// applyBatch applies the events of batch recorded up to the report's
// until time, with the checkpoint, in one transaction of the report's
// role; it returns errDone once an event lies beyond until.
func (s *Service) applyBatch(ctx context.Context, conn reportConn, name string, e entry, cp *checkpoint, batch []eventstore.Event) error {
	// The batch's transaction holds the log's visibility horizon (every
	// reader of the log waits for it): bound it as a whole.
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.opts.BatchTimeout)
	defer cancel()
	err := s.applyWithin(ctx, conn, name, e, cp, batch)
	if err != nil && parent.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) && len(batch) > 0 {
		var f *failure
		if !errors.As(err, &f) || isConnErr(f.err) || isCanceled(f.err) {
			slow := &slowBatch{events: len(batch), position: batch[0].Cursor.String()}
			if e.plan.handlers[batch[0].Type] != nil {
				slow.handler = batch[0].Type
			}
			return slow
		}
	}
	return err
}

// isCanceled tells a statement the server cancelled on the client's
// request (SQLSTATE 57014 without the statement timeout's message).
func isCanceled(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "57014" && strings.Contains(pgErr.Message, "user request")
}

// applyWithin is applyBatch within the batch's deadline.
func (s *Service) applyWithin(ctx context.Context, conn reportConn, name string, e entry, cp *checkpoint, batch []eventstore.Event) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	var stored string
	cpTable := e.sb.ident() + `.` + checkpointTable
	if err := tx.QueryRow(ctx, `SELECT position FROM `+cpTable+` FOR UPDATE`).Scan(&stored); err != nil {
		return fmt.Errorf("lock checkpoint: %w", err)
	}
	if stored != cp.position {
		return fmt.Errorf("checkpoint moved from %q to %q", cp.position, stored)
	}
	// A handler may change its session's settings; every batch starts
	// from the engine's search path, and every statement re-arms the
	// statement timeout before it runs (a statement's timer starts with it,
	// so a handler that turns the timeout off affects no other statement).
	if _, err := tx.Exec(ctx, `SELECT set_config('search_path', $1, true), set_config('statement_timeout', $2, true)`,
		e.sb.ident(), fmt.Sprint(s.statementTimeout().Milliseconds())); err != nil {
		return err
	}
	var (
		seen, applied int64
		last          string
		reached       bool
		run           []int // indexes of the events a handler runs for
		params        [][][]byte
	)
	for i := range batch {
		ev := &batch[i]
		if e.until != nil && ev.RecordedAt.After(*e.until) {
			reached = true
			break
		}
		seen++
		last = ev.Cursor.String()
		h := e.plan.handlers[ev.Type]
		if h == nil {
			continue
		}
		vals, err := bind(h.params, ev)
		if err != nil {
			return &failure{handler: ev.Type, position: last, err: err}
		}
		run, params = append(run, i), append(params, vals)
	}
	if len(run) > 0 {
		if err := s.pipeline(ctx, conn.Conn, e, batch, run, params); err != nil {
			return err
		}
		applied = int64(len(run))
	}
	if seen > 0 {
		var size, objects int64
		if err := tx.QueryRow(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint,
  (SELECT count(*) FROM pg_largeobject_metadata WHERE lomowner = $2::regrole)
FROM pg_class c WHERE c.relnamespace = $1::regnamespace AND c.relkind IN ('r', 'p', 'm')`, e.sb.name, e.sb.ident()).Scan(&size, &objects); err != nil {
			return fmt.Errorf("measure the report: %w", err)
		}
		if size > s.opts.MaxBytes {
			return &failure{position: last, err: fmt.Errorf("the report's tables would take %d bytes, over the limit of %d", size, s.opts.MaxBytes)}
		}
		if objects > 0 {
			return &failure{position: last, err: errors.New("a report may not create large objects")}
		}
		if _, err := tx.Exec(ctx, `UPDATE `+cpTable+` SET position = $1, events_seen = events_seen + $2, events_applied = events_applied + $3`,
			last, seen, applied); err != nil {
			return fmt.Errorf("write checkpoint: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	// Handlers cannot call the advisory lock functions; should one ever
	// take a session-level lock all the same, it does not outlive the batch.
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock_all()`); err != nil {
		return err
	}
	if seen > 0 {
		cp.position, cp.seen, cp.applied = last, cp.seen+seen, cp.applied+applied
	}
	state := "running"
	if reached {
		state = "complete"
	}
	if _, err := s.pool.Exec(ctx, `UPDATE crm_custom_reports SET position = $2, events_seen = $3, events_applied = $4, state = $5, updated_at = now()
WHERE name = $1 AND generation = $6`, name, cp.position, cp.seen, cp.applied, state, e.generation); err != nil {
		return fmt.Errorf("record progress: %w", err)
	}
	if reached {
		return errDone
	}
	return nil
}

// bind renders an event's fields as the text values of a handler's
// parameters (nil is NULL). :data.<path> is the value at that path of the
// event body: a string as is, a number or boolean as its JSON text, an
// object or array as JSON, and missing or null as NULL.
func bind(params []string, ev *eventstore.Event) ([][]byte, error) {
	out := make([][]byte, len(params))
	var body any
	decoded := false
	for i, p := range params {
		var v *string
		str := func(s string) *string { return &s }
		switch p {
		case "stream_id":
			v = str(ev.StreamID)
		case "version":
			v = str(strconv.FormatInt(ev.Version, 10))
		case "type":
			v = str(ev.Type)
		case "recorded_at":
			v = str(ev.RecordedAt.UTC().Format(time.RFC3339Nano))
		case "actor":
			v = str(ev.Metadata.Actor)
		case "correlation_id":
			if ev.Metadata.CorrelationID != "" {
				v = str(ev.Metadata.CorrelationID)
			}
		case "causation_id":
			if ev.Metadata.CausationID != "" {
				v = str(ev.Metadata.CausationID)
			}
		case "event_id":
			v = str(ev.ID.String())
		case "position":
			v = str(ev.Cursor.String())
		case "data":
			v = str(string(ev.Data))
		default:
			if !decoded {
				dec := json.NewDecoder(strings.NewReader(string(ev.Data)))
				dec.UseNumber()
				if err := dec.Decode(&body); err != nil {
					return nil, fmt.Errorf("event data: %w", err)
				}
				decoded = true
			}
			cur := body
			for _, k := range strings.Split(strings.TrimPrefix(p, "data."), ".") {
				m, ok := cur.(map[string]any)
				if !ok {
					cur = nil
					break
				}
				cur = m[k]
			}
			switch x := cur.(type) {
			case nil:
			case string:
				v = str(x)
			case json.Number:
				v = str(x.String())
			case bool:
				v = str(strconv.FormatBool(x))
			default:
				b, err := json.Marshal(x)
				if err != nil {
					return nil, err
				}
				v = str(string(b))
			}
		}
		if v != nil {
			out[i] = []byte(*v)
		}
	}
	return out, nil
}

// pipeline runs the handlers of the events batch[run[k]] with params[k],
// in order, in one round trip. Before each statement the engine re-arms
// the statement timeout and checks the report's size, and once more after
// the last: the batch fails as soon as one statement has grown the
// report's tables past Options.MaxBytes. The first statement that fails
// is a *failure naming its handler and event (or no handler, for the
// size); the server skips the rest. The batch's deadline (ctx) backs the
// server's timeouts.
func (s *Service) pipeline(ctx context.Context, conn *pgx.Conn, e entry, batch []eventstore.Event, run []int, params [][][]byte) error {
	rels := make([]string, len(e.rels))
	for i, r := range e.rels {
		rels[i] = strconv.FormatUint(uint64(r), 10)
	}
	guard := [][]byte{[]byte(strconv.FormatInt(s.statementTimeout().Milliseconds(), 10)),
		[]byte("{" + strings.Join(rels, ",") + "}"), []byte(strconv.FormatInt(s.opts.MaxBytes, 10))}
	pl := conn.PgConn().StartPipeline(ctx)
	for k, i := range run {
		pl.SendQueryPrepared(guardStmt, guard, nil, nil)
		pl.SendQueryPrepared(e.plan.handlers[batch[i].Type].stmt, params[k], nil, nil)
	}
	pl.SendQueryPrepared(guardStmt, guard, nil, nil)
	if err := pl.Sync(); err != nil {
		_ = pl.Close()
		return err
	}
	for k := 0; k <= len(run); k++ {
		for step := range 2 {
			if k == len(run) && step == 1 {
				break
			}
			res, err := pl.GetResults()
			if rr, ok := res.(*pgconn.ResultReader); ok && err == nil {
				_, err = rr.Close()
			}
			if err == nil && res == nil {
				err = errors.New("pipeline: missing result")
			}
			if err == nil {
				continue
			}
			_ = pl.Close()
			if step == 0 && k > 0 && !isConnErr(err) && ctx.Err() == nil {
				// The guard after statement k-1 found the report too big.
				return &failure{position: batch[run[k-1]].Cursor.String(),
					err: fmt.Errorf("the report's tables grew past the limit of %d bytes", s.opts.MaxBytes)}
			}
			at := batch[run[min(k, len(run)-1)]]
			if ctx.Err() != nil {
				return &failure{handler: at.Type, position: at.Cursor.String(), err: ctx.Err()}
			}
			return &failure{handler: at.Type, position: at.Cursor.String(), err: err}
		}
	}
	res, err := pl.GetResults()
	if _, ok := res.(*pgconn.PipelineSync); err == nil && !ok {
		err = fmt.Errorf("pipeline: want the sync point, got %T", res)
	}
	if cerr := pl.Close(); err == nil {
		err = cerr
	}
	return err
}

// guardStmt is the name guardSQL is prepared under on a report's session.
const guardStmt = "crm_guard"

// guardSQL re-arms the statement timeout ($1) and fails (an integer that
// does not parse) once the report's relations ($2: every table, index
// and TOAST relation) take more than $3 bytes. Only the main forks are
// measured: the free-space and visibility maps are a small fraction.
const guardSQL = `SELECT set_config('statement_timeout', $1, true),
  CASE WHEN s > $3::bigint THEN (s::text || ' bytes, over the report size limit')::int END
FROM (SELECT coalesce(sum(pg_relation_size(r)), 0)::bigint AS s FROM unnest($2::oid[]) AS r) t`

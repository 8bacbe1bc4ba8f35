package bench

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"crm/internal/pgmigrate"
	"crm/readmodels"
)

// Progress shows the run's progress: Phase starts a phase whose work is
// counted in unit, Update reports the fraction done and the count so far,
// Done ends the phase. Calls come from one goroutine at a time.
type Progress interface {
	Phase(name, unit string)
	Update(frac float64, done int64)
	Done()
}

// Config sizes a run.
type Config struct {
	// DatabaseURL is an empty database the run owns: it creates tables and
	// the event log in it and leaves them.
	DatabaseURL string
	// Executable is the crm binary: the server under test ("serve") and
	// the rebuild ("projections rebuild --all") run as its children.
	Executable string
	// Concurrency is the number of writers of the baseline and of clients
	// of the command phase; the lag phase keeps at most this many commands
	// in flight.
	Concurrency int
	// Baseline, Commands and Lag are the lengths of the timed phases.
	Baseline, Commands, Lag time.Duration
	// LongSamples is how many commands the long-stream phase times on
	// each kind of stream.
	LongSamples int
	// Events is the size of the log the rebuild replays (the commands'
	// events plus seeded leads' histories).
	Events int64
	// ServeFlags are added to the server's command line, after the
	// bench's own flags.
	ServeFlags []string
	// EventStoreMigrations are the event store's migrations (package
	// eventstore/postgres): the append phase applies them to a schema of
	// its own to call crm_append directly.
	EventStoreMigrations pgmigrate.Set
	// Quick is recorded in the result.
	Quick bool
	// Progress, when not nil, is told about each phase.
	Progress Progress

	// masterKey encrypts personal data in the server under test; the
	// rebuild needs the same one.
	masterKey string
	// cpu reads the CPU time of PostgreSQL, the server and the bench.
	cpu cpuMeter
	// stmts counts statements when the server has pg_stat_statements.
	stmts statementMeter
}

// LongStreamEvents is the length of the long stream of phase 5.
const LongStreamEvents = 10000

// lagProjectors are the read models the lag phase waits for: the funnel
// (reports) and the lists.
var lagProjectors = []string{readmodels.ListsProjector, readmodels.ReportsProjector}

// Run measures every phase in one run on the database of c and returns the
// figures. Children it starts are stopped before it returns, also when ctx
// is cancelled.
func Run(ctx context.Context, c Config) (Result, error) {
	if c.Concurrency < 1 || c.Events < 1 || c.LongSamples < 1 || c.Baseline <= 0 || c.Commands <= 0 || c.Lag <= 0 ||
		c.EventStoreMigrations.FS == nil {
		return Result{}, fmt.Errorf("bench: invalid configuration %+v", c)
	}
	if c.Progress == nil {
		c.Progress = quiet{}
	}
	c.masterKey = randomHex(24)
	cfg, err := pgxpool.ParseConfig(c.DatabaseURL)
	if err != nil {
		return Result{}, fmt.Errorf("bench: database url: %w", err)
	}
	cfg.MaxConns = int32(c.Concurrency + 4)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return Result{}, fmt.Errorf("bench: connect: %w", err)
	}
	defer pool.Close()
	r := Result{Quick: c.Quick, Concurrency: c.Concurrency, ServeFlags: c.ServeFlags, CPUs: runtime.NumCPU(), MemTotalMiB: memTotalMiB()}
	if err := pool.QueryRow(ctx, `SHOW server_version`).Scan(&r.PostgreSQL); err != nil {
		return r, fmt.Errorf("bench: %w", err)
	}
	c.cpu = newCPUMeter(ctx, pool)
	c.stmts = newStatementMeter(ctx, pool)
	if err := baseline(ctx, pool, c, &r); err != nil {
		return r, err
	}
	if err := appendVsPeer(ctx, c, &r); err != nil {
		return r, err
	}
	if err := againstServer(ctx, pool, c, &r); err != nil {
		return r, err
	}
	if err := rebuild(ctx, pool, c, &r); err != nil {
		return r, err
	}
	return r, nil
}

// baseline runs phase 1: raw single-row INSERT transactions of Payload at
// the command phase's concurrency.
func baseline(ctx context.Context, pool *pgxpool.Pool, c Config, r *Result) error {
	if _, err := pool.Exec(ctx, BaselineTableSQL); err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	c.Progress.Phase("INSERT", "tx")
	cpu := c.cpu.sample()
	s, err := Load(ctx, c.Concurrency, 0, c.Baseline, func(ctx context.Context, _ int, _ int64) error {
		_, err := pool.Exec(ctx, BaselineInsertSQL, []byte(Payload))
		return err
	}, c.Progress.Update)
	c.Progress.Done()
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	r.BaselineInsertTPS = s.PerSecond()
	used := c.cpu.sample().since(cpu)
	r.BaselinePGCPUms, r.BaselineClientCPUms = perOp(used.pg, s.Ops), perOp(used.bench, s.Ops)
	r.BaselineP50ms, r.BaselineP99ms = Millis(s.Percentile(0.5)), Millis(s.Percentile(0.99))
	return nil
}

// againstServer runs the phases that need the server under test: the
// command mix (2), the lag (4), the long stream (5) and the server's peak
// memory (6); it stops the server at the end.
func againstServer(ctx context.Context, pool *pgxpool.Pool, c Config, r *Result) error {
	key, seal := randomHex(16), randomHex(24)
	args := append([]string{"serve", "--database-url", c.DatabaseURL, "--addr", "127.0.0.1:0",
		"--bootstrap-admin-key", key, "--seal-key", seal, "--master-key", c.masterKey, "--log-format", "json", "--shutdown-timeout", "10s"},
		c.ServeFlags...)
	srv, err := startChild(ctx, c.Executable, args...)
	if err != nil {
		return err
	}
	defer func() { _ = srv.stop(30 * time.Second) }()
	addr, err := srv.waitServing(ctx, 2*time.Minute)
	if err != nil {
		return err
	}
	cl := newClient(addr, key, c.Concurrency)
	run := randomHex(4)

	// Phase 2: the command mix, back to back.
	mixes := make([]*mix, c.Concurrency)
	for w := range mixes {
		mixes[w] = &mix{c: cl, run: run, worker: w}
	}
	// A short warm-up (connections, caches, the server's first plans) is
	// not measured.
	c.Progress.Phase("warm-up", "commands")
	_, err = Load(ctx, c.Concurrency, 0, min(2*time.Second, c.Commands/4), func(ctx context.Context, w int, _ int64) error {
		return mixes[w].next(ctx)
	}, c.Progress.Update)
	c.Progress.Done()
	if err != nil {
		return fmt.Errorf("commands: warm-up: %w", err)
	}
	resetLatencies(mixes)
	c.cpu.serve = srv.cmd.Process.Pid
	c.Progress.Phase("commands", "commands")
	stmtsBefore, err := c.stmts.snapshot(ctx)
	if err != nil {
		return err
	}
	cpu := c.cpu.sample()
	s, err := Load(ctx, c.Concurrency, 0, c.Commands, func(ctx context.Context, w int, _ int64) error {
		return mixes[w].next(ctx)
	}, c.Progress.Update)
	c.Progress.Done()
	if err != nil {
		return fmt.Errorf("commands: %w", err)
	}
	r.Commands, r.CommandTPS = s.Ops, s.PerSecond()
	used := c.cpu.sample().since(cpu)
	stmtsAfter, err := c.stmts.snapshot(ctx)
	if err != nil {
		return err
	}
	r.CommandStatements = delta(stmtsBefore, stmtsAfter, s.Ops, "mix", 15)
	r.CommandPGCPUms, r.CommandServerCPUms, r.CommandClientCPUms = perOp(used.pg, s.Ops), perOp(used.serve, s.Ops), perOp(used.bench, s.Ops)
	r.CommandRatio = r.CommandTPS / r.BaselineInsertTPS
	r.CommandP50ms, r.CommandP95ms, r.CommandP99ms = Millis(s.Percentile(0.5)), Millis(s.Percentile(0.95)), Millis(s.Percentile(0.99))
	r.CommandKinds = kindFigures(mixes)
	if r.ServeRSSMiB, err = srv.peakRSSMiB(); err != nil {
		return err
	}

	// Phase 4: lag at half the command rate, once the read models have
	// caught up with the command phase.
	c.Progress.Phase("catch-up", "s")
	err = waitCaughtUp(ctx, pool, cl, run)
	c.Progress.Done()
	if err != nil {
		return err
	}
	// The statements of each kind of command, one at a time.
	c.Progress.Phase("statements", "commands")
	r.KindStatements, r.IdleStatements, err = profileKinds(ctx, c.stmts, pool, &mix{c: cl, run: run, worker: c.Concurrency}, 3)
	c.Progress.Done()
	if err != nil {
		return err
	}
	issue := func(ctx context.Context) (string, error) {
		rep, err := cl.captureLead(ctx, fmt.Sprintf("%s.lag.%s", run, randomHex(6)))
		return rep.Position, err
	}
	c.Progress.Phase("lag", "commands")
	lag, err := Lag(ctx, pool, lagProjectors, r.CommandTPS/2, c.Lag, c.Concurrency, issue, c.Progress.Update)
	c.Progress.Done()
	if err != nil {
		return fmt.Errorf("lag: %w", err)
	}
	if len(lag.Latencies) == 0 {
		return errors.New("lag: no command measured")
	}
	r.LagCommandsPerS = lag.PerSecond()
	r.LagP50ms, r.LagP99ms = Millis(lag.Percentile(0.5)), Millis(lag.Percentile(0.99))
	r.LagMaxms = Millis(lag.Latencies[len(lag.Latencies)-1])

	// Phase 5: a command on a 10,000-event stream against one on a fresh
	// stream, alternating.
	if err := longStream(ctx, pool, cl, run, c, r); err != nil {
		return err
	}
	if err := srv.stop(30 * time.Second); err != nil {
		return err
	}
	return srv.wait()
}

// waitCaughtUp posts one command and waits until the lag phase's read
// models have reached it.
func waitCaughtUp(ctx context.Context, pool *pgxpool.Pool, cl *client, run string) error {
	rep, err := cl.captureLead(ctx, run+".caught-up")
	if err != nil {
		return fmt.Errorf("catch up: %w", err)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		low, err := lowestCheckpoint(ctx, pool, lagProjectors)
		if err != nil {
			return err
		}
		if rep.Position <= low {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("catch up: the read models did not reach the command phase's end within 5 minutes")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// longStream runs phase 5.
func longStream(ctx context.Context, pool *pgxpool.Pool, cl *client, run string, c Config, r *Result) error {
	long, err := cl.captureLead(ctx, run+".long")
	if err != nil {
		return fmt.Errorf("long stream: %w", err)
	}
	if err := GrowStream(ctx, pool, long.ID, LongStreamEvents-1); err != nil {
		return fmt.Errorf("long stream: %w", err)
	}
	c.Progress.Phase("long stream", "commands")
	defer c.Progress.Done()
	attempt := func(id string) (time.Duration, error) {
		start := time.Now()
		_, err := cl.post(ctx, "/v1/leads/"+id+"/contact-attempts", map[string]any{"channel": "call", "outcome": "reached"})
		return time.Since(start), err
	}
	var onLong, onFresh []time.Duration
	for i := range c.LongSamples {
		fresh, err := cl.captureLead(ctx, fmt.Sprintf("%s.fresh.%d", run, i))
		if err != nil {
			return fmt.Errorf("long stream: %w", err)
		}
		f, err := attempt(fresh.ID)
		if err != nil {
			return fmt.Errorf("long stream: %w", err)
		}
		l, err := attempt(long.ID)
		if err != nil {
			return fmt.Errorf("long stream: %w", err)
		}
		onFresh, onLong = append(onFresh, f), append(onLong, l)
		c.Progress.Update(float64(i+1)/float64(c.LongSamples), int64(2*(i+1)))
	}
	slices.Sort(onFresh)
	slices.Sort(onLong)
	f, l := Sample{Latencies: onFresh}.Percentile(0.5), Sample{Latencies: onLong}.Percentile(0.5)
	r.LongStreamFreshMs, r.LongStreamLongMs = Millis(f), Millis(l)
	r.LongStreamRatio = float64(l) / float64(f)
	return nil
}

// seedChunk is how many leads one seeding statement appends.
const seedChunk = 25000

// insertSelectRuns is how many times the INSERT … SELECT baseline runs.
const insertSelectRuns = 3

// rebuild runs phase 3 and the rebuild's peak memory (6): it grows the log
// to c.Events, times the INSERT … SELECT baselines, then rebuilds every
// projector from zero in a child process.
func rebuild(ctx context.Context, pool *pgxpool.Pool, c Config, r *Result) error {
	var have int64
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM crm_events`).Scan(&have); err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	leads := max(c.Events-have+3, 0) / 4
	c.Progress.Phase("seed", "events")
	for done := int64(0); done < leads; {
		n := min(seedChunk, leads-done)
		if _, err := pool.Exec(ctx, SeedLeadsSQL, n, done); err != nil {
			c.Progress.Done()
			return fmt.Errorf("rebuild: seed the log: %w", err)
		}
		done += n
		c.Progress.Update(float64(done)/float64(leads), 4*done)
	}
	c.Progress.Done()
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM crm_events`).Scan(&r.RebuildEvents); err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `ANALYZE crm_events`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, RawSchemaSQL); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SET LOCAL search_path = bench_raw`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, readmodels.ListsSchema)
		return err
	})
	if err != nil {
		return fmt.Errorf("rebuild: baseline tables: %w", err)
	}
	// The baseline runs insertSelectRuns times into an empty table and its
	// median counts (one statement of a few seconds is easily disturbed);
	// the narrow reference runs once.
	c.Progress.Phase("INSERT … SELECT", "rows")
	steps := insertSelectRuns + 1
	timed := func(first, runs int, table, sql string) (float64, error) {
		var rates []time.Duration
		for range runs {
			if _, err := pool.Exec(ctx, `TRUNCATE `+table+`; CHECKPOINT`); err != nil {
				return 0, err
			}
			start := time.Now()
			if _, err := pool.Exec(ctx, sql); err != nil {
				return 0, err
			}
			rates = append(rates, time.Since(start))
			n := first + len(rates)
			c.Progress.Update(float64(n)/float64(steps), int64(n)*r.RebuildEvents)
		}
		slices.Sort(rates)
		return float64(r.RebuildEvents) / Sample{Latencies: rates}.Percentile(0.5).Seconds(), nil
	}
	if r.BaselineInsertSelectRowsPerS, err = timed(0, insertSelectRuns, "bench_raw.leads", RawInsertSQL); err == nil {
		r.NarrowInsertSelectRowsPerS, err = timed(insertSelectRuns, 1, "bench_raw.narrow", NarrowInsertSQL)
	}
	c.Progress.Done()
	if err != nil {
		return fmt.Errorf("rebuild: INSERT … SELECT: %w", err)
	}
	if _, err := pool.Exec(ctx, `CHECKPOINT`); err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}

	c.Progress.Phase("rebuild", "events")
	defer c.Progress.Done()
	var projectors int64
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM crm_projections`).Scan(&projectors); err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	child, err := startChild(ctx, c.Executable, "projections", "rebuild", "--all", "--database-url", c.DatabaseURL,
		"--master-key", c.masterKey, "--log-format", "json")
	if err != nil {
		return err
	}
	defer func() { _ = child.stop(30 * time.Second) }()
	for running := true; running; {
		select {
		case <-child.exited:
			running = false
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
			var done int64
			if err := pool.QueryRow(ctx, `SELECT coalesce(sum(rebuild_done), 0) FROM crm_projections`).Scan(&done); err == nil {
				c.Progress.Update(float64(done)/float64(max(projectors*r.RebuildEvents, 1)), done)
			}
		}
	}
	if err := child.wait(); err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	if r.RebuildRSSMiB, err = child.maxRSSMiB(); err != nil {
		return err
	}
	r.ProjectorRebuildEventsPerS = map[string]float64{}
	var total time.Duration
	sc := bufio.NewScanner(strings.NewReader(child.stdout.String()))
	for sc.Scan() {
		m := rebuiltLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		n, err1 := strconv.ParseInt(m[2], 10, 64)
		took, err2 := time.ParseDuration(m[3])
		if err1 != nil || err2 != nil || took <= 0 {
			return fmt.Errorf("rebuild: cannot read %q", sc.Text())
		}
		r.ProjectorRebuildEventsPerS[m[1]] = float64(n) / took.Seconds()
		total += took
	}
	if int64(len(r.ProjectorRebuildEventsPerS)) != projectors || total <= 0 {
		return fmt.Errorf("rebuild: want %d projectors rebuilt, the rebuild printed:\n%s", projectors, child.stdout.String())
	}
	// Every projector in turn: events of the log per second of the whole.
	r.RebuildEventsPerS = float64(r.RebuildEvents) / total.Seconds()
	r.RebuildRatio = r.RebuildEventsPerS / r.BaselineInsertSelectRowsPerS
	c.Progress.Update(1, projectors*r.RebuildEvents)
	return nil
}

// rebuiltLine is what "crm projections rebuild" prints per projector.
var rebuiltLine = regexp.MustCompile(`^(\S+) rebuilt: (\d+) events in (\S+) \(`)

// memTotalMiB is the machine's memory from /proc/meminfo, 0 when unknown.
func memTotalMiB() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kib / 1024
		}
	}
	return 0
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// quiet is a Progress that shows nothing.
type quiet struct{}

func (quiet) Phase(string, string)  {}
func (quiet) Update(float64, int64) {}
func (quiet) Done()                 {}

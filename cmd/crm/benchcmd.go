package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"crm/eventstore/postgres"
	"crm/internal/bench"
	"crm/internal/embeddedpg"
)

const benchSynopsis = `Measure the engine against the raw limits of its PostgreSQL server in one run:
raw INSERT transactions vs a command mix over HTTP, single-event appends
(crm_append) vs Message DB's write_message, a rebuild of every projector vs
INSERT … SELECT, command-to-read-model lag, a long stream vs a fresh one,
and peak memory of the server and of a rebuild. Without
--database-url it runs on a private embedded server in a temporary directory;
with it, in a database of its own on that server. Both are removed at the end.`

// benchConfig is the parsed command line of "crm bench".
type benchConfig struct {
	dbURL       dbURLValue
	quick       bool
	jsonPath    string
	concurrency int
	duration    positiveDuration
	events      int64
	serveFlags  stringList
	progress    enumValue
}

func parseBench(args []string, stdout io.Writer) (benchConfig, error) {
	var c benchConfig
	f := newFlagSet("bench")
	f.Var(&c.dbURL, "database-url", "PostgreSQL server to measure (the bench creates and drops a database on it); empty runs an embedded server")
	f.withEnv("database-url", "CRM_DATABASE_URL")
	f.BoolVar(&c.quick, "quick", false, "a short run (about 2 minutes; 200,000 events for the rebuild)")
	f.StringVar(&c.jsonPath, "json", "", "also write the figures as JSON to this file")
	f.IntVar(&c.concurrency, "concurrency", 8, "concurrent writers of the baseline and clients of the command phase")
	f.Var(&c.duration, "duration", "length of the command phase (default 60s, 20s with --quick); the baseline runs half, the lag phase three quarters of it")
	f.Int64Var(&c.events, "events", 0, "events in the log the rebuild replays (default 1000000, 200000 with --quick)")
	registerProgress(f, &c.progress)
	f.Var(&c.serveFlags, "serve-flag", "a flag for the server under test, such as --serve-flag=--automations=false (repeatable)")
	if err := f.parse(args); err != nil {
		if err == errHelp {
			f.usage(stdout, benchSynopsis)
		}
		return c, err
	}
	if c.concurrency < 1 || c.concurrency > 256 {
		return c, &usageError{msg: "invalid value for -concurrency: must be between 1 and 256"}
	}
	if c.events < 0 || (c.events > 0 && c.events < 1000) || c.events > 100_000_000 {
		return c, &usageError{msg: "invalid value for -events: must be between 1000 and 100000000"}
	}
	if c.duration.value != 0 && c.duration.value < time.Second {
		return c, &usageError{msg: "invalid value for -duration: must be at least 1s"}
	}
	for _, fl := range c.serveFlags {
		if err := checkServeFlag(fl); err != nil {
			return c, &usageError{msg: fmt.Sprintf("invalid value %q for -serve-flag: %s", fl, err)}
		}
	}
	if c.jsonPath != "" {
		if st, err := os.Stat(filepath.Dir(c.jsonPath)); err != nil || !st.IsDir() {
			return c, &usageError{msg: "invalid value for -json: no such directory " + filepath.Dir(c.jsonPath)}
		}
	}
	return c, nil
}

// benchServeFlags are the server flags the bench sets itself.
var benchServeFlags = []string{"database-url", "data-dir", "addr", "bootstrap-admin-key", "seal-key", "master-key", "log-format", "shutdown-timeout"}

// checkServeFlag checks one --serve-flag as serve would parse it, without
// the environment (the server under test does not see the bench's CRM_*
// variables), and refuses the flags the bench sets.
func checkServeFlag(fl string) error {
	if !strings.HasPrefix(fl, "-") {
		return errors.New("want a flag such as --automations=false")
	}
	f := serveFlags(&serveConfig{})
	if err := f.Parse([]string{fl}); err != nil {
		return errors.New(oneLine(err.Error()))
	}
	if f.NArg() > 0 {
		return errors.New("want one flag, such as --automations=false")
	}
	var own string
	f.Visit(func(x *flag.Flag) {
		if slices.Contains(benchServeFlags, x.Name) {
			own = x.Name
		}
	})
	if own != "" {
		return fmt.Errorf("the bench sets -%s itself", own)
	}
	return nil
}

// benchCmd runs the benchmark, prints the table and writes the JSON. It
// fails only when a phase cannot run; a missed target is shown, not an
// error. Ctrl-C stops the children and removes what the run created.
func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseBench(args, stdout)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the crm binary: %w", err)
	}
	cfg := bench.Config{Executable: exe, Concurrency: c.concurrency, Quick: c.quick, LongSamples: 200, Events: 1_000_000,
		Commands: 60 * time.Second, Progress: &benchProgress{w: stderr, mode: c.progress.value}, ServeFlags: c.serveFlags,
		EventStoreMigrations: postgres.Migrations}
	if c.quick {
		cfg.LongSamples, cfg.Events, cfg.Commands = 50, 200_000, 20*time.Second
	}
	if c.duration.value > 0 {
		cfg.Commands = c.duration.value
	}
	if c.events > 0 {
		cfg.Events = c.events
	}
	cfg.Baseline, cfg.Lag = cfg.Commands/2, cfg.Commands*3/4

	dbURL, cleanup, err := benchDatabase(ctx, c.dbURL.value, stderr)
	if err != nil {
		return err
	}
	defer cleanup()
	cfg.DatabaseURL = dbURL
	res, err := bench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "crm %s, %d CPUs, %d MiB, PostgreSQL %s, concurrency %d, %d events rebuilt\n\n",
		versionString(), res.CPUs, res.MemTotalMiB, res.PostgreSQL, res.Concurrency, res.RebuildEvents)
	if len(res.ServeFlags) > 0 {
		fmt.Fprintf(stdout, "server flags: %s\n\n", strings.Join(res.ServeFlags, " "))
	}
	if err := res.WriteTable(stdout); err != nil {
		return err
	}
	if c.jsonPath != "" {
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(c.jsonPath, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", c.jsonPath, err)
		}
	}
	return nil
}

// benchDatabase makes the run's database: on the server at serverURL a
// new database crm_bench_<random>, else an embedded server in a temporary
// directory. cleanup drops the database or stops the server and removes
// the directory.
func benchDatabase(ctx context.Context, serverURL string, stderr io.Writer) (string, func(), error) {
	if serverURL == "" {
		dir, err := os.MkdirTemp("", "crm-bench-")
		if err != nil {
			return "", nil, err
		}
		fmt.Fprintf(stderr, "starting an embedded PostgreSQL in %s\n", dir)
		opts := embeddedpg.Options{DataDir: dir, Logger: slog.New(slog.DiscardHandler)}
		if embeddedpg.HasLibrary("pg_stat_statements") {
			// The bench counts each command's statements.
			opts.Settings = []string{"shared_preload_libraries=pg_stat_statements", "pg_stat_statements.track=top",
				"pg_stat_statements.max=5000"}
		}
		srv, err := embeddedpg.Start(ctx, opts)
		if err != nil {
			_ = os.RemoveAll(dir)
			return "", nil, fmt.Errorf("embedded PostgreSQL: %w", err)
		}
		cleanup := func() {
			_ = srv.Stop()
			_ = os.RemoveAll(dir)
		}
		if err := srv.CreateDatabase(ctx, "crm"); err != nil {
			cleanup()
			return "", nil, err
		}
		return srv.URL("crm"), cleanup, nil
	}
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return "", nil, fmt.Errorf("connect to %s: %w", redactURL(serverURL), err)
	}
	defer conn.Close(context.Background())
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	name := fmt.Sprintf("crm_bench_%x", suffix)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	cleanup := func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, serverURL)
		if err != nil {
			fmt.Fprintf(stderr, "crm bench: drop database %s: %v\n", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(stderr, "crm bench: drop database %s: %v\n", name, err)
		}
	}
	return withDatabase(serverURL, name), cleanup, nil
}

// withDatabase returns the connection string u naming database name.
func withDatabase(u, name string) string {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "postgres" && p.Scheme != "postgresql") {
		return u + " dbname=" + name // a keyword/value connection string
	}
	p.Path = "/" + name
	return p.String()
}

// redactURL hides the password of a connection URL.
func redactURL(u string) string {
	if p, err := url.Parse(u); err == nil && p.User != nil {
		return p.Redacted()
	}
	return "the database server"
}

// benchProgress draws each phase of the bench as a progress bar.
type benchProgress struct {
	w    io.Writer
	mode string
	bar  *progressBar
	done int64
}

func (p *benchProgress) Phase(name, unit string) {
	p.bar = newProgressBar(p.w, name, p.mode)
	p.bar.unit, p.done = unit, 0
}

func (p *benchProgress) Update(frac float64, done int64) {
	p.done = done
	p.bar.draw(frac, done, 0)
}

func (p *benchProgress) Done() {
	p.bar.finish = true
	p.bar.draw(1, p.done, 0)
	if p.bar.mode == progressModeBar {
		fmt.Fprintln(p.w)
	}
}

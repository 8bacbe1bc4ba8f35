package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"crm/internal/app"
)

// usageError is a command-line mistake: reported in one line, exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// errHelp asks for the usage text (exit code 0).
var errHelp = errors.New("help requested")

// flagSet is a flag.FlagSet whose flags also read CRM_* environment
// variables, and whose errors are one line naming the flag.
type flagSet struct {
	*flag.FlagSet
	env map[string]string // flag name -> environment variable
}

func newFlagSet(cmd string) *flagSet {
	fs := flag.NewFlagSet("crm "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flagSet{FlagSet: fs, env: map[string]string{}}
}

// withEnv records the environment variable that sets flag name when the
// command line does not.
func (f *flagSet) withEnv(name, env string) {
	f.env[name] = env
	fl := f.Lookup(name)
	fl.Usage += " (env " + env + ")"
}

// parse reads the command line, then the environment for flags not given.
func (f *flagSet) parse(args []string) error {
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return &usageError{msg: f.explain(oneLine(err.Error()))}
	}
	if f.NArg() > 0 {
		return &usageError{msg: fmt.Sprintf("unexpected argument %q", f.Arg(0))}
	}
	given := map[string]bool{}
	f.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	names := make([]string, 0, len(f.env))
	for name := range f.env {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		env := f.env[name]
		v, ok := os.LookupEnv(env)
		if !ok || given[name] {
			continue
		}
		if err := f.Set(name, v); err != nil {
			return &usageError{msg: fmt.Sprintf("invalid value %q for %s (flag -%s): %s", v, env, name, f.explainValue(name, err.Error()))}
		}
	}
	return nil
}

// explain rewrites the flag package's "invalid value ... for flag -name:
// parse error" to say what the value must be.
func (f *flagSet) explain(msg string) string {
	const suffix = ": parse error"
	if strings.HasPrefix(msg, "invalid boolean value ") && strings.HasSuffix(msg, suffix) {
		return strings.TrimSuffix(msg, suffix) + ": must be true or false"
	}
	i := strings.Index(msg, " for flag -")
	if i < 0 || !strings.HasSuffix(msg, suffix) {
		return msg
	}
	name := strings.TrimSuffix(msg[i+len(" for flag -"):], suffix)
	return strings.TrimSuffix(msg, suffix) + ": " + f.explainValue(name, "parse error")
}

// explainValue is what flag name's value must be, for a parse error
// message of the flag package; other messages are kept.
func (f *flagSet) explainValue(name, msg string) string {
	fl := f.Lookup(name)
	if fl == nil || msg != "parse error" {
		return msg
	}
	switch fmt.Sprintf("%T", fl.Value) {
	case "*flag.intValue", "*flag.int64Value":
		return "must be a whole number"
	case "*flag.uintValue", "*flag.uint64Value":
		return "must be a whole number, 0 or more"
	case "*flag.boolValue":
		return "must be true or false"
	case "*flag.float64Value":
		return "must be a number"
	case "*flag.durationValue":
		return "must be a duration such as 500ms, 30s or 5m"
	}
	return msg
}

// usage renders the flags for --help.
func (f *flagSet) usage(w io.Writer, synopsis string) {
	fmt.Fprintf(w, "usage: %s [flags]\n\n%s\n\nflags:\n", f.Name(), synopsis)
	f.SetOutput(w)
	f.PrintDefaults()
	f.SetOutput(io.Discard)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// enumValue is a flag restricted to a set of values.
type enumValue struct {
	value   string
	allowed []string
}

func (e *enumValue) String() string { return e.value }
func (e *enumValue) Set(s string) error {
	if !slices.Contains(e.allowed, s) {
		return fmt.Errorf("must be one of %s", strings.Join(e.allowed, ", "))
	}
	e.value = s
	return nil
}

// addrValue is a listen address host:port.
type addrValue struct{ value string }

func (a *addrValue) String() string { return a.value }
func (a *addrValue) Set(s string) error {
	if _, port, err := net.SplitHostPort(s); err != nil || port == "" {
		return fmt.Errorf("want host:port such as :8080 or 127.0.0.1:8080")
	}
	a.value = s
	return nil
}

// dbURLValue is a PostgreSQL connection string, checked when set.
type dbURLValue struct{ value string }

func (d *dbURLValue) String() string { return d.value }
func (d *dbURLValue) Set(s string) error {
	if s != "" {
		if _, err := pgxpool.ParseConfig(s); err != nil {
			return errors.New("not a valid PostgreSQL connection string")
		}
	}
	d.value = s
	return nil
}

// positiveDuration is a duration above zero.
type positiveDuration struct{ value time.Duration }

func (p *positiveDuration) String() string { return p.value.String() }
func (p *positiveDuration) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return errors.New("want a positive duration such as 15s")
	}
	p.value = d
	return nil
}

// dbConfig selects the database: a URL, or the embedded server in a data
// directory.
type dbConfig struct {
	url      dbURLValue
	dataDir  string
	maxConns int
}

func (c *dbConfig) register(f *flagSet) {
	f.Var(&c.url, "database-url", "PostgreSQL connection string; empty runs the embedded server in --data-dir")
	f.withEnv("database-url", "CRM_DATABASE_URL")
	f.StringVar(&c.dataDir, "data-dir", "./crm-data", "directory of the embedded PostgreSQL server and its admin key")
	f.withEnv("data-dir", "CRM_DATA_DIR")
	f.IntVar(&c.maxConns, "db-max-conns", 32, "maximum database connections in the pool")
	f.withEnv("db-max-conns", "CRM_DB_MAX_CONNS")
}

func (c *dbConfig) check() error {
	if c.maxConns < 2 || c.maxConns > 1000 {
		return &usageError{msg: "invalid value for -db-max-conns: must be between 2 and 1000"}
	}
	if c.url.value == "" && strings.TrimSpace(c.dataDir) == "" {
		return &usageError{msg: "invalid value for -data-dir: must not be empty without -database-url"}
	}
	return nil
}

// app is the database as the composition root takes it.
func (c *dbConfig) app() app.DatabaseConfig {
	return app.DatabaseConfig{URL: c.url.value, DataDir: c.dataDir, MaxConns: c.maxConns}
}

// logConfig selects the log format and level.
type logConfig struct {
	format enumValue
	level  enumValue
}

func (c *logConfig) register(f *flagSet) {
	c.format = enumValue{value: "text", allowed: []string{"text", "json"}}
	c.level = enumValue{value: "info", allowed: []string{"debug", "info", "warn", "error"}}
	f.Var(&c.format, "log-format", "log format: text or json")
	f.withEnv("log-format", "CRM_LOG_FORMAT")
	f.Var(&c.level, "log-level", "log level: debug, info, warn or error")
	f.withEnv("log-level", "CRM_LOG_LEVEL")
}

func (c *logConfig) logger(w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.level.value))
	opts := &slog.HandlerOptions{Level: level}
	if c.format.value == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, " ") }
func (l *stringList) Set(s string) error {
	*l = append(*l, s)
	return nil
}

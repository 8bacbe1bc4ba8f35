package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"crm/internal/app"
	"crm/projections"
)

const projectionsUsage = "usage: crm projections list | status | rebuild NAME | rebuild --all"

func projectionsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return &usageError{msg: "want: " + projectionsUsage[len("usage: crm "):]}
	}
	sub := args[0]
	if sub == "-h" || sub == "--help" {
		fmt.Fprintln(stdout, projectionsUsage)
		return errHelp
	}
	var (
		dbc  dbConfig
		esc  eventStoreValue
		logc logConfig
		mkc  masterKeyConfig
		all  bool
		prog enumValue
	)
	f := newFlagSet("projections " + sub)
	dbc.register(f)
	esc.register(f)
	logc.register(f)
	if sub == "rebuild" {
		f.BoolVar(&all, "all", false, "rebuild every projection")
		registerProgress(f, &prog)
		mkc.register(f)
	}
	switch sub {
	case "list", "status", "rebuild":
	default:
		return &usageError{msg: fmt.Sprintf("unknown projections command %q; %s", sub, projectionsUsage)}
	}
	rest := args[1:]
	var names []string
	if sub == "rebuild" && len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		names, rest = rest[:1], rest[1:]
	}
	if err := f.parse(rest); err != nil {
		if err == errHelp {
			f.usage(stdout, projectionsUsage)
		}
		return err
	}
	if sub == "rebuild" && all == (len(names) > 0) {
		return &usageError{msg: "rebuild takes one projection NAME or --all"}
	}
	if err := dbc.check(); err != nil {
		return err
	}
	if sub == "rebuild" {
		if err := mkc.check(dbc); err != nil {
			return err
		}
	}
	log := logc.logger(stderr)
	cfg := app.Config{Database: dbc.app(), EventStoreURL: esc.value, Logger: log, Projections: &projections.Options{}}
	if sub == "rebuild" {
		// A rebuild reads the log revealed, as serve's projectors do.
		cfg.MasterKey = mkc.source(dbc)
	}
	a, err := app.Build(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	eng := a.Engine
	switch sub {
	case "list", "status":
		st, err := eng.Status(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		if sub == "list" {
			fmt.Fprintln(tw, "NAME\tSTATE\tCAUGHT UP")
			for _, s := range st {
				fmt.Fprintf(tw, "%s\t%s\t%v\n", s.Name, s.State, s.CaughtUp)
			}
			return tw.Flush()
		}
		fmt.Fprintln(tw, "NAME\tSTATE\tCHECKPOINT\tHEAD\tEVENTS\tOWNER\tERROR")
		for _, s := range st {
			owner, msg := "-", "-"
			if s.Owner != nil {
				owner = *s.Owner
			}
			if s.Error != nil {
				msg = *s.Error
				if s.ErrorPosition != nil {
					msg += " (at " + *s.ErrorPosition + ")"
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", s.Name, s.State, orDash(s.Checkpoint), orDash(s.Head), s.EventsApplied, owner, msg)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if pg := a.Postgres; pg != nil {
			w, err := pg.Waiting(ctx)
			if err != nil {
				return err
			}
			if w.Events > 0 && w.OldestWriter != nil {
				o := w.OldestWriter
				since := "?"
				if o.Since != nil {
					since = o.Since.UTC().Format(time.RFC3339)
				}
				fmt.Fprintf(stdout, "%d committed events wait behind a transaction open since %s: pid %d, database %q, application %q, %s\n",
					w.Events, since, o.PID, o.Database, o.Application, o.State)
			}
		}
		return nil
	}
	if all {
		names = eng.Names()
	}
	for _, name := range names {
		if _, ok := eng.Projector(name); !ok {
			return &usageError{msg: fmt.Sprintf("unknown projection %q (have %v)", name, eng.Names())}
		}
	}
	for _, name := range names {
		bar := newProgressBar(stderr, name, prog.value)
		start := time.Now()
		var done, total int64
		err := eng.Rebuild(ctx, name, func(d, t int64) { done, total = d, t; bar.update(d, t) })
		bar.done(done, total)
		if err != nil {
			return fmt.Errorf("rebuild %s: %w", name, err)
		}
		elapsed := time.Since(start)
		fmt.Fprintf(stdout, "%s rebuilt: %d events in %s (%.0f events/s)\n", name, done, elapsed.Round(time.Millisecond), float64(done)/elapsed.Seconds())
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

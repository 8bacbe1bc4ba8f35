package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"crm/eventstore"
	"crm/internal/app"
	"crm/internal/eventexport"
)

// eventsExport runs crm events export: the log, revealed through the
// master key, as rows in OUT ("-": standard output).
func eventsExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		dbc          dbConfig
		esc          eventStoreValue
		logc         logConfig
		mkc          masterKeyConfig
		format       string
		from, to     string
		types, after string
		batch        int
	)
	f := newFlagSet("events export")
	dbc.register(f)
	esc.register(f)
	logc.register(f)
	mkc.register(f)
	f.StringVar(&format, "format", eventexport.Parquet, "parquet, csv or ndjson")
	f.StringVar(&from, "from", "", "only events recorded at or after this time (RFC 3339 or YYYY-MM-DD)")
	f.StringVar(&to, "to", "", "only events recorded before this time (RFC 3339 or YYYY-MM-DD)")
	f.StringVar(&types, "types", "", "only these event types, comma-separated; a type may end in * (opportunity.*)")
	var progress enumValue
	registerProgress(f, &progress)
	f.StringVar(&after, "after", "", "start after this cursor (the last one of an earlier export, or a command's position)")
	f.IntVar(&batch, "batch", 5000, "events read at a time")
	// OUT may stand anywhere among the flags, all of which take a value.
	var rest, flags []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-" || !strings.HasPrefix(a, "-"):
			rest = append(rest, a)
		case a == "-h" || a == "--help" || a == "-help" || strings.Contains(a, "="):
			flags = append(flags, a)
		default:
			flags = append(flags, a)
			if i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
		}
	}
	if err := f.parse(flags); err != nil {
		if err == errHelp {
			f.usage(stdout, "Export the event log as rows, one per event (cursor, position, stream, version, type, recorded_at, actor, ids, data as JSON and a data_<field> column per top-level data field), to OUT, a file or - for standard output. Personal values read in plaintext, or [erased] after an erasure.")
		}
		return err
	}
	if len(rest) != 1 {
		return &usageError{msg: "want one OUT file (or - for standard output); " + eventsUsage}
	}
	out := rest[0]
	if !validFormat(format) {
		return &usageError{msg: "invalid value for -format: must be parquet, csv or ndjson"}
	}
	if batch < 1 || batch > 100000 {
		return &usageError{msg: "invalid value for -batch: must be between 1 and 100000"}
	}
	filter := eventexport.Filter{}
	var err error
	if filter.From, err = parseWhen("from", from); err != nil {
		return err
	}
	if filter.To, err = parseWhen("to", to); err != nil {
		return err
	}
	if !filter.From.IsZero() && !filter.To.IsZero() && !filter.To.After(filter.From) {
		return &usageError{msg: "invalid value for -to: must be after -from"}
	}
	if filter.After, err = eventstore.ParseCursor(after); err != nil {
		return &usageError{msg: "invalid value for -after: must be a cursor (32 hex digits)"}
	}
	for _, t := range strings.Split(types, ",") {
		if t = strings.TrimSpace(t); t != "" {
			filter.Types = append(filter.Types, t)
		}
	}
	if err := dbc.check(); err != nil {
		return err
	}
	if err := mkc.check(dbc); err != nil {
		return err
	}
	log := logc.logger(stderr)
	a, err := app.Build(ctx, app.Config{Database: dbc.app(), EventStoreURL: esc.value, Logger: log, MasterKey: mkc.source(dbc)})
	if err != nil {
		return err
	}
	defer a.Close()
	exp, err := app.NewExporter(a.Log, a.Codec)
	if err != nil {
		return err
	}
	w, finish, err := openOut(out, stdout)
	if err != nil {
		return err
	}
	o := exp.Options(format, filter)
	o.BatchSize = batch
	// The fraction comes from log positions (a sequence, so close to a
	// count of events); the count shown is of events read.
	bar := newProgressBar(stderr, "export", progress.value)
	first := filter.After.Minor
	o.Progress = func(read, _ int64, at, head uint64) {
		frac := 1.0
		if head > first {
			frac = min(float64(at-first)/float64(head-first), 1)
		}
		bar.draw(frac, read, 0)
	}
	start := time.Now()
	st, err := exp.Write(ctx, w, o)
	bar.finish = true
	bar.draw(1, st.Read, 0)
	if bar.mode == progressModeBar {
		fmt.Fprintln(stderr)
	}
	if ferr := finish(err == nil); err == nil {
		err = ferr
	}
	if err != nil {
		return err
	}
	took := time.Since(start)
	fmt.Fprintf(stderr, "exported %d of %d events in %s (%.0f events/s) to %s; next export: --after %s\n",
		st.Written, st.Read, took.Round(time.Millisecond), float64(st.Read)/max(took.Seconds(), 1e-9), out, orDash(st.Last.String()))
	return nil
}

func validFormat(f string) bool {
	for _, v := range eventexport.Formats {
		if f == v {
			return true
		}
	}
	return false
}

// parseWhen parses an optional time flag.
func parseWhen(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, &usageError{msg: "invalid value for -" + name + ": must be an RFC 3339 time or a YYYY-MM-DD date"}
}

// openOut opens the export's destination: standard output for "-", else
// a temporary file beside out that finish renames to out when the export
// succeeded (and removes otherwise), so a failed export leaves no half
// file behind.
func openOut(out string, stdout io.Writer) (io.Writer, func(ok bool) error, error) {
	if out == "-" {
		return stdout, func(bool) error { return nil }, nil
	}
	f, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*")
	if err != nil {
		return nil, nil, fmt.Errorf("export to %s: %w", out, err)
	}
	return f, func(ok bool) error {
		err := f.Close()
		if ok && err == nil {
			err = os.Rename(f.Name(), out)
		}
		if !ok || err != nil {
			_ = os.Remove(f.Name())
		}
		if err != nil {
			return fmt.Errorf("export to %s: %w", out, err)
		}
		return nil
	}, nil
}

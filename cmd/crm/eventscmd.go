package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"time"

	"crm/eventstore"
	"crm/eventstore/postgres"
	"crm/internal/app"
)

const eventsUsage = "usage: crm events copy --from URL --to URL | crm events export --format parquet|csv|ndjson [--from T] [--to T] [--types T,...] OUT"

func eventsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		if len(args) == 0 {
			return &usageError{msg: "want: " + eventsUsage[len("usage: crm "):]}
		}
		fmt.Fprintln(stdout, eventsUsage)
		return errHelp
	}
	if args[0] == "export" {
		return eventsExport(ctx, args[1:], stdout, stderr)
	}
	if args[0] != "copy" {
		return &usageError{msg: fmt.Sprintf("unknown events command %q; %s", args[0], eventsUsage)}
	}
	var (
		from, to storeURLValue
		logc     logConfig
		batch    int
		progress enumValue
	)
	f := newFlagSet("events copy")
	f.Var(&from, "from", "source event store: postgres://... or esdb://...")
	f.Var(&to, "to", "destination event store: postgres://... or esdb://... (empty, or a partial copy of the source)")
	f.IntVar(&batch, "batch", 1000, "events read from the source at a time")
	logc.register(f)
	registerProgress(f, &progress)
	if err := f.parse(args[1:]); err != nil {
		if err == errHelp {
			f.usage(stdout, "Copy the whole event log from one store to another, keeping ids, order, metadata and recorded times. Re-running resumes an interrupted copy and appends nothing twice.")
		}
		return err
	}
	switch {
	case from.value == "":
		return &usageError{msg: "missing -from URL"}
	case to.value == "":
		return &usageError{msg: "missing -to URL"}
	case from.value == to.value:
		return &usageError{msg: "-from and -to name the same store"}
	case batch < 1 || batch > 100000:
		return &usageError{msg: "invalid value for -batch: must be between 1 and 100000"}
	}
	log := logc.logger(stderr)
	src, err := app.OpenStore(ctx, from.value, nil, false, log)
	if err != nil {
		return err
	}
	defer func() { _ = src.Close() }()
	clock := &replayClock{}
	dst, err := app.OpenStore(ctx, to.value, clock.now, true, log)
	if err != nil {
		return err
	}
	defer func() { _ = dst.Close() }()
	if ps, ok := dst.Store.(*postgres.Store); ok {
		kept, err := ps.SuppliedTimesAllowed(ctx)
		if err != nil {
			return err
		}
		if !kept {
			return errors.New("the destination database stamps events with its own clock, so the copy would lose the recorded times: " +
				"as its owner run ALTER DATABASE <name> SET crm.supplied_recorded_at = on for the copy, and RESET it after")
		}
	}

	var total int64
	if c := src.Counter; c != nil {
		if total, err = c.Count(ctx); err != nil {
			return fmt.Errorf("count source events: %w", err)
		}
	}
	bar := newProgressBar(stderr, "copy", progress.value)
	res, err := copyLog(ctx, src, dst, clock, copyOptions{Batch: batch, Progress: func(done int64) { bar.update(done, total) }})
	bar.done(res.Present+res.Copied, total)
	if err != nil {
		return fmt.Errorf("copy after %d events: %w", res.Present+res.Copied, err)
	}
	fmt.Fprintf(stdout, "copied %d events (%d already present)\n", res.Copied, res.Present)
	fmt.Fprintf(stdout, "source:      %d events, sha256 %s\n", res.Source.Count, res.Source.Hash)
	fmt.Fprintf(stdout, "destination: %d events, sha256 %s\n", res.Dest.Count, res.Dest.Hash)
	if res.Source != res.Dest {
		return fmt.Errorf("the destination log differs from the source")
	}
	fmt.Fprintln(stdout, "logs match")
	return nil
}

// replayClock gives the destination store the recorded time of the event
// being copied.
type replayClock struct{ t time.Time }

func (c *replayClock) now() time.Time { return c.t }

type copyOptions struct {
	Batch    int
	Progress func(done int64)
}

// logDigest is the count and hash of a log.
type logDigest struct {
	Count int64
	Hash  string
}

type copyResult struct {
	Present, Copied int64
	Source, Dest    logDigest
}

// copyLog copies src's log to dst in log order. dst must hold a prefix of
// src (nothing, or an interrupted copy): the prefix is verified event by
// event and skipped, the rest is appended one stream run at a time, each
// event at its source version with its id, metadata and recorded time.
// Because every append is atomic and in source order, an interruption
// leaves dst a prefix again, so re-running resumes and appends nothing
// twice. It ends by comparing the counts and hashes of both logs.
func copyLog(ctx context.Context, src, dst eventstore.Store, clock *replayClock, o copyOptions) (copyResult, error) {
	var res copyResult
	srcHash, dstHash := sha256.New(), sha256.New()
	var srcCur, dstCur eventstore.Cursor
	var dstBuf []eventstore.Event
	dstDone := false
	nextDst := func() (eventstore.Event, bool, error) {
		if len(dstBuf) == 0 && !dstDone {
			evs, err := dst.ReadAll(ctx, dstCur, o.Batch)
			if err != nil {
				return eventstore.Event{}, false, fmt.Errorf("read destination: %w", err)
			}
			if len(evs) == 0 {
				dstDone = true
			} else {
				dstBuf, dstCur = evs, evs[len(evs)-1].Cursor
			}
		}
		if len(dstBuf) == 0 {
			return eventstore.Event{}, false, nil
		}
		e := dstBuf[0]
		dstBuf = dstBuf[1:]
		return e, true, nil
	}
	for {
		evs, err := src.ReadAll(ctx, srcCur, o.Batch)
		if err != nil {
			return res, fmt.Errorf("read source: %w", err)
		}
		if len(evs) == 0 {
			break
		}
		srcCur = evs[len(evs)-1].Cursor
		var pending []eventstore.Event
		for _, e := range evs {
			if err := digest(srcHash, e); err != nil {
				return res, err
			}
			res.Source.Count++
			if !dstDone && len(pending) == 0 {
				d, ok, err := nextDst()
				if err != nil {
					return res, err
				}
				if ok {
					if d.ID != e.ID || d.StreamID != e.StreamID || d.Version != e.Version {
						return res, fmt.Errorf("destination event %d is %s (%s v%d), source has %s (%s v%d): the destination is not a copy of the source",
							res.Present+1, d.ID, d.StreamID, d.Version, e.ID, e.StreamID, e.Version)
					}
					if err := digest(dstHash, d); err != nil {
						return res, err
					}
					res.Dest.Count++
					res.Present++
					o.Progress(res.Present)
					continue
				}
			}
			pending = append(pending, e)
		}
		if err := appendRuns(ctx, dst, clock, pending, &res, dstHash, o.Progress); err != nil {
			return res, err
		}
	}
	if _, more, err := nextDst(); err != nil || more {
		if err != nil {
			return res, err
		}
		return res, fmt.Errorf("the destination holds events the source does not")
	}
	res.Source.Hash = hex.EncodeToString(srcHash.Sum(nil))
	res.Dest.Hash = hex.EncodeToString(dstHash.Sum(nil))
	return res, nil
}

// appendRuns appends events in order, one append per run of consecutive
// events of one stream with one recorded time.
func appendRuns(ctx context.Context, dst eventstore.Store, clock *replayClock, evs []eventstore.Event, res *copyResult, h hash.Hash, progress func(int64)) error {
	for len(evs) > 0 {
		n := 1
		for n < len(evs) && evs[n].StreamID == evs[0].StreamID && evs[n].RecordedAt.Equal(evs[0].RecordedAt) {
			n++
		}
		run := evs[:n]
		evs = evs[n:]
		se := eventstore.StreamEvents{StreamID: run[0].StreamID, Expected: eventstore.Exact(run[0].Version - 1)}
		for _, e := range run {
			se.Events = append(se.Events, eventstore.EventData{ID: e.ID, Type: e.Type, SchemaVersion: e.SchemaVersion, Data: e.Data, Metadata: e.Metadata})
		}
		clock.t = run[0].RecordedAt
		out, err := dst.Append(ctx, se)
		if err != nil {
			return fmt.Errorf("append %s v%d: %w", se.StreamID, run[0].Version, err)
		}
		for _, e := range out.Events {
			if err := digest(h, e); err != nil {
				return err
			}
		}
		res.Copied += int64(len(out.Events))
		res.Dest.Count += int64(len(out.Events))
		progress(res.Present + res.Copied)
	}
	return nil
}

// digest adds an event to a log hash: everything a copy keeps (id, stream,
// version, type, schema version, data as canonical JSON, metadata, recorded
// time to the microsecond), not the store-specific cursor.
func digest(h hash.Hash, e eventstore.Event) error {
	dec := json.NewDecoder(bytes.NewReader(e.Data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("event %s: data: %w", e.ID, err)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("event %s: data: %w", e.ID, err)
	}
	fields := []string{e.ID.String(), e.StreamID, strconv.FormatInt(e.Version, 10), e.Type, strconv.Itoa(e.SchemaVersion),
		string(data), e.Metadata.Actor, e.Metadata.CommandID, e.Metadata.CorrelationID, e.Metadata.CausationID,
		e.RecordedAt.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)}
	for _, f := range fields {
		fmt.Fprintf(h, "%d:%s", len(f), f)
	}
	return nil
}

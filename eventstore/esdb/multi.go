package esdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"crm/eventstore"
)

// Event types of the transaction streams.
const (
	txIntentType    = "crm.tx.intent.v1"
	txCommittedType = "crm.tx.committed.v1"
	txAbortedType   = "crm.tx.aborted.v1"
)

// txIntent is the payload of a transaction's intent event.
type txIntent struct {
	ID         uuid.UUID                 `json:"id"`
	RecordedAt time.Time                 `json:"recorded_at"`
	Streams    []eventstore.StreamEvents `json:"streams"`
}

// txStore is what the multi-stream protocol needs from a backend that
// appends one stream at a time.
type txStore interface {
	// stored reports whether the stream holds the append's events already
	// (returning them), or fails with ErrDuplicateEvent for a partial match.
	stored(ctx context.Context, st eventstore.StreamEvents) ([]eventstore.Event, bool, error)
	// version returns the stream's current version.
	version(ctx context.Context, streamID string) (int64, error)
	// appendOne appends one stream idempotently by event id; with
	// rollForward a version conflict appends after the current end.
	appendOne(ctx context.Context, st eventstore.StreamEvents, now time.Time, rollForward bool) ([]eventstore.Event, error)
	// pendingTx returns the intents that have neither a commit nor an abort
	// marker.
	pendingTx(ctx context.Context) ([]txIntent, error)
}

func txStream(id uuid.UUID) string { return txPrefix + id.String() }

// txMarker builds the intent, commit or abort event of a transaction. Its
// id is derived from the transaction id, so writing it twice stores it once.
func txMarker(id uuid.UUID, typ string, body any) (eventstore.EventData, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return eventstore.EventData{}, fmt.Errorf("encode %s: %w", typ, err)
	}
	return eventstore.EventData{ID: uuid.NewSHA1(id, []byte(typ)), Type: typ, SchemaVersion: 1, Data: data,
		Metadata: eventstore.Metadata{Actor: "system:eventstore", CorrelationID: id.String()}}, nil
}

// satisfies reports whether a stream at version v meets the expectation.
func satisfies(e eventstore.ExpectedVersion, v int64) bool {
	switch {
	case e == eventstore.Any:
		return true
	case e == eventstore.StreamExists:
		return v > 0
	default:
		return int64(e) == v
	}
}

// runTx appends several streams with the roll-forward protocol described
// in the package documentation. It is idempotent: running it again for the
// same streams (same event ids) after a crash at any point completes the
// append and stores every event exactly once.
func runTx(ctx context.Context, t txStore, streams []eventstore.StreamEvents, now time.Time) ([]eventstore.Event, error) {
	id := txID(streams)
	done := make([][]eventstore.Event, len(streams))
	started := false
	for i, st := range streams {
		evs, ok, err := t.stored(ctx, st)
		if err != nil {
			return nil, err
		}
		if ok {
			done[i], started = evs, true
		}
	}
	if !started {
		for _, st := range streams {
			v, err := t.version(ctx, st.StreamID)
			if err != nil {
				return nil, err
			}
			if !satisfies(st.Expected, v) {
				return nil, &eventstore.VersionConflictError{StreamID: st.StreamID, Expected: st.Expected, Actual: v}
			}
		}
	}
	intent, err := txMarker(id, txIntentType, txIntent{ID: id, RecordedAt: now.UTC(), Streams: streams})
	if err != nil {
		return nil, err
	}
	intent.ID = id
	if _, err := t.appendOne(ctx, eventstore.StreamEvents{StreamID: txStream(id), Expected: eventstore.NoStream, Events: []eventstore.EventData{intent}}, now, false); err != nil {
		return nil, fmt.Errorf("write intent of transaction %s: %w", id, err)
	}
	for i, st := range streams {
		if done[i] != nil {
			continue
		}
		evs, err := t.appendOne(ctx, st, now, started)
		var vc *eventstore.VersionConflictError
		if !started && errors.As(err, &vc) {
			if merr := writeMarker(ctx, t, id, txAbortedType, now); merr != nil {
				return nil, errors.Join(err, merr)
			}
			return nil, err
		}
		if err != nil {
			return nil, fmt.Errorf("transaction %s: %w", id, err)
		}
		done[i], started = evs, true
	}
	if err := writeMarker(ctx, t, id, txCommittedType, now); err != nil {
		return nil, err
	}
	var out []eventstore.Event
	for _, evs := range done {
		out = append(out, evs...)
	}
	return out, nil
}

// writeMarker closes a transaction stream with a commit or abort marker.
func writeMarker(ctx context.Context, t txStore, id uuid.UUID, typ string, now time.Time) error {
	m, err := txMarker(id, typ, map[string]string{"id": id.String()})
	if err != nil {
		return err
	}
	_, err = t.appendOne(ctx, eventstore.StreamEvents{StreamID: txStream(id), Expected: eventstore.Exact(1), Events: []eventstore.EventData{m}}, now, false)
	if err != nil {
		return fmt.Errorf("close transaction %s: %w", id, err)
	}
	return nil
}

// recoverTx completes or aborts every pending transaction and returns how
// many it completed.
func recoverTx(ctx context.Context, t txStore) (int, error) {
	pending, err := t.pendingTx(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range pending {
		_, err := runTx(ctx, t, p.Streams, p.RecordedAt)
		if errors.Is(err, eventstore.ErrVersionConflict) {
			continue // aborted: its first stream moved on before it was written
		}
		if err != nil {
			return n, fmt.Errorf("recover transaction %s: %w", p.ID, err)
		}
		n++
	}
	return n, nil
}

// Recover completes multi-stream appends interrupted by a crash: every
// transaction intent without a commit or abort marker is run again (see the
// package documentation). It returns how many it completed. It reads the
// whole of $all, so it is meant for start-up.
func (s *Store) Recover(ctx context.Context) (int, error) {
	return recoverTx(ctx, (*storeTx)(s))
}

// storeTx adapts Store to txStore.
type storeTx Store

func (t *storeTx) stored(ctx context.Context, st eventstore.StreamEvents) ([]eventstore.Event, bool, error) {
	return (*Store)(t).stored(ctx, st)
}

func (t *storeTx) version(ctx context.Context, streamID string) (int64, error) {
	return (*Store)(t).version(ctx, streamID)
}

func (t *storeTx) appendOne(ctx context.Context, st eventstore.StreamEvents, now time.Time, rollForward bool) ([]eventstore.Event, error) {
	return (*Store)(t).appendOne(ctx, st, now, rollForward)
}

func (t *storeTx) pendingTx(ctx context.Context) ([]txIntent, error) {
	s := (*Store)(t)
	rs, err := s.client.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Forwards, From: esdb.Start{}}, 1<<62)
	if err != nil {
		return nil, fmt.Errorf("scan transactions: %w", err)
	}
	defer rs.Close()
	open := map[string]txIntent{}
	var order []string
	prefix := s.ns + txPrefix
	for {
		r, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("scan transactions: %w", err)
		}
		if r.Event == nil || !strings.HasPrefix(r.Event.StreamID, prefix) {
			continue
		}
		switch r.Event.EventType {
		case txIntentType:
			var in txIntent
			if err := json.Unmarshal(r.Event.Data, &in); err != nil {
				return nil, fmt.Errorf("decode intent in %s: %w", r.Event.StreamID, err)
			}
			open[r.Event.StreamID] = in
			order = append(order, r.Event.StreamID)
		case txCommittedType, txAbortedType:
			delete(open, r.Event.StreamID)
		}
	}
	var out []txIntent
	for _, name := range order {
		if in, ok := open[name]; ok {
			out = append(out, in)
		}
	}
	return out, nil
}

// decodeIntent decodes the payload of an intent event.
func decodeIntent(data []byte) (txIntent, error) {
	var in txIntent
	if err := json.Unmarshal(data, &in); err != nil {
		return txIntent{}, fmt.Errorf("decode transaction intent: %w", err)
	}
	return in, nil
}

package postgres_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"crm/eventstore"
	"crm/eventstore/postgres"
)

// TestRecordedTimeComesFromTheServer: a store with a clock of its own
// (a back-dating caller of crm_append) gets the server's time unless the
// database itself allows supplied times; a session's own SET of the
// setting does not count.
func TestRecordedTimeComesFromTheServer(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	var db string
	if err := pool.QueryRow(ctx, `SELECT current_database()`).Scan(&db); err != nil {
		t.Fatal(err)
	}
	past := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	s := postgres.New(pool, postgres.Options{Clock: func() time.Time { return past }})
	t.Cleanup(func() { _ = s.Close() })
	appendOne := func(stream string) time.Time {
		t.Helper()
		res, err := s.Append(ctx, eventstore.StreamEvents{StreamID: stream, Expected: eventstore.NoStream,
			Events: []eventstore.EventData{{Type: "thing.happened.v1", SchemaVersion: 1, Data: json.RawMessage(`{}`),
				Metadata: eventstore.Metadata{Actor: "key:test"}}}})
		if err != nil {
			t.Fatal(err)
		}
		var stored time.Time
		if err := pool.QueryRow(ctx, `SELECT recorded_at FROM crm_events WHERE event_id = $1`, res.Events[0].ID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if !stored.Equal(res.Events[0].RecordedAt) {
			t.Errorf("stored %s, the store reported %s", stored, res.Events[0].RecordedAt)
		}
		return stored
	}
	// Test databases allow supplied times (internal/testdb).
	if got := appendOne("allowed"); !got.Equal(past) {
		t.Errorf("with supplied times allowed: recorded %s, want %s", got, past)
	}
	if _, err := pool.Exec(ctx, `ALTER DATABASE `+pgx.Identifier{db}.Sanitize()+` RESET crm.supplied_recorded_at`); err != nil {
		t.Fatal(err)
	}
	if got := appendOne("server-clock"); time.Since(got) > time.Hour {
		t.Errorf("without: recorded %s, want the server's time", got)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SET crm.supplied_recorded_at = on`); err != nil {
		t.Fatal(err)
	}
	var at time.Time
	if err := conn.QueryRow(ctx, `SELECT out_recorded_at FROM crm_append(ARRAY['session-set'], ARRAY[0::bigint], ARRAY[1], ARRAY[1],
		ARRAY[gen_random_uuid()], ARRAY['thing.happened.v1'], ARRAY[1], ARRAY['{}'::jsonb], ARRAY['key:test'], ARRAY[''], ARRAY[''], ARRAY[''],
		$1::timestamptz)`, past).Scan(&at); err != nil {
		t.Fatal(err)
	}
	if time.Since(at) > time.Hour {
		t.Errorf("a session's SET let crm_append keep %s", at)
	}
	if _, err := conn.Exec(ctx, `RESET crm.supplied_recorded_at`); err != nil {
		t.Fatal(err)
	}
	// The production store supplies no time at all.
	plain := postgres.New(pool, postgres.Options{})
	t.Cleanup(func() { _ = plain.Close() })
	res, err := plain.Append(ctx, eventstore.StreamEvents{StreamID: "plain", Expected: eventstore.NoStream,
		Events: []eventstore.EventData{{Type: "thing.happened.v1", SchemaVersion: 1, Data: json.RawMessage(`{}`),
			Metadata: eventstore.Metadata{Actor: "key:test"}}}})
	if err != nil || time.Since(res.Events[0].RecordedAt) > time.Hour {
		t.Errorf("plain store: %+v %v", res, err)
	}
}

package integrity_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"crm/eventstore"
	"crm/eventstore/postgres"
	"crm/internal/integrity"
	"crm/internal/pgmigrate"
	"crm/internal/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

var testKey = []byte("0123456789abcdef0123456789abcdef")

// logEnv is a database with a known log: streams a, b and c with three
// events each (b in one multi-event append), sealed after the first six
// events and again after all nine; two more events of a follow, unsealed.
type logEnv struct {
	pool    *pgxpool.Pool
	checker *integrity.Checker
	events  map[string][]eventstore.Event // by stream
}

func newLogEnv(t *testing.T) *logEnv {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testdb.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := pgmigrate.Migrate(ctx, pool, postgres.Migrations); err != nil {
		t.Fatal(err)
	}
	store := postgres.New(pool, postgres.Options{})
	t.Cleanup(func() { store.Close() })
	env := &logEnv{pool: pool, checker: integrity.New(pool, testKey), events: map[string][]eventstore.Event{}}
	ev := func(n int) eventstore.EventData {
		return eventstore.EventData{Type: "thing.happened.v1", SchemaVersion: 1,
			Data:     json.RawMessage(fmt.Sprintf(`{"n": %d, "note": "naïve \"quoted\""}`, n)),
			Metadata: eventstore.Metadata{Actor: "key:test", CommandID: fmt.Sprint("cmd-", n), CorrelationID: "corr", CausationID: "cause"}}
	}
	appendTo := func(stream string, exp eventstore.ExpectedVersion, events ...eventstore.EventData) {
		res, err := store.Append(ctx, eventstore.StreamEvents{StreamID: stream, Expected: exp, Events: events})
		if err != nil {
			t.Fatal(err)
		}
		env.events[stream] = append(env.events[stream], res.Events...)
	}
	appendTo("a", eventstore.NoStream, ev(1))
	appendTo("b", eventstore.NoStream, ev(2), ev(3), ev(4))
	appendTo("a", eventstore.Exact(1), ev(5))
	appendTo("c", eventstore.NoStream, ev(6))
	env.seal(t)
	appendTo("c", eventstore.Exact(1), ev(7))
	appendTo("a", eventstore.Exact(2), ev(8))
	appendTo("c", eventstore.Exact(2), ev(9))
	env.seal(t)
	appendTo("a", eventstore.Exact(3), ev(10))
	appendTo("a", eventstore.Exact(4), ev(11))
	return env
}

func (env *logEnv) seal(t *testing.T) {
	t.Helper()
	sealAll(t, env.pool, env.checker)
}

// sealAll waits until every stored event lies below the log's horizon
// (a seal stops below the oldest transaction still running on the server,
// which on a shared server may be another database's; once past, it stays
// past), then seals once, so the seal covers them all.
func sealAll(t *testing.T, pool *pgxpool.Pool, c *integrity.Checker) integrity.Seal {
	t.Helper()
	ctx := context.Background()
	waitHorizon(t, pool)
	if _, _, err := c.Seal(ctx); err != nil {
		t.Fatalf("seal: %v", err)
	}
	var total int64
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM crm_events`).Scan(&total); err != nil {
		t.Fatal(err)
	}
	s, ok, err := c.Latest(ctx)
	if err != nil || !ok || s.EventCount != total {
		t.Fatalf("the newest seal %+v (%v, %v) does not cover the %d events", s, ok, err, total)
	}
	return s
}

// waitHorizon waits until every stored event lies below the log's horizon.
func waitHorizon(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	for deadline := time.Now().Add(time.Minute); ; {
		var behind int64
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM crm_events WHERE transaction_id >= pg_snapshot_xmin(pg_current_snapshot())`).
			Scan(&behind); err != nil {
			t.Fatal(err)
		}
		if behind == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events still behind the horizon after a minute", behind)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tamper runs SQL on the events with the append-only triggers disabled,
// as an owner or superuser could.
func (env *logEnv) tamper(t *testing.T, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	for _, stmt := range []string{`ALTER TABLE crm_events DISABLE TRIGGER crm_events_no_update_delete`} {
		if _, err := env.pool.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := env.pool.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	if _, err := env.pool.Exec(ctx, `ALTER TABLE crm_events ENABLE TRIGGER crm_events_no_update_delete`); err != nil {
		t.Fatal(err)
	}
}

func (env *logEnv) verify(t *testing.T) integrity.Report {
	t.Helper()
	rep, err := env.checker.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// wantBad checks the report names position at and a reason containing
// each of words.
func wantBad(t *testing.T, rep integrity.Report, at eventstore.Cursor, words ...string) {
	t.Helper()
	if rep.OK || rep.FirstBadPosition == nil || rep.Reason == nil {
		t.Fatalf("tampering not detected: %+v", rep)
	}
	if *rep.FirstBadPosition != at.String() {
		t.Errorf("first bad position %s, want %s (%s)", *rep.FirstBadPosition, at, *rep.Reason)
	}
	for _, w := range words {
		if !strings.Contains(*rep.Reason, w) {
			t.Errorf("reason %q does not mention %q", *rep.Reason, w)
		}
	}
}

func TestVerifyPassesOnCleanLog(t *testing.T) {
	env := newLogEnv(t)
	rep := env.verify(t)
	if !rep.OK || rep.EventsChecked != 11 || rep.SealsChecked < 2 || !rep.SealsAuthenticated || rep.FirstBadPosition != nil {
		t.Fatalf("clean log: %+v", rep)
	}
	if s := sealAll(t, env.pool, env.checker); s.EventCount != 11 {
		t.Errorf("sealing the two unsealed events: %+v", s)
	}
	if _, ok, err := env.checker.Seal(context.Background()); err != nil || ok {
		t.Errorf("sealing with nothing new: sealed %v, %v", ok, err)
	}
	// Without the key the seals are still replayed, not authenticated.
	rep, err := integrity.New(env.pool, nil).Verify(context.Background())
	if err != nil || !rep.OK || rep.SealsAuthenticated || rep.SealsChecked < 3 {
		t.Errorf("without a key: %+v %v", rep, err)
	}
	if _, _, err := integrity.New(env.pool, nil).Seal(context.Background()); err == nil {
		t.Error("sealing without a key succeeded")
	}
}

func TestVerifyDetectsChangedData(t *testing.T) {
	env := newLogEnv(t)
	target := env.events["b"][1]
	env.tamper(t, `UPDATE crm_events SET data = '{"n": 3, "note": "edited"}' WHERE event_id = $1`, target.ID)
	wantBad(t, env.verify(t), target.Cursor, "stream b version 2", "changed")
}

func TestVerifyDetectsChangedMetadata(t *testing.T) {
	env := newLogEnv(t)
	target := env.events["c"][2]
	env.tamper(t, `UPDATE crm_events SET actor = 'key:someone-else' WHERE event_id = $1`, target.ID)
	wantBad(t, env.verify(t), target.Cursor, "stream c version 3", "changed")
}

func TestVerifyDetectsDeletedEvent(t *testing.T) {
	env := newLogEnv(t)
	env.tamper(t, `DELETE FROM crm_events WHERE event_id = $1`, env.events["a"][1].ID)
	// Sealed: the first seal no longer counts what it sealed.
	wantBad(t, env.verify(t), env.events["c"][0].Cursor, "seal 1 counts 6 events", "holds 5")
}

func TestVerifyDetectsDeletedUnsealedEvent(t *testing.T) {
	env := newLogEnv(t)
	env.tamper(t, `DELETE FROM crm_events WHERE event_id = $1`, env.events["a"][3].ID)
	// Not sealed yet: the next event of stream a no longer follows its
	// predecessor.
	wantBad(t, env.verify(t), env.events["a"][4].Cursor, "stream a", "version 5 follows version 3")
}

func TestVerifyDetectsDeletedLastEvent(t *testing.T) {
	env := newLogEnv(t)
	env.tamper(t, `DELETE FROM crm_events WHERE event_id = $1`, env.events["c"][2].ID)
	// No chain breaks: only the seal over the first nine events notices.
	wantBad(t, env.verify(t), env.events["c"][2].Cursor, "seal 2 ends at an event no longer in the log")
}

func TestVerifyDetectsDeletedStream(t *testing.T) {
	env := newLogEnv(t)
	env.tamper(t, `DELETE FROM crm_events WHERE stream_id = 'b'`)
	wantBad(t, env.verify(t), env.events["c"][0].Cursor, "seal 1 counts 6 events", "holds 3")
}

func TestVerifyDetectsSwappedEvents(t *testing.T) {
	env := newLogEnv(t)
	x, y := env.events["b"][0], env.events["b"][1]
	// Swap the two events' contents: each row keeps its place and hash.
	env.tamper(t, `UPDATE crm_events e SET data = o.data FROM crm_events o
		WHERE (e.event_id, o.event_id) IN (($1::uuid, $2::uuid), ($2::uuid, $1::uuid))`, x.ID, y.ID)
	wantBad(t, env.verify(t), x.Cursor, "stream b version 1", "changed")
}

func TestVerifyDetectsForgedSeal(t *testing.T) {
	env := newLogEnv(t)
	other := integrity.New(env.pool, []byte("another key entirely, 32 bytes!"))
	rep, err := other.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK || rep.Reason == nil || !strings.Contains(*rep.Reason, "signature") {
		t.Fatalf("seals under another key verified: %+v", rep)
	}
}

func TestSealsAreAppendOnly(t *testing.T) {
	env := newLogEnv(t)
	for _, stmt := range []string{`UPDATE crm_seals SET event_count = 1`, `DELETE FROM crm_seals`, `TRUNCATE crm_seals`} {
		if _, err := env.pool.Exec(context.Background(), stmt); err == nil {
			t.Errorf("%s succeeded", stmt)
		}
	}
}

package integrity_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crm/eventstore"
	"crm/eventstore/postgres"
	"crm/internal/integrity"
)

// strict is what a deployment sealing every interval verifies with,
// shrunk so that every event of the test log is "older than the
// interval".
var strict = integrity.Options{Interval: time.Nanosecond, Tolerance: time.Nanosecond}

// tamperSeals runs SQL on the seals with their append-only triggers off,
// as an owner or superuser could.
func (env *logEnv) tamperSeals(t *testing.T, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	for _, stmt := range []string{`ALTER TABLE crm_seals DISABLE TRIGGER crm_seals_no_update_delete`, sql,
		`ALTER TABLE crm_seals ENABLE TRIGGER crm_seals_no_update_delete`} {
		a := args
		if stmt != sql {
			a = nil
		}
		if _, err := env.pool.Exec(ctx, stmt, a...); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
}

func verifyWith(t *testing.T, env *logEnv, o integrity.Options) integrity.Report {
	t.Helper()
	rep, err := integrity.NewWithOptions(env.pool, testKey, o).Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func wantFail(t *testing.T, rep integrity.Report, words ...string) {
	t.Helper()
	if rep.OK || rep.Reason == nil {
		t.Fatalf("tampering not detected: %+v", rep)
	}
	for _, w := range words {
		if !strings.Contains(*rep.Reason, w) {
			t.Errorf("reason %q does not mention %q", *rep.Reason, w)
		}
	}
}

// wantRefused checks that a sealer refuses, and seals nothing.
func wantRefused(t *testing.T, env *logEnv, c *integrity.Checker, words ...string) {
	t.Helper()
	ctx := context.Background()
	var before int
	if err := env.pool.QueryRow(ctx, `SELECT count(*) FROM crm_seals`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	_, ok, err := c.Seal(ctx)
	if !errors.Is(err, integrity.ErrRefused) || ok {
		t.Fatalf("sealer did not refuse: sealed %v, %v", ok, err)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("refusal %q does not mention %q", err, w)
		}
	}
	if _, _, again := c.Seal(ctx); !errors.Is(again, integrity.ErrRefused) {
		t.Errorf("second attempt: %v, want the refusal to stick", again)
	}
	var after int
	if err := env.pool.QueryRow(ctx, `SELECT count(*) FROM crm_seals`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("seals %d -> %d: the refusing sealer sealed", before, after)
	}
}

func writeAnchor(t *testing.T, env *logEnv) string {
	t.Helper()
	s, ok, err := env.checker.Latest(context.Background())
	if err != nil || !ok {
		t.Fatalf("latest seal: %v %v", ok, err)
	}
	path := filepath.Join(t.TempDir(), "anchor.json")
	if err := integrity.WriteAnchorFile(path, s); err != nil {
		t.Fatal(err)
	}
	return path
}

// forge rewrites the data of stream c's last event (sealed by seal 2) and
// recomputes its hash with the database's own function, so every per-event
// and per-stream check passes.
func (env *logEnv) forge(t *testing.T) {
	t.Helper()
	id := env.events["c"][2].ID
	env.tamper(t, `UPDATE crm_events SET data = '{"n": 9, "note": "forged"}' WHERE event_id = $1`, id)
	env.tamper(t, `UPDATE crm_events SET hash = crm_event_hash(prev_hash, event_id, stream_id, version, type, schema_version,
		actor, command_id, correlation_id, causation_id, recorded_at, data) WHERE event_id = $1`, id)
}

func TestCleanLogPassesStrictVerification(t *testing.T) {
	env := newLogEnv(t)
	env.seal(t)
	path := writeAnchor(t, env)
	o := strict
	o.Anchor = integrity.AnchorFile(path, true)
	if rep := verifyWith(t, env, o); !rep.OK || !rep.AnchorChecked || rep.SealsChecked < 3 {
		t.Fatalf("clean, fully sealed log: %+v %v", rep, rep.Reason)
	}
	// A sealer starting from the anchor seals on.
	if _, _, err := integrity.NewWithOptions(env.pool, testKey, o).Seal(context.Background()); err != nil {
		t.Fatalf("sealer over the anchored log: %v", err)
	}
}

// Attack: delete the newest seal rows. The remaining chain is intact, so
// only the events they covered, now unsealed and old, give it away; a
// running sealer that made them refuses, and so does a new one.
func TestDeletedLatestSealsFailVerification(t *testing.T) {
	env := newLogEnv(t)
	env.seal(t) // seal 3 over all 11 events
	env.tamperSeals(t, `DELETE FROM crm_seals WHERE seq >= 2`)
	wantFail(t, verifyWith(t, env, strict), "no seal covers it", "newest seal is 1")
	wantRefused(t, env, env.checker, "the newest this sealer authenticated, is gone")
	wantRefused(t, env, integrity.NewWithOptions(env.pool, testKey, strict), "no seal covers it")
}

// Attack: delete a seal from the middle, or from the start: the chain of
// MACs breaks.
func TestDeletedMiddleOrFirstSealFailsVerification(t *testing.T) {
	env := newLogEnv(t)
	env.seal(t)
	env.tamperSeals(t, `DELETE FROM crm_seals WHERE seq = 2`)
	wantFail(t, env.verify(t), "seal 3 follows seal 1", "missing")
	wantRefused(t, env, integrity.New(env.pool, testKey), "seal 3 follows seal 1")

	env = newLogEnv(t)
	env.tamperSeals(t, `DELETE FROM crm_seals WHERE seq = 1`)
	wantFail(t, env.verify(t), "seals 1 to 1 are missing")
}

// Attack: renumber seals to hide a removed one: the MAC covers the
// sequence number.
func TestRenumberedSealsFailVerification(t *testing.T) {
	env := newLogEnv(t)
	env.seal(t)
	env.tamperSeals(t, `DELETE FROM crm_seals WHERE seq = 2`)
	env.tamperSeals(t, `UPDATE crm_seals SET seq = 2 WHERE seq = 3`)
	wantFail(t, env.verify(t), "seal 2")
}

// Attack: rewrite a sealed event, recompute its hash with the database's
// own function and delete every seal. Without an anchor the unsealed old
// log fails; with the anchor the missing anchored seal does; a new sealer
// refuses to seal the forged log either way.
func TestAllSealsDeletedAndChainRecomputedFails(t *testing.T) {
	env := newLogEnv(t)
	env.seal(t)
	anchor := writeAnchor(t, env)
	env.forge(t)
	env.tamperSeals(t, `DELETE FROM crm_seals`)
	// Every per-event check passes: only the seals could tell.
	if rep := env.verify(t); !rep.OK {
		t.Fatalf("the forgery is not a clean recomputation: %+v %s", rep, *rep.Reason)
	}
	wantFail(t, verifyWith(t, env, strict), "the log has no seals")
	wantFail(t, verifyWith(t, env, integrity.Options{Anchor: integrity.AnchorFile(anchor, true)}),
		"anchored seal 3", "not among the log's seals")
	wantRefused(t, env, integrity.NewWithOptions(env.pool, testKey, strict), "the log has no seals")
	wantRefused(t, env, integrity.NewWithOptions(env.pool, testKey, integrity.Options{Anchor: integrity.AnchorFile(anchor, true)}),
		"anchored seal 3")
}

// Attack: forge seals too, re-signing is impossible without the key; with
// the seals kept and only the forged event's hash recomputed, the running
// hash of seal 2 no longer matches.
func TestRecomputedChainUnderKeptSealsFails(t *testing.T) {
	env := newLogEnv(t)
	env.forge(t)
	wantFail(t, env.verify(t), "seal 2", "running hash")
	wantRefused(t, env, integrity.NewWithOptions(env.pool, testKey, integrity.Options{}), "seal 2")
}

// Attack: insert a back-dated event, as the owner could, into a new
// stream after the seals: recorded a day before the newest seal.
func TestBackdatedInsertFailsVerification(t *testing.T) {
	env := newLogEnv(t)
	env.tamper(t, `INSERT INTO crm_events (event_id, stream_id, version, type, schema_version, data, actor, recorded_at)
		VALUES (gen_random_uuid(), 'z', 1, 'thing.happened.v1', 1, '{}', 'key:test', now() - interval '1 day')`)
	wantFail(t, env.verify(t), "stream z version 1", "back-dated")
	wantRefused(t, env, integrity.NewWithOptions(env.pool, testKey, integrity.Options{}), "back-dated")
}

// Attack: empty the log and its seals after it had seals. Only an anchor
// can tell (an empty log proves nothing by itself).
func TestEmptiedLogFailsAgainstAnchor(t *testing.T) {
	env := newLogEnv(t)
	anchor := writeAnchor(t, env)
	env.tamperSeals(t, `DELETE FROM crm_seals`)
	env.tamper(t, `DELETE FROM crm_events`)
	withAnchor := integrity.Options{Interval: time.Second, Anchor: integrity.AnchorFile(anchor, true)}
	wantFail(t, verifyWith(t, env, withAnchor), "anchored seal 2", "not among the log's seals")
	wantRefused(t, env, integrity.NewWithOptions(env.pool, testKey, withAnchor), "anchored seal 2")
}

// A forged anchor (edited file) is refused under the key.
func TestForgedAnchorFails(t *testing.T) {
	env := newLogEnv(t)
	s, _, err := env.checker.Latest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s.EventCount--
	path := filepath.Join(t.TempDir(), "anchor.json")
	if err := integrity.WriteAnchorFile(path, s); err != nil {
		t.Fatal(err)
	}
	wantFail(t, verifyWith(t, env, integrity.Options{Anchor: integrity.AnchorFile(path, true)}), "not signed by this key")
}

// An event appended while another transaction holds the horizon back is
// sealed only after it, by a seal taken later than the event was
// recorded: not a back-dated insert, however tight the tolerance.
func TestEventBehindAHeldHorizonIsNotBackdated(t *testing.T) {
	ctx := context.Background()
	env := newLogEnv(t)
	waitHorizon(t, env.pool)
	held, err := env.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = held.Rollback(ctx) }()
	if _, err := held.Exec(ctx, `SELECT pg_current_xact_id()`); err != nil {
		t.Fatal(err)
	}
	store := postgres.New(env.pool, postgres.Options{})
	t.Cleanup(func() { _ = store.Close() })
	if _, err := store.Append(ctx, eventstore.StreamEvents{StreamID: "late", Expected: eventstore.NoStream,
		Events: []eventstore.EventData{{Type: "thing.happened.v1", SchemaVersion: 1, Data: json.RawMessage(`{}`),
			Metadata: eventstore.Metadata{Actor: "key:test"}}}}); err != nil {
		t.Fatal(err)
	}
	tight := integrity.NewWithOptions(env.pool, testKey, integrity.Options{Tolerance: time.Nanosecond})
	// Seals the two events of stream a left unsealed, not the held-back one.
	if _, ok, err := tight.Seal(ctx); err != nil || !ok {
		t.Fatalf("seal: %v (sealed %v)", err, ok)
	}
	if s, _, err := tight.Latest(ctx); err != nil || s.EventCount != 11 {
		t.Fatalf("newest seal %+v, want one over the 11 events before the held-back one (%v)", s, err)
	}
	if err := held.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	sealAll(t, env.pool, tight)
	if rep := verifyWith(t, env, integrity.Options{Tolerance: time.Nanosecond}); !rep.OK {
		t.Fatalf("an event held behind the horizon reads as back-dated: %s", *rep.Reason)
	}
}

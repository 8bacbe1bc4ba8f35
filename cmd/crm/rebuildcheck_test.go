package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"crm/eventstore"
	"crm/eventstore/postgres"
	"crm/internal/testdb"
	"crm/projections"
)

// testDB is a migrated database of one test, with a pool and an event
// store on it for the test's own checks.
type testDB struct {
	url   string
	pool  *pgxpool.Pool
	store *postgres.Store
}

// openTestDB creates a database for t and migrates it as "crm migrate"
// does.
func openTestDB(t *testing.T) *testDB {
	t.Helper()
	url := testdb.NewDatabase(t)
	var stderr syncBuffer
	if code := run(context.Background(), []string{"migrate", "--database-url", url}, io.Discard, &stderr); code != 0 {
		t.Fatalf("crm migrate exited %d: %s", code, stderr.String())
	}
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	store := postgres.New(pool, postgres.Options{})
	t.Cleanup(func() { _ = store.Close() })
	return &testDB{url: url, pool: pool, store: store}
}

// projectorNames are the projectors the crm binary runs: it is built from
// the same source as this test binary.
func projectorNames() []string {
	var names []string
	for _, p := range projections.All() {
		names = append(names, p.Name())
	}
	return names
}

// projRow is a projector's row of crm_projections.
type projRow struct {
	name, position, state string
	err                   *string
	applied               int64
	owner                 *string
	rebuildState          *string
	rebuildError          *string
}

func (r projRow) cursor() eventstore.Cursor {
	c, _ := eventstore.ParseCursor(r.position)
	return c
}

func (r projRow) String() string {
	return fmt.Sprintf("%s: position %q state %s applied %d owner %s error %s rebuild %s (%s)", r.name, r.position, r.state,
		r.applied, deref(r.owner), deref(r.err), deref(r.rebuildState), deref(r.rebuildError))
}

// projections reads crm_projections.
func (db *testDB) projections(ctx context.Context) (map[string]projRow, error) {
	rows, err := db.pool.Query(ctx, `SELECT name, position, state, error, events_applied, owner, rebuild_state, rebuild_error FROM crm_projections`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]projRow{}
	for rows.Next() {
		var r projRow
		if err := rows.Scan(&r.name, &r.position, &r.state, &r.err, &r.applied, &r.owner, &r.rebuildState, &r.rebuildError); err != nil {
			return nil, err
		}
		out[r.name] = r
	}
	return out, rows.Err()
}

// describe renders the projectors' rows and the log head for a failure
// message.
func describe(rows map[string]projRow, head eventstore.Cursor) string {
	var b strings.Builder
	fmt.Fprintf(&b, "log head %q\n", head.String())
	for _, name := range projectorNames() {
		if r, ok := rows[name]; ok {
			fmt.Fprintf(&b, "  %v\n", r)
		} else {
			fmt.Fprintf(&b, "  %s: no row\n", name)
		}
	}
	return b.String()
}

// waitCaughtUp waits until every projector's checkpoint is at the log head
// and returns their rows. A failed projector fails t at once.
func waitCaughtUp(t *testing.T, db *testDB, timeout time.Duration) map[string]projRow {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(timeout)
	for {
		head, err := db.store.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := db.projections(ctx)
		if err != nil {
			t.Fatal(err)
		}
		caughtUp := true
		for _, name := range projectorNames() {
			r, ok := rows[name]
			if ok && r.state == "failed" {
				t.Fatalf("projector %s failed:\n%s", name, describe(rows, head))
			}
			if !ok || r.cursor().Compare(head) < 0 {
				caughtUp = false
			}
		}
		if caughtUp {
			return rows
		}
		if time.Now().After(deadline) {
			t.Fatalf("projectors not caught up after %v:\n%s", timeout, describe(rows, head))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkAppliedOnce checks, on caught-up projectors, that each counted
// every event of the log exactly once: events_applied moves in the
// transaction of the checkpoint, so an event applied twice (or skipped)
// shows there.
func checkAppliedOnce(t *testing.T, db *testDB, rows map[string]projRow) {
	t.Helper()
	n, err := db.store.Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range projectorNames() {
		if r := rows[name]; r.applied != n {
			t.Errorf("projector %s counted %d events applied; the log holds %d (an event applied twice or skipped)", name, r.applied, n)
		}
	}
}

// rmDump is the content of every table of the live read-model schemas:
// "schema.table" to its rows as text, sorted.
type rmDump map[string][]string

// rmSchemas lists the read-model schemas (rm_*) and, apart, the shadow
// schemas a rebuild leaves behind (rm_X_next, rm_X_old beside a live
// rm_X).
func rmSchemas(ctx context.Context, pool *pgxpool.Pool) (live, shadows []string, err error) {
	rows, err := pool.Query(ctx, `SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'rm\_%' ORDER BY 1`)
	if err != nil {
		return nil, nil, err
	}
	all, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, nil, err
	}
	for _, s := range all {
		base, isShadow := strings.CutSuffix(s, "_next")
		if !isShadow {
			base, isShadow = strings.CutSuffix(s, "_old")
		}
		if isShadow && slices.Contains(all, base) {
			shadows = append(shadows, s)
		} else {
			live = append(live, s)
		}
	}
	return live, shadows, nil
}

// liveTables lists the tables of the live read-model schemas as
// {schema, table} pairs.
func liveTables(t *testing.T, db *testDB) [][2]string {
	t.Helper()
	ctx := context.Background()
	live, _, err := rmSchemas(ctx, db.pool)
	if err != nil {
		t.Fatal(err)
	}
	if len(live) == 0 {
		t.Fatal("no read-model schema (rm_*) to compare")
	}
	var out [][2]string
	for _, schema := range live {
		rows, err := db.pool.Query(ctx, `SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'm') ORDER BY 1`, schema)
		if err != nil {
			t.Fatal(err)
		}
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for _, table := range tables {
			out = append(out, [2]string{schema, table})
		}
	}
	return out
}

// dumpReadModels reads every row of every table of the live read-model
// schemas. Nothing is left out: read models derive from events only, so
// no column may hold a wall-clock time.
func dumpReadModels(t *testing.T, db *testDB) rmDump {
	t.Helper()
	d := rmDump{}
	for _, st := range liveTables(t, db) {
		rows, err := db.pool.Query(context.Background(), `SELECT t::text FROM `+pgx.Identifier{st[0], st[1]}.Sanitize()+` AS t`)
		if err != nil {
			t.Fatal(err)
		}
		content, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(content)
		d[st[0]+"."+st[1]] = content
	}
	return d
}

// digestReadModels is a cheap stand-in for dumpReadModels, to check
// equality only: each table's row count and the md5 of its sorted rows.
func digestReadModels(t *testing.T, db *testDB) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, st := range liveTables(t, db) {
		var n int64
		var sum string
		if err := db.pool.QueryRow(context.Background(), `SELECT count(*), md5(coalesce(string_agg(t::text, E'\n' ORDER BY t::text COLLATE "C"), ''))
FROM `+pgx.Identifier{st[0], st[1]}.Sanitize()+` AS t`).Scan(&n, &sum); err != nil {
			t.Fatal(err)
		}
		out[st[0]+"."+st[1]] = fmt.Sprintf("%d rows, md5 %s", n, sum)
	}
	return out
}

// diffDigests names the tables whose digests differ ("" when none).
func diffDigests(want, got map[string]string) string {
	var b strings.Builder
	tables := slices.Sorted(maps.Keys(want))
	for k := range got {
		if _, ok := want[k]; !ok {
			tables = append(tables, k)
		}
	}
	for _, table := range tables {
		if want[table] != got[table] {
			fmt.Fprintf(&b, "table %s: %q before, %q after\n", table, want[table], got[table])
		}
	}
	return b.String()
}

// rows counts the rows of every table.
func (d rmDump) rows() int {
	n := 0
	for _, rows := range d {
		n += len(rows)
	}
	return n
}

// diff describes how got differs from want ("" when equal), with a few
// rows of each difference.
func (d rmDump) diff(got rmDump) string {
	var b strings.Builder
	tables := make([]string, 0, len(d)+len(got))
	for k := range d {
		tables = append(tables, k)
	}
	for k := range got {
		tables = append(tables, k)
	}
	slices.Sort(tables)
	for _, table := range slices.Compact(tables) {
		want, inWant := d[table]
		have, inGot := got[table]
		switch {
		case !inGot:
			fmt.Fprintf(&b, "table %s (%d rows) is gone\n", table, len(want))
			continue
		case !inWant:
			fmt.Fprintf(&b, "table %s (%d rows) is new\n", table, len(have))
			continue
		}
		var missing, extra []string
		i, j := 0, 0
		for i < len(want) || j < len(have) {
			switch {
			case j == len(have) || (i < len(want) && want[i] < have[j]):
				missing = append(missing, want[i])
				i++
			case i == len(want) || have[j] < want[i]:
				extra = append(extra, have[j])
				j++
			default:
				i++
				j++
			}
		}
		if len(missing) == 0 && len(extra) == 0 {
			continue
		}
		fmt.Fprintf(&b, "table %s: %d rows before, %d after; %d rows only before, %d only after\n", table, len(want), len(have), len(missing), len(extra))
		for _, r := range missing[:min(len(missing), 3)] {
			fmt.Fprintf(&b, "  - %s\n", r)
		}
		for _, r := range extra[:min(len(extra), 3)] {
			fmt.Fprintf(&b, "  + %s\n", r)
		}
	}
	return b.String()
}

// rebuildAll runs "crm projections rebuild --all" to completion and returns
// its standard output. The rebuild lock of a killed rebuild lives until the
// server notices its session is gone, so "already running" is retried for
// a while.
func rebuildAll(t *testing.T, bin string, db *testDB) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		stdout, stderr, code := runCRM(t, bin, 3*time.Minute, "projections", "rebuild", "--all", "--database-url", db.url)
		if code == 0 {
			return stdout
		}
		if strings.Contains(stderr, "already running") && time.Now().Before(deadline) {
			t.Logf("rebuild lock still held; retrying")
			time.Sleep(200 * time.Millisecond)
			continue
		}
		t.Fatalf("crm projections rebuild --all exited %d:\n%s\n%s", code, stdout, stderr)
	}
}

// checkCleanRebuild waits until the projectors are caught up, checks that
// each applied every event once, dumps the read models, rebuilds every
// projector from the log, and checks the rebuilt read models are the same
// rows, with no shadow schema left. The log must not move meanwhile.
func checkCleanRebuild(t *testing.T, bin string, db *testDB) {
	t.Helper()
	ctx := context.Background()
	rows := waitCaughtUp(t, db, 2*time.Minute)
	checkAppliedOnce(t, db, rows)
	head, err := db.store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before := dumpReadModels(t, db)
	if before.rows() == 0 {
		t.Fatal("the read models are empty: nothing to compare")
	}
	start := time.Now()
	out := rebuildAll(t, bin, db)
	for _, name := range projectorNames() {
		if !strings.Contains(out, name+" rebuilt") {
			t.Errorf("rebuild --all did not report %s rebuilt:\n%s", name, out)
		}
	}
	t.Logf("clean rebuild of %d read-model rows: %v", before.rows(), time.Since(start).Round(time.Millisecond))
	rows = waitCaughtUp(t, db, 2*time.Minute)
	after := dumpReadModels(t, db)
	if head2, err := db.store.Head(ctx); err != nil {
		t.Fatal(err)
	} else if head2 != head {
		t.Fatalf("the log moved from %q to %q during the comparison; nothing may append meanwhile", head, head2)
	}
	checkAppliedOnce(t, db, rows)
	for _, name := range projectorNames() {
		if r := rows[name]; r.rebuildState == nil || *r.rebuildState != "done" {
			t.Errorf("after rebuild --all: %v", r)
		}
	}
	if _, shadows, err := rmSchemas(ctx, db.pool); err != nil {
		t.Fatal(err)
	} else if len(shadows) > 0 {
		t.Errorf("shadow schemas left after a completed rebuild: %v", shadows)
	}
	if d := before.diff(after); d != "" {
		t.Errorf("read models differ from a clean rebuild of the log:\n%s", d)
	}
}

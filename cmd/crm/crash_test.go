package main

import (
	"context"
	"math/rand/v2"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"crm/readmodels"
)

// progressLine is one draw of the rebuild's progress bar.
var progressLine = regexp.MustCompile(`\r(\S+)\s+\[[#. ]*\]\s+(?:\d+%\s+)?(\d+)/(\d+) events`)

// progressWatch receives a rebuild's standard error and calls hit once, on
// the first progress line with 0 < done < total.
type progressWatch struct {
	mu    sync.Mutex
	buf   []byte
	fired bool
	hit   func(at rebuildStop)
	last  rebuildStop
}

func (w *progressWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for _, m := range progressLine.FindAllSubmatch(w.buf, -1) {
		at := rebuildStop{name: string(m[1])}
		at.done, _ = strconv.ParseInt(string(m[2]), 10, 64)
		at.total, _ = strconv.ParseInt(string(m[3]), 10, 64)
		w.last = at
		if !w.fired && at.done > 0 && at.done < at.total {
			w.fired = true
			w.hit(at)
		}
	}
	return len(p), nil
}

// latest returns the last progress line seen.
func (w *progressWatch) latest() rebuildStop {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

// rebuildStop is where an interrupted rebuild stood.
type rebuildStop struct {
	name        string
	done, total int64
}

// TestCrashMidRebuild kills "crm projections rebuild" in the middle of
// replaying each projector in turn ("rebuild --all" first, then each other
// projector alone) while a server keeps serving and accepting commands:
// the live read models must stay as they were and keep following the log,
// and running the rebuild again must complete and give exactly the read
// models the live projectors built.
func TestCrashMidRebuild(t *testing.T) {
	bin := crmBinary(t)
	db := openTestDB(t)
	start := time.Now()
	seed := seedLog(t, db)
	t.Logf("seeded %d events in %v", seed.events, time.Since(start).Round(time.Millisecond))
	srv := startServer(t, bin, db.url)
	ctx := context.Background()

	leadID := ""
	for i, name := range projectorNames() {
		checkAppliedOnce(t, db, waitCaughtUp(t, db, 2*time.Minute))
		pre := digestReadModels(t, db)
		preLeads := srv.api.mustDo(t, 200, "GET", "/v1/leads?limit=500", nil)

		// The bar redraws every 200 ms even into a pipe, which the
		// watch needs to freeze the rebuild early.
		args := []string{"projections", "rebuild", name, "--database-url", db.url, "--progress", "bar"}
		if i == 0 {
			args = []string{"projections", "rebuild", "--all", "--database-url", db.url, "--progress", "bar"}
		}
		rb, at := startFrozenRebuild(t, bin, db, args...)
		if at.name != name {
			t.Fatalf("crm %s: first progress from %s, want %s", strings.Join(args[:3], " "), at.name, name)
		}
		t.Logf("crm %s frozen at %d/%d events", strings.Join(args[:3], " "), at.done, at.total)

		// Mid-rebuild: the shadow is half built, the live read models
		// serve their data unchanged.
		rows, err := db.projections(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if r := rows[name]; r.rebuildState == nil || *r.rebuildState != "running" {
			t.Errorf("mid-rebuild status: %v", r)
		}
		if _, shadows, err := rmSchemas(ctx, db.pool); err != nil {
			t.Fatal(err)
		} else if !slices.Contains(shadows, readmodels.SchemaName(name)+"_next") {
			t.Errorf("no shadow schema rm_%s_next mid-rebuild (shadows: %v)", name, shadows)
		}
		if got := srv.api.mustDo(t, 200, "GET", "/v1/leads?limit=500", nil); string(got.body) != string(preLeads.body) {
			t.Errorf("GET /v1/leads changed during the rebuild of %s:\nbefore %.300s\nduring %.300s", name, preLeads.body, got.body)
		}
		if d := diffDigests(pre, digestReadModels(t, db)); d != "" {
			t.Errorf("live read models changed during the rebuild of %s:\n%s", name, d)
		}
		var status struct {
			Items []struct {
				Name    string `json:"name"`
				Rebuild *struct {
					State string `json:"state"`
				} `json:"rebuild"`
			} `json:"items"`
		}
		srv.api.mustDo(t, 200, "GET", "/v1/projections", nil).decode(t, &status)
		for _, it := range status.Items {
			if it.Name == name && (it.Rebuild == nil || it.Rebuild.State != "running") {
				t.Errorf("GET /v1/projections mid-rebuild: %s rebuild %+v", it.Name, it.Rebuild)
			}
		}
		// Commands keep being accepted and projected live while the
		// rebuild hangs.
		if leadID == "" {
			leadID = srv.api.mustDo(t, 201, "POST", "/v1/leads", map[string]any{"name": "During rebuild", "company": "Acme",
				"email": "during-rebuild@example.com", "source": "partner"}).commandID(t)
		}
		var cmd struct {
			Position string `json:"position"`
		}
		srv.api.mustDo(t, 200, "POST", "/v1/leads/"+leadID+"/contact-attempts", map[string]any{"channel": "call", "outcome": "no_answer"}).decode(t, &cmd)
		var page struct {
			Items []struct {
				ID              string `json:"id"`
				ContactAttempts int    `json:"contact_attempts"`
			} `json:"items"`
		}
		srv.api.mustDo(t, 200, "GET", "/v1/leads?source=partner&min_position="+url.QueryEscape(cmd.Position), nil).decode(t, &page)
		if len(page.Items) != 1 || page.Items[0].ID != leadID || page.Items[0].ContactAttempts != i+1 {
			t.Errorf("GET /v1/leads?source=partner during the rebuild of %s: %+v, want lead %s with %d contact attempts", name, page.Items, leadID, i+1)
		}

		rb.kill(t)
		// The dead rebuild's lock went with its session: status says it
		// was interrupted instead of running forever.
		deadline := time.Now().Add(10 * time.Second)
		for {
			srv.api.mustDo(t, 200, "GET", "/v1/projections", nil).decode(t, &status)
			state := ""
			for _, it := range status.Items {
				if it.Name == name && it.Rebuild != nil {
					state = it.Rebuild.State
				}
			}
			if state == "interrupted" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET /v1/projections after killing the rebuild of %s: state %q, want interrupted", name, state)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// The live projectors follow the log past the dead rebuilds.
	checkAppliedOnce(t, db, waitCaughtUp(t, db, time.Minute))
	leads := listLeadAttempts(t, srv.api)
	if got, ok := leads[leadID]; !ok || got != len(projectorNames()) {
		t.Errorf("lead captured during the rebuilds: in list %v, contact_attempts %d, want %d", ok, got, len(projectorNames()))
	}
	for id, want := range seed.attempts {
		if got := leads[id]; got != want {
			t.Errorf("seeded lead %s: contact_attempts %d, want %d", id, got, want)
			break
		}
	}

	// Running the rebuild again starts afresh and completes; its result
	// is what the live projectors built.
	checkCleanRebuild(t, bin, db)
	if len(listLeadAttempts(t, srv.api)) != len(leads) {
		t.Errorf("GET /v1/leads lists another number of leads after the rebuild")
	}
}

// startFrozenRebuild runs crm with args (a rebuild) and stops it with
// SIGSTOP at its first progress report with 0 < done < total, between two
// of its transactions: a transaction id held open would hold back the
// log's visible head for every reader of the server.
func startFrozenRebuild(t *testing.T, bin string, db *testDB, args ...string) (*proc, rebuildStop) {
	t.Helper()
	var pid atomic.Int64
	stopped := make(chan struct{}, 1)
	watch := &progressWatch{hit: func(rebuildStop) {
		if p := pid.Load(); p != 0 {
			_ = syscall.Kill(int(p), syscall.SIGSTOP)
		}
		stopped <- struct{}{}
	}}
	rb := startCRM(t, bin, watch, args...)
	pid.Store(int64(rb.cmd.Process.Pid))
	select {
	case <-stopped:
	case <-rb.exited:
		t.Fatalf("the rebuild ended before it could be interrupted (seed more events):\n%s\n%s", rb.stdout.String(), rb.stderr.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("no rebuild progress after 2 minutes:\n%s", rb.stderr.String())
	}
	for attempt := 1; ; attempt++ {
		rb.freeze(t)
		at := watch.latest()
		if at.done >= at.total || strings.Contains(rb.stdout.String(), at.name+" rebuilt") {
			t.Fatalf("rebuild of %s replayed before it could be interrupted (seed more events): %d/%d\n%s", at.name, at.done, at.total, rb.stdout.String())
		}
		if settledWriters(t, db) == 0 {
			return rb, at
		}
		if attempt == 500 {
			t.Fatalf("never froze the rebuild outside a write transaction")
		}
		rb.signal(t, syscall.SIGCONT)
		time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
	}
}

// TestCrashMidLiveCatchUp kills "crm serve" while its projectors catch up
// on a backlog, in the middle of a batch transaction: the batch rolls back
// with its checkpoint, the next start resumes from the checkpoint, applies
// every event once, and ends with the read models of a clean rebuild.
func TestCrashMidLiveCatchUp(t *testing.T) {
	bin := crmBinary(t)
	db := openTestDB(t)
	start := time.Now()
	seed := seedLog(t, db)
	t.Logf("seeded %d events in %v", seed.events, time.Since(start).Round(time.Millisecond))
	ctx := context.Background()
	head, err := db.store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}

	s1 := startCRM(t, bin, nil, "serve", "--database-url", db.url, "--addr", "127.0.0.1:0", "--bootstrap-admin-key", testAdminKey, "--automations=false")
	midway := func(rows map[string]projRow) bool {
		for _, r := range rows {
			if c := r.cursor(); r.applied > 0 && !c.IsZero() && c.Compare(head) < 0 {
				return true
			}
		}
		return false
	}
	caughtUp := func(rows map[string]projRow) bool {
		for _, name := range projectorNames() {
			if r, ok := rows[name]; !ok || r.cursor().Compare(head) < 0 {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		rows, err := db.projections(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if midway(rows) {
			break
		}
		if caughtUp(rows) {
			t.Fatalf("caught up before it could be interrupted (seed more events):\n%s", describe(rows, head))
		}
		select {
		case <-s1.exited:
			t.Fatalf("crm serve exited:\n%s", s1.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no catch-up progress after 2 minutes:\n%s\n%s", describe(rows, head), s1.stderr.String())
		}
		time.Sleep(2 * time.Millisecond)
	}

	// Freeze the server until it is caught inside a batch transaction:
	// once its statements in flight are done, a session of its holds a
	// transaction id, waiting for the frozen client. Kill it there.
	var frozen map[string]projRow
	for attempt := 1; ; attempt++ {
		s1.freeze(t)
		writing := settledWriters(t, db)
		rows, err := db.projections(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !midway(rows) {
			t.Fatalf("caught up before a batch could be interrupted (seed more events):\n%s", describe(rows, head))
		}
		if writing > 0 {
			frozen = rows
			t.Logf("killing crm serve inside a batch (attempt %d):\n%s", attempt, describe(rows, head))
			break
		}
		if attempt == 500 {
			t.Fatalf("never caught crm serve inside a batch transaction:\n%s", describe(rows, head))
		}
		s1.signal(t, syscall.SIGCONT)
		time.Sleep(time.Duration(rand.IntN(4000)) * time.Microsecond)
	}
	s1.kill(t)

	// The interrupted batch rolled back together with its checkpoint.
	deadline = time.Now().Add(30 * time.Second)
	for {
		if _, writing := sessions(t, db); writing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the killed server's transaction is still open after 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	after, err := db.projections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range frozen {
		if a := after[name]; a.position != r.position || a.applied != r.applied {
			t.Errorf("checkpoint of %s moved after the kill: %v -> %v", name, r, a)
		}
	}

	// Restarted, it resumes from the checkpoints and applies each event once.
	s2 := startServer(t, bin, db.url)
	start = time.Now()
	checkAppliedOnce(t, db, waitCaughtUp(t, db, 2*time.Minute))
	t.Logf("caught up after the restart in %v", time.Since(start).Round(time.Millisecond))
	leads := listLeadAttempts(t, s2.api)
	if len(leads) != len(seed.attempts) {
		t.Errorf("GET /v1/leads lists %d leads, want %d", len(leads), len(seed.attempts))
	}
	for id, want := range seed.attempts {
		if got := leads[id]; got != want {
			t.Errorf("lead %s: contact_attempts %d, want %d", id, got, want)
			break
		}
	}
	checkCleanRebuild(t, bin, db)
}

// sessions counts the other client sessions on db that are busy (running
// a statement, unless only waiting on their client to read or send) and
// those holding a transaction id (writing: a transaction that has written
// and not yet ended).
func sessions(t *testing.T, db *testDB) (busy, writing int) {
	t.Helper()
	if err := db.pool.QueryRow(context.Background(), `SELECT
       count(*) FILTER (WHERE state = 'active' AND wait_event_type IS DISTINCT FROM 'Client'),
       count(*) FILTER (WHERE backend_xid IS NOT NULL)
FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`).Scan(&busy, &writing); err != nil {
		t.Fatal(err)
	}
	return busy, writing
}

// settledWriters waits, while the clients of db are frozen, until the
// server has done all it can for them (statements and commits in flight
// finished, or blocked on the frozen client), and returns how many of
// their sessions then hold a transaction open with writes.
func settledWriters(t *testing.T, db *testDB) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		busy, writing := sessions(t, db)
		if busy == 0 {
			return writing
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions still busy 30s after their client froze", busy)
		}
		time.Sleep(time.Millisecond)
	}
}

// listLeadAttempts pages through GET /v1/leads and returns every lead's
// contact_attempts.
func listLeadAttempts(t *testing.T, api *apiClient) map[string]int {
	t.Helper()
	out := map[string]int{}
	path := "/v1/leads?limit=500"
	for {
		var page struct {
			Items []struct {
				ID              string `json:"id"`
				ContactAttempts int    `json:"contact_attempts"`
			} `json:"items"`
			NextCursor *string `json:"next_cursor"`
		}
		api.mustDo(t, 200, "GET", path, nil).decode(t, &page)
		for _, it := range page.Items {
			if _, dup := out[it.ID]; dup {
				t.Fatalf("lead %s listed twice", it.ID)
			}
			out[it.ID] = it.ContactAttempts
		}
		if page.NextCursor == nil {
			return out
		}
		path = "/v1/leads?limit=500&cursor=" + url.QueryEscape(*page.NextCursor)
	}
}

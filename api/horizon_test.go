package api_test

import (
	"context"
	"testing"
	"time"
)

// TestProjectionsNameWhatHoldsTheLogBack: a write transaction left open
// on the server hides later events from every reader (they never skip
// one); GET /v1/projections says how many wait and which session holds
// them back, and nothing once it ends.
func TestProjectionsNameWhatHoldsTheLogBack(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// Projectors starting up write for a moment (each compares its schema
	// with its definition in a transaction it rolls back, then records
	// itself the owner): wait until all have started and no writer holds
	// the log back before holding it back here.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		st := e.must(200, e.do("admin", "GET", "/v1/projections", nil))
		started := true
		for _, it := range st.body["items"].([]any) {
			started = started && it.(map[string]any)["owner"] != nil
		}
		if h := st.body["horizon"].(map[string]any); started && h["oldest_writer"] == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a writer holds the log back with nothing running: %s", st.raw)
		}
	}
	conn, err := e.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	var xid string
	if err := tx.QueryRow(ctx, `SELECT pg_backend_pid(), pg_current_xact_id()::text`).Scan(&pid, &xid); err != nil {
		t.Fatal(err)
	}
	e.must(201, e.do("sales", "POST", "/v1/leads", leadWith("email", "held@example.com")))
	st := e.must(200, e.do("admin", "GET", "/v1/projections", nil))
	h := st.body["horizon"].(map[string]any)
	w, _ := h["oldest_writer"].(map[string]any)
	if h["events_waiting"] != 1.0 || w == nil || w["pid"] != float64(pid) || w["transaction_started_at"] == nil {
		t.Fatalf("while a transaction is open: %s (its pid %d)", st.raw, pid)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	st = e.must(200, e.do("admin", "GET", "/v1/projections", nil))
	h = st.body["horizon"].(map[string]any)
	if h["events_waiting"] != 0.0 || h["oldest_writer"] != nil {
		t.Fatalf("after it ended: %s", st.raw)
	}
}

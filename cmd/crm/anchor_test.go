package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crm/eventstore"
)

// appendN appends n events to fresh streams, stamped by the server clock.
func (db *testDB) appendN(t *testing.T, prefix string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := db.store.Append(context.Background(), eventstore.StreamEvents{StreamID: fmt.Sprintf("%s-%d", prefix, i),
			Expected: eventstore.NoStream, Events: []eventstore.EventData{{Type: "thing.happened.v1", SchemaVersion: 1,
				Data: json.RawMessage(fmt.Sprintf(`{"n": %d}`, i)), Metadata: eventstore.Metadata{Actor: "key:test"}}}}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAuditSealExportAndAnchor: crm audit seal --export writes the anchor;
// crm audit verify --anchor passes on the log it was taken from and fails
// (exit 1, the reason named) once the seals are deleted and a sealed event
// rewritten with the database's own hash function; crm audit seal and a
// fresh crm serve then refuse to seal the forged log, serve logging why
// and serving on.
func TestAuditSealExportAndAnchor(t *testing.T) {
	bin := crmBinary(t)
	db := openTestDB(t)
	db.appendN(t, "anchored", 3)
	anchor := filepath.Join(t.TempDir(), "anchor.json")
	key := []string{"--database-url", db.url, "--seal-key", testSealKey}
	var stdout, stderr string
	var code int
	// A seal stops below the oldest transaction running on the server.
	for deadline := time.Now().Add(time.Minute); ; {
		stdout, stderr, code = runCRM(t, bin, time.Minute, append([]string{"audit", "seal", "--export", anchor}, key...)...)
		if code != 0 {
			t.Fatalf("crm audit seal: exit %d\n%s%s", code, stdout, stderr)
		}
		if strings.Contains(stdout, `"count": 3`) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	raw, err := os.ReadFile(anchor)
	if err != nil {
		t.Fatal(err)
	}
	var a map[string]any
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatalf("anchor %s: %v", raw, err)
	}
	for _, field := range []string{"sequence", "position", "count", "running_hash", "mac", "time"} {
		if _, ok := a[field]; !ok {
			t.Errorf("anchor lacks %q: %s", field, raw)
		}
	}
	if a["count"] != float64(3) {
		t.Fatalf("anchor counts %v events, want 3: %s", a["count"], raw)
	}
	if stdout, stderr, code := runCRM(t, bin, time.Minute, append([]string{"audit", "verify", "--anchor", anchor}, key...)...); code != 0 ||
		!strings.Contains(stdout, `"anchor_checked": true`) {
		t.Fatalf("verify against its anchor: exit %d\n%s%s", code, stdout, stderr)
	}

	ctx := context.Background()
	for _, stmt := range []string{
		`ALTER TABLE crm_events DISABLE TRIGGER crm_events_no_update_delete`,
		`UPDATE crm_events SET data = '{"n": 99}' WHERE stream_id = 'anchored-1'`,
		`UPDATE crm_events SET hash = crm_event_hash(prev_hash, event_id, stream_id, version, type, schema_version,
			actor, command_id, correlation_id, causation_id, recorded_at, data) WHERE stream_id = 'anchored-1'`,
		`ALTER TABLE crm_events ENABLE TRIGGER crm_events_no_update_delete`,
		`ALTER TABLE crm_seals DISABLE TRIGGER crm_seals_no_update_delete`,
		`DELETE FROM crm_seals`,
		`ALTER TABLE crm_seals ENABLE TRIGGER crm_seals_no_update_delete`,
	} {
		if _, err := db.pool.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	stdout, stderr, code = runCRM(t, bin, time.Minute, append([]string{"audit", "verify", "--anchor", anchor}, key...)...)
	if code != 1 || !strings.Contains(stdout, "not among the log's seals") || !strings.Contains(stderr, "anchored seal 1") {
		t.Fatalf("verify of the forged log against the anchor: exit %d\n%s%s", code, stdout, stderr)
	}
	stdout, stderr, code = runCRM(t, bin, time.Minute, append([]string{"audit", "seal", "--anchor", anchor}, key...)...)
	if code == 0 || !strings.Contains(stderr, "sealing refused") {
		t.Fatalf("crm audit seal over the forged log: exit %d\n%s%s", code, stdout, stderr)
	}

	p := startCRM(t, bin, nil, "serve", "--database-url", db.url, "--addr", "127.0.0.1:0", "--automations=false",
		"--bootstrap-admin-key", testAdminKey, "--seal-key", testSealKey, "--seal-interval", "50ms",
		"--anchor-file", anchor, "--anchor-interval", "50ms")
	api := newAPIClient(waitServing(t, p.stderr, p.exited))
	for deadline := time.Now().Add(time.Minute); !strings.Contains(p.stderr.String(), "no longer sealed"); {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not report the refusal:\n%s", p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	var v struct {
		OK            bool    `json:"ok"`
		Reason        *string `json:"reason"`
		AnchorChecked bool    `json:"anchor_checked"`
	}
	api.mustDo(t, 200, "GET", "/v1/audit/verify", nil).decode(t, &v)
	if v.OK || !v.AnchorChecked || v.Reason == nil || !strings.Contains(*v.Reason, "anchored seal 1") {
		t.Errorf("GET /v1/audit/verify on the forged log: %+v", v)
	}
	var seals int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM crm_seals`).Scan(&seals); err != nil {
		t.Fatal(err)
	}
	if seals != 0 {
		t.Errorf("serve sealed the forged log (%d seals)", seals)
	}
	if after, err := os.ReadFile(anchor); err != nil || string(after) != string(raw) {
		t.Errorf("serve rewrote the anchor: %s %v", after, err)
	}
}

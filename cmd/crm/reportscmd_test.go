package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"crm/internal/testdb"
)

func TestReportsCommand(t *testing.T) {
	url := testdb.NewDatabase(t)
	crm := func(args ...string) (int, string, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append(args, "--database-url", url, "--log-level", "error"), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	examples, err := filepath.Glob("../../internal/customreports/examples/*.yaml")
	if err != nil || len(examples) != 3 {
		t.Fatalf("examples: %v %v", examples, err)
	}
	for _, f := range examples {
		if code, out, errs := crm("reports", "apply", f); code != 0 || !strings.Contains(out, "created") {
			t.Fatalf("apply %s: %d %s %s", f, code, out, errs)
		}
	}
	if code, _, errs := crm("reports", "apply", examples[0]); code != 1 || !strings.Contains(errs, "exists") {
		t.Fatalf("apply twice: %d %s", code, errs)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("name: bad\ntable: CREATE TABLE x (k text PRIMARY KEY)\nhandlers:\n  lead.captured.v1: DELETE FROM crm_events\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := crm("reports", "apply", bad); code != 2 || !strings.Contains(errs, "handlers.lead.captured.v1") {
		t.Fatalf("bad definition: %d %s", code, errs)
	}
	if code, _, errs := crm("reports", "apply", filepath.Join(t.TempDir(), "missing.yaml")); code != 2 || !strings.Contains(errs, "missing.yaml") {
		t.Fatalf("missing file: %d %s", code, errs)
	}
	code, out, errs := crm("reports", "list")
	if code != 0 {
		t.Fatalf("list: %d %s", code, errs)
	}
	for _, name := range []string{"stage_velocity", "won_revenue_by_campaign", "ticket_sla_by_month"} {
		if !strings.Contains(out, name) {
			t.Fatalf("list lacks %s:\n%s", name, out)
		}
	}
	if strings.Contains(out, "bad") {
		t.Fatalf("refused report listed:\n%s", out)
	}
	if code, _, errs := crm("reports", "rebuild", "stage_velocity"); code != 0 {
		t.Fatalf("rebuild: %d %s", code, errs)
	}
	for _, name := range []string{"stage_velocity", "won_revenue_by_campaign", "ticket_sla_by_month"} {
		if code, _, errs := crm("reports", "drop", name); code != 0 {
			t.Fatalf("drop %s: %d %s", name, code, errs)
		}
	}
	if code, _, errs := crm("reports", "drop", "stage_velocity"); code != 1 || !strings.Contains(errs, "not found") {
		t.Fatalf("drop twice: %d %s", code, errs)
	}
	if code, _, errs := crm("reports", "frobnicate"); code != 2 {
		t.Fatalf("unknown subcommand: %d %s", code, errs)
	}
}

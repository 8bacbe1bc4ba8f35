package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"crm/aggregates"
	"crm/commands"
	"crm/internal/app"
	"crm/internal/testdb"
)

// TestEventsExportCommand captures leads through the command side, then
// exports the log with crm events export as Parquet (read back with the
// Go reader: every event, the personal values revealed) and as CSV of
// one type, and refuses bad flags with exit code 2.
func TestEventsExportCommand(t *testing.T) {
	ctx := context.Background()
	url := testdb.NewDatabase(t)
	const masterKey = "export-command-master-key-0123456789"
	a, err := app.Build(ctx, app.Config{Database: app.DatabaseConfig{URL: url}, MasterKey: app.StaticKey([]byte(masterKey)), Commands: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		c := commands.CaptureLead{CaptureLead: aggregates.CaptureLead{Name: fmt.Sprintf("Lead %d", i), Company: "Co", Email: fmt.Sprintf("lead%d@example.com", i), Source: "web"}}
		c.Metadata = commands.Metadata{Actor: "test", CommandID: fmt.Sprint("c", i), CorrelationID: "k", CausationID: "c"}
		if err := a.Commands.CaptureLead(ctx, &c); err != nil {
			t.Fatal(err)
		}
		q := commands.QualifyLead{LeadID: c.Result.ID}
		q.Metadata = c.Metadata
		if err := a.Commands.QualifyLead(ctx, &q); err != nil {
			t.Fatal(err)
		}
	}
	a.Close()

	crm := func(args ...string) (int, string, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		code := run(ctx, append(args, "--database-url", url, "--master-key", masterKey, "--log-level", "error"), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "events.parquet")
	code, _, errs := crm("events", "export", "--format", "parquet", "--batch", "7", out)
	if code != 0 || !strings.Contains(errs, "exported 60 of 60 events") {
		t.Fatalf("export: %d %s", code, errs)
	}
	if strings.Contains(errs, "\r") {
		t.Errorf("a progress bar was drawn on a writer that is not a terminal: %q", errs)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Type  string  `parquet:"type"`
		Email *string `parquet:"data_email,optional"`
		Actor string  `parquet:"actor"`
	}
	rows, err := parquet.Read[row](bytes.NewReader(b), int64(len(b)))
	if err != nil || len(rows) != 60 {
		t.Fatalf("read back: %d rows, %v", len(rows), err)
	}
	emails := 0
	for _, r := range rows {
		if r.Type == "lead.captured.v1" && r.Email != nil && strings.HasSuffix(*r.Email, "@example.com") {
			emails++
		}
		if r.Actor != "test" {
			t.Errorf("actor %q", r.Actor)
		}
	}
	if emails != 30 {
		t.Errorf("%d captured leads with their email in plaintext, want 30", emails)
	}

	code, stdout, errs := crm("events", "export", "--format", "csv", "--types", "lead.qualified.*", "-")
	if code != 0 {
		t.Fatalf("csv export: %d %s", code, errs)
	}
	recs, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil || len(recs) != 31 {
		t.Fatalf("csv: %d records, %v", len(recs), err)
	}

	for _, args := range [][]string{
		{"events", "export", "--format", "xlsx", out},
		{"events", "export", "--from", "soon", out},
		{"events", "export", "--after", "xyz", out},
		{"events", "export"},
	} {
		if code, _, errs := crm(args...); code != 2 || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line", args, code, errs)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"crm/internal/testdb"
)

// TestImportCommand: crm import checks a file (dry run), refuses one with
// a bad row naming row and column, imports with a progress bar, and on a
// second run over a longer file creates only the rows not there yet.
func TestImportCommand(t *testing.T) {
	url := testdb.NewDatabase(t)
	crm := func(args ...string) (int, string, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append(args, "--database-url", url, "--log-level", "error",
			"--master-key", "import-command-test-master-key-0123456789"), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var all strings.Builder
	all.WriteString("\ufeffFull name,Firm,Mail,Source\n")
	for i := range 30 {
		fmt.Fprintf(&all, "Person %d,Firm %d,p%d@import.example,fair\n", i, i, i)
	}
	lines := strings.SplitAfter(all.String(), "\n")
	half := write("half.csv", strings.Join(lines[:16], ""))
	full := write("full.csv", all.String())
	bad := write("bad.csv", "Full name,Firm,Mail,Source\nEve,Evil,eve@,fair\n")
	mapping := "Full name=name,Firm=company,Mail=email,Source=source"

	if code, out, errs := crm("import", "leads", half, "--map", mapping, "--dry-run"); code != 0 || !strings.Contains(out, "15 would be created") {
		t.Fatalf("dry run: %d %s %s", code, out, errs)
	}
	if code, out, errs := crm("import", "leads", bad, "--map", mapping); code != 1 || !strings.Contains(out, "row 2") ||
		!strings.Contains(out, "Mail") || !strings.Contains(errs, "nothing was imported") {
		t.Fatalf("bad file: %d %s %s", code, out, errs)
	}
	if code, out, errs := crm("import", "leads", half, "--map", mapping, "--chunk", "4"); code != 0 || !strings.Contains(out, "15 created") ||
		!strings.Contains(errs, "rows/s") {
		t.Fatalf("first run: %d %s %s", code, out, errs)
	}
	if code, out, errs := crm("import", "leads", full, "--map", mapping, "--chunk", "4"); code != 0 || !strings.Contains(out, "15 created, 15 duplicates") {
		t.Fatalf("second run: %d %s %s", code, out, errs)
	}
	if code, out, errs := crm("import", "leads", full, "--map", mapping); code != 0 || !strings.Contains(out, "0 created, 30 duplicates") {
		t.Fatalf("third run: %d %s %s", code, out, errs)
	}
	if code, out, errs := crm("import", "accounts", write("acc.csv", "name,tier\nEngines Ltd,vip\nENGINES,standard\n")); code != 0 ||
		!strings.Contains(out, "1 created, 1 duplicates") {
		t.Fatalf("accounts: %d %s %s", code, out, errs)
	}
	if code, _, errs := crm("import", "deals", full); code != 2 || !strings.Contains(errs, "deals") {
		t.Fatalf("unknown kind: %d %s", code, errs)
	}
	if code, _, errs := crm("import", "leads", full, "--map", "Full name"); code != 2 {
		t.Fatalf("bad mapping flag: %d %s", code, errs)
	}
	if code, _, errs := crm("import", "leads", full, "--map", "Full name=salary"); code != 1 || !strings.Contains(errs, "mapping.Full name") {
		t.Fatalf("mapping to an unknown field: %d %s", code, errs)
	}
}

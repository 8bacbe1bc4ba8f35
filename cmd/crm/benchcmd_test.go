package main

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"crm/internal/testdb"
)

// TestBenchTinyRun runs "crm bench" at a tiny size on the test server and
// checks that every figure is in the JSON, positive and finite, that the
// table shows every target, and that the run's database is gone after it.
// It asserts nothing about speed.
func TestBenchTinyRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole bench machinery")
	}
	bin := crmBinary(t)
	server := testdb.NewDatabase(t) // a connection string to the test server
	out := filepath.Join(t.TempDir(), "out.json")
	stdout, stderr, code := runCRM(t, bin, 5*time.Minute, "bench", "--quick", "--database-url", server,
		"--duration", "1s", "--events", "3000", "--concurrency", "4", "--json", out, "--serve-flag=--pprof-addr=127.0.0.1:0")
	if code != 0 {
		t.Fatalf("crm bench: exit %d\n%s\n%s", code, stdout, stderr)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var figures map[string]any
	if err := json.Unmarshal(raw, &figures); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	for _, key := range []string{"baseline_insert_tps", "baseline_p99_ms", "command_tps", "command_ratio", "command_p99_ms",
		"rebuild_events_per_s", "baseline_insert_select_rows_per_s", "rebuild_ratio", "lag_p50_ms", "lag_p99_ms",
		"long_stream_ratio", "serve_rss_mib", "rebuild_rss_mib",
		"peer_write_tps", "peer_p99_ms", "append_tps", "append_p99_ms", "append_vs_peer", "append_ratio"} {
		v, ok := figures[key].(float64)
		if !ok {
			t.Errorf("%s: missing or not a number in %s", key, raw)
			continue
		}
		if !(v > 0) || math.IsInf(v, 0) {
			t.Errorf("%s = %v, want a positive finite figure", key, v)
		}
	}
	if flags, _ := figures["serve_flags"].([]any); len(flags) != 1 || flags[0] != "--pprof-addr=127.0.0.1:0" {
		t.Errorf("serve_flags = %v, want the one given", figures["serve_flags"])
	}
	kinds, _ := figures["command_kinds"].([]any)
	if len(kinds) == 0 {
		t.Errorf("command_kinds missing in %s", raw)
	}
	for _, k := range kinds {
		m, _ := k.(map[string]any)
		n, _ := m["commands"].(float64)
		p50, _ := m["p50_ms"].(float64)
		p99, _ := m["p99_ms"].(float64)
		if n < 1 || p50 <= 0 || p99 < p50 {
			t.Errorf("command kind %v: want commands, and 0 < p50 <= p99", m)
		}
	}
	for _, key := range []string{"command_server_cpu_ms", "command_client_cpu_ms", "baseline_client_cpu_ms"} {
		if v, _ := figures[key].(float64); !(v > 0) {
			t.Errorf("%s = %v, want a positive CPU time", key, figures[key])
		}
	}
	if n, _ := figures["rebuild_events"].(float64); n < 3000 {
		t.Errorf("rebuild_events = %v, want at least the 3000 asked for", n)
	}
	for _, row := range []string{"Message DB write_message tx/s", "crm_append tx/s"} {
		if !strings.Contains(stdout, row) {
			t.Errorf("no %q row in:\n%s", row, stdout)
		}
	}
	for _, figure := range []string{"append vs Message DB", "commands/s vs raw INSERT tx/s", "command p99 vs raw INSERT p99",
		"rebuild events/s vs INSERT … SELECT rows/s", "lag p99", "10,000-event stream", "serve peak RSS", "rebuild peak RSS"} {
		var line string
		for l := range strings.SplitSeq(stdout, "\n") {
			if strings.HasPrefix(l, figure) || strings.Contains(l, figure) {
				line = l
			}
		}
		if !strings.HasSuffix(line, "PASS") && !strings.HasSuffix(line, "MISS") {
			t.Errorf("no PASS/MISS row for %q in:\n%s", figure, stdout)
		}
	}

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var left []string
	rows, err := conn.Query(ctx, `SELECT datname FROM pg_database WHERE datname LIKE 'crm\_bench\_%'`)
	if err != nil {
		t.Fatal(err)
	}
	left, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("databases left behind: %v", left)
	}
}

func TestBenchFlagErrorsNameTheFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"--concurrency", "0"}, "-concurrency"},
		{[]string{"--concurrency", "x"}, "-concurrency"},
		{[]string{"--events", "5"}, "-events"},
		{[]string{"--duration", "-3s"}, "-duration"},
		{[]string{"--duration", "10ms"}, "-duration"},
		{[]string{"--database-url", "postgres://%zz"}, "-database-url"},
		{[]string{"--json", "/no/such/dir/out.json"}, "-json"},
		{[]string{"--frobnicate"}, "-frobnicate"},
		{[]string{"--serve-flag", "automations=false"}, "-serve-flag"},
		{[]string{"--serve-flag=--automations=maybe"}, "-serve-flag"},
		{[]string{"--serve-flag=--pprof-addr=0.0.0.0:1"}, "-serve-flag"},
		{[]string{"--serve-flag=--master-key=0123456789abcdef0123456789abcdef"}, "-serve-flag"},
		{[]string{"--serve-flag=--log-format=text"}, "-serve-flag"},
	} {
		var stdout, stderr strings.Builder
		code := run(context.Background(), append([]string{"bench"}, tc.args...), &stdout, &stderr)
		msg := strings.TrimSpace(stderr.String())
		if code != 2 || !strings.Contains(msg, tc.flag) || strings.Count(msg, "\n") > 0 {
			t.Errorf("crm bench %v: exit %d, stderr %q; want exit 2 and one line naming %s", tc.args, code, msg, tc.flag)
		}
	}
}

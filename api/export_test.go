package api_test

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// exportedRow is the part of an exported event the tests compare.
type exportedRow struct {
	Cursor        string  `parquet:"cursor"`
	Position      int64   `parquet:"position"`
	Stream        string  `parquet:"stream"`
	EntityType    string  `parquet:"entity_type"`
	Version       int64   `parquet:"version"`
	Type          string  `parquet:"type"`
	Actor         string  `parquet:"actor"`
	EventID       string  `parquet:"event_id"`
	CorrelationID string  `parquet:"correlation_id"`
	Data          string  `parquet:"data"`
	Email         *string `parquet:"data_email,optional"`
	Source        *string `parquet:"data_source,optional"`
	Amount        *string `parquet:"data_amount,optional"`
}

// get fetches a path as role and returns status, headers and body.
func (e *env) get(role, path string) (int, http.Header, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+e.keys[role])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b
}

// TestEventExportReadsBack exports a log with a conversion and an erased
// person as Parquet, CSV and NDJSON, and reads each back: the Parquet
// file with the Go Parquet reader and with DuckDB, comparing counts and
// values with the event feed; personal fields read in plaintext, and
// "[erased]" for the erased person.
func TestEventExportReadsBack(t *testing.T) {
	e := newEnv(t)
	kept := e.must(201, e.do("sales", "POST", "/v1/leads", leadBody)).str("id")
	gone := e.must(201, e.do("sales", "POST", "/v1/leads", leadWith("email", "grace@example.com", "name", "Grace Hopper", "source", "referral"))).str("id")
	e.must(200, e.do("sales", "POST", "/v1/leads/"+kept+"/qualify", map[string]any{"note": "keen"}))
	e.must(200, e.do("sales", "POST", "/v1/leads/"+kept+"/convert", map[string]any{"opportunity": map[string]any{
		"name": "Engines 2027", "amount": "125000.00", "currency": "EUR", "expected_close_date": "2027-03-31"}}, "X-Correlation-ID", "export-test"))
	e.must(200, e.do("admin", "POST", "/v1/privacy/erasure", map[string]any{"email": "grace@example.com"}))

	feed := e.must(200, e.do("analyst", "GET", "/v1/events?limit=500", nil))
	items := feed.body["items"].([]any)
	if len(items) != e.eventCount() || len(items) < 7 {
		t.Fatalf("feed has %d events, log %d", len(items), e.eventCount())
	}

	status, h, body := e.get("analyst", "/v1/events/export?format=parquet")
	if status != 200 || h.Get("Content-Type") != "application/vnd.apache.parquet" || !strings.Contains(h.Get("Content-Disposition"), ".parquet") {
		t.Fatalf("parquet export: %d %v %.200s", status, h, body)
	}
	rows, err := parquet.Read[exportedRow](bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatalf("read the parquet file: %v", err)
	}
	if len(rows) != len(items) {
		t.Fatalf("parquet has %d rows, the feed %d events", len(rows), len(items))
	}
	emails := map[string]string{}
	for i, r := range rows {
		it := items[i].(map[string]any)
		if r.Cursor != it["cursor"] || r.Type != it["type"] || r.Stream != it["stream"] || float64(r.Version) != it["version"] || r.EventID != it["id"] {
			t.Errorf("row %d = %+v, feed has %v", i, r, it)
		}
		var data, feedData map[string]any
		_ = json.Unmarshal([]byte(r.Data), &data)
		raw, _ := json.Marshal(it["data"])
		_ = json.Unmarshal(raw, &feedData)
		if !jsonEqual(data, feedData) {
			t.Errorf("row %d data %s, feed %s", i, r.Data, raw)
		}
		if r.Type == "lead.captured.v1" && r.Email != nil {
			emails[strings.TrimPrefix(r.Stream, "lead-")] = *r.Email
		}
		if r.Type == "opportunity.opened.v1" && (r.Amount == nil || *r.Amount != "125000.00") {
			t.Errorf("opportunity row's data_amount = %v", r.Amount)
		}
		if r.EntityType != strings.SplitN(r.Stream, "-", 2)[0] {
			t.Errorf("row %d entity_type %q of stream %q", i, r.EntityType, r.Stream)
		}
	}
	if emails[kept] != "ada@example.com" || emails[gone] != "[erased]" {
		t.Errorf("data_email of the leads: %v; want ada@example.com and [erased]", emails)
	}

	// DuckDB reads the same file.
	dir := t.TempDir()
	file := filepath.Join(dir, "events.parquet")
	if err := os.WriteFile(file, body, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("duckdb", func(t *testing.T) {
		out := duckdb(t, `SELECT count(*) AS n, count(DISTINCT stream) AS streams, min(position) AS first, max(position) AS last FROM read_parquet('`+file+`')`,
			`SELECT data_email, data_source FROM read_parquet('`+file+`') WHERE type = 'lead.captured.v1' ORDER BY position`,
			`SELECT typeof(recorded_at) AS t, json_extract_string(data, '$.amount') AS amount FROM read_parquet('`+file+`') WHERE type = 'opportunity.opened.v1'`)
		streams := map[string]bool{}
		for _, it := range items {
			streams[it.(map[string]any)["stream"].(string)] = true
		}
		if len(out) != 4 {
			t.Fatalf("duckdb answered %d rows: %v", len(out), out)
		}
		if fmt.Sprint(out[0]["n"]) != strconv.Itoa(len(items)) {
			t.Errorf("duckdb count %v, want %d", out[0]["n"], len(items))
		}
		if fmt.Sprint(out[0]["streams"]) != strconv.Itoa(len(streams)) {
			t.Errorf("duckdb streams %v, want %d", out[0]["streams"], len(streams))
		}
		if out[1]["data_email"] != "ada@example.com" || out[1]["data_source"] != "webinar" || out[2]["data_email"] != "[erased]" || out[2]["data_source"] != "referral" {
			t.Errorf("duckdb leads: %v %v", out[1], out[2])
		}
		if out[3]["t"] != "TIMESTAMP WITH TIME ZONE" || out[3]["amount"] != "125000.00" {
			t.Errorf("duckdb opportunity: %v", out[3])
		}
	})

	// CSV: a header and one record per event.
	status, h, body = e.get("analyst", "/v1/events/export?format=csv&types=lead.*")
	if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv export: %d %v %.200s", status, h, body)
	}
	recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	leadEvents := 0
	for _, it := range items {
		if strings.HasPrefix(it.(map[string]any)["type"].(string), "lead.") {
			leadEvents++
		}
	}
	if len(recs) != leadEvents+1 || recs[0][0] != "cursor" || !contains(recs[0], "data_email") {
		t.Fatalf("csv has %d records (want %d and a header): %v", len(recs), leadEvents+1, recs[0])
	}
	col := indexOf(recs[0], "data_email")
	if recs[1][col] != "ada@example.com" || recs[2][col] != "[erased]" {
		t.Errorf("csv data_email: %q %q", recs[1][col], recs[2][col])
	}

	// NDJSON: one object per event, data as an object.
	status, _, body = e.get("analyst", "/v1/events/export?format=ndjson&after="+url.QueryEscape(rows[1].Cursor))
	if status != 200 {
		t.Fatalf("ndjson export: %d %s", status, body)
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	n := 0
	for sc.Scan() {
		var obj map[string]any
		if err := json.Unmarshal(sc.Bytes(), &obj); err != nil {
			t.Fatalf("ndjson line %q: %v", sc.Text(), err)
		}
		if _, ok := obj["data"].(map[string]any); !ok || obj["cursor"] != rows[n+2].Cursor {
			t.Errorf("ndjson line %d: %v", n, obj)
		}
		n++
	}
	if n != len(rows)-2 {
		t.Errorf("ndjson after the second event has %d lines, want %d", n, len(rows)-2)
	}

	// Refusals: a problem naming the parameter; roles without the feed.
	for path, field := range map[string]string{
		"/v1/events/export?format=xlsx":                   "format",
		"/v1/events/export?after=nope":                    "after",
		"/v1/events/export?from=yesterday":                "from",
		"/v1/events/export?from=2026-02-01&to=2026-01-01": "to",
	} {
		r := e.do("analyst", "GET", path, nil)
		if r.status != 400 || !strings.Contains(string(r.raw), `"field":"`+field+`"`) {
			t.Errorf("%s: %d %s, want 400 naming %s", path, r.status, r.raw, field)
		}
	}
	e.must(403, e.do("sales", "GET", "/v1/events/export", nil))
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func contains(s []string, v string) bool { return indexOf(s, v) >= 0 }

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// duckdb runs SQL statements with DuckDB from the npm registry
// (@duckdb/node-api, under CRM_DUCKDB_NODE_MODULES or
// /usr/local/lib/crm-duckdb/node_modules) and returns every row.
func duckdb(t *testing.T, sql ...string) []map[string]any {
	t.Helper()
	node := tool(t, "node", "Debian package nodejs")
	modules := os.Getenv("CRM_DUCKDB_NODE_MODULES")
	if modules == "" {
		modules = "/usr/local/lib/crm-duckdb/node_modules"
	}
	if _, err := os.Stat(filepath.Join(modules, "@duckdb", "node-api")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("DuckDB is not installed in %s (npm install --prefix %s @duckdb/node-api); CI must have it", modules, filepath.Dir(modules))
		}
		t.Skipf("DuckDB is not installed in %s (npm install --prefix %s @duckdb/node-api)", modules, filepath.Dir(modules))
	}
	cmd := exec.Command(node, append([]string{filepath.Join("..", "internal", "eventexport", "testdata", "duckdb.mjs"), "--json"}, sql...)...)
	cmd.Env = append(os.Environ(), "CRM_DUCKDB_NODE_MODULES="+modules)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("duckdb: %v\n%s", err, stderr)
	}
	var rows []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("duckdb line %q: %v", l, err)
		}
		rows = append(rows, m)
	}
	return rows
}

package api_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestErasureLeavesNoPlaintextInTablePages: the scrubbed read-model rows
// and the shredded key are vacuumed out of the tables' pages after an
// erasure. Before it, the pages of the database hold the lead's email,
// name and the subject's wrapped key; after it, within a generous
// deadline, no page of any table or index of the database does (read
// with pageinspect, so what is checked is the bytes on disk, dead row
// versions included).
func TestErasureLeavesNoPlaintextInTablePages(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.pool.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pageinspect`)
	pages := err == nil
	if !pages {
		t.Logf("pageinspect is not installable (%v): checking that the tables were rewritten instead", err)
	}
	const email, name = "vacuum.victim@pages.example", "Quillon Vacuumvictim"
	lead := e.must(http.StatusCreated, e.do("sales", http.MethodPost, "/v1/leads", leadWith("email", email, "name", name, "phone", "+44 20 7946 0999")))
	for range 3 {
		e.must(http.StatusCreated, e.do("sales", http.MethodPost, "/v1/leads", leadWith("email", "bystander"+time.Now().Format("150405.000000")+"@pages.example")))
	}
	pos := e.must(http.StatusOK, e.do("sales", http.MethodPost, "/v1/leads/"+lead.str("id")+"/assign", map[string]any{"owner_id": e.user("Rep One")})).str("position")
	e.must(http.StatusOK, e.do("sales", http.MethodGet, "/v1/leads?min_position="+url.QueryEscape(pos), nil))
	e.must(http.StatusOK, e.do("auditor", http.MethodGet, "/v1/audit?entity_id="+lead.str("id")+"&min_position="+url.QueryEscape(pos), nil))
	var wrapped []byte
	if err := e.pool.QueryRow(ctx, `SELECT wrapped_key FROM crm_privacy_keys k JOIN crm_privacy_entities p USING (subject_id) WHERE p.entity_id = $1`,
		lead.str("id")).Scan(&wrapped); err != nil {
		t.Fatal(err)
	}
	secrets := [][]byte{[]byte(email), []byte(name), wrapped}
	if found := pagesHolding(t, e, secrets); pages && len(found) < 3 {
		t.Fatalf("before the erasure the pages hold only %v; the check would check nothing", found)
	}

	before := filenodes(t, e)
	er := e.must(http.StatusOK, e.do("admin", http.MethodPost, "/v1/privacy/erasure", map[string]any{"email": email}))
	pos = er.str("position")
	e.must(http.StatusOK, e.do("sales", http.MethodGet, "/v1/leads?min_position="+url.QueryEscape(pos), nil))
	e.must(http.StatusOK, e.do("auditor", http.MethodGet, "/v1/audit?entity_id="+lead.str("id")+"&min_position="+url.QueryEscape(pos), nil))
	deadline := time.Now().Add(90 * time.Second)
	for {
		if !pages {
			if allRewritten(before, filenodes(t, e)) {
				break
			}
		} else if found := pagesHolding(t, e, secrets); len(found) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the erasure the pages still hold personal data: %v (files before %s, now %s)", pagesHolding(t, e, secrets), before, filenodes(t, e))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// filenodes returns the files of the tables an erasure rewrites: without
// pageinspect, a table's new file (its rows copied, its old file dropped)
// is the next best evidence.
func filenodes(t *testing.T, e *env) string {
	t.Helper()
	var f string
	if err := e.pool.QueryRow(context.Background(), `SELECT string_agg(pg_relation_filenode(r)::text, ',' ORDER BY r)
FROM unnest(ARRAY['rm_lists.leads', 'rm_audit.entries', 'crm_privacy_keys']::regclass[]) AS r`).Scan(&f); err != nil {
		t.Fatal(err)
	}
	return f
}

// allRewritten tells whether every table's file changed between two
// filenodes answers.
func allRewritten(before, now string) bool {
	b, n := strings.Split(before, ","), strings.Split(now, ",")
	for i := range b {
		if i >= len(n) || b[i] == n[i] {
			return false
		}
	}
	return len(b) == len(n)
}

// pagesHolding lists "relation: secret #i" for every relation of the
// database (tables, indexes, TOAST) one of whose pages holds one of the
// secrets.
func pagesHolding(t *testing.T, e *env, secrets [][]byte) []string {
	t.Helper()
	var installed bool
	if err := e.pool.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pageinspect')`).Scan(&installed); err != nil || !installed {
		return nil
	}
	rows, err := e.pool.Query(context.Background(), `SELECT c.oid::regclass::text, get_raw_page(c.oid::regclass::text, 'main', b)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL generate_series(0, (pg_relation_size(c.oid) / current_setting('block_size')::int)::int - 1) AS b
WHERE c.relkind IN ('r', 'i', 't', 'm') AND c.relpersistence = 'p' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND (c.relkind <> 'i' OR (SELECT amname FROM pg_am WHERE oid = c.relam) = 'btree')`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	var out []string
	for rows.Next() {
		var rel string
		var page []byte
		if err := rows.Scan(&rel, &page); err != nil {
			t.Fatal(err)
		}
		for i, s := range secrets {
			key := rel + ": secret #" + string(rune('0'+i))
			if !seen[key] && bytes.Contains(page, s) {
				seen[key] = true
				out = append(out, key)
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"crm/aggregates"
	"crm/commands"
	"crm/readmodels"
)

// auditItems decodes the items of a JSON audit page.
func auditItems(t *testing.T, r response) []readmodels.AuditEntry {
	t.Helper()
	var page struct {
		Items      []readmodels.AuditEntry `json:"items"`
		NextCursor *string                 `json:"next_cursor"`
	}
	if err := json.Unmarshal(r.raw, &page); err != nil {
		t.Fatalf("audit page: %v: %s", err, r.raw)
	}
	if page.Items == nil {
		t.Fatalf("audit page without items: %s", r.raw)
	}
	return page.Items
}

// auditPositionsOf returns the positions of entries.
func auditPositionsOf(entries []readmodels.AuditEntry) []string {
	out := []string{}
	for _, e := range entries {
		out = append(out, e.Position)
	}
	return out
}

// auditFind returns the only entry of entries with event type typ about
// entityID.
func auditFind(t *testing.T, entries []readmodels.AuditEntry, typ, entityID string) readmodels.AuditEntry {
	t.Helper()
	var found []readmodels.AuditEntry
	for _, e := range entries {
		if e.EventType == typ && e.EntityID == entityID {
			found = append(found, e)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d entries of %s on %s, want 1", len(found), typ, entityID)
	}
	return found[0]
}

// auditHasChange checks that e changed field from one JSON value to
// another (given as JSON text, "null" for none).
func auditHasChange(t *testing.T, e readmodels.AuditEntry, field, from, to string) {
	t.Helper()
	for _, c := range e.Changes {
		if c.Field != field {
			continue
		}
		gotFrom, gotTo := string(c.From), string(c.To)
		if gotFrom == "" {
			gotFrom = "null"
		}
		if gotTo == "" {
			gotTo = "null"
		}
		if gotFrom != from || gotTo != to {
			t.Errorf("%s %s: %s changed from %s to %s, want from %s to %s", e.EventType, e.EntityID, field, gotFrom, gotTo, from, to)
		}
		return
	}
	t.Errorf("%s %s: no change of %s in %+v", e.EventType, e.EntityID, field, e.Changes)
}

// auditScenario runs commands as several roles and returns the ids it
// created and the position of the last command.
type auditIDs struct {
	lead, lead2, account, contact, opp, ticket, owner, pos string
}

func auditScenario(t *testing.T, e *env) auditIDs {
	t.Helper()
	var ids auditIDs
	keep := func(r response) response { ids.pos = r.str("position"); return r }
	ids.lead = keep(e.must(201, e.do("sales", "POST", "/v1/leads", leadWith("name", "Ada Lovelace", "company", "Engines Ltd",
		"email", "ada@engines.example"), "X-Correlation-ID", "corr-capture-1"))).str("id")
	ids.lead2 = keep(e.must(201, e.do("sales", "POST", "/v1/leads", leadWith("name", "Grace Hopper", "company", "Navy",
		"email", "grace@navy.example")))).str("id")
	ids.owner = e.user("Owner A")
	keep(e.must(200, e.do("manager", "POST", "/v1/leads/"+ids.lead+"/assign", map[string]any{"owner_id": ids.owner})))
	keep(e.must(200, e.do("sales", "POST", "/v1/leads/"+ids.lead+"/contact-attempts", `{"channel":"call","outcome":"reached"}`)))
	keep(e.must(200, e.do("sales", "POST", "/v1/leads/"+ids.lead+"/qualify", `{}`)))
	conv := keep(e.must(200, e.do("sales", "POST", "/v1/leads/"+ids.lead+"/convert",
		`{"opportunity":{"name":"Deal","amount":"1000.50","currency":"EUR","expected_close_date":"2027-03-31"}}`)))
	ids.account, ids.contact, ids.opp = conv.str("account_id"), conv.str("contact_id"), conv.str("opportunity_id")
	keep(e.must(200, e.do("sales", "POST", "/v1/opportunities/"+ids.opp+"/stage", `{"stage":"proposal"}`)))
	keep(e.must(200, e.do("manager", "POST", "/v1/opportunities/"+ids.opp+"/stage", `{"stage":"negotiation"}`)))
	keep(e.must(200, e.do("sales", "POST", "/v1/accounts/"+ids.account+"/details", `{"industry":"aerospace","tier":"vip"}`)))
	keep(e.must(200, e.do("sales", "POST", "/v1/accounts/"+ids.account+"/activities", `{"kind":"call","subject":"Kick-off"}`)))
	ids.ticket = keep(e.must(201, e.do("support", "POST", "/v1/tickets",
		`{"subject":"Broken","priority":"urgent","channel":"chat","account_id":"`+ids.account+`"}`))).str("id")
	keep(e.must(200, e.do("support", "POST", "/v1/tickets/"+ids.ticket+"/responses", `{"body":"hi"}`)))
	keep(e.must(200, e.do("support", "POST", "/v1/tickets/"+ids.ticket+"/resolve", `{"resolution":"fixed"}`)))
	return ids
}

// auditAllPages pages through path (with its query) at limit and returns
// every entry, checking that only the last page has no next cursor.
func auditAllPages(t *testing.T, e *env, path string, limit int) []readmodels.AuditEntry {
	t.Helper()
	var out []readmodels.AuditEntry
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 200 {
			t.Fatal("too many pages")
		}
		r := e.must(200, e.do("auditor", "GET", fmt.Sprintf("%s&limit=%d&cursor=%s", path, limit, url.QueryEscape(cursor)), nil))
		items := auditItems(t, r)
		if len(items) > limit {
			t.Fatalf("%d items with limit %d", len(items), limit)
		}
		out = append(out, items...)
		next, _ := r.body["next_cursor"].(string)
		if next == "" {
			if r.body["next_cursor"] != nil {
				t.Fatalf("next_cursor is neither a string nor null: %s", r.raw)
			}
			return out
		}
		if len(items) != limit {
			t.Fatalf("a page of %d items (limit %d) has a next cursor", len(items), limit)
		}
		cursor = next
	}
}

func TestAuditTimeline(t *testing.T) {
	e := newEnv(t)
	ids := auditScenario(t, e)
	all := auditItems(t, e.must(200, e.do("auditor", "GET", "/v1/audit?limit=500&min_position="+ids.pos, nil)))
	if len(all) != e.eventCount() {
		t.Fatalf("%d audit entries, the log has %d events", len(all), e.eventCount())
	}
	for i := 1; i < len(all); i++ {
		if all[i].Position <= all[i-1].Position {
			t.Fatalf("entries out of log order at %d", i)
		}
	}
	if all[len(all)-1].Position != ids.pos {
		t.Errorf("last entry at %s, the last command at %s", all[len(all)-1].Position, ids.pos)
	}

	// The entries say who, when, what and why.
	captured := auditFind(t, all, "lead.captured.v1", ids.lead)
	if captured.EntityType != "lead" || captured.Summary != "Lead captured: Ada Lovelace (Engines Ltd)" ||
		captured.Actor != e.actors["sales"] || captured.CorrelationID != "corr-capture-1" || captured.CommandID == "" ||
		captured.RecordedAt.IsZero() || time.Since(captured.RecordedAt) > time.Hour {
		t.Errorf("capture entry: %+v", captured)
	}
	auditHasChange(t, captured, "name", "null", `"Ada Lovelace"`)
	auditHasChange(t, captured, "email", "null", `"ada@engines.example"`)
	auditHasChange(t, auditFind(t, all, "lead.assigned.v1", ids.lead), "owner_id", "null", `"`+ids.owner+`"`)
	conv := auditFind(t, all, "lead.converted.v1", ids.lead)
	if want := "Lead converted into new account " + ids.account + ", contact " + ids.contact + " and opportunity " + ids.opp; conv.Summary != want {
		t.Errorf("conversion summary %q, want %q", conv.Summary, want)
	}
	auditHasChange(t, conv, "status", `"qualified"`, `"converted"`)
	auditHasChange(t, conv, "opportunity_id", "null", `"`+ids.opp+`"`)
	contact := auditFind(t, all, "account.contact_added.v1", ids.contact)
	if contact.EntityType != "contact" || !strings.Contains(contact.Summary, ids.account) {
		t.Errorf("contact entry: %+v", contact)
	}
	var stage readmodels.AuditEntry
	for _, en := range all {
		if en.EventType == "opportunity.stage_changed.v1" && en.Actor == e.actors["manager"] {
			stage = en
		}
	}
	if stage.Summary != "Opportunity stage changed from proposal to negotiation" || stage.EntityID != ids.opp {
		t.Errorf("stage entry: %+v", stage)
	}
	auditHasChange(t, stage, "stage", `"proposal"`, `"negotiation"`)
	details := auditFind(t, all, "account.details_changed.v1", ids.account)
	auditHasChange(t, details, "industry", `"manufacturing"`, `"aerospace"`)
	auditHasChange(t, details, "tier", `"standard"`, `"vip"`)
	activity := auditFind(t, all, "activity.logged.v1", ids.account)
	if activity.EntityType != "account" || activity.Summary != "Call logged on account: Kick-off" {
		t.Errorf("activity entry: %+v", activity)
	}
	resolved := auditFind(t, all, "ticket.resolved.v1", ids.ticket)
	auditHasChange(t, resolved, "status", `"open"`, `"resolved"`)
	raw := e.must(200, e.do("auditor", "GET", "/v1/audit?type=ticket.responded.v1", nil)).raw
	if !bytes.Contains(raw, []byte(`"changes":[{"field":"first_response_at","from":null,"to":"`)) {
		t.Errorf("changes are not JSON with null for an absent value: %s", raw)
	}

	// Filters select exactly the matching entries, in log order.
	where := func(keep func(readmodels.AuditEntry) bool) []string {
		return auditPositionsOf(slices.DeleteFunc(slices.Clone(all), func(en readmodels.AuditEntry) bool { return !keep(en) }))
	}
	mid := all[len(all)/2].RecordedAt
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"entity_type=lead&entity_id=" + ids.lead, where(func(en readmodels.AuditEntry) bool { return en.EntityID == ids.lead })},
		{"entity_id=" + strings.ToUpper(ids.account), where(func(en readmodels.AuditEntry) bool { return en.EntityID == ids.account })},
		{"entity_type=contact", where(func(en readmodels.AuditEntry) bool { return en.EntityType == "contact" })},
		{"entity_type=ticket&entity_id=" + ids.lead, nil},
		{"actor=" + url.QueryEscape(e.actors["support"]), where(func(en readmodels.AuditEntry) bool { return en.EntityType == "ticket" })},
		{"actor=key:nobody", nil},
		{"type=lead.captured.v1", where(func(en readmodels.AuditEntry) bool { return en.EventType == "lead.captured.v1" })},
		{"type=opportunity.*", where(func(en readmodels.AuditEntry) bool { return strings.HasPrefix(en.EventType, "opportunity.") })},
		{"from=" + url.QueryEscape(mid.Format(time.RFC3339Nano)), where(func(en readmodels.AuditEntry) bool { return !en.RecordedAt.Before(mid) })},
		{"to=" + url.QueryEscape(mid.Format(time.RFC3339Nano)), where(func(en readmodels.AuditEntry) bool { return en.RecordedAt.Before(mid) })},
		{"from=2000-01-01", auditPositionsOf(all)},
		{"from=2000-01-01&to=2000-01-02", nil},
		{"actor=" + url.QueryEscape(e.actors["sales"]) + "&entity_id=" + ids.lead, where(func(en readmodels.AuditEntry) bool {
			return en.Actor == e.actors["sales"] && en.EntityID == ids.lead
		})},
	} {
		got := auditPositionsOf(auditItems(t, e.must(200, e.do("auditor", "GET", "/v1/audit?limit=500&"+c.query, nil))))
		if c.want == nil {
			c.want = []string{}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: got %d entries, want %d", c.query, len(got), len(c.want))
		}
		if len(c.want) == 0 {
			continue
		}
		paged := auditPositionsOf(auditAllPages(t, e, "/v1/audit?"+c.query, 2))
		if !slices.Equal(paged, c.want) {
			t.Errorf("%s paged by 2: got %d entries, want %d", c.query, len(paged), len(c.want))
		}
	}

	// Pagination: the default page size, and pages of 3 covering the
	// whole timeline.
	if n := len(auditItems(t, e.must(200, e.do("auditor", "GET", "/v1/audit", nil)))); n != min(len(all), readmodels.DefaultLimit) {
		t.Errorf("default page of %d entries", n)
	}
	if got := auditPositionsOf(auditAllPages(t, e, "/v1/audit?", 3)); !slices.Equal(got, auditPositionsOf(all)) {
		t.Errorf("pages of 3 return %d entries, want %d", len(got), len(all))
	}

	// Roles.
	for _, role := range []string{"manager", "admin", "auditor"} {
		e.must(200, e.do(role, "GET", "/v1/audit", nil))
	}
	for _, role := range []string{"sales", "support", "analyst"} {
		e.must(403, e.do(role, "GET", "/v1/audit", nil))
		e.must(403, e.do(role, "GET", "/v1/audit?format=csv", nil))
	}
	e.must(401, e.do("", "GET", "/v1/audit", nil))
}

func TestAuditBadRequests(t *testing.T) {
	e := newEnv(t)
	long := strings.Repeat("x", 201)
	for _, c := range []struct{ query, field string }{
		{"entity_type=person", "entity_type"},
		{"entity_id=not-a-uuid", "entity_id"},
		{"entity_id=" + long, "entity_id"},
		{"actor=" + long, "actor"},
		{"actor=a%00b", "actor"},
		{"type=" + long, "type"},
		{"from=yesterday", "from"},
		{"from=2026-02-30", "from"},
		{"to=2026-13-01", "to"},
		{"to=" + long, "to"},
		{"from=2026-03-02&to=2026-03-02", "to"},
		{"from=2026-03-03T00:00:00Z&to=2026-03-02", "to"},
		{"format=xml", "format"},
		{"format=" + long, "format"},
		{"limit=0", "limit"},
		{"limit=501", "limit"},
		{"limit=ten", "limit"},
		{"cursor=nope", "cursor"},
		{"cursor=" + strings.Repeat("a", 2000), "cursor"},
		{"min_position=soon", "min_position"},
		{"format=csv&entity_type=person", "entity_type"},
		{"format=ndjson&from=tomorrow", "from"},
	} {
		r := e.must(400, e.do("auditor", "GET", "/v1/audit?"+c.query, nil))
		if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%s: Content-Type %q", c.query, ct)
		}
		errs, _ := r.body["errors"].([]any)
		if len(errs) != 1 || errs[0].(map[string]any)["field"] != c.field {
			t.Errorf("%s: errors %v, want the field %s", c.query, r.body["errors"], c.field)
		}
	}
	// Exports ignore limit and cursor.
	e.must(200, e.do("auditor", "GET", "/v1/audit?format=csv&limit=0&cursor=nope", nil))
}

// parseAuditCSV parses a CSV export, checks its header and returns its
// rows.
func parseAuditCSV(t *testing.T, raw []byte) [][]string {
	t.Helper()
	body, ok := bytes.CutPrefix(raw, []byte("\ufeff"))
	if !ok {
		t.Fatalf("CSV export does not start with a UTF-8 byte order mark: %q", raw[:min(8, len(raw))])
	}
	records, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("CSV export does not parse: %v", err)
	}
	header := []string{"position", "recorded_at", "actor", "entity_type", "entity_id", "event_type", "summary",
		"field", "from", "to", "command_id", "correlation_id", "causation_id"}
	if len(records) == 0 || !slices.Equal(records[0], header) {
		t.Fatalf("CSV header %v, want %v", records[:min(1, len(records))], header)
	}
	return records[1:]
}

// cellOf is the CSV cell of a change's JSON value, decoded independently
// of the server's code: a string as its text, null as empty, else JSON.
func cellOf(t *testing.T, v json.RawMessage) string {
	t.Helper()
	var x any
	if err := json.Unmarshal(v, &x); err != nil {
		t.Fatalf("change value %s: %v", v, err)
	}
	switch x := x.(type) {
	case nil:
		return ""
	case string:
		return x
	}
	return string(v)
}

// parseAuditNDJSON parses an NDJSON export, one entry per line.
func parseAuditNDJSON(t *testing.T, raw []byte) []readmodels.AuditEntry {
	t.Helper()
	out := []readmodels.AuditEntry{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("NDJSON line %d is not JSON: %v: %s", len(out)+1, err, sc.Bytes())
		}
		if _, ok := m["changes"].([]any); !ok {
			t.Fatalf("NDJSON line %d without a changes array: %s", len(out)+1, sc.Bytes())
		}
		var en readmodels.AuditEntry
		if err := json.Unmarshal(sc.Bytes(), &en); err != nil {
			t.Fatal(err)
		}
		out = append(out, en)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(raw) > 0 && raw[len(raw)-1] != '\n' {
		t.Error("NDJSON export does not end with a newline")
	}
	return out
}

// checkExportHeaders checks an export's content type and attachment name.
func checkExportHeaders(t *testing.T, r response, media, ext string) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, media) {
		t.Errorf("Content-Type %q, want %s", ct, media)
	}
	cd := r.header.Get("Content-Disposition")
	if !strings.HasPrefix(cd, `attachment; filename="audit-`) || !strings.HasSuffix(cd, `.`+ext+`"`) {
		t.Errorf("Content-Disposition %q", cd)
	}
}

func TestAuditExports(t *testing.T) {
	e := newEnv(t)
	ids := auditScenario(t, e)
	all := auditItems(t, e.must(200, e.do("auditor", "GET", "/v1/audit?limit=500&min_position="+ids.pos, nil)))

	// CSV, by ?format= and by Accept: the same rows as the JSON page.
	for _, req := range []struct {
		query   string
		headers []string
	}{
		{"?format=csv&limit=2", nil},
		{"", []string{"Accept", "text/csv"}},
		{"?min_position=" + ids.pos, []string{"Accept", "text/html, text/csv;q=0.9"}},
	} {
		r := e.must(200, e.do("manager", "GET", "/v1/audit"+req.query, nil, req.headers...))
		checkExportHeaders(t, r, "text/csv", "csv")
		rows := parseAuditCSV(t, r.raw)
		// One row per changed field, one for an entry without changes.
		var want [][]string
		for _, en := range all {
			head := []string{en.Position, en.RecordedAt.Format(time.RFC3339Nano), en.Actor, en.EntityType, en.EntityID,
				en.EventType, en.Summary}
			tail := []string{en.CommandID, en.CorrelationID, en.CausationID}
			if len(en.Changes) == 0 {
				want = append(want, slices.Concat(head, []string{"", "", ""}, tail))
			}
			for _, c := range en.Changes {
				want = append(want, slices.Concat(head, []string{c.Field, cellOf(t, c.From), cellOf(t, c.To)}, tail))
			}
		}
		if len(rows) != len(want) {
			t.Fatalf("CSV export %q has %d rows, want %d", req.query, len(rows), len(want))
		}
		for i := range rows {
			if !slices.Equal(rows[i], want[i]) {
				t.Errorf("CSV row %d: %q, want %q", i, rows[i], want[i])
			}
		}
	}

	// NDJSON, by ?format= and by Accept.
	for _, req := range []struct {
		query   string
		headers []string
	}{
		{"?format=ndjson&cursor=" + all[2].Position, nil},
		{"", []string{"Accept", "application/x-ndjson"}},
		{"?format=ndjson", []string{"Accept", "text/csv"}},
	} {
		r := e.must(200, e.do("admin", "GET", "/v1/audit"+req.query, nil, req.headers...))
		checkExportHeaders(t, r, "application/x-ndjson", "ndjson")
		lines := parseAuditNDJSON(t, r.raw)
		if len(lines) != len(all) {
			t.Fatalf("NDJSON export %q has %d lines, the JSON timeline %d entries", req.query, len(lines), len(all))
		}
		got, _ := json.Marshal(lines)
		want, _ := json.Marshal(all)
		if !bytes.Equal(got, want) {
			t.Errorf("NDJSON export differs from the JSON timeline:\n%s\n%s", got, want)
		}
	}

	// A filtered export, and one that matches nothing.
	r := e.must(200, e.do("auditor", "GET", "/v1/audit?format=ndjson&entity_type=ticket&entity_id="+ids.ticket, nil))
	lines := parseAuditNDJSON(t, r.raw)
	if len(lines) != e.streamCount("ticket-"+ids.ticket) {
		t.Errorf("ticket export: %d lines, the ticket has %d events", len(lines), e.streamCount("ticket-"+ids.ticket))
	}
	for _, en := range lines {
		if en.EntityID != ids.ticket {
			t.Errorf("ticket export holds %+v", en)
		}
	}
	r = e.must(200, e.do("auditor", "GET", "/v1/audit?format=csv&actor=key:nobody", nil))
	if rows := parseAuditCSV(t, r.raw); len(rows) != 0 {
		t.Errorf("empty CSV export has %d rows", len(rows))
	}
	checkExportHeaders(t, r, "text/csv", "csv")
	if r = e.must(200, e.do("auditor", "GET", "/v1/audit?format=ndjson&actor=key:nobody", nil)); len(r.raw) != 0 {
		t.Errorf("empty NDJSON export: %q", r.raw)
	}
	// A JSON Accept, or none, gets the JSON page.
	for _, accept := range []string{"application/json", "*/*", "text/csv;q=0, application/json"} {
		r := e.must(200, e.do("auditor", "GET", "/v1/audit", nil, "Accept", accept))
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Accept %q: Content-Type %q", accept, ct)
		}
	}
}

// TestAuditExportManyChunks: an export of more entries than one chunk
// returns every entry, in log order, and the timeline survives a rebuild
// byte for byte.
func TestAuditExportManyChunks(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	n := readmodels.AuditExportChunk + 150
	for i := range n {
		c := &commands.CaptureLead{Envelope: commands.Envelope{Metadata: commands.Metadata{Actor: "key:bulk",
			CommandID: fmt.Sprintf("cmd-%d", i), CorrelationID: fmt.Sprintf("corr-%d", i)}},
			CaptureLead: aggregates.CaptureLead{Name: fmt.Sprintf("Lead %d", i), Company: "Bulk Ltd",
				Email: fmt.Sprintf("bulk%d@example.com", i), Source: "import"}}
		if err := e.cmds.CaptureLead(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	pos := e.must(201, e.do("sales", "POST", "/v1/leads", leadWith("email", "last@example.com"))).str("position")
	total := e.eventCount()

	ndjson := e.must(200, e.do("auditor", "GET", "/v1/audit?format=ndjson&min_position="+pos, nil))
	lines := parseAuditNDJSON(t, ndjson.raw)
	if len(lines) != total {
		t.Fatalf("NDJSON export of %d lines, the log has %d events", len(lines), total)
	}
	for i := 1; i < len(lines); i++ {
		if lines[i].Position <= lines[i-1].Position {
			t.Fatalf("export out of order at line %d", i)
		}
	}
	if lines[len(lines)-1].Position != pos {
		t.Errorf("export ends at %s, the log at %s", lines[len(lines)-1].Position, pos)
	}
	for i, en := range lines[:n] {
		if en.Summary != fmt.Sprintf("Lead captured: Lead %d (Bulk Ltd)", i) || en.CommandID != fmt.Sprintf("cmd-%d", i) {
			t.Fatalf("line %d: %+v", i, en)
		}
	}
	csvExport := e.must(200, e.do("auditor", "GET", "/v1/audit?format=csv", nil))
	rows := parseAuditCSV(t, csvExport.raw)
	// One row per changed field (one for an entry without changes), in
	// the NDJSON export's order.
	var positions []string
	for _, en := range lines {
		for range max(1, len(en.Changes)) {
			positions = append(positions, en.Position)
		}
	}
	if len(rows) != len(positions) {
		t.Fatalf("CSV export of %d rows, the %d events changed %d fields", len(rows), total, len(positions))
	}
	for i, row := range rows {
		if row[0] != positions[i] {
			t.Fatalf("CSV row %d at %s, want %s", i, row[0], positions[i])
		}
	}
	filtered := parseAuditNDJSON(t, e.must(200, e.do("auditor", "GET", "/v1/audit?format=ndjson&actor=key:bulk", nil)).raw)
	if len(filtered) != n {
		t.Errorf("filtered export of %d lines, want %d", len(filtered), n)
	}

	// Dropping the read model and rebuilding it gives the same bytes.
	if _, err := e.pool.Exec(ctx, `DROP SCHEMA `+readmodels.AuditSchemaName+` CASCADE`); err != nil {
		t.Fatal(err)
	}
	if err := e.engine.Rebuild(ctx, readmodels.AuditProjector, nil); err != nil {
		t.Fatal(err)
	}
	again := e.must(200, e.do("auditor", "GET", "/v1/audit?format=ndjson&min_position="+pos, nil))
	if !bytes.Equal(again.raw, ndjson.raw) {
		t.Error("the NDJSON export changed after dropping the audit read model and rebuilding it")
	}
	page := e.must(200, e.do("auditor", "GET", "/v1/audit?limit=500&entity_type=lead", nil))
	if len(auditItems(t, page)) != 500 {
		t.Errorf("page after the rebuild: %d items", len(auditItems(t, page)))
	}
}

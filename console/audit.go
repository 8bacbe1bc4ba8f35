package console

import (
	"net/http"
	"net/url"
	"strings"
)

// auditFilters are the audit timeline's query parameters.
var auditFilters = []string{"entity_type", "entity_id", "actor", "type", "from", "to"}

// auditData is the audit page's content.
type auditData struct {
	Query   url.Values
	Items   []auditEntry
	Next    string
	CSV     string
	NDJSON  string
	Types   []string
	HasMore bool
}

// Value is a filter's current value.
func (d auditData) Value(name string) string { return d.Query.Get(name) }

// NextLink is the next page's URL.
func (d auditData) NextLink() string {
	q := url.Values{}
	for k, v := range d.Query {
		q[k] = v
	}
	q.Set("cursor", d.Next)
	return withQuery("/audit", q)
}

// auditQuery keeps the audit filters of the request.
func auditQuery(r *http.Request, extra ...string) url.Values {
	q := url.Values{}
	for _, n := range append(auditFilters, extra...) {
		if v := strings.TrimSpace(r.URL.Query().Get(n)); v != "" {
			q.Set(n, v)
		}
	}
	return q
}

func (c *Console) auditPage(w http.ResponseWriter, r *http.Request, ss *session) {
	p := &page{S: ss, Title: "Audit", Nav: "audit"}
	if !ss.Can("audit:read") {
		c.fail(w, r, ss, http.StatusForbidden, "Your role may not read the audit timeline.")
		return
	}
	q := auditQuery(r)
	d := auditData{Query: q, Types: []string{"lead", "account", "contact", "opportunity", "ticket", "subject"}}
	api := auditQuery(r, "cursor")
	api.Set("limit", "100")
	api.Set("min_position", c.sessions.positionOf(ss))
	var a struct {
		Items      []auditEntry `json:"items"`
		NextCursor *string      `json:"next_cursor"`
	}
	if _, err := c.api.getJSON(r.Context(), r, ss.key, withQuery("/v1/audit", api), &a); err != nil {
		if pr, ok := asProblem(err); ok && pr.Status == http.StatusBadRequest {
			p.Problem, p.Errors, p.Data = pr, pr.fields(), d
			c.render(w, r, http.StatusBadRequest, "audit", p)
			return
		}
		c.failProblem(w, r, ss, err)
		return
	}
	d.Items = a.Items
	if a.NextCursor != nil {
		d.Next, d.HasMore = *a.NextCursor, true
	}
	for _, f := range []string{"csv", "ndjson"} {
		eq := url.Values{"format": {f}}
		for k, v := range q {
			eq[k] = v
		}
		if f == "csv" {
			d.CSV = withQuery("/audit/export", eq)
		} else {
			d.NDJSON = withQuery("/audit/export", eq)
		}
	}
	p.Data = d
	c.render(w, r, http.StatusOK, "audit", p)
}

// downloadWriter passes an API export through to the browser as an
// attachment (the API's CSV starts with its UTF-8 byte order mark).
type downloadWriter struct {
	http.ResponseWriter
	name   string
	bom    bool
	wrote  bool
	status int
}

func (d *downloadWriter) WriteHeader(code int) {
	if d.wrote {
		return
	}
	d.wrote, d.status = true, code
	h := d.ResponseWriter.Header()
	if code == http.StatusOK {
		h.Set("Content-Disposition", `attachment; filename="`+d.name+`"`)
		if d.bom {
			h.Set("Content-Type", "text/csv; charset=utf-8")
		}
	}
	d.ResponseWriter.WriteHeader(code)
}

func (d *downloadWriter) Write(b []byte) (int, error) {
	if !d.wrote {
		d.WriteHeader(http.StatusOK)
	}
	return d.ResponseWriter.Write(b)
}

// Flush lets the export stream.
func (d *downloadWriter) Flush() {
	if f, ok := d.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (c *Console) auditExport(w http.ResponseWriter, r *http.Request, ss *session) {
	format := r.URL.Query().Get("format")
	if format != "csv" && format != "ndjson" {
		format = "csv"
	}
	q := auditQuery(r)
	q.Set("format", format)
	// The export holds what this session wrote, as the page does.
	if pos := c.sessions.positionOf(ss); pos != "" {
		q.Set("min_position", pos)
	}
	dw := &downloadWriter{ResponseWriter: w, name: "audit." + format, bom: format == "csv"}
	c.api.h.ServeHTTP(dw, c.api.request(r.Context(), r, ss.key, http.MethodGet, withQuery("/v1/audit", q), nil))
}

// verifyResult is GET /v1/audit/verify.
type verifyResult struct {
	OK               bool    `json:"ok"`
	EventsChecked    int64   `json:"events_checked"`
	FirstBadPosition *string `json:"first_bad_position"`
	Reason           *string `json:"reason"`
	Raw              map[string]any
}

func (c *Console) verifyPage(w http.ResponseWriter, r *http.Request, ss *session) {
	var v verifyResult
	rep, err := c.api.getJSON(r.Context(), r, ss.key, "/v1/audit/verify", &v)
	if err != nil {
		c.failProblem(w, r, ss, err)
		return
	}
	_ = jsonInto(rep.Body, &v.Raw)
	c.render(w, r, http.StatusOK, "verify", &page{S: ss, Title: "Verify history", Nav: "audit", Data: v})
}

// requestsData is the request audit page's content.
type requestsData struct {
	Query   url.Values
	Items   []map[string]any
	Next    string
	HasMore bool
}

// Value is a filter's current value.
func (d requestsData) Value(name string) string { return d.Query.Get(name) }

func (c *Console) requestsPage(w http.ResponseWriter, r *http.Request, ss *session) {
	q := url.Values{}
	for _, n := range []string{"actor", "status", "from", "to", "cursor"} {
		if v := strings.TrimSpace(r.URL.Query().Get(n)); v != "" {
			q.Set(n, v)
		}
	}
	api := url.Values{"limit": {"100"}}
	for k, v := range q {
		api[k] = v
	}
	var lp listPage
	p := &page{S: ss, Title: "Request audit", Nav: "audit"}
	if _, err := c.api.getJSON(r.Context(), r, ss.key, withQuery("/v1/audit/requests", api), &lp); err != nil {
		if pr, ok := asProblem(err); ok && pr.Status == http.StatusBadRequest {
			p.Problem, p.Errors, p.Data = pr, pr.fields(), requestsData{Query: q}
			c.render(w, r, http.StatusBadRequest, "requests", p)
			return
		}
		c.failProblem(w, r, ss, err)
		return
	}
	d := requestsData{Query: q, Items: lp.Items}
	if lp.NextCursor != nil {
		q2 := url.Values{}
		for k, v := range q {
			q2[k] = v
		}
		q2.Set("cursor", *lp.NextCursor)
		d.Next, d.HasMore = withQuery("/audit/requests", q2), true
	}
	p.Data = d
	c.render(w, r, http.StatusOK, "requests", p)
}

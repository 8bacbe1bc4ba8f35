package console

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
)

// filter is one of a list's query parameters; Options makes it a choice.
type filter struct {
	Name    string
	Options []string
	Kind    string // "text", "date" or "select"
}

// listDef is one list page: the API list it shows and how.
type listDef struct {
	Kind    string
	Title   string
	Perm    string
	Columns []string
	Filters []filter
	Search  bool
}

// lists are the list pages, each over the API list of the same name.
var lists = []listDef{
	{Kind: "leads", Title: "Leads", Perm: "sales:read", Search: true,
		Columns: []string{"name", "company", "email", "status", "source", "campaign", "region", "owner_id", "captured_at"},
		Filters: []filter{{Name: "status", Kind: "select", Options: []string{"captured", "contacted", "qualified", "disqualified", "converted"}},
			{Name: "source", Kind: "text"}, {Name: "campaign", Kind: "text"}, {Name: "owner_id", Kind: "text"}}},
	{Kind: "accounts", Title: "Accounts", Perm: "accounts:read", Search: true,
		Columns: []string{"name", "industry", "region", "tier", "tags", "owner_id", "opened_at"},
		Filters: []filter{{Name: "tier", Kind: "select", Options: []string{"standard", "vip"}}, {Name: "tag", Kind: "text"}, {Name: "owner_id", Kind: "text"}}},
	{Kind: "contacts", Title: "Contacts", Perm: "accounts:read", Search: true,
		Columns: []string{"name", "email", "phone", "title", "role", "account_id", "added_at"},
		Filters: []filter{{Name: "account_id", Kind: "text"}}},
	{Kind: "opportunities", Title: "Opportunities", Perm: "sales:read", Search: true,
		Columns: []string{"name", "stage", "amount", "expected_close_date", "probability", "account_id", "owner_id", "opened_at"},
		Filters: []filter{{Name: "stage", Kind: "select", Options: stages},
			{Name: "closing_before", Kind: "date"}, {Name: "account_id", Kind: "text"}, {Name: "owner_id", Kind: "text"}}},
	{Kind: "tickets", Title: "Tickets", Perm: "service:read", Search: true,
		Columns: []string{"subject", "status", "priority", "channel", "breached", "assignee_id", "account_id", "opened_at"},
		Filters: []filter{{Name: "status", Kind: "select", Options: []string{"open", "resolved", "closed"}},
			{Name: "priority", Kind: "select", Options: priorities}, {Name: "breached", Kind: "select", Options: []string{"true", "false"}},
			{Name: "assignee_id", Kind: "text"}, {Name: "account_id", Kind: "text"}}},
}

// stages and priorities are the API's enums the forms offer.
var (
	stages     = []string{"prospecting", "qualification", "proposal", "negotiation", "closed_won", "closed_lost"}
	priorities = []string{"low", "normal", "high", "urgent"}
)

// listPage is a page of a list as the API answers it.
type listPage struct {
	Items      []map[string]any `json:"items"`
	NextCursor *string          `json:"next_cursor"`
}

// listData is a list page's content.
type listData struct {
	Def     listDef
	Items   []map[string]any
	Next    string
	Query   url.Values
	CSV     string
	HasMore bool
}

// Value is a filter's current value.
func (d listData) Value(name string) string { return d.Query.Get(name) }

// NextLink is the next page's URL.
func (d listData) NextLink() string {
	q := url.Values{}
	for k, v := range d.Query {
		q[k] = v
	}
	q.Set("cursor", d.Next)
	return withQuery("/"+d.Def.Kind, q)
}

// query keeps the list's own parameters from the request.
func (l listDef) query(r *http.Request) url.Values {
	q := url.Values{}
	in := r.URL.Query()
	names := []string{"cursor"}
	if l.Search {
		names = append(names, "q")
	}
	for _, f := range l.Filters {
		names = append(names, f.Name)
	}
	for _, n := range names {
		if v := in.Get(n); v != "" {
			q.Set(n, v)
		}
	}
	return q
}

func (c *Console) list(l listDef) handler {
	return func(w http.ResponseWriter, r *http.Request, ss *session) {
		q := l.query(r)
		if r.URL.Query().Get("format") == "csv" {
			c.listCSV(w, r, ss, l, q)
			return
		}
		api := url.Values{}
		for k, v := range q {
			api[k] = v
		}
		api.Set("limit", "50")
		api.Set("min_position", c.sessions.positionOf(ss))
		p := &page{S: ss, Title: l.Title, Nav: l.Kind}
		var lp listPage
		if _, err := c.api.getJSON(r.Context(), r, ss.key, withQuery("/v1/"+l.Kind, api), &lp); err != nil {
			if pr, ok := asProblem(err); ok && pr.Status == http.StatusBadRequest {
				p.Problem, p.Errors = pr, pr.fields()
				p.Data = listData{Def: l, Query: q}
				c.render(w, r, http.StatusBadRequest, "list", p)
				return
			}
			c.failProblem(w, r, ss, err)
			return
		}
		d := listData{Def: l, Items: lp.Items, Query: q}
		if lp.NextCursor != nil {
			d.Next, d.HasMore = *lp.NextCursor, true
		}
		csvq := url.Values{"format": {"csv"}}
		for k, v := range q {
			if k != "cursor" {
				csvq[k] = v
			}
		}
		d.CSV = withQuery("/"+l.Kind, csvq)
		p.Data = d
		c.render(w, r, http.StatusOK, "list", p)
	}
}

// utf8BOM opens CSV files as UTF-8 in spreadsheet software, so Chinese
// text reads correctly.
const utf8BOM = "\ufeff"

// listCSV streams the whole filtered list as CSV, page by page.
func (c *Console) listCSV(w http.ResponseWriter, r *http.Request, ss *session, l listDef, q url.Values) {
	q.Del("cursor")
	q.Set("limit", "500")
	q.Set("min_position", c.sessions.positionOf(ss))
	var lp listPage
	if _, err := c.api.getJSON(r.Context(), r, ss.key, withQuery("/v1/"+l.Kind, q), &lp); err != nil {
		c.failProblem(w, r, ss, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+l.Kind+`.csv"`)
	_, _ = w.Write([]byte(utf8BOM))
	cw := csv.NewWriter(w)
	cols := append([]string{"id"}, l.Columns...)
	_ = cw.Write(cols)
	q.Del("min_position")
	for {
		for _, it := range lp.Items {
			row := make([]string, len(cols))
			for i, col := range cols {
				row[i] = cell(it[col])
			}
			_ = cw.Write(row)
		}
		if lp.NextCursor == nil || r.Context().Err() != nil {
			break
		}
		q.Set("cursor", *lp.NextCursor)
		lp = listPage{}
		if _, err := c.api.getJSON(r.Context(), r, ss.key, withQuery("/v1/"+l.Kind, q), &lp); err != nil {
			c.log.Warn("console: csv export stopped", "list", l.Kind, "err", err)
			break
		}
	}
	cw.Flush()
}

// cell shows a JSON value in one CSV cell.
func cell(v any) string {
	switch t := v.(type) {
	case []any:
		b, _ := json.Marshal(t)
		return string(b)
	}
	return str(v)
}

package console

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// reportHandlerRows is how many event-handler rows the create form has.
const reportHandlerRows = 3

// reportsData is the analysts' reports page's content.
type reportsData struct {
	Items []map[string]any
	Rows  []int
}

func (c *Console) reportsPage(w http.ResponseWriter, r *http.Request, ss *session) {
	c.renderReports(w, r, ss, http.StatusOK, &page{})
}

func (c *Console) renderReports(w http.ResponseWriter, r *http.Request, ss *session, status int, p *page) {
	p.S, p.Title, p.Nav = ss, "Analysts' reports", "reports"
	var lp listPage
	if _, err := c.api.getJSON(r.Context(), r, ss.key, "/v1/reports/custom", &lp); err != nil {
		c.failProblem(w, r, ss, err)
		return
	}
	d := reportsData{Items: lp.Items}
	for i := range reportHandlerRows {
		d.Rows = append(d.Rows, i)
	}
	p.Data = d
	c.render(w, r, status, "reports", p)
}

// createReport posts a definition: the handler rows become the handlers
// map, and the API's errors (per handler) are shown next to each row.
func (c *Console) createReport(w http.ResponseWriter, r *http.Request, ss *session) {
	f := r.PostForm
	def := map[string]any{"name": strings.TrimSpace(f.Get("name")), "table": strings.TrimSpace(f.Get("table"))}
	handlers := map[string]string{}
	rowOf := map[string]string{}
	for i := range reportHandlerRows {
		n := string(rune('0' + i))
		ev, sql := strings.TrimSpace(f.Get("event_"+n)), strings.TrimSpace(f.Get("sql_"+n))
		if ev != "" || sql != "" {
			handlers[ev] = sql
			rowOf[ev] = n
		}
	}
	def["handlers"] = handlers
	if u := strings.TrimSpace(f.Get("until")); u != "" {
		def["until"] = u
	}
	body, _ := json.Marshal(def)
	rep := c.api.do(r.Context(), r, ss.key, http.MethodPost, "/v1/reports/custom", body)
	if err := rep.err(); err != nil {
		pr, _ := asProblem(err)
		if pr.Status == http.StatusBadRequest || pr.Status == http.StatusConflict {
			errs := map[string]string{}
			for field, msg := range pr.fields() {
				// handlers.<event type> names the handler's row.
				if ev, ok := strings.CutPrefix(field, "handlers."); ok {
					if n, ok := rowOf[ev]; ok {
						errs["sql_"+n] = msg
						continue
					}
				}
				errs[field] = msg
			}
			c.renderReports(w, r, ss, pr.Status, &page{Problem: pr, Errors: errs, Form: f})
			return
		}
		c.failProblem(w, r, ss, pr)
		return
	}
	http.Redirect(w, r, "/reports/"+url.PathEscape(def["name"].(string)), http.StatusSeeOther)
}

// reportData is one report's rows.
type reportData struct {
	Name    string
	Info    map[string]any
	Columns []string
	Items   []map[string]any
	Next    string
	HasMore bool
}

func (c *Console) reportPage(w http.ResponseWriter, r *http.Request, ss *session) {
	name := r.PathValue("name")
	q := url.Values{"limit": {"100"}, "cursor": {r.URL.Query().Get("cursor")}}
	csvOut := r.URL.Query().Get("format") == "csv"
	if csvOut {
		q.Set("limit", "500")
	}
	path := "/v1/reports/custom/" + url.PathEscape(name)
	var lp listPage
	if _, err := c.api.getJSON(r.Context(), r, ss.key, withQuery(path, q), &lp); err != nil {
		c.failProblem(w, r, ss, err)
		return
	}
	cols := map[string]any{}
	for _, it := range lp.Items {
		for k := range it {
			cols[k] = true
		}
	}
	d := reportData{Name: name, Columns: sortedKeys(cols), Items: lp.Items}
	if csvOut {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="report.csv"`)
		_, _ = w.Write([]byte(utf8BOM))
		cw := csv.NewWriter(w)
		_ = cw.Write(d.Columns)
		for {
			for _, it := range lp.Items {
				row := make([]string, len(d.Columns))
				for i, col := range d.Columns {
					row[i] = cell(it[col])
				}
				_ = cw.Write(row)
			}
			if lp.NextCursor == nil || r.Context().Err() != nil {
				break
			}
			q.Set("cursor", *lp.NextCursor)
			lp = listPage{}
			if _, err := c.api.getJSON(r.Context(), r, ss.key, withQuery(path, q), &lp); err != nil {
				break
			}
		}
		cw.Flush()
		return
	}
	var all listPage
	if _, err := c.api.getJSON(r.Context(), r, ss.key, "/v1/reports/custom", &all); err == nil {
		for _, it := range all.Items {
			if it["name"] == name {
				d.Info = it
			}
		}
	}
	if lp.NextCursor != nil {
		d.Next, d.HasMore = link("/reports/"+url.PathEscape(name), "cursor", *lp.NextCursor), true
	}
	c.render(w, r, http.StatusOK, "report", &page{S: ss, Title: "Analysts' reports", Nav: "reports", Data: d})
}

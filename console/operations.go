package console

import (
	"net/http"
	"net/url"
)

// operationsData is the operations page's content.
type operationsData struct {
	Projections []map[string]any
	Waiting     map[string]any
	DeadLetters []map[string]any
	Webhooks    []map[string]any
	Rebuilding  bool
}

func (c *Console) operationsPage(w http.ResponseWriter, r *http.Request, ss *session) {
	var pr map[string]any
	if _, err := c.api.getJSON(r.Context(), r, ss.key, "/v1/projections", &pr); err != nil {
		c.failProblem(w, r, ss, err)
		return
	}
	d := operationsData{}
	if items, ok := pr["items"].([]any); ok {
		for _, it := range items {
			if m, ok := it.(map[string]any); ok {
				d.Projections = append(d.Projections, m)
				if rb, ok := m["rebuild"].(map[string]any); ok && rb["state"] == "running" {
					d.Rebuilding = true
				}
			}
		}
	}
	d.Waiting, _ = pr["horizon"].(map[string]any)
	if ss.Can("keys:admin") {
		var dl listPage
		if _, err := c.api.getJSON(r.Context(), r, ss.key, "/v1/automation/dead-letters", &dl); err == nil {
			d.DeadLetters = dl.Items
		}
	}
	if ss.Can("webhooks:manage") {
		var wh listPage
		if _, err := c.api.getJSON(r.Context(), r, ss.key, "/v1/webhooks", &wh); err == nil {
			d.Webhooks = wh.Items
		}
	}
	c.render(w, r, http.StatusOK, "operations", &page{S: ss, Title: "Operations", Nav: "operations", Data: d})
}

func (c *Console) rebuild(w http.ResponseWriter, r *http.Request, ss *session) {
	c.post(w, r, ss, "/v1/projections/"+url.PathEscape(r.PathValue("name"))+"/rebuild", "/operations")
}

func (c *Console) replay(w http.ResponseWriter, r *http.Request, ss *session) {
	c.post(w, r, ss, "/v1/automation/dead-letters/"+url.PathEscape(r.PathValue("id"))+"/replay", "/operations")
}

// post sends a body-less command and goes back to a page.
func (c *Console) post(w http.ResponseWriter, r *http.Request, ss *session, path, back string) {
	rep := c.api.do(r.Context(), r, ss.key, http.MethodPost, path, []byte("{}"))
	if err := rep.err(); err != nil {
		c.failProblem(w, r, ss, err)
		return
	}
	http.Redirect(w, r, back+"?done=1", http.StatusSeeOther)
}

// deliveriesData is a webhook's deliveries.
type deliveriesData struct {
	ID    string
	Items []map[string]any
}

func (c *Console) deliveriesPage(w http.ResponseWriter, r *http.Request, ss *session) {
	id := r.PathValue("id")
	var lp listPage
	if _, err := c.api.getJSON(r.Context(), r, ss.key, "/v1/webhooks/"+url.PathEscape(id)+"/deliveries", &lp); err != nil {
		c.failProblem(w, r, ss, err)
		return
	}
	c.render(w, r, http.StatusOK, "deliveries", &page{S: ss, Title: "Webhook deliveries", Nav: "operations", Data: deliveriesData{ID: id, Items: lp.Items}})
}

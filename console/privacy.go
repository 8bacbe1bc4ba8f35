package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// privacyData is the privacy page's content.
type privacyData struct {
	Confirm string // the email awaiting confirmation
	Erased  map[string]any
}

func (c *Console) privacyPage(w http.ResponseWriter, r *http.Request, ss *session) {
	if !ss.Can("privacy:erase") && !ss.Can("audit:compliance") {
		c.fail(w, r, ss, http.StatusForbidden, "Your role may not use the privacy tools.")
		return
	}
	c.render(w, r, http.StatusOK, "privacy", &page{S: ss, Title: "Privacy", Nav: "privacy", Data: privacyData{}})
}

// erase is a two-step form: the first post asks for confirmation, the
// second (with confirm=yes and the same email) erases.
func (c *Console) erase(w http.ResponseWriter, r *http.Request, ss *session) {
	email := strings.TrimSpace(r.PostFormValue("email"))
	p := &page{S: ss, Title: "Privacy", Nav: "privacy", Form: r.PostForm}
	if r.PostFormValue("confirm") != "yes" {
		if email == "" {
			p.Errors = map[string]string{"email": "Enter the person's email."}
			p.Data = privacyData{}
			c.render(w, r, http.StatusBadRequest, "privacy", p)
			return
		}
		p.Data = privacyData{Confirm: email}
		c.render(w, r, http.StatusOK, "privacy", p)
		return
	}
	body, _ := json.Marshal(map[string]string{"email": email})
	rep := c.api.do(r.Context(), r, ss.key, http.MethodPost, "/v1/privacy/erasure", body)
	if err := rep.err(); err != nil {
		pr, _ := asProblem(err)
		if pr.Status == http.StatusBadRequest {
			p.Problem, p.Errors, p.Data = pr, pr.fields(), privacyData{}
			c.render(w, r, pr.Status, "privacy", p)
			return
		}
		c.failProblem(w, r, ss, pr)
		return
	}
	var out map[string]any
	_ = json.Unmarshal(rep.Body, &out)
	p.Data = privacyData{Erased: out}
	c.render(w, r, http.StatusOK, "privacy", p)
}

// privacyExport downloads everything held about a person as JSON.
func (c *Console) privacyExport(w http.ResponseWriter, r *http.Request, ss *session) {
	email := strings.TrimSpace(r.URL.Query().Get("email"))
	dw := &downloadWriter{ResponseWriter: w, name: "subject-access-request.json"}
	c.api.h.ServeHTTP(dw, c.api.request(r.Context(), r, ss.key, http.MethodGet, "/v1/privacy/export?"+url.Values{"email": {email}}.Encode(), nil))
}

package api

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"crm/readmodels"
)

// customerRoutes mounts the customer 360 view: GET
// /accounts/{id}/timeline and /accounts/{id}/health.
func (s *server) customerRoutes(r chi.Router) {
	r.With(require(permAccountsRead)).Get("/accounts/{id}/timeline", func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id")
		if err != nil {
			s.errs.write(w, r, err)
			return
		}
		p := &listParams{r: r}
		f := readmodels.TimelineFilter{AccountID: id, Sources: s.engagement.TimelineSources}
		f.Limit, f.Cursor = p.page()
		if p.err != nil {
			s.errs.write(w, r, p.err)
			return
		}
		if _, _, err := s.cmds.Account(r.Context(), id, time.Time{}); err != nil {
			s.errs.write(w, r, err)
			return
		}
		if !s.caughtUp(w, r, listsProjector, auditProjector, engagementProjector) {
			return
		}
		page, err := s.engagement.Queries.Timeline(r.Context(), f)
		writePage(s, w, r, page, err)
	})
	r.With(require(permAccountsRead)).Get("/accounts/{id}/health", func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id")
		if err != nil {
			s.errs.write(w, r, err)
			return
		}
		if _, _, err := s.cmds.Account(r.Context(), id, time.Time{}); err != nil {
			s.errs.write(w, r, err)
			return
		}
		if !s.caughtUp(w, r, listsProjector, engagementProjector) {
			return
		}
		h, err := s.engagement.Queries.AccountHealth(r.Context(), []string{id}, s.engagement.Now(), s.engagement.HealthFactors)
		if err != nil {
			s.errs.write(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, struct {
			AccountID string `json:"account_id"`
			readmodels.Health
		}{id, h[id]})
	})
}

// accountsByHealth serves GET /accounts?health=...: the account list
// filtered by health status, each account with its health.
func (s *server) accountsByHealth(w http.ResponseWriter, r *http.Request) {
	f, err := parseAccountFilter(r)
	if err != nil {
		s.errs.write(w, r, err)
		return
	}
	p := &listParams{r: r}
	status := p.enum("health", readmodels.HealthStatuses...)
	if p.err != nil {
		s.errs.write(w, r, p.err)
		return
	}
	if !s.caughtUp(w, r, listsProjector, engagementProjector) {
		return
	}
	page, err := s.engagement.Queries.AccountsByHealth(r.Context(), f, status, s.engagement.Now(), s.engagement.HealthFactors)
	writePage(s, w, r, page, err)
}

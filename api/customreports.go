package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"crm/internal/customreports"
)

// permReportsDefine lets a role define, rebuild and drop custom reports
// (admin has it through "*").
const permReportsDefine = "reports:define"

// CustomReports are analysts' declarative reports. Create and Rows refuse
// bad input with a *customreports.InvalidError naming the field; unknown
// names are customreports.ErrNotFound.
type CustomReports interface {
	Create(ctx context.Context, d customreports.Definition, actor string) (customreports.Status, error)
	List(ctx context.Context) ([]customreports.Status, error)
	Rows(ctx context.Context, name, table, cursor string, limit int) (customreports.Page, error)
	Drop(ctx context.Context, name string) error
	Rebuild(ctx context.Context, name string) (customreports.Status, error)
	// WaitFor waits until the report has read the log up to position, or
	// completed, or ctx ends. Errors: ErrNotFound, *InvalidError for a
	// malformed position, customreports.ErrReportFailed.
	WaitFor(ctx context.Context, name, position string) error
}

// customReportRoutes mounts /reports/custom: admins and analysts define,
// rebuild and drop reports; analysts, managers and admins read them.
func (s *server) customReportRoutes(r chi.Router) {
	r.With(require(permReportsDefine)).Post("/reports/custom", func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r, false)
		if err != nil {
			s.errs.write(w, r, err)
			return
		}
		var req struct {
			Name     string            `json:"name"`
			Table    string            `json:"table"`
			Handlers map[string]string `json:"handlers"`
			Until    *string           `json:"until"`
		}
		if err := decodeStrict(body, &req); err != nil {
			s.errs.write(w, r, err)
			return
		}
		d := customreports.Definition{Name: req.Name, Table: req.Table, Handlers: req.Handlers}
		if req.Until != nil {
			until, err := time.Parse(time.RFC3339Nano, *req.Until)
			if err != nil {
				s.errs.write(w, r, badField("until", "must be an RFC 3339 time such as 2026-03-31T23:59:59Z"))
				return
			}
			d.Until = &until
		}
		st, err := s.custom.Create(r.Context(), d, principalOf(r.Context()).Actor())
		if err != nil {
			s.errs.write(w, r, err)
			return
		}
		w.Header().Set("Location", "/v1/reports/custom/"+st.Name)
		writeJSON(w, http.StatusCreated, st)
	})
	r.With(require(permReports)).Get("/reports/custom", func(w http.ResponseWriter, r *http.Request) {
		items, err := s.custom.List(r.Context())
		s.answer(w, r, map[string]any{"items": items}, err)
	})
	r.With(require(permReports)).Get("/reports/custom/{name}", func(w http.ResponseWriter, r *http.Request) {
		limit, err := limitParam(r)
		if err != nil {
			s.errs.write(w, r, err)
			return
		}
		q := r.URL.Query()
		if pos := q.Get("min_position"); pos != "" {
			ctx, cancel := context.WithTimeout(r.Context(), readYourWrites)
			err := s.custom.WaitFor(ctx, chi.URLParam(r, "name"), pos)
			timedOut := err != nil && ctx.Err() != nil && r.Context().Err() == nil
			cancel()
			switch {
			case err == nil:
			case timedOut:
				s.errs.write(w, r, &apiError{kind: kindUnavailable, code: "read_model_behind",
					detail: "the report has not reached min_position yet; retry shortly", retryAfter: time.Second})
				return
			default:
				s.errs.write(w, r, err)
				return
			}
		}
		page, err := s.custom.Rows(r.Context(), chi.URLParam(r, "name"), q.Get("table"), q.Get("cursor"), limit)
		s.answer(w, r, page, err)
	})
	r.With(require(permReportsDefine)).Delete("/reports/custom/{name}", func(w http.ResponseWriter, r *http.Request) {
		if err := s.custom.Drop(r.Context(), chi.URLParam(r, "name")); err != nil {
			s.errs.write(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	r.With(require(permReportsDefine)).Post("/reports/custom/{name}/rebuild", func(w http.ResponseWriter, r *http.Request) {
		st, err := s.custom.Rebuild(r.Context(), chi.URLParam(r, "name"))
		if err != nil {
			s.errs.write(w, r, err)
			return
		}
		writeJSON(w, http.StatusAccepted, st)
	})
}

// noCustomReports answers when the server runs without custom reports.
type noCustomReports struct{}

var errNoCustomReports = fmt.Errorf("%w: this server runs without them", customreports.ErrSandboxUnavailable)

func (noCustomReports) Create(context.Context, customreports.Definition, string) (customreports.Status, error) {
	return customreports.Status{}, errNoCustomReports
}
func (noCustomReports) List(context.Context) ([]customreports.Status, error) {
	return nil, errNoCustomReports
}
func (noCustomReports) Rows(context.Context, string, string, string, int) (customreports.Page, error) {
	return customreports.Page{}, errNoCustomReports
}
func (noCustomReports) Drop(context.Context, string) error { return errNoCustomReports }
func (noCustomReports) WaitFor(context.Context, string, string) error {
	return errNoCustomReports
}
func (noCustomReports) Rebuild(context.Context, string) (customreports.Status, error) {
	return customreports.Status{}, errNoCustomReports
}

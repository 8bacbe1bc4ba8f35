package api

import (
	"context"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"crm/readmodels"
)

// ReportQueries are the sales and service reports (read models of the
// "reports" projector). A bad argument wraps readmodels.ErrInvalid.
type ReportQueries interface {
	Funnel(ctx context.Context, f readmodels.FunnelFilter) (readmodels.Funnel, error)
	Pipeline(ctx context.Context) (readmodels.Pipeline, error)
	Dashboard(ctx context.Context, f readmodels.DashboardFilter) (readmodels.Dashboard, error)
}

// reportsProjector is the projector the report routes read.
const reportsProjector = readmodels.ReportsProjector

// reportRoutes mounts GET /reports/funnel, /reports/pipeline and
// /reports/dashboard.
func (s *server) reportRoutes(r chi.Router) {
	r.With(require(permReports)).Get("/reports/funnel", func(w http.ResponseWriter, r *http.Request) {
		from, to, err := timeRangeParams(r)
		if err != nil {
			s.errs.write(w, r, err)
			return
		}
		groupBy := r.URL.Query().Get("group_by")
		switch groupBy {
		case "", readmodels.GroupByOwner, readmodels.GroupByTeam, readmodels.GroupBySource, readmodels.GroupByCampaign:
		default:
			s.errs.write(w, r, badField("group_by", "must be owner, team, source or campaign"))
			return
		}
		if !s.caughtUp(w, r, reportsProjector, readmodels.DirectoryProjector) {
			return
		}
		f, err := s.reports.Funnel(r.Context(), readmodels.FunnelFilter{From: from, To: to, GroupBy: groupBy})
		s.answer(w, r, f, err)
	})
	r.With(require(permReports)).Get("/reports/pipeline", func(w http.ResponseWriter, r *http.Request) {
		if !s.caughtUp(w, r, reportsProjector) {
			return
		}
		p, err := s.reports.Pipeline(r.Context())
		s.answer(w, r, p, err)
	})
	r.With(require(permReports)).Get("/reports/dashboard", func(w http.ResponseWriter, r *http.Request) {
		from, to, err := timeRangeParams(r)
		if err != nil {
			s.errs.write(w, r, err)
			return
		}
		if !s.caughtUp(w, r, reportsProjector) {
			return
		}
		d, err := s.reports.Dashboard(r.Context(), readmodels.DashboardFilter{From: from, To: to})
		s.answer(w, r, d, err)
	})
}

// answer writes v as 200, or the error.
func (s *server) answer(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		s.errs.write(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// timeRangeParams parses ?from= and ?to=, refusing an empty range.
func timeRangeParams(r *http.Request) (from, to *time.Time, err error) {
	if from, err = timeParam(r, "from"); err != nil {
		return nil, nil, err
	}
	if to, err = timeParam(r, "to"); err != nil {
		return nil, nil, err
	}
	if from != nil && to != nil && !to.After(*from) {
		return nil, nil, badField("to", "must be after from")
	}
	return from, to, nil
}

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
		pos, err := s.progress.Checkpoint(r.Context(), reportsProjector)
		if err != nil {
			s.errs.write(w, r, err)
			return
		}
		f, err := s.reports.Funnel(r.Context(), readmodels.FunnelFilter{From: from, To: to, GroupBy: groupBy})
		s.answer(w, r, funnelReport{Funnel: f, Position: pos}, err)
	})
	r.With(require(permReports)).Get("/reports/pipeline", func(w http.ResponseWriter, r *http.Request) {
		at, err := asOf(r)
		if err != nil {
			s.errs.write(w, r, err)
			return
		}
		if !at.IsZero() {
			s.pipelineAsOf(w, r, at.UTC())
			return
		}
		if !s.caughtUp(w, r, reportsProjector) {
			return
		}
		pos, err := s.progress.Checkpoint(r.Context(), reportsProjector)
		if err != nil {
			s.errs.write(w, r, err)
			return
		}
		p, err := s.reports.Pipeline(r.Context())
		s.answer(w, r, pipelineReport{Pipeline: p, Position: &pos}, err)
	})
	r.With(require(permReports)).Get("/reports/dashboard", func(w http.ResponseWriter, r *http.Request) {
		from, to, err := timeRangeParams(r)
		if err != nil {
			s.errs.write(w, r, err)
			return
		}
		if !s.caughtUp(w, r, reportsProjector, readmodels.CashProjector, engagementProjector) {
			return
		}
		pos, err := s.checkpointOf(r.Context(), reportsProjector, readmodels.CashProjector, engagementProjector)
		if err != nil {
			s.errs.write(w, r, err)
			return
		}
		d, err := s.reports.Dashboard(r.Context(), readmodels.DashboardFilter{From: from, To: to})
		if err != nil || s.cash == nil {
			s.answer(w, r, dashboardReport{Dashboard: d, Position: pos}, err)
			return
		}
		rec, err := s.cash.Receivables(r.Context(), s.now(), time.Time{})
		s.answer(w, r, dashboardReport{Dashboard: d, Receivables: &rec, Position: pos}, err)
	})
}

// Each report answer says the position it reflects: the checkpoint of
// the projectors it reads (the least of them), read just before the
// report, so the report holds every event up to it (and perhaps some
// after).
type (
	funnelReport struct {
		readmodels.Funnel
		Position string `json:"position"`
	}
	// pipelineReport's Position is nil in an as_of answer, which is
	// computed from the whole log.
	pipelineReport struct {
		readmodels.Pipeline
		Position *string `json:"position,omitempty"`
	}
	// dashboardReport is the dashboard with, when the lead-to-cash read
	// model is there, the receivables: billed, collected, outstanding
	// and overdue amounts, aging and days sales outstanding, per
	// currency, as of today.
	dashboardReport struct {
		readmodels.Dashboard
		Receivables *readmodels.Receivables `json:"receivables,omitempty"`
		Position    string                  `json:"position"`
	}
)

// checkpointOf is the least checkpoint of the projectors named: every
// one of them has applied the log up to it. Cursors order as strings.
func (s *server) checkpointOf(ctx context.Context, names ...string) (string, error) {
	least := ""
	for i, name := range names {
		pos, err := s.progress.Checkpoint(ctx, name)
		if err != nil {
			return "", err
		}
		if i == 0 || pos < least {
			least = pos
		}
	}
	return least, nil
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

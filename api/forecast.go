package api

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"crm/aggregates"
	"crm/commands"
	"crm/readmodels"
)

// forecastBody is the body of a target or an adjustment.
type forecastBody struct {
	OwnerID  string `json:"owner_id"`
	Period   string `json:"period"`
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
	Reason   string `json:"reason"`
}

// forecastRoutes mounts targets, forecast adjustments and the
// lead-to-cash reports.
func (s *server) forecastRoutes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(require(permForecast))
		r.Post("/targets", func(w http.ResponseWriter, r *http.Request) {
			var c commands.SetTarget
			s.runCommand(w, r, commandSpec{
				decode: func(_ *http.Request, body []byte) error {
					var req forecastBody
					if err := decodeStrict(body, &req); err != nil {
						return err
					}
					if req.Reason != "" {
						return badField("reason", "is not a known field")
					}
					c.OwnerID, c.Period, c.Amount, c.Currency = req.OwnerID, req.Period, req.Amount, req.Currency
					return nil
				},
				exec: bind(&c, s.cmds.SetTarget),
			})
		})
		r.Post("/forecast-adjustments", func(w http.ResponseWriter, r *http.Request) {
			var c commands.AdjustForecast
			s.runCommand(w, r, commandSpec{
				decode: func(_ *http.Request, body []byte) error {
					var req forecastBody
					if err := decodeStrict(body, &req); err != nil {
						return err
					}
					c.OwnerID, c.Period, c.Amount, c.Currency, c.Reason = req.OwnerID, req.Period, req.Amount, req.Currency, req.Reason
					return nil
				},
				exec: bind(&c, s.cmds.AdjustForecast),
			})
		})
	})
	r.Group(func(r chi.Router) {
		r.Use(require(permReports))
		r.Get("/reports/forecast", s.forecastReport)
		r.Get("/reports/receivables", s.receivablesReport)
	})
}

// cashAsOf parses ?as_of= for a report: a time not after now.
func (s *server) cashAsOf(r *http.Request) (time.Time, error) {
	at, err := asOf(r)
	if err != nil || at.IsZero() {
		return at, err
	}
	return at.UTC(), nil
}

func (s *server) forecastReport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	period := q.Get("period")
	if period == "" {
		s.errs.write(w, r, badField("period", "is required"))
		return
	}
	from, to, err := aggregates.ValidatePeriod("period", period)
	if err != nil {
		s.errs.write(w, r, err)
		return
	}
	groupBy := q.Get("group_by")
	if groupBy != "" && groupBy != readmodels.GroupByOwner {
		s.errs.write(w, r, badField("group_by", "must be owner"))
		return
	}
	at, err := s.cashAsOf(r)
	if err != nil {
		s.errs.write(w, r, err)
		return
	}
	if s.cash == nil {
		s.errs.write(w, r, errNoCashReports)
		return
	}
	if at.IsZero() && !s.caughtUp(w, r, readmodels.CashProjector) {
		return
	}
	f, err := s.cash.Forecast(r.Context(), readmodels.ForecastFilter{Period: period, From: from, To: to, GroupBy: groupBy}, at)
	s.answer(w, r, f, err)
}

func (s *server) receivablesReport(w http.ResponseWriter, r *http.Request) {
	at, err := s.cashAsOf(r)
	if err != nil {
		s.errs.write(w, r, err)
		return
	}
	if s.cash == nil {
		s.errs.write(w, r, errNoCashReports)
		return
	}
	on := at
	if on.IsZero() {
		if !s.caughtUp(w, r, readmodels.CashProjector) {
			return
		}
		on = s.now()
	}
	rec, err := s.cash.Receivables(r.Context(), on, at)
	s.answer(w, r, rec, err)
}

// pipelineAsOf serves GET /v1/reports/pipeline?as_of=.
func (s *server) pipelineAsOf(w http.ResponseWriter, r *http.Request, at time.Time) {
	if s.cash == nil {
		s.errs.write(w, r, errNoCashReports)
		return
	}
	p, err := s.cash.PipelineAsOf(r.Context(), at)
	s.answer(w, r, p, err)
}

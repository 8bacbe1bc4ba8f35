package console

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// funnelStage is one stage of a funnel as the API reports it.
type funnelStage struct {
	Stage          string   `json:"stage"`
	Count          int64    `json:"count"`
	ConversionRate *float64 `json:"conversion_rate"`
	AvgDaysInStage *float64 `json:"avg_days_in_stage"`
}

// funnelReport is GET /v1/reports/funnel.
type funnelReport struct {
	Leads struct {
		Stages []funnelStage `json:"stages"`
	} `json:"leads"`
	Opportunities struct {
		Stages  []funnelStage `json:"stages"`
		Won     int64         `json:"won"`
		Lost    int64         `json:"lost"`
		WinRate *float64      `json:"win_rate"`
	} `json:"opportunities"`
}

// money is an amount in a currency.
type money struct {
	Currency string `json:"currency"`
	Amount   string `json:"amount"`
}

// pipelineRow is a stage or a close month of the pipeline.
type pipelineRow struct {
	Stage          string `json:"stage"`
	Month          string `json:"month"`
	Currency       string `json:"currency"`
	Probability    int    `json:"probability"`
	Count          int64  `json:"count"`
	Amount         string `json:"amount"`
	WeightedAmount string `json:"weighted_amount"`
}

// pipelineReport is GET /v1/reports/pipeline.
type pipelineReport struct {
	Stages       []pipelineRow `json:"stages"`
	ByCloseMonth []pipelineRow `json:"by_close_month"`
}

// dashboardReport is GET /v1/reports/dashboard.
type dashboardReport struct {
	Sales struct {
		OpenCount             int64    `json:"open_count"`
		OpenPipeline          []money  `json:"open_pipeline"`
		WeightedPipeline      []money  `json:"weighted_pipeline"`
		WonCount              int64    `json:"won_count"`
		WonAmount             []money  `json:"won_amount"`
		LostCount             int64    `json:"lost_count"`
		WinRate               *float64 `json:"win_rate"`
		AverageDealSize       []money  `json:"average_deal_size"`
		AverageSalesCycleDays *float64 `json:"average_sales_cycle_days"`
	} `json:"sales"`
	Service struct {
		OpenTickets    int64            `json:"open_tickets"`
		OpenByPriority map[string]int64 `json:"open_by_priority"`
		SLABreaches    struct {
			FirstResponse int64 `json:"first_response"`
			Resolution    int64 `json:"resolution"`
			Tickets       int64 `json:"tickets"`
		} `json:"sla_breaches"`
		AverageFirstResponseSeconds *float64 `json:"average_first_response_seconds"`
		AverageResolutionSeconds    *float64 `json:"average_resolution_seconds"`
		AverageSatisfaction         *float64 `json:"average_satisfaction"`
	} `json:"service"`
}

// bar is one bar of a server-drawn horizontal bar chart.
type bar struct {
	Label string
	Count int64
	Rate  *float64
	Y     int
	Width int
	Href  string
}

// chart is a server-drawn bar chart (SVG, no script).
type chart struct {
	ID     string
	Bars   []bar
	Height int
}

// chartWidth is the longest bar's width in SVG units.
const chartWidth = 360

// funnelChart draws a funnel's stages as bars, longest for the largest.
func funnelChart(id string, stages []funnelStage, href func(stage string) string) chart {
	var top int64 = 1
	for _, s := range stages {
		top = max(top, s.Count)
	}
	c := chart{ID: id, Height: 28 * len(stages)}
	for i, s := range stages {
		w := int(float64(s.Count) / float64(top) * chartWidth)
		if s.Count > 0 {
			w = max(w, 2)
		}
		c.Bars = append(c.Bars, bar{Label: s.Stage, Count: s.Count, Rate: s.ConversionRate, Y: i * 28, Width: w, Href: href(s.Stage)})
	}
	return c
}

// dashboardData is the dashboard's content.
type dashboardData struct {
	Dashboard  dashboardReport
	Funnel     funnelReport
	Pipeline   pipelineReport
	LeadChart  chart
	OppChart   chart
	FirstReply string
	Resolution string
}

func (c *Console) dashboard(w http.ResponseWriter, r *http.Request, ss *session) {
	p := &page{S: ss, Title: "Dashboard", Nav: "dashboard"}
	if !ss.Can("reports:read") {
		c.render(w, r, http.StatusOK, "home", p)
		return
	}
	var d dashboardData
	q := url.Values{"min_position": {c.sessions.positionOf(ss)}}
	// The range filters the dashboard and the funnel on when leads were
	// captured and opportunities opened: from the first day, through the
	// last.
	p.Form = url.Values{}
	for _, f := range []string{"from", "to"} {
		v := strings.TrimSpace(r.URL.Query().Get(f))
		if v == "" {
			continue
		}
		p.Form.Set(f, v)
		day, err := time.Parse(time.DateOnly, v)
		if err != nil {
			p.Errors = map[string]string{f: "must be a date such as 2027-03-31"}
			continue
		}
		if f == "to" {
			day = day.AddDate(0, 0, 1)
		}
		q.Set(f, day.Format(time.RFC3339))
	}
	if len(p.Errors) > 0 {
		q.Del("from")
		q.Del("to")
	}
	// The three reports are independent reads: ask for them at once.
	plain := url.Values{"min_position": q["min_position"]}
	reads := []struct {
		path string
		q    url.Values
		out  any
	}{{"/v1/reports/dashboard", q, &d.Dashboard}, {"/v1/reports/funnel", q, &d.Funnel}, {"/v1/reports/pipeline", plain, &d.Pipeline}}
	errs := make([]error, len(reads))
	var wg sync.WaitGroup
	for i, rd := range reads {
		wg.Go(func() {
			_, errs[i] = c.api.getJSON(r.Context(), r, ss.key, withQuery(rd.path, rd.q), rd.out)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if pr, ok := asProblem(err); ok && pr.Status == http.StatusBadRequest && len(pr.fields()) > 0 {
			// A range the API refuses (to before from): shown on the form.
			p.Problem, p.Errors = pr, pr.fields()
			c.render(w, r, http.StatusBadRequest, "dashboard", p)
			return
		}
		if err != nil {
			c.failProblem(w, r, ss, err)
			return
		}
	}
	d.LeadChart = funnelChart("lead-funnel", d.Funnel.Leads.Stages, func(s string) string { return link("/leads", "status", s) })
	d.OppChart = funnelChart("opportunity-funnel", d.Funnel.Opportunities.Stages, func(s string) string { return link("/opportunities", "stage", s) })
	d.FirstReply = duration(d.Dashboard.Service.AverageFirstResponseSeconds)
	d.Resolution = duration(d.Dashboard.Service.AverageResolutionSeconds)
	p.Data = d
	c.render(w, r, http.StatusOK, "dashboard", p)
}

// duration shows seconds as a duration rounded to the second, or to the
// tenth under a minute and the millisecond under a second (a response
// within the second is not shown as 0s), or a dash for none.
func duration(secs *float64) string {
	if secs == nil {
		return "—"
	}
	d := time.Duration(*secs * float64(time.Second))
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// monthEnd is the day after a YYYY-MM month ends, for closing_before.
func monthEnd(month string) string {
	t, err := time.Parse("2006-01", month)
	if err != nil {
		return ""
	}
	return t.AddDate(0, 1, 0).Format(time.DateOnly)
}

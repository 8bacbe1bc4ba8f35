package api

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"crm/aggregates"
	"crm/commands"
	"crm/readmodels"
)

type createCampaignRequest struct {
	Name      string `json:"name"`
	Channel   string `json:"channel"`
	StartDate string `json:"start_date"`
	EndDate   string `json:"end_date"`
	Budget    string `json:"budget"`
	Currency  string `json:"currency"`
	Status    string `json:"status"`
}

// campaignRoutes mounts the campaign commands and reads and GET
// /reports/campaigns.
func (s *server) campaignRoutes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(require(permSalesWrite))
		r.Post("/campaigns", func(w http.ResponseWriter, r *http.Request) {
			var c commands.CreateCampaign
			s.runCommand(w, r, commandSpec{
				decode: func(_ *http.Request, body []byte) error {
					var req createCampaignRequest
					if err := decodeStrict(body, &req); err != nil {
						return err
					}
					c.Name, c.Channel, c.StartDate, c.EndDate = req.Name, req.Channel, req.StartDate, req.EndDate
					c.Budget, c.Currency, c.Status = req.Budget, req.Currency, req.Status
					return nil
				},
				exec: bind(&c, s.cmds.CreateCampaign),
			})
		})
		r.Post("/campaigns/{id}/cost", s.entityCommand(false, func(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
			var req struct {
				ActualCost string `json:"actual_cost"`
				Currency   string `json:"currency"`
				Note       string `json:"note"`
			}
			if err := decodeStrict(body, &req); err != nil {
				return nil, err
			}
			c := commands.RecordCampaignCost{CampaignID: id, ActualCost: req.ActualCost, Currency: req.Currency, Note: req.Note}
			return bind(&c, s.cmds.RecordCampaignCost), nil
		}))
		r.Post("/campaigns/{id}/status", s.entityCommand(false, func(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
			var req struct {
				Status string `json:"status"`
			}
			if err := decodeStrict(body, &req); err != nil {
				return nil, err
			}
			c := commands.ChangeCampaignStatus{CampaignID: id, Status: req.Status}
			return bind(&c, s.cmds.ChangeCampaignStatus), nil
		}))
	})
	r.With(require(permSalesRead)).Get("/campaigns", listOrExport(s, "campaigns", campaignColumns, engagementProjector,
		func(r *http.Request) (readmodels.CampaignFilter, error) {
			p := &listParams{r: r}
			f := readmodels.CampaignFilter{Status: p.enum("status", aggregates.CampaignStatuses...), Channel: p.enum("channel", aggregates.CampaignChannels...)}
			f.Limit, f.Cursor = p.page()
			return f, p.err
		},
		func(ctx context.Context, f readmodels.CampaignFilter) (readmodels.Page[readmodels.CampaignRow], error) {
			return s.engagement.Queries.Campaigns(ctx, f)
		}, func(f readmodels.CampaignFilter, c string) readmodels.CampaignFilter {
			f.Limit, f.Cursor = exportChunk, c
			return f
		}))
	r.With(require(permSalesRead)).Get("/campaigns/{id}", readByID(s, s.cmds.Campaign))
	r.With(require(permSalesRead)).Get("/campaigns/{id}/history", s.history(commands.TypeCampaign))
	r.With(require(permReports)).Get("/reports/campaigns", func(w http.ResponseWriter, r *http.Request) {
		if !s.caughtUp(w, r, listsProjector, engagementProjector) {
			return
		}
		rep, err := s.engagement.Queries.CampaignReport(r.Context())
		s.answer(w, r, rep, err)
	})
}

// campaignColumns are the columns of the campaign export.
var campaignColumns = []string{"id", "name", "channel", "start_date", "end_date", "budget", "actual_cost", "currency", "status", "created_at"}

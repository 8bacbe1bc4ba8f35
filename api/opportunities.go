package api

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"crm/commands"
)

func (s *server) opportunityRoutes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(require(permSalesWrite))
		r.Post("/opportunities", func(w http.ResponseWriter, r *http.Request) {
			var c commands.OpenOpportunity
			s.runCommand(w, r, commandSpec{
				decode: func(_ *http.Request, body []byte) error {
					var req struct {
						AccountID         string `json:"account_id"`
						Name              string `json:"name"`
						Amount            string `json:"amount"`
						Currency          string `json:"currency"`
						ExpectedCloseDate string `json:"expected_close_date"`
						OwnerID           string `json:"owner_id"`
						Stage             string `json:"stage"`
					}
					if err := decodeStrict(body, &req); err != nil {
						return err
					}
					if req.AccountID == "" {
						return badField("account_id", "is required")
					}
					if !isUUID(req.AccountID) {
						return badField("account_id", "must be an account id")
					}
					c.AccountID, c.Name, c.Amount, c.Currency = req.AccountID, req.Name, req.Amount, req.Currency
					c.ExpectedCloseDate, c.OwnerID, c.Stage = req.ExpectedCloseDate, req.OwnerID, req.Stage
					return nil
				},
				exec: bind(&c, s.cmds.OpenOpportunity),
			})
		})
		r.Post("/opportunities/{id}/stage", s.entityCommand(false, func(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
			var req struct {
				Stage  string `json:"stage"`
				Note   string `json:"note"`
				Reason string `json:"reason"`
			}
			if err := decodeStrict(body, &req); err != nil {
				return nil, err
			}
			c := commands.ChangeStage{OpportunityID: id, Stage: req.Stage, Note: req.Note, Reason: req.Reason}
			return bind(&c, s.cmds.ChangeStage), nil
		}))
		r.Post("/opportunities/{id}/amount", s.entityCommand(false, func(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
			var req struct {
				Amount   string `json:"amount"`
				Currency string `json:"currency"`
			}
			if err := decodeStrict(body, &req); err != nil {
				return nil, err
			}
			c := commands.ChangeAmount{OpportunityID: id, Amount: req.Amount, Currency: req.Currency}
			return bind(&c, s.cmds.ChangeAmount), nil
		}))
		r.Post("/opportunities/{id}/close-date", s.entityCommand(false, func(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
			var req struct {
				ExpectedCloseDate string `json:"expected_close_date"`
			}
			if err := decodeStrict(body, &req); err != nil {
				return nil, err
			}
			c := commands.ChangeCloseDate{OpportunityID: id, ExpectedCloseDate: req.ExpectedCloseDate}
			return bind(&c, s.cmds.ChangeCloseDate), nil
		}))
		r.Post("/opportunities/{id}/reopen", s.entityCommand(false, func(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
			var req struct {
				Reason string `json:"reason"`
			}
			if err := decodeStrict(body, &req); err != nil {
				return nil, err
			}
			c := commands.ReopenOpportunity{OpportunityID: id, Reason: req.Reason}
			return bind(&c, s.cmds.ReopenOpportunity), nil
		}))
		r.Post("/opportunities/{id}/activities", s.activityRoute(commands.TypeOpportunity))
	})
	r.Group(func(r chi.Router) {
		r.Use(require(permApprovals))
		r.Post("/opportunities/{id}/approvals/{approval_id}/approve", s.approvalDecision(true))
		r.Post("/opportunities/{id}/approvals/{approval_id}/reject", s.approvalDecision(false))
	})
	r.Group(func(r chi.Router) {
		r.Use(require(permSalesRead))
		r.Get("/opportunities/{id}", readByID(s, s.cmds.Opportunity))
		r.Get("/opportunities/{id}/history", s.history(commands.TypeOpportunity))
	})
}

// approvalDecision serves approve (note?) and reject (reason).
func (s *server) approvalDecision(approve bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		approvalID, err := pathID(r, "approval_id")
		if err != nil {
			s.errs.write(w, r, err)
			return
		}
		s.entityCommand(approve, func(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
			var req struct {
				Note   string `json:"note"`
				Reason string `json:"reason"`
			}
			if err := decodeStrict(body, &req); err != nil {
				return nil, err
			}
			if approve && req.Reason != "" {
				return nil, badField("reason", "is not a known field")
			}
			if !approve && req.Note != "" {
				return nil, badField("note", "is not a known field")
			}
			c := commands.DecideApproval{OpportunityID: id, ApprovalID: approvalID, Approve: approve, Note: req.Note, Reason: req.Reason}
			return bind(&c, s.cmds.DecideApproval), nil
		})(w, r)
	}
}

package api

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"crm/commands"
)

type captureLeadRequest struct {
	Name        string `json:"name"`
	Company     string `json:"company"`
	Email       string `json:"email"`
	Phone       string `json:"phone"`
	Source      string `json:"source"`
	Campaign    string `json:"campaign"`
	Region      string `json:"region"`
	Industry    string `json:"industry"`
	CompanySize string `json:"company_size"`
	OwnerID     string `json:"owner_id"`
}

type convertLeadRequest struct {
	AccountID   *string `json:"account_id"`
	Opportunity *struct {
		Name              string `json:"name"`
		Amount            string `json:"amount"`
		Currency          string `json:"currency"`
		ExpectedCloseDate string `json:"expected_close_date"`
	} `json:"opportunity"`
}

type convertLeadResponse struct {
	commandResponse
	AccountID     string  `json:"account_id"`
	ContactID     string  `json:"contact_id"`
	OpportunityID *string `json:"opportunity_id"`
}

func (s *server) leadRoutes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(require(permSalesWrite))
		r.Post("/leads", func(w http.ResponseWriter, r *http.Request) {
			var c commands.CaptureLead
			s.runCommand(w, r, commandSpec{
				decode: func(_ *http.Request, body []byte) error {
					var req captureLeadRequest
					if err := decodeStrict(body, &req); err != nil {
						return err
					}
					c.Name, c.Company, c.Email, c.Phone, c.Source = req.Name, req.Company, req.Email, req.Phone, req.Source
					c.Campaign, c.Region, c.Industry, c.CompanySize, c.OwnerID = req.Campaign, req.Region, req.Industry, req.CompanySize, req.OwnerID
					return nil
				},
				exec: bind(&c, s.cmds.CaptureLead),
			})
		})
		r.Post("/leads/{id}/assign", s.leadCommand(func(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
			var req struct {
				OwnerID string `json:"owner_id"`
			}
			if err := decodeStrict(body, &req); err != nil {
				return nil, err
			}
			c := commands.AssignLead{LeadID: id, OwnerID: req.OwnerID}
			return bind(&c, s.cmds.AssignLead), nil
		}))
		r.Post("/leads/{id}/contact-attempts", s.leadCommand(func(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
			var req struct {
				Channel string `json:"channel"`
				Outcome string `json:"outcome"`
				Note    string `json:"note"`
			}
			if err := decodeStrict(body, &req); err != nil {
				return nil, err
			}
			c := commands.LogContactAttempt{LeadID: id, Channel: req.Channel, Outcome: req.Outcome, Note: req.Note}
			return bind(&c, s.cmds.LogContactAttempt), nil
		}))
		r.Post("/leads/{id}/qualify", s.leadCommand(func(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
			var req struct {
				Note string `json:"note"`
			}
			if err := decodeStrict(body, &req); err != nil {
				return nil, err
			}
			c := commands.QualifyLead{LeadID: id, Note: req.Note}
			return bind(&c, s.cmds.QualifyLead), nil
		}))
		r.Post("/leads/{id}/disqualify", s.leadCommand(func(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
			var req struct {
				Reason string `json:"reason"`
			}
			if err := decodeStrict(body, &req); err != nil {
				return nil, err
			}
			c := commands.DisqualifyLead{LeadID: id, Reason: req.Reason}
			return bind(&c, s.cmds.DisqualifyLead), nil
		}))
		r.Post("/leads/{id}/convert", func(w http.ResponseWriter, r *http.Request) {
			id, err := pathID(r, "id")
			if err != nil {
				s.errs.write(w, r, err)
				return
			}
			c := commands.ConvertLead{LeadID: id}
			s.runCommand(w, r, commandSpec{
				emptyBody: true,
				decode: func(_ *http.Request, body []byte) error {
					var req convertLeadRequest
					if err := decodeStrict(body, &req); err != nil {
						return err
					}
					if req.AccountID != nil {
						if !isUUID(*req.AccountID) {
							return badField("account_id", "must be an account id")
						}
						c.AccountID = *req.AccountID
					}
					if o := req.Opportunity; o != nil {
						c.Opportunity = &commands.ConvertOpportunity{Name: o.Name, Amount: o.Amount, Currency: o.Currency, ExpectedCloseDate: o.ExpectedCloseDate}
					}
					return nil
				},
				exec: bind(&c, s.cmds.ConvertLead),
				render: func(res commands.Result, base commandResponse) any {
					out := convertLeadResponse{commandResponse: base, AccountID: res.Extra[commands.ExtraAccountID], ContactID: res.Extra[commands.ExtraContactID]}
					if o := res.Extra[commands.ExtraOpportunityID]; o != "" {
						out.OpportunityID = &o
					}
					return out
				},
			})
		})
		r.Post("/leads/{id}/activities", s.activityRoute(commands.TypeLead))
	})
	r.With(require(permSalesRead)).Get("/leads/{id}", s.readLead)
	r.With(require(permSalesRead)).Get("/leads/{id}/history", s.history(commands.TypeLead))
}

// commandBuilder decodes a body for the entity id and returns the command's
// execution.
type commandBuilder func(id string, body []byte) (func(context.Context, *commands.Envelope) error, error)

// leadCommand (and entityCommand) adapt a commandBuilder to a route on
// /{type}/{id}/...
func (s *server) leadCommand(b commandBuilder) http.HandlerFunc { return s.entityCommand(false, b) }

func (s *server) entityCommand(emptyBody bool, b commandBuilder) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id")
		if err != nil {
			s.errs.write(w, r, err)
			return
		}
		var exec func(context.Context, *commands.Envelope) error
		s.runCommand(w, r, commandSpec{
			emptyBody: emptyBody,
			decode: func(_ *http.Request, body []byte) error {
				var err error
				exec, err = b(id, body)
				return err
			},
			exec: func(ctx context.Context, env *commands.Envelope) error { return exec(ctx, env) },
		})
	}
}

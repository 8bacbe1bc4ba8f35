package api

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"crm/commands"
)

// DetailsCommands change a record's details after it was created.
type DetailsCommands interface {
	ChangeLeadDetails(ctx context.Context, c *commands.ChangeLeadDetails) error
	ChangeContactDetails(ctx context.Context, c *commands.ChangeContactDetails) error
	ChangeOpportunityDetails(ctx context.Context, c *commands.ChangeOpportunityDetails) error
	ChangeTicketDetails(ctx context.Context, c *commands.ChangeTicketDetails) error
}

// detailsRoutes mounts POST /{leads|contacts|opportunities|tickets}/{id}/details:
// a field left out stays as it is; only fields whose value really changes
// become the event's changes.
func (s *server) detailsRoutes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(require(permSalesWrite))
		r.Post("/leads/{id}/details", s.entityCommand(false, func(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
			var req struct {
				Name        *string `json:"name"`
				Company     *string `json:"company"`
				Email       *string `json:"email"`
				Phone       *string `json:"phone"`
				Source      *string `json:"source"`
				Campaign    *string `json:"campaign"`
				Region      *string `json:"region"`
				Industry    *string `json:"industry"`
				CompanySize *string `json:"company_size"`
			}
			if err := decodeStrict(body, &req); err != nil {
				return nil, err
			}
			c := commands.ChangeLeadDetails{LeadID: id}
			c.Name, c.Company, c.Email, c.Phone, c.Source = req.Name, req.Company, req.Email, req.Phone, req.Source
			c.Campaign, c.Region, c.Industry, c.CompanySize = req.Campaign, req.Region, req.Industry, req.CompanySize
			return bind(&c, s.cmds.ChangeLeadDetails), nil
		}))
		r.Post("/contacts/{id}/details", func(w http.ResponseWriter, r *http.Request) {
			id, err := pathID(r, "id")
			if err != nil {
				s.errs.write(w, r, err)
				return
			}
			c := commands.ChangeContactDetails{ContactID: id}
			s.runCommand(w, r, commandSpec{
				decode: func(_ *http.Request, body []byte) error {
					var req struct {
						Name  *string `json:"name"`
						Email *string `json:"email"`
						Phone *string `json:"phone"`
						Title *string `json:"title"`
						Role  *string `json:"role"`
					}
					if err := decodeStrict(body, &req); err != nil {
						return err
					}
					c.Name, c.Email, c.Phone, c.Title, c.Role = req.Name, req.Email, req.Phone, req.Title, req.Role
					return nil
				},
				exec: bind(&c, s.cmds.ChangeContactDetails),
				render: func(res commands.Result, base commandResponse) any {
					// The contact is what changed; its account's version is
					// the one If-Match and ETag refer to.
					base.ID = id
					return addContactResponse{commandResponse: base, AccountID: res.ID}
				},
			})
		})
		r.Post("/opportunities/{id}/details", s.entityCommand(false, func(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
			var req struct {
				Name    *string `json:"name"`
				OwnerID *string `json:"owner_id"`
			}
			if err := decodeStrict(body, &req); err != nil {
				return nil, err
			}
			c := commands.ChangeOpportunityDetails{OpportunityID: id}
			c.Name, c.OwnerID = req.Name, req.OwnerID
			return bind(&c, s.cmds.ChangeOpportunityDetails), nil
		}))
	})
	r.Group(func(r chi.Router) {
		r.Use(require(permServiceWrite))
		r.Post("/tickets/{id}/details", s.entityCommand(false, func(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
			var req struct {
				Subject     *string `json:"subject"`
				Description *string `json:"description"`
				Channel     *string `json:"channel"`
			}
			if err := decodeStrict(body, &req); err != nil {
				return nil, err
			}
			c := commands.ChangeTicketDetails{TicketID: id}
			c.Subject, c.Description, c.Channel = req.Subject, req.Description, req.Channel
			return bind(&c, s.cmds.ChangeTicketDetails), nil
		}))
	})
}

package api

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"crm/commands"
)

type accountRequest struct {
	Name     string `json:"name"`
	Industry string `json:"industry"`
	Size     string `json:"size"`
	Region   string `json:"region"`
	Tier     string `json:"tier"`
	OwnerID  string `json:"owner_id"`
}

type addContactResponse struct {
	commandResponse
	AccountID string `json:"account_id"`
}

func (s *server) accountRoutes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(require(permSalesWrite))
		r.Post("/accounts", func(w http.ResponseWriter, r *http.Request) {
			var c commands.OpenAccount
			s.runCommand(w, r, commandSpec{
				decode: func(_ *http.Request, body []byte) error {
					var req accountRequest
					if err := decodeStrict(body, &req); err != nil {
						return err
					}
					c.Name, c.Industry, c.Size, c.Region, c.Tier, c.OwnerID = req.Name, req.Industry, req.Size, req.Region, req.Tier, req.OwnerID
					return nil
				},
				exec: bind(&c, s.cmds.OpenAccount),
			})
		})
		r.Post("/accounts/{id}/details", s.entityCommand(false, func(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
			var req struct {
				Name     *string `json:"name"`
				Industry *string `json:"industry"`
				Size     *string `json:"size"`
				Region   *string `json:"region"`
				Tier     *string `json:"tier"`
				OwnerID  *string `json:"owner_id"`
			}
			if err := decodeStrict(body, &req); err != nil {
				return nil, err
			}
			c := commands.ChangeAccountDetails{AccountID: id}
			c.Name, c.Industry, c.Size, c.Region, c.Tier, c.OwnerID = req.Name, req.Industry, req.Size, req.Region, req.Tier, req.OwnerID
			return bind(&c, s.cmds.ChangeAccountDetails), nil
		}))
		r.Post("/accounts/{id}/contacts", func(w http.ResponseWriter, r *http.Request) {
			id, err := pathID(r, "id")
			if err != nil {
				s.errs.write(w, r, err)
				return
			}
			c := commands.AddContact{AccountID: id}
			s.runCommand(w, r, commandSpec{
				decode: func(_ *http.Request, body []byte) error {
					var req struct {
						Name  string `json:"name"`
						Email string `json:"email"`
						Phone string `json:"phone"`
						Title string `json:"title"`
						Role  string `json:"role"`
					}
					if err := decodeStrict(body, &req); err != nil {
						return err
					}
					c.Name, c.Email, c.Phone, c.Title, c.Role = req.Name, req.Email, req.Phone, req.Title, req.Role
					return nil
				},
				exec: bind(&c, s.cmds.AddContact),
				render: func(res commands.Result, base commandResponse) any {
					// The created entity is the contact; its account's version
					// is the one If-Match and ETag refer to.
					base.ID = res.Extra[commands.ExtraContactID]
					return addContactResponse{commandResponse: base, AccountID: res.ID}
				},
			})
		})
		r.Post("/accounts/{id}/tags", s.entityCommand(false, func(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
			var req struct {
				Add    []string `json:"add"`
				Remove []string `json:"remove"`
			}
			if err := decodeStrict(body, &req); err != nil {
				return nil, err
			}
			c := commands.TagAccount{AccountID: id, Add: req.Add, Remove: req.Remove}
			return bind(&c, s.cmds.TagAccount), nil
		}))
		r.Post("/accounts/{id}/activities", s.activityRoute(commands.TypeAccount))
	})
	r.Group(func(r chi.Router) {
		r.Use(require(permAccountsRead))
		r.Get("/accounts/{id}", readByID(s, s.cmds.Account))
		r.Get("/accounts/{id}/history", s.history(commands.TypeAccount))
		r.Get("/contacts/{id}", readByID(s, s.cmds.Contact))
	})
}

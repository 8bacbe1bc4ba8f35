package api

import (
	"context"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"crm/aggregates"
	"crm/commands"
	"crm/readmodels"
)

// UserCommands are the users directory's use cases.
type UserCommands interface {
	RegisterUser(ctx context.Context, c *commands.RegisterUser) error
	ChangeUserDetails(ctx context.Context, c *commands.ChangeUserDetails) error
	DeactivateUser(ctx context.Context, c *commands.DeactivateUser) error
	ReactivateUser(ctx context.Context, c *commands.ReactivateUser) error
	User(ctx context.Context, id string, asOf time.Time) (aggregates.UserView, int64, error)
	// ActiveUser checks that id names an active user (an Invalid error
	// naming field otherwise; "" passes).
	ActiveUser(ctx context.Context, field, id string) error
}

// userRoutes mounts the users directory: people records are owned by or
// assigned to.
func (s *server) userRoutes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(require(permUsersWrite))
		r.Post("/users", func(w http.ResponseWriter, r *http.Request) {
			var c commands.RegisterUser
			s.runCommand(w, r, commandSpec{
				decode: func(_ *http.Request, body []byte) error {
					var req struct {
						Name      string `json:"name"`
						Email     string `json:"email"`
						Title     string `json:"title"`
						Team      string `json:"team"`
						ManagerID string `json:"manager_id"`
					}
					if err := decodeStrict(body, &req); err != nil {
						return err
					}
					c.Name, c.Email, c.Title, c.Team, c.ManagerID = req.Name, req.Email, req.Title, req.Team, req.ManagerID
					return nil
				},
				exec: bind(&c, s.cmds.RegisterUser),
			})
		})
		r.Post("/users/{id}/details", s.entityCommand(false, func(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
			var req struct {
				Name      *string `json:"name"`
				Email     *string `json:"email"`
				Title     *string `json:"title"`
				Team      *string `json:"team"`
				ManagerID *string `json:"manager_id"`
			}
			if err := decodeStrict(body, &req); err != nil {
				return nil, err
			}
			c := commands.ChangeUserDetails{UserID: id}
			c.Name, c.Email, c.Title, c.Team, c.ManagerID = req.Name, req.Email, req.Title, req.Team, req.ManagerID
			return bind(&c, s.cmds.ChangeUserDetails), nil
		}))
		r.Post("/users/{id}/deactivate", s.entityCommand(false, func(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
			var req struct {
				SuccessorID string `json:"successor_id"`
			}
			if err := decodeStrict(body, &req); err != nil {
				return nil, err
			}
			c := commands.DeactivateUser{UserID: id, SuccessorID: req.SuccessorID}
			return bind(&c, s.cmds.DeactivateUser), nil
		}))
		r.Post("/users/{id}/reactivate", s.entityCommand(true, func(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
			if err := decodeStrict(body, &struct{}{}); err != nil {
				return nil, err
			}
			c := commands.ReactivateUser{UserID: id}
			return bind(&c, s.cmds.ReactivateUser), nil
		}))
	})
	r.Group(func(r chi.Router) {
		r.Use(require(permUsersRead))
		r.Get("/users", func(w http.ResponseWriter, r *http.Request) {
			p := &listParams{r: r}
			f := readmodels.UserFilter{Team: p.text("team"), Active: p.enum("active", "true", "false"), Q: p.text("q")}
			f.Limit, f.Cursor = p.page()
			if p.err != nil {
				s.errs.write(w, r, p.err)
				return
			}
			if !s.caughtUp(w, r, readmodels.DirectoryProjector) {
				return
			}
			page, err := s.lists.Users(r.Context(), f)
			writePage(s, w, r, page, err)
		})
		r.Get("/users/{id}", readByID(s, s.cmds.User))
		r.Get("/users/{id}/history", s.history(commands.TypeUser))
	})
}

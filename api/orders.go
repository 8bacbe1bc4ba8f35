package api

import (
	"context"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"crm/aggregates"
	"crm/commands"
)

// paymentResponse is the response of a recorded payment.
type paymentResponse struct {
	commandResponse
	PaymentID string `json:"payment_id"`
}

// orderRoutes mounts the order routes.
func (s *server) orderRoutes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(require(permSalesWrite))
		r.Post("/orders/{id}/payments", func(w http.ResponseWriter, r *http.Request) {
			id, err := pathID(r, "id")
			if err != nil {
				s.errs.write(w, r, err)
				return
			}
			var c commands.RecordPayment
			s.runCommand(w, r, commandSpec{
				decode: func(_ *http.Request, body []byte) error {
					var req struct {
						Amount    string `json:"amount"`
						Currency  string `json:"currency"`
						PaidOn    string `json:"paid_on"`
						Reference string `json:"reference"`
					}
					if err := decodeStrict(body, &req); err != nil {
						return err
					}
					c.OrderID, c.Amount, c.Currency, c.PaidOn, c.Reference = id, req.Amount, req.Currency, req.PaidOn, req.Reference
					return nil
				},
				exec: bind(&c, s.cmds.RecordPayment),
				render: func(res commands.Result, base commandResponse) any {
					return paymentResponse{commandResponse: base, PaymentID: res.Extra["payment_id"]}
				},
			})
		})
		r.Post("/orders/{id}/cancel", s.entityCommand(false, func(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
			var req struct {
				Reason string `json:"reason"`
			}
			if err := decodeStrict(body, &req); err != nil {
				return nil, err
			}
			c := commands.CancelOrder{OrderID: id, Reason: req.Reason}
			return bind(&c, s.cmds.CancelOrder), nil
		}))
	})
	r.Group(func(r chi.Router) {
		r.Use(require(permSalesRead))
		r.Get("/orders/{id}", readByID(s, s.cmds.Order))
		r.Get("/orders/{id}/history", s.history(commands.TypeOrder))
		// A won opportunity's order has an id derived from the opportunity's.
		r.Get("/opportunities/{id}/order", readByID(s, func(ctx context.Context, id string, asOf time.Time) (aggregates.OrderView, int64, error) {
			return s.cmds.Order(ctx, commands.OrderID(id), asOf)
		}))
	})
}

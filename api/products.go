package api

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"crm/commands"
)

// catalogRoutes mounts the products and price books.
func (s *server) catalogRoutes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(require(permCatalog))
		r.Post("/products", func(w http.ResponseWriter, r *http.Request) {
			var c commands.CreateProduct
			s.runCommand(w, r, commandSpec{
				decode: func(_ *http.Request, body []byte) error {
					var req struct {
						SKU    string `json:"sku"`
						Name   string `json:"name"`
						Unit   string `json:"unit"`
						Active *bool  `json:"active"`
					}
					if err := decodeStrict(body, &req); err != nil {
						return err
					}
					c.SKU, c.Name, c.Unit, c.Active = req.SKU, req.Name, req.Unit, req.Active
					return nil
				},
				exec: bind(&c, s.cmds.CreateProduct),
			})
		})
		r.Post("/products/{id}/activation", s.entityCommand(false, func(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
			var req struct {
				Active *bool `json:"active"`
			}
			if err := decodeStrict(body, &req); err != nil {
				return nil, err
			}
			if req.Active == nil {
				return nil, badField("active", "is required")
			}
			c := commands.SetProductActive{ProductID: id, Active: *req.Active}
			return bind(&c, s.cmds.SetProductActive), nil
		}))
		r.Post("/price-books", func(w http.ResponseWriter, r *http.Request) {
			var c commands.CreatePriceBook
			s.runCommand(w, r, commandSpec{
				decode: func(_ *http.Request, body []byte) error {
					var req struct {
						Name string `json:"name"`
					}
					if err := decodeStrict(body, &req); err != nil {
						return err
					}
					c.Name = req.Name
					return nil
				},
				exec: bind(&c, s.cmds.CreatePriceBook),
			})
		})
		r.Post("/price-books/{id}/prices", s.entityCommand(false, func(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
			var req struct {
				ProductID string `json:"product_id"`
				Price     string `json:"price"`
				Currency  string `json:"currency"`
			}
			if err := decodeStrict(body, &req); err != nil {
				return nil, err
			}
			if !isUUID(req.ProductID) {
				return nil, badField("product_id", "must be a product id")
			}
			c := commands.SetPrice{PriceBookID: id, ProductID: req.ProductID, Price: req.Price, Currency: req.Currency}
			return bind(&c, s.cmds.SetPrice), nil
		}))
	})
	r.Group(func(r chi.Router) {
		r.Use(require(permSalesRead))
		r.Get("/products/{id}", readByID(s, s.cmds.Product))
		r.Get("/products/{id}/history", s.history(commands.TypeProduct))
		r.Get("/price-books/{id}", readByID(s, s.cmds.PriceBook))
		r.Get("/price-books/{id}/history", s.history(commands.TypePriceBook))
	})
}

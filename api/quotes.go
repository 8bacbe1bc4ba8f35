package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"crm/aggregates"
	"crm/commands"
)

// quoteRequest is the body of a quote draft or revision.
type quoteRequest struct {
	PriceBookID string `json:"price_book_id"`
	Currency    string `json:"currency"`
	ValidUntil  string `json:"valid_until"`
	Lines       []struct {
		ProductID       string `json:"product_id"`
		Quantity        string `json:"quantity"`
		DiscountPercent string `json:"discount_percent"`
	} `json:"lines"`
	PaymentPlan *struct {
		Kind           string `json:"kind"`
		Count          int    `json:"count"`
		IntervalMonths int    `json:"interval_months"`
		FirstDueDate   string `json:"first_due_date"`
		NetDays        int    `json:"net_days"`
		Installments   []struct {
			DueDate string `json:"due_date"`
			Amount  string `json:"amount"`
		} `json:"installments"`
	} `json:"payment_plan"`
}

// quoteInput decodes a quote body.
func quoteInput(body []byte) (commands.QuoteInput, error) {
	var req quoteRequest
	if err := decodeStrict(body, &req); err != nil {
		return commands.QuoteInput{}, err
	}
	if req.PriceBookID == "" {
		return commands.QuoteInput{}, badField("price_book_id", "is required")
	}
	if !isUUID(req.PriceBookID) {
		return commands.QuoteInput{}, badField("price_book_id", "must be a price book id")
	}
	in := commands.QuoteInput{PriceBookID: req.PriceBookID, Currency: req.Currency, ValidUntil: req.ValidUntil}
	for i, l := range req.Lines {
		if !isUUID(l.ProductID) {
			return in, badField("lines["+strconv.Itoa(i)+"].product_id", "must be a product id")
		}
		in.Lines = append(in.Lines, commands.QuoteLine{ProductID: l.ProductID, Quantity: l.Quantity, DiscountPercent: l.DiscountPercent})
	}
	if p := req.PaymentPlan; p != nil {
		in.PaymentPlan = aggregates.PaymentPlan{Kind: p.Kind, Count: p.Count, IntervalMonths: p.IntervalMonths, FirstDueDate: p.FirstDueDate, NetDays: p.NetDays}
		for _, x := range p.Installments {
			in.PaymentPlan.Installments = append(in.PaymentPlan.Installments, aggregates.PlannedInstallment{DueDate: x.DueDate, Amount: x.Amount})
		}
	}
	return in, nil
}

// quoteResponse is a quote command's response: the approval the version
// needs, if any.
type quoteResponse struct {
	commandResponse
	ApprovalID *string `json:"approval_id"`
}

func renderQuote(res commands.Result, base commandResponse) any {
	out := quoteResponse{commandResponse: base}
	if id := res.Extra["approval_id"]; id != "" {
		out.ApprovalID = &id
	}
	return out
}

// quoteRoutes mounts the quote routes.
func (s *server) quoteRoutes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(require(permSalesWrite))
		r.Post("/opportunities/{id}/quotes", func(w http.ResponseWriter, r *http.Request) {
			oppID, err := pathID(r, "id")
			if err != nil {
				s.errs.write(w, r, err)
				return
			}
			var c commands.DraftQuote
			s.runCommand(w, r, commandSpec{
				decode: func(_ *http.Request, body []byte) error {
					in, err := quoteInput(body)
					c.OpportunityID, c.QuoteInput = oppID, in
					return err
				},
				exec:   bind(&c, s.cmds.DraftQuote),
				render: renderQuote,
			})
		})
		r.Post("/quotes/{id}/revisions", func(w http.ResponseWriter, r *http.Request) {
			id, err := pathID(r, "id")
			if err != nil {
				s.errs.write(w, r, err)
				return
			}
			var c commands.ReviseQuote
			s.runCommand(w, r, commandSpec{
				decode: func(_ *http.Request, body []byte) error {
					in, err := quoteInput(body)
					c.QuoteID, c.QuoteInput = id, in
					return err
				},
				exec:   bind(&c, s.cmds.ReviseQuote),
				render: renderQuote,
			})
		})
		r.Post("/quotes/{id}/send", s.entityCommand(true, func(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
			if err := decodeEmpty(body); err != nil {
				return nil, err
			}
			c := commands.SendQuote{QuoteID: id}
			return bind(&c, s.cmds.SendQuote), nil
		}))
		r.Post("/quotes/{id}/accept", s.entityCommand(true, func(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
			if err := decodeEmpty(body); err != nil {
				return nil, err
			}
			c := commands.AcceptQuote{QuoteID: id}
			return bind(&c, s.cmds.AcceptQuote), nil
		}))
	})
	r.Group(func(r chi.Router) {
		r.Use(require(permApprovals))
		r.Post("/quotes/{id}/approvals/{approval_id}/approve", s.quoteApproval(true))
		r.Post("/quotes/{id}/approvals/{approval_id}/reject", s.quoteApproval(false))
	})
	r.Group(func(r chi.Router) {
		r.Use(require(permSalesRead))
		r.Get("/quotes/{id}", readByID(s, s.cmds.Quote))
		r.Get("/quotes/{id}/history", s.history(commands.TypeQuote))
	})
}

// decodeEmpty accepts an empty body or an empty JSON object.
func decodeEmpty(body []byte) error {
	if len(body) == 0 {
		return nil
	}
	var req struct{}
	return decodeStrict(body, &req)
}

// quoteApproval serves approve (note?) and reject (reason).
func (s *server) quoteApproval(approve bool) http.HandlerFunc {
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
			if len(body) > 0 {
				if err := decodeStrict(body, &req); err != nil {
					return nil, err
				}
			}
			if approve && req.Reason != "" {
				return nil, badField("reason", "is not a known field")
			}
			if !approve && req.Note != "" {
				return nil, badField("note", "is not a known field")
			}
			c := commands.DecideQuoteApproval{QuoteID: id, ApprovalID: approvalID, Approve: approve, Note: req.Note, Reason: req.Reason}
			return bind(&c, s.cmds.DecideQuoteApproval), nil
		})(w, r)
	}
}

package api

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"crm/commands"
)

// ticketRoutes mounts the ticket commands (service:write) and reads
// (service:read).
func (s *server) ticketRoutes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(require(permServiceWrite))
		r.Post("/tickets", s.openTicket)
		r.Post("/tickets/{id}/assign", s.entityCommand(false, s.assignTicket))
		r.Post("/tickets/{id}/responses", s.entityCommand(false, s.respondToTicket))
		r.Post("/tickets/{id}/priority", s.entityCommand(false, s.changeTicketPriority))
		r.Post("/tickets/{id}/escalate", s.entityCommand(false, s.escalateTicket))
		r.Post("/tickets/{id}/resolve", s.entityCommand(false, s.resolveTicket))
		r.Post("/tickets/{id}/close", s.entityCommand(true, s.closeTicket))
		r.Post("/tickets/{id}/reopen", s.entityCommand(false, s.reopenTicket))
		r.Post("/tickets/{id}/satisfaction", s.entityCommand(false, s.recordSatisfaction))
		r.Post("/tickets/{id}/activities", s.activityRoute(commands.TypeTicket))
	})
	r.Group(func(r chi.Router) {
		r.Use(require(permServiceRead))
		r.Get("/tickets/{id}", readByID(s, s.cmds.Ticket))
		r.Get("/tickets/{id}/history", s.history(commands.TypeTicket))
	})
}

// openTicketRequest is the body of POST /tickets.
type openTicketRequest struct {
	Subject     string `json:"subject"`
	Description string `json:"description"`
	AccountID   string `json:"account_id"`
	ContactID   string `json:"contact_id"`
	Priority    string `json:"priority"`
	Channel     string `json:"channel"`
}

// openTicket handles POST /tickets.
func (s *server) openTicket(w http.ResponseWriter, r *http.Request) {
	var c commands.OpenTicket
	s.runCommand(w, r, commandSpec{
		decode: func(_ *http.Request, body []byte) error { return decodeOpenTicket(body, &c) },
		exec:   bind(&c, s.cmds.OpenTicket),
	})
}

// decodeOpenTicket fills c from the body of POST /tickets; account_id and
// contact_id, when given, must be ids.
func decodeOpenTicket(body []byte, c *commands.OpenTicket) error {
	var req openTicketRequest
	if err := decodeStrict(body, &req); err != nil {
		return err
	}
	if req.AccountID != "" && !isUUID(req.AccountID) {
		return badField("account_id", "must be an account id")
	}
	if req.ContactID != "" && !isUUID(req.ContactID) {
		return badField("contact_id", "must be a contact id")
	}
	c.Subject, c.Description, c.AccountID, c.ContactID = req.Subject, req.Description, req.AccountID, req.ContactID
	c.Priority, c.Channel = req.Priority, req.Channel
	return nil
}

// assignTicket builds POST /tickets/{id}/assign.
func (s *server) assignTicket(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
	var req struct {
		AssigneeID string `json:"assignee_id"`
	}
	if err := decodeStrict(body, &req); err != nil {
		return nil, err
	}
	c := commands.AssignTicket{TicketID: id, AssigneeID: req.AssigneeID}
	return bind(&c, s.cmds.AssignTicket), nil
}

// respondToTicket builds POST /tickets/{id}/responses.
func (s *server) respondToTicket(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
	var req struct {
		Body string `json:"body"`
	}
	if err := decodeStrict(body, &req); err != nil {
		return nil, err
	}
	c := commands.RespondToTicket{TicketID: id, Body: req.Body}
	return bind(&c, s.cmds.RespondToTicket), nil
}

// changeTicketPriority builds POST /tickets/{id}/priority.
func (s *server) changeTicketPriority(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
	var req struct {
		Priority string `json:"priority"`
	}
	if err := decodeStrict(body, &req); err != nil {
		return nil, err
	}
	c := commands.ChangeTicketPriority{TicketID: id, Priority: req.Priority}
	return bind(&c, s.cmds.ChangeTicketPriority), nil
}

// escalateTicket builds POST /tickets/{id}/escalate.
func (s *server) escalateTicket(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
	var req struct {
		Reason string `json:"reason"`
	}
	if err := decodeStrict(body, &req); err != nil {
		return nil, err
	}
	c := commands.EscalateTicket{TicketID: id, Reason: req.Reason}
	return bind(&c, s.cmds.EscalateTicket), nil
}

// resolveTicket builds POST /tickets/{id}/resolve.
func (s *server) resolveTicket(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
	var req struct {
		Resolution string `json:"resolution"`
	}
	if err := decodeStrict(body, &req); err != nil {
		return nil, err
	}
	c := commands.ResolveTicket{TicketID: id, Resolution: req.Resolution}
	return bind(&c, s.cmds.ResolveTicket), nil
}

// closeTicket builds POST /tickets/{id}/close; the body may be empty.
func (s *server) closeTicket(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
	var req struct{}
	if err := decodeStrict(body, &req); err != nil {
		return nil, err
	}
	c := commands.CloseTicket{TicketID: id}
	return bind(&c, s.cmds.CloseTicket), nil
}

// reopenTicket builds POST /tickets/{id}/reopen.
func (s *server) reopenTicket(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
	var req struct {
		Reason string `json:"reason"`
	}
	if err := decodeStrict(body, &req); err != nil {
		return nil, err
	}
	c := commands.ReopenTicket{TicketID: id, Reason: req.Reason}
	return bind(&c, s.cmds.ReopenTicket), nil
}

// recordSatisfaction builds POST /tickets/{id}/satisfaction; score is
// required.
func (s *server) recordSatisfaction(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
	var req struct {
		Score   *int   `json:"score"`
		Comment string `json:"comment"`
	}
	if err := decodeStrict(body, &req); err != nil {
		return nil, err
	}
	if req.Score == nil {
		return nil, badField("score", "is required")
	}
	c := commands.RecordSatisfaction{TicketID: id, Score: *req.Score, Comment: req.Comment}
	return bind(&c, s.cmds.RecordSatisfaction), nil
}

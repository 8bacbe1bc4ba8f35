package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"
)

// Automations configures the automations and manages their dead letters.
// Errors are domain errors: Invalid naming the field for a bad setting,
// NotFound for an unknown dead letter, Refused when it was replayed.
type Automations interface {
	// Setting returns a setting ("assignment", "sla", "approvals") as JSON.
	Setting(ctx context.Context, name string) (json.RawMessage, error)
	// PutSetting validates and stores a setting and returns it as stored.
	PutSetting(ctx context.Context, name string, body []byte) (json.RawMessage, error)
	// DeadLetters returns a JSON array of up to limit dead letters after
	// the cursor, and the next cursor ("" at the end).
	DeadLetters(ctx context.Context, cursor string, limit int) (json.RawMessage, string, error)
	// ReplayDeadLetter hands a dead letter to its handler again.
	ReplayDeadLetter(ctx context.Context, id string) error
}

// Permissions of the automation routes.
const (
	permAutomation = "automation:configure" // assignment rules, SLA targets, reading the approval policy
)

// assignmentOwnersActive refuses assignment rules naming an owner who is
// not an active user, naming every such owner. A body that does not parse
// is left to the setting's own validation.
func (s *server) assignmentOwnersActive(ctx context.Context, body []byte) error {
	var rules struct {
		Rules []struct {
			Owners []string `json:"owners"`
		} `json:"rules"`
		DefaultOwners []string `json:"default_owners"`
	}
	if json.Unmarshal(body, &rules) != nil {
		return nil
	}
	var fields []FieldError
	check := func(field, id string) error {
		err := s.cmds.ActiveUser(ctx, field, id)
		var fe fieldedError
		if errors.As(err, &fe) {
			if name, msg := fe.ErrorField(); msg != "" {
				fields = append(fields, FieldError{Field: name, Message: msg})
				return nil
			}
		}
		return err
	}
	for i, rule := range rules.Rules {
		for j, id := range rule.Owners {
			if err := check(fmt.Sprintf("rules[%d].owners[%d]", i, j), id); err != nil {
				return err
			}
		}
	}
	for j, id := range rules.DefaultOwners {
		if err := check(fmt.Sprintf("default_owners[%d]", j), id); err != nil {
			return err
		}
	}
	if len(fields) == 0 {
		return nil
	}
	return &apiError{kind: kindInvalid, detail: fields[0].Field + ": " + fields[0].Message, fields: fields}
}

func (s *server) automationRoutes(r chi.Router) {
	if s.automations == nil {
		return
	}
	setting := func(name string) (get, put http.HandlerFunc) {
		get = func(w http.ResponseWriter, r *http.Request) {
			v, err := s.automations.Setting(r.Context(), name)
			if err != nil {
				s.errs.write(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, v)
		}
		put = func(w http.ResponseWriter, r *http.Request) {
			body, err := readBody(r, false)
			if err != nil {
				s.errs.write(w, r, err)
				return
			}
			if name == "assignment" {
				if err := s.assignmentOwnersActive(r.Context(), body); err != nil {
					s.errs.write(w, r, err)
					return
				}
			}
			v, err := s.automations.PutSetting(r.Context(), name, body)
			if err != nil {
				s.errs.write(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, v)
		}
		return get, put
	}
	r.Group(func(r chi.Router) {
		r.Use(require(permAutomation))
		for _, name := range []string{"assignment", "sla", "approvals"} {
			get, put := setting(name)
			r.Get("/automation/"+name, get)
			if name != "approvals" {
				r.Put("/automation/"+name, put)
			}
		}
	})
	r.Group(func(r chi.Router) {
		// Only admins change the approval threshold and handle dead letters.
		r.Use(require(permKeys))
		_, put := setting("approvals")
		r.Put("/automation/approvals", put)
		r.Get("/automation/dead-letters", func(w http.ResponseWriter, r *http.Request) {
			limit, err := limitParam(r)
			if err != nil {
				s.errs.write(w, r, err)
				return
			}
			items, next, err := s.automations.DeadLetters(r.Context(), r.URL.Query().Get("cursor"), limit)
			if err != nil {
				s.errs.write(w, r, err)
				return
			}
			var nextCursor *string
			if next != "" {
				nextCursor = &next
			}
			writeJSON(w, http.StatusOK, map[string]any{"items": items, "next_cursor": nextCursor})
		})
		r.Post("/automation/dead-letters/{id}/replay", func(w http.ResponseWriter, r *http.Request) {
			id, err := pathID(r, "id")
			if err != nil {
				s.errs.write(w, r, err)
				return
			}
			if err := s.automations.ReplayDeadLetter(r.Context(), id); err != nil {
				s.errs.write(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"id": id, "replayed": true})
		})
	})
}

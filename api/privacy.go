package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"crm/aggregates"
	"crm/commands"
)

// PrivacyCommands erase and export a data subject's personal data.
type PrivacyCommands interface {
	EraseSubject(ctx context.Context, c *commands.EraseSubject) error
	ExportSubject(ctx context.Context, email string) (commands.SubjectExport, error)
}

// permErase is crypto-shredding a person's data (admin only).
const permErase = "privacy:erase"

type erasureResponse struct {
	commandResponse
	SubjectID string                    `json:"subject_id"`
	Erased    []aggregates.ErasedEntity `json:"erased"`
}

func (s *server) privacyRoutes(r chi.Router) {
	r.With(require(permErase)).Post("/privacy/erasure", func(w http.ResponseWriter, r *http.Request) {
		var c commands.EraseSubject
		s.runCommand(w, r, commandSpec{
			decode: func(_ *http.Request, body []byte) error {
				var req struct {
					Email string `json:"email"`
				}
				if err := decodeStrict(body, &req); err != nil {
					return err
				}
				if req.Email == "" {
					return badField("email", "is required")
				}
				c.Email = req.Email
				return nil
			},
			exec: bind(&c, s.cmds.EraseSubject),
			render: func(res commands.Result, base commandResponse) any {
				return erasureResponse{commandResponse: base, SubjectID: res.ID, Erased: res.Erased}
			},
		})
	})
	r.With(require(permCompliance)).Get("/privacy/export", s.exportSubject)
}

// exportedLead is a lead in a subject's export: its state, version and
// every event.
type exportedLead struct {
	Lead    versionedLead  `json:"lead"`
	Version int64          `json:"version"`
	History []historyEvent `json:"history"`
}

// versionedLead is a lead's state with its version, as GET /v1/leads/{id}
// shows it.
type versionedLead struct {
	aggregates.LeadView
	Version int64 `json:"version"`
}

// exportSubject serves GET /v1/privacy/export?email=.
func (s *server) exportSubject(w http.ResponseWriter, r *http.Request) {
	email := r.URL.Query().Get("email")
	if email == "" {
		s.errs.write(w, r, badField("email", "is required"))
		return
	}
	x, err := s.cmds.ExportSubject(r.Context(), email)
	if err != nil {
		s.errs.write(w, r, err)
		return
	}
	leads := make([]exportedLead, len(x.Leads))
	for i, l := range x.Leads {
		leads[i] = exportedLead{Lead: versionedLead{LeadView: l.Lead, Version: l.Version}, Version: l.Version, History: make([]historyEvent, len(l.History))}
		for j, rec := range l.History {
			data, err := json.Marshal(rec.Event)
			if err != nil {
				s.errs.write(w, r, err)
				return
			}
			leads[i].History[j] = historyEvent{ID: rec.ID, Version: rec.Version, Type: rec.Type, Data: data, RecordedAt: rec.RecordedAt,
				Metadata: historyMeta{Actor: rec.Metadata.Actor, CommandID: rec.Metadata.CommandID,
					CorrelationID: rec.Metadata.CorrelationID, CausationID: rec.Metadata.CausationID}}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"subject_id": x.SubjectID, "email": x.Email,
		"exported_at": time.Now().UTC(), "leads": leads, "contacts": x.Contacts})
}

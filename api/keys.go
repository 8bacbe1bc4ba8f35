package api

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

func (s *server) keyRoutes(r chi.Router) {
	r.With(checked).Get("/whoami", func(w http.ResponseWriter, r *http.Request) {
		p := principalOf(r.Context())
		writeJSON(w, http.StatusOK, map[string]any{"key_id": p.KeyID, "name": p.Name, "role": p.Role,
			"actor": p.Actor(), "permissions": permissionsOf(p.Role)})
	})
	r.Group(func(r chi.Router) {
		r.Use(require(permKeys))
		r.Post("/keys", func(w http.ResponseWriter, r *http.Request) {
			body, err := readBody(r, false)
			if err != nil {
				s.errs.write(w, r, err)
				return
			}
			var req struct {
				Name   string `json:"name"`
				Role   string `json:"role"`
				UserID string `json:"user_id"`
			}
			if err := decodeStrict(body, &req); err != nil {
				s.errs.write(w, r, err)
				return
			}
			if req.Name == "" {
				s.errs.write(w, r, badField("name", "is required"))
				return
			}
			if _, ok := rolePermissions[req.Role]; !ok {
				s.errs.write(w, r, badField("role", "must be one of admin, manager, sales, support, analyst, auditor"))
				return
			}
			// A key bound to a user acts as that user, who must be active.
			if err := s.cmds.ActiveUser(r.Context(), "user_id", req.UserID); err != nil {
				s.errs.write(w, r, err)
				return
			}
			k, secret, err := s.keys.Create(r.Context(), req.Name, req.Role, req.UserID)
			if err != nil {
				s.errs.write(w, r, err)
				return
			}
			created := map[string]any{"id": k.ID, "name": k.Name, "role": k.Role, "created_at": k.CreatedAt, "key": secret}
			if k.UserID != "" {
				created["user_id"] = k.UserID
			}
			writeJSON(w, http.StatusCreated, created)
		})
		r.Get("/keys", func(w http.ResponseWriter, r *http.Request) {
			keys, err := s.keys.List(r.Context())
			if err != nil {
				s.errs.write(w, r, err)
				return
			}
			if keys == nil {
				keys = []KeyInfo{}
			}
			writeJSON(w, http.StatusOK, map[string]any{"items": keys, "next_cursor": nil})
		})
		r.Delete("/keys/{id}", func(w http.ResponseWriter, r *http.Request) {
			id, err := pathID(r, "id")
			if err != nil {
				s.errs.write(w, r, err)
				return
			}
			if err := s.keys.Revoke(r.Context(), id); err != nil {
				s.errs.write(w, r, err)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		})
	})
}

// allPermissions is every permission a route may require, in a stable
// order: what the admin role's "*" stands for.
var allPermissions = []string{permSalesRead, permSalesWrite, permAccountsRead, permServiceRead, permServiceWrite,
	permApprovals, permReports, permReportsDefine, permAudit, permEvents, permCompliance, permKeys, permAutomation,
	permWebhooks, permErase}

// permissionsOf lists the permissions role holds (never nil).
func permissionsOf(role string) []string {
	out := []string{}
	for _, p := range allPermissions {
		if Allowed(role, p) {
			out = append(out, p)
		}
	}
	return out
}

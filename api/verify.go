package api

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"crm/integrity"
)

// Verifier recomputes the event log's hash chains and seals.
type Verifier interface {
	Verify(ctx context.Context) (integrity.Report, error)
}

// verifyRoutes mounts GET /audit/verify (admin, auditor): 200 with the
// report whether or not the log verifies; "ok" tells which.
func (s *server) verifyRoutes(r chi.Router) {
	r.With(require(permCompliance)).Get("/audit/verify", func(w http.ResponseWriter, r *http.Request) {
		rep, err := s.verifier.Verify(r.Context())
		s.answer(w, r, rep, err)
	})
}

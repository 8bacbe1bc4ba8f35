package api

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"crm/internal/integrity"
)

// Verifier recomputes the event log's hash chains and seals. It returns
// ErrVerifyUnsupported for an event store without them.
type Verifier interface {
	Verify(ctx context.Context) (integrity.Report, error)
}

// ErrVerifyUnsupported: the configured event store keeps no hash chain
// (kind not_implemented, code "verify_unsupported").
var ErrVerifyUnsupported = sentinel(kindNotImplemented, "verify_unsupported", "this event store keeps no hash chain to verify (the PostgreSQL store does)")

// verifyRoutes mounts GET /audit/verify (admin, auditor): 200 with the
// report whether or not the log verifies; "ok" tells which.
func (s *server) verifyRoutes(r chi.Router) {
	r.With(require(permCompliance)).Get("/audit/verify", func(w http.ResponseWriter, r *http.Request) {
		rep, err := s.verifier.Verify(r.Context())
		s.answer(w, r, rep, err)
	})
}

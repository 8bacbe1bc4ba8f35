package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"crm/internal/integrity"
)

// Verifier recomputes the event log's hash chains and seals. It returns
// ErrVerifyUnsupported for an event store without them.
type Verifier interface {
	Verify(ctx context.Context) (integrity.Report, error)
}

// ErrVerifyUnsupported: the configured event store keeps no hash chain.
var ErrVerifyUnsupported = errors.New("this event store keeps no hash chain to verify (the PostgreSQL store does)")

// verifyRoutes mounts GET /audit/verify (admin, auditor): 200 with the
// report whether or not the log verifies; "ok" tells which.
func (s *server) verifyRoutes(r chi.Router) {
	r.With(require(permCompliance)).Get("/audit/verify", func(w http.ResponseWriter, r *http.Request) {
		rep, err := s.verifier.Verify(r.Context())
		if errors.Is(err, ErrVerifyUnsupported) {
			writeProblem(w, Problem{Status: http.StatusNotImplemented, Code: "verify_unsupported", Detail: err.Error()})
			return
		}
		s.answer(w, r, rep, err)
	})
}

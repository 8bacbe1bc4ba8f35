package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"crm/aggregates"
	"crm/commands"
	"crm/internal/customreports"
	"crm/readmodels"
)

// errorWriter maps every error a handler meets to its HTTP problem: the
// one place where error kinds become statuses.
type errorWriter struct{ log *slog.Logger }

func (ew errorWriter) write(w http.ResponseWriter, r *http.Request, err error) {
	var (
		reqErr *requestError
		domErr *aggregates.Error
		claim  *commands.ClaimTakenError
		report *customreports.InvalidError
	)
	switch {
	case errors.As(err, &reqErr):
		writeProblem(w, reqErr.problem)
	case errors.As(err, &domErr):
		switch domErr.Kind {
		case aggregates.Invalid:
			writeProblem(w, Problem{Status: http.StatusBadRequest, Detail: domErr.Error(),
				Errors: []FieldError{{Field: domErr.Field, Message: domErr.Message}}})
		case aggregates.NotFound:
			writeProblem(w, Problem{Status: http.StatusNotFound, Code: domErr.Code, Detail: domErr.Message})
		default:
			writeProblem(w, Problem{Status: http.StatusConflict, Code: domErr.Code, Detail: domErr.Message, ConflictingID: domErr.ConflictID})
		}
	case errors.As(err, &claim):
		code := "duplicate_" + claim.Claim.Kind
		writeProblem(w, Problem{Status: http.StatusConflict, Code: code, ConflictingID: claim.OwnerID,
			Detail: claim.Claim.Kind + " " + claim.Claim.Key + " already belongs to " + claim.OwnerType + " " + claim.OwnerID})
	case errors.Is(err, commands.ErrPreconditionFailed):
		writeProblem(w, Problem{Status: http.StatusPreconditionFailed, Code: "stale_version",
			Detail: "the entity is not at the version If-Match names; reload it and retry"})
	case errors.Is(err, commands.ErrBusy):
		w.Header().Set("Retry-After", "1")
		writeProblem(w, Problem{Status: http.StatusServiceUnavailable, Code: "busy", Detail: err.Error()})
	case errors.As(err, &report):
		writeProblem(w, Problem{Status: http.StatusBadRequest, Detail: report.Error(),
			Errors: []FieldError{{Field: report.Field, Message: report.Message}}})
	case errors.Is(err, customreports.ErrNotFound):
		writeProblem(w, Problem{Status: http.StatusNotFound, Code: "not_found", Detail: err.Error()})
	case errors.Is(err, customreports.ErrExists):
		writeProblem(w, Problem{Status: http.StatusConflict, Code: "report_exists", Detail: err.Error()})
	case errors.Is(err, customreports.ErrTooMany):
		writeProblem(w, Problem{Status: http.StatusConflict, Code: "too_many_reports", Detail: err.Error()})
	case errors.Is(err, customreports.ErrSandboxUnavailable):
		writeProblem(w, Problem{Status: http.StatusServiceUnavailable, Code: "custom_reports_unavailable", Detail: err.Error()})
	case errors.Is(err, readmodels.ErrInvalid):
		writeProblem(w, Problem{Status: http.StatusBadRequest, Detail: err.Error()})
	case errors.Is(err, ErrUnknownKey):
		writeProblem(w, Problem{Status: http.StatusNotFound, Code: "not_found", Detail: err.Error()})
	case errors.Is(err, ErrBadKey):
		writeProblem(w, Problem{Status: http.StatusBadRequest, Detail: err.Error()})
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away; nobody reads the answer.
		w.WriteHeader(499)
	default:
		ew.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "correlation_id", CorrelationID(r.Context()), "err", err)
		writeProblem(w, Problem{Status: http.StatusInternalServerError, Detail: "internal error; the correlation id identifies it in the server log"})
	}
}

package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"crm/readmodels"
)

// Progress tells how far the projectors have read the log.
type Progress interface {
	// WaitFor blocks until every named projector has applied the log up to
	// position (a cursor from a command response), or ctx ends.
	WaitFor(ctx context.Context, position string, projectors ...string) error
	// Checkpoint returns the position up to which a projector has
	// applied the log ("": nothing yet).
	Checkpoint(ctx context.Context, projector string) (string, error)
	// Latest returns the position of the newest committed event ("": the
	// log is empty).
	Latest(ctx context.Context) (string, error)
}

// ErrBadPosition is returned by Progress.WaitFor for a malformed position.
var ErrBadPosition = errors.New("malformed position")

// readYourWrites is how long a read with min_position waits.
const readYourWrites = 5 * time.Second

// caughtUp honours ?min_position=: it waits up to 5 s for the named
// projectors and answers 503 with Retry-After when they are still behind.
// It reports whether the handler may go on.
func (s *server) caughtUp(w http.ResponseWriter, r *http.Request, projectors ...string) bool {
	pos := r.URL.Query().Get("min_position")
	if pos == "" {
		return true
	}
	ctx, cancel := context.WithTimeout(r.Context(), readYourWrites)
	defer cancel()
	err := s.progress.WaitFor(ctx, pos, projectors...)
	switch {
	case err == nil:
		return true
	case errors.Is(err, ErrBadPosition):
		s.errs.write(w, r, badField("min_position", "must be a position from a command response"))
	case ctx.Err() != nil && r.Context().Err() == nil:
		s.errs.write(w, r, &apiError{kind: kindUnavailable, code: "read_model_behind",
			detail: "the read models have not reached min_position yet; retry shortly", retryAfter: time.Second})
	default:
		s.errs.write(w, r, err)
	}
	return false
}

// caughtUpWithLog waits up to 5 s for the named projectors to apply every
// event committed before the request, for a command that decides from
// read models (an import's duplicates); past the wait it answers 503.
func (s *server) caughtUpWithLog(w http.ResponseWriter, r *http.Request, projectors ...string) bool {
	pos, err := s.progress.Latest(r.Context())
	if err != nil {
		s.errs.write(w, r, err)
		return false
	}
	if pos == "" {
		return true
	}
	ctx, cancel := context.WithTimeout(r.Context(), readYourWrites)
	defer cancel()
	switch err := s.progress.WaitFor(ctx, pos, projectors...); {
	case err == nil:
		return true
	case ctx.Err() != nil && r.Context().Err() == nil:
		s.errs.write(w, r, &apiError{kind: kindUnavailable, code: "read_model_behind",
			detail: "the read models have not caught up with the log yet; retry shortly", retryAfter: time.Second})
	default:
		s.errs.write(w, r, err)
	}
	return false
}

// limitParam parses ?limit= (default 50, at most 500).
func limitParam(r *http.Request) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return readmodels.DefaultLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > readmodels.MaxLimit {
		return 0, badField("limit", "must be an integer from 1 to 500")
	}
	return n, nil
}

// timeParam parses an optional RFC 3339 (or YYYY-MM-DD) query parameter.
func timeParam(r *http.Request, name string) (*time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return nil, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return &t, nil
		}
	}
	return nil, badField(name, "must be an RFC 3339 time or a YYYY-MM-DD date")
}

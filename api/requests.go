package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"crm/internal/requestlog"
)

// RequestLog is the request audit: it records requests and lists them.
type RequestLog interface {
	// Record queues an entry; it may wait while the log is busy.
	Record(ctx context.Context, e requestlog.Entry) error
	// Flush makes every entry recorded so far visible to List.
	Flush(ctx context.Context) error
	// List returns a page of entries, oldest first; a malformed cursor is
	// requestlog.ErrCursor.
	List(ctx context.Context, f requestlog.Filter) (requestlog.Page, error)
}

// requestCaller is filled by authenticate so the request audit, which
// wraps it, knows who called.
type requestCaller struct{ p Principal }

type requestCallerKey struct{}

// noteCaller tells the request audit who the authenticated caller is.
func noteCaller(ctx context.Context, p Principal) {
	if c, ok := ctx.Value(requestCallerKey{}).(*requestCaller); ok {
		c.p = p
	}
}

// recordRequests records every command (any method but GET, HEAD and
// OPTIONS) and every refused request (401 and 403 on any route) once its
// answer is written.
func (s *server) recordRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller := &requestCaller{}
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		panicked := true
		defer func() {
			// Also on a panic (the recoverer outside answers 500): a
			// command that crashed is recorded too.
			status := ww.Status()
			switch {
			case status == 0 && panicked:
				status = http.StatusInternalServerError
			case status == 0:
				status = http.StatusOK
			}
			s.record(r, caller, status)
		}()
		next.ServeHTTP(ww, r.WithContext(context.WithValue(r.Context(), requestCallerKey{}, caller)))
		panicked = false
	})
}

// record writes one request audit entry when the request is a command or
// was refused with 401 or 403.
func (s *server) record(r *http.Request, caller *requestCaller, status int) {
	read := r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions
	if read && status != http.StatusUnauthorized && status != http.StatusForbidden {
		return
	}
	route := ""
	if rc := chi.RouteContext(r.Context()); rc != nil {
		route = rc.RoutePattern()
	}
	if (route == "" || strings.HasSuffix(route, "/*")) && s.root != nil {
		// Refused before routing (401): find the route it was for.
		route = s.root.Find(chi.NewRouteContext(), r.Method, r.URL.Path)
	}
	if route == "" || strings.HasSuffix(route, "/*") {
		route = r.URL.Path
	}
	e := requestlog.Entry{At: time.Now().UTC(), KeyID: caller.p.KeyID, Role: caller.p.Role, Method: r.Method,
		Route: route, Path: r.URL.Path, Status: status, CorrelationID: CorrelationID(r.Context())}
	if caller.p.Name != "" {
		e.Actor = caller.p.Actor()
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	if err := s.requests.Record(ctx, e); err != nil {
		s.errs.log.Error("request audit: entry not recorded", "method", r.Method, "path", r.URL.Path,
			"status", status, "correlation_id", e.CorrelationID, "err", err)
	}
}

// maxStatusParam is the largest HTTP status accepted as a filter.
const maxStatusParam = 599

// requestRoutes mounts GET /audit/requests (admin, auditor).
func (s *server) requestRoutes(r chi.Router) {
	r.With(require(permCompliance)).Get("/audit/requests", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		params := &listParams{r: r}
		f := requestlog.Filter{Actor: params.text("actor"), After: params.text("cursor")}
		if params.err != nil {
			s.errs.write(w, r, params.err)
			return
		}
		if v := q.Get("status"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 100 || n > maxStatusParam {
				s.errs.write(w, r, badField("status", "must be an HTTP status code (100 to 599)"))
				return
			}
			f.Status = n
		}
		var err error
		if f.From, f.To, err = timeRangeParams(r); err != nil {
			s.errs.write(w, r, err)
			return
		}
		if f.Limit, err = limitParam(r); err != nil {
			s.errs.write(w, r, err)
			return
		}
		if err := s.requests.Flush(r.Context()); err != nil {
			s.errs.write(w, r, err)
			return
		}
		page, err := s.requests.List(r.Context(), f)
		if errors.Is(err, requestlog.ErrCursor) {
			err = badField("cursor", "must be the next_cursor of an earlier page, unchanged")
		}
		s.answer(w, r, page, err)
	})
}

package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Readiness reports whether the server can do its work: the database is
// reachable and its schema is migrated. A nil error means ready.
type Readiness interface {
	Ready(ctx context.Context) error
}

// Options are the router's dependencies.
type Options struct {
	// Ready backs /readyz. Required.
	Ready Readiness
	// Metrics is the registry /metrics serves and request metrics are
	// registered in. Required.
	Metrics *prometheus.Registry
	// Logger logs failed requests and recovered panics; defaults to
	// slog.Default().
	Logger *slog.Logger
	// Version is reported by /healthz.
	Version string
	// Keys authenticates /v1 requests and manages keys. Required.
	Keys Keys
	// Commands runs commands and by-id reads. Required.
	Commands Commands
	// Responses replays idempotent responses. Required.
	Responses Responses
	// Progress, Projections and Feed serve read-your-writes, the
	// projection endpoints and the event feed. Required.
	Progress    Progress
	Projections Projections
	Feed        EventFeed
	// Lists answers the list endpoints. Required.
	Lists ListQueries
	// Audit answers the audit timeline and its exports. Required.
	Audit AuditQueries
	// Reports answers the funnel, pipeline and dashboard. Required.
	Reports ReportQueries
	// Requests is the request audit. Required.
	Requests RequestLog
	// Verifier checks the log's tamper evidence. Required.
	Verifier Verifier
	// Automations serves /v1/automation; without it those routes do not
	// exist.
	Automations Automations
	// Webhooks serves /v1/webhooks; without it those routes do not exist.
	Webhooks Webhooks
	// CustomReports are analysts' declarative reports. Optional: without
	// it the /v1/reports/custom routes answer 503.
	CustomReports CustomReports
	// Cash answers the forecast and receivables reports and the pipeline
	// as of a past time. Optional: without it those answer 503.
	Cash CashReports
	// Clock dates live reports such as the receivables' aging (nil:
	// time.Now).
	Clock func() time.Time
	// RateLimit bounds each API key's requests under /v1 (zero: off).
	RateLimit RateLimit
	// RequestTimeout bounds each request's work (zero: none): at the
	// deadline it is cancelled and answered 503.
	RequestTimeout time.Duration
	// Engagement configures the marketing and service routes (campaigns,
	// web forms, knowledge base, imports, customer 360, tasks); without
	// its Queries their read-model routes answer 503.
	Engagement Engagement
	// Export, when set, serves GET /v1/events/export.
	Export EventExport
	// Observer, when set, watches every request and command (metrics
	// and traces).
	Observer Observer
}

// Observer watches the HTTP layer at work.
type Observer interface {
	// Middleware wraps the handling of every request; it runs before
	// the correlation id is chosen, and may set a request's
	// X-Correlation-ID header.
	Middleware(next http.Handler) http.Handler
	// StartCommand is called as a command runs, with the command's route
	// pattern and id; done is called once with its outcome (accepted,
	// refused, conflict, replayed, invalid or failed), the refusal's
	// code, the stream the command is about and the version it left.
	StartCommand(ctx context.Context, command, commandID string) (_ context.Context, done func(outcome, code, stream string, version int64))
}

// NewRouter returns the HTTP handler. It fails only when the metrics cannot
// be registered (for example twice in one registry).
func NewRouter(o Options) (http.Handler, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Ready == nil || o.Metrics == nil || o.Keys == nil || o.Commands == nil || o.Responses == nil ||
		o.Progress == nil || o.Projections == nil || o.Feed == nil || o.Lists == nil || o.Audit == nil || o.Reports == nil || o.Requests == nil || o.Verifier == nil {
		return nil, fmt.Errorf("api: every dependency in Options is required")
	}
	m, err := newMetrics(o.Metrics)
	if err != nil {
		return nil, err
	}
	errs := errorWriter{log: o.Logger}
	r := chi.NewRouter()
	if o.Observer != nil {
		r.Use(o.Observer.Middleware)
	}
	r.Use(correlation, m.middleware, recoverer(errs), timeLimited(o.RequestTimeout))
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		errs.write(w, r, requestErr(kindNotFound, "no route for "+r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		errs.write(w, r, requestErr(kindMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path))
	})
	r.With(checked).Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": o.Version})
	})
	r.With(checked).Get("/readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if err := o.Ready.Ready(ctx); err != nil {
			errs.write(w, r, &apiError{kind: kindNotReady, detail: err.Error(), retryAfter: time.Second})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	r.With(checked).Method(http.MethodGet, "/metrics", promhttp.HandlerFor(o.Metrics, promhttp.HandlerOpts{}))
	r.With(checked).Get("/openapi.json", serveOpenAPI)
	s := &server{errs: errs, keys: o.Keys, responses: o.Responses, cmds: o.Commands,
		progress: o.Progress, projections: o.Projections, feed: o.Feed, lists: o.Lists, audits: o.Audit, reports: o.Reports, requests: o.Requests, verifier: o.Verifier,
		automations: o.Automations, webhooks: o.Webhooks, rateLimit: o.RateLimit, observer: o.Observer, export: o.Export}
	s.cash, s.now = o.Cash, o.Clock
	if s.now == nil {
		s.now = time.Now
	}
	s.custom = o.CustomReports
	if s.custom == nil {
		s.custom = noCustomReports{}
	}
	s.engagement = o.Engagement
	if s.engagement.Queries == nil {
		s.engagement.Queries = noEngagement{}
	}
	if s.engagement.Now == nil {
		s.engagement.Now = time.Now
	}
	s.segments = s.engagement.Queries
	s.forms = newWebForms(s.engagement.WebForms, s.engagement.Now)
	s.publicFormRoutes(r)
	r.Route("/v1", s.routes)
	s.root = r
	return r, nil
}

// CorrelationHeader carries the correlation id in and out.
const CorrelationHeader = "X-Correlation-ID"

type correlationKey struct{}

var correlationPattern = regexp.MustCompile(`^[A-Za-z0-9._:\-]{1,128}$`)

// correlation accepts a well-formed X-Correlation-ID or generates one,
// echoes it, and puts it in the request context.
func correlation(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(CorrelationHeader)
		if !correlationPattern.MatchString(id) {
			id = uuid.Must(uuid.NewV7()).String()
		}
		w.Header().Set(CorrelationHeader, id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), correlationKey{}, id)))
	})
}

// CorrelationID returns the request's correlation id ("" outside a request).
func CorrelationID(ctx context.Context) string {
	id, _ := ctx.Value(correlationKey{}).(string)
	return id
}

// recoverer turns a panic in a handler into a 500 problem and a log line,
// so no input can take the server down.
func recoverer(errs errorWriter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v)
					}
					errs.write(w, r, &apiError{kind: kindInternal, detail: "internal error", msg: fmt.Sprintf("panic serving request: %v", v)})
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crm_http_requests_total", Help: "HTTP requests by method, route pattern and status.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "crm_http_request_duration_seconds", Help: "HTTP request latency by method and route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method", "route"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("api: register metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			route = rc.RoutePattern()
		}
		m.requests.WithLabelValues(r.Method, route, strconv.Itoa(sw.status)).Inc()
		m.duration.WithLabelValues(r.Method, route).Observe(time.Since(start).Seconds())
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

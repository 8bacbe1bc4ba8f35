package telemetry

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"crm/commands"
)

// Observer feeds the metrics and traces from the engine's parts: it
// implements the observer interfaces the HTTP layer, the projection
// engine and the automations declare, and wraps the command side's
// repository. A nil *Metrics counts nothing; a nil *Tracing traces
// nothing.
type Observer struct {
	metrics *Metrics
	tracer  trace.Tracer
	prop    propagation.TextMapPropagator
}

// NewObserver returns an observer over m and t (either may be nil).
func NewObserver(m *Metrics, t *Tracing) *Observer {
	return &Observer{metrics: m, tracer: t.Provider().Tracer("crm"),
		prop: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})}
}

// correlationHeader and correlationPattern are the HTTP layer's: a
// correlation id it accepts is one this observer keys the trace by.
const correlationHeader = "X-Correlation-ID"

var correlationPattern = regexp.MustCompile(`^[A-Za-z0-9._:\-]{1,128}$`)

// Middleware starts a server span for every request, named by its route
// once routed. It must run before the correlation id is chosen: a request
// without a well-formed X-Correlation-ID gets one here (the caller's
// trace id, or a new UUID), so the trace and the events agree.
func (o *Observer) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ctx := o.prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		remote := trace.SpanContextFromContext(ctx)
		cid := r.Header.Get(correlationHeader)
		if !correlationPattern.MatchString(cid) {
			if remote.IsValid() {
				cid = remote.TraceID().String()
			} else {
				cid = uuid.Must(uuid.NewV7()).String()
			}
			r.Header.Set(correlationHeader, cid)
		}
		opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
			attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path),
			attribute.String("crm.correlation_id", cid))}
		if remote.IsValid() && remote.TraceID() != TraceIDOf(cid) {
			// The caller's trace is not the correlation id's: start the
			// correlation id's trace, linked to the caller's span.
			ctx = trace.ContextWithSpanContext(r.Context(), trace.SpanContext{})
			opts = append(opts, trace.WithNewRoot(), trace.WithLinks(trace.Link{SpanContext: remote}))
		}
		if !remote.IsValid() || remote.TraceID() != TraceIDOf(cid) {
			ctx = withIDs(ctx, TraceIDOf(cid), trace.SpanID{})
		}
		ctx, span := o.tracer.Start(ctx, r.Method, opts...)
		defer span.End()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r.WithContext(withoutIDs(ctx)))
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			route = rc.RoutePattern()
		}
		span.SetName(r.Method + " " + route)
		span.SetAttributes(attribute.String("http.route", route), attribute.Int("http.response.status_code", sw.status),
			attribute.Float64("crm.duration_seconds", time.Since(start).Seconds()))
		if sw.status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(sw.status))
		}
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

// StartCommand starts the span of a command the HTTP layer runs (its span
// id derived from commandID) and returns the function that ends it with
// the command's outcome (one of the Outcome constants), refusal code, the
// stream the command is about and the version it left.
func (o *Observer) StartCommand(ctx context.Context, command, commandID string) (context.Context, func(outcome, code, stream string, version int64)) {
	ctx, span := o.startCommand(ctx, command, commandID)
	return ctx, func(outcome, code, stream string, version int64) {
		o.metrics.Command(command, outcome, code)
		o.endCommand(span, outcome, code, stream, version)
	}
}

// StartAutomationCommand is StartCommand for a command an automation
// issues: the outcome is classified from the handler's error.
func (o *Observer) StartAutomationCommand(ctx context.Context, command, commandID string) (context.Context, func(err error, stream string, version int64)) {
	ctx, span := o.startCommand(ctx, command, commandID)
	return ctx, func(err error, stream string, version int64) {
		outcome, code := CommandOutcome(err)
		o.metrics.Command(command, outcome, code)
		errorStatus(span, err)
		o.endCommand(span, outcome, code, stream, version)
	}
}

func (o *Observer) startCommand(ctx context.Context, command, commandID string) (context.Context, trace.Span) {
	ctx, span := o.tracer.Start(withIDs(ctx, trace.TraceID{}, SpanIDOf(commandID)), "command "+command,
		trace.WithAttributes(attribute.String("crm.command", command), attribute.String("crm.command_id", commandID)))
	return withoutIDs(ctx), span
}

func (o *Observer) endCommand(span trace.Span, outcome, code, stream string, version int64) {
	attrs := []attribute.KeyValue{attribute.String("crm.outcome", outcome)}
	if code != "" {
		attrs = append(attrs, attribute.String("crm.code", code))
	}
	if stream != "" {
		aggregate, _, _ := strings.Cut(stream, "-")
		attrs = append(attrs, attribute.String("crm.aggregate", aggregate), attribute.String("crm.stream", stream),
			attribute.Int64("crm.version", version))
	}
	span.SetAttributes(attrs...)
	if outcome == OutcomeFailed {
		span.SetStatus(codes.Error, "command failed")
	}
	span.End()
}

// StartBatch starts the span of one projector batch; done ends it and
// records the batch's duration.
func (o *Observer) StartBatch(ctx context.Context, projector string, events int) (context.Context, func(error)) {
	start := time.Now()
	ctx, span := o.tracer.Start(ctx, "project "+projector, trace.WithAttributes(
		attribute.String("crm.projector", projector), attribute.Int("crm.events", events)))
	return ctx, func(err error) {
		o.metrics.batch(projector, events, time.Since(start), err)
		errorStatus(span, err)
		span.End()
	}
}

// StartAutomation starts the span of an automation handling one event: a
// root of the trace of the event's correlation id, linked to the span of
// the command that appended the event. done ends it and counts the
// event as handled or failed.
func (o *Observer) StartAutomation(ctx context.Context, automation, eventType, eventID, commandID, correlationID string) (context.Context, func(error)) {
	start := time.Now()
	opts := []trace.SpanStartOption{trace.WithNewRoot(), trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(
		attribute.String("crm.automation", automation), attribute.String("crm.event_type", eventType),
		attribute.String("crm.event_id", eventID), attribute.String("crm.causing_command_id", commandID),
		attribute.String("crm.correlation_id", correlationID))}
	if commandID != "" && correlationID != "" {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: CommandSpanContext(correlationID, commandID),
			Attributes: []attribute.KeyValue{attribute.String("crm.link", "caused by command")}}))
	}
	var tid trace.TraceID
	if correlationID != "" {
		tid = TraceIDOf(correlationID)
	}
	ctx, span := o.tracer.Start(withIDs(ctx, tid, trace.SpanID{}), "automation "+automation, opts...)
	return withoutIDs(ctx), func(err error) {
		o.metrics.automation(automation, time.Since(start), err)
		errorStatus(span, err)
		span.End()
	}
}

// Repository wraps the command side's repository: every Save is an
// append span and is counted (appends, events appended, version
// conflicts).
func (o *Observer) Repository(r commands.Repository) commands.Repository {
	return &observedRepository{Repository: r, o: o}
}

type observedRepository struct {
	commands.Repository
	o *Observer
}

// Save implements commands.Repository.
func (r *observedRepository) Save(ctx context.Context, b commands.Batch) (commands.Saved, error) {
	n := 0
	streams := make([]string, 0, len(b.Changes))
	for _, c := range b.Changes {
		n += len(c.Events)
		streams = append(streams, c.Stream)
	}
	ctx, span := r.o.tracer.Start(ctx, "append", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.StringSlice("crm.streams", streams), attribute.Int("crm.events", n)))
	saved, err := r.Repository.Save(ctx, b)
	r.o.metrics.append(n, err)
	switch {
	case err == nil:
		span.SetAttributes(attribute.String("crm.result", "ok"), attribute.String("crm.position", saved.Position))
	case errors.Is(err, commands.ErrVersionConflict):
		// The command reloads and decides again: not a failure.
		span.SetAttributes(attribute.String("crm.result", "conflict"))
	default:
		span.SetAttributes(attribute.String("crm.result", "error"))
		errorStatus(span, err)
	}
	span.End()
	return saved, err
}

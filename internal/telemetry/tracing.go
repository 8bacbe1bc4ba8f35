package telemetry

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Tracing is the engine's tracer provider: the no-op provider when
// tracing is off.
type Tracing struct {
	provider trace.TracerProvider
	sdk      *sdktrace.TracerProvider
}

// TracingEnabled reports whether the environment asks for traces: an
// OTLP endpoint is set (OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) and OTEL_SDK_DISABLED is not true.
func TracingEnabled() bool {
	if strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true") {
		return false
	}
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// NewTracingFromEnv builds the tracer provider the standard OTEL_*
// environment variables describe: off (no-op) unless TracingEnabled;
// otherwise spans are batched to the OTLP endpoint over HTTP/protobuf,
// or gRPC when OTEL_EXPORTER_OTLP_TRACES_PROTOCOL (or
// OTEL_EXPORTER_OTLP_PROTOCOL) is "grpc". The exporters read the
// endpoint, headers, timeout and TLS settings themselves; the resource
// reads OTEL_SERVICE_NAME (default "crm") and OTEL_RESOURCE_ATTRIBUTES.
func NewTracingFromEnv(ctx context.Context, version string) (*Tracing, error) {
	if !TracingEnabled() {
		return &Tracing{provider: noop.NewTracerProvider()}, nil
	}
	protocol := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	var (
		exp sdktrace.SpanExporter
		err error
	)
	switch protocol {
	case "", "http/protobuf":
		exp, err = otlptracehttp.New(ctx)
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	default:
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL %q: want http/protobuf or grpc", protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	return newTracing(ctx, version, sdktrace.WithBatcher(exp))
}

// NewTracing builds a tracer provider that hands every span to exp as
// soon as it ends (tests use an in-memory exporter).
func NewTracing(ctx context.Context, version string, exp sdktrace.SpanExporter) (*Tracing, error) {
	return newTracing(ctx, version, sdktrace.WithSyncer(exp))
}

func newTracing(ctx context.Context, version string, export sdktrace.TracerProviderOption) (*Tracing, error) {
	name := os.Getenv("OTEL_SERVICE_NAME")
	if name == "" {
		name = "crm"
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(
		attribute.String("service.name", name), attribute.String("service.version", version)))
	if err != nil {
		return nil, fmt.Errorf("trace resource: %w", err)
	}
	if envRes, err := resource.New(ctx, resource.WithFromEnv()); err == nil {
		if merged, err := resource.Merge(res, envRes); err == nil {
			res = merged
		}
	}
	tp := sdktrace.NewTracerProvider(export, sdktrace.WithResource(res), sdktrace.WithIDGenerator(idGenerator{}))
	return &Tracing{provider: tp, sdk: tp}, nil
}

// Provider is the tracer provider.
func (t *Tracing) Provider() trace.TracerProvider {
	if t == nil {
		return noop.NewTracerProvider()
	}
	return t.provider
}

// Shutdown flushes the spans not exported yet and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil || t.sdk == nil {
		return nil
	}
	return t.sdk.Shutdown(ctx)
}

// Traces and the log. The log carries no trace context: the engine's
// traces are keyed by the ids every event carries instead, so that an
// automation, in any process and at any later time, can link to the
// command that caused its event from the event alone:
//
//   - a trace's id is derived from the correlation id (TraceIDOf): every
//     span caused by one request (the request, its command and append,
//     the automations its events trigger, their commands) lies in that
//     trace;
//   - a command's span id is derived from its command id (SpanIDOf);
//   - an automation's span is a root of the trace of the event's
//     correlation id, linked to the span of the event's command.
//
// A request that brings a W3C traceparent and no X-Correlation-ID gets
// the trace id as its correlation id, so its spans stay children of the
// caller's. One that brings both, disagreeing, starts a trace of its
// correlation id linked to the caller's span.

// TraceIDOf is the trace id of a correlation id: the id itself when it is
// 32 hex digits (a UUID with or without its dashes), else the first 16
// bytes of its SHA-256.
func TraceIDOf(correlationID string) trace.TraceID {
	var id trace.TraceID
	if h := strings.ReplaceAll(correlationID, "-", ""); len(h) == 32 {
		if b, err := hex.DecodeString(h); err == nil {
			copy(id[:], b)
			if id.IsValid() {
				return id
			}
		}
	}
	sum := sha256.Sum256([]byte("crm trace " + correlationID))
	copy(id[:], sum[:16])
	return id
}

// SpanIDOf is the span id of a command's span, from its command id.
func SpanIDOf(commandID string) trace.SpanID {
	var id trace.SpanID
	sum := sha256.Sum256([]byte("crm command " + commandID))
	copy(id[:], sum[:8])
	return id
}

// CommandSpanContext is the span context of the span of the command that
// appended an event with these ids: what an automation links to.
func CommandSpanContext(correlationID, commandID string) trace.SpanContext {
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: TraceIDOf(correlationID), SpanID: SpanIDOf(commandID),
		TraceFlags: trace.FlagsSampled, Remote: true})
}

// idHint asks the id generator for the next span's ids.
type idHint struct {
	trace trace.TraceID
	span  trace.SpanID
}

type idHintKey struct{}

// withIDs returns ctx whose next span, started directly under it, gets
// the hinted ids (zero parts: random).
func withIDs(ctx context.Context, tid trace.TraceID, sid trace.SpanID) context.Context {
	return context.WithValue(ctx, idHintKey{}, &idHint{trace: tid, span: sid})
}

// withoutIDs clears a hint, so spans beneath get ids of their own.
func withoutIDs(ctx context.Context) context.Context {
	if ctx.Value(idHintKey{}) == nil {
		return ctx
	}
	return context.WithValue(ctx, idHintKey{}, (*idHint)(nil))
}

// idGenerator makes random ids unless the context hints at others.
type idGenerator struct{}

// NewIDs implements sdktrace.IDGenerator.
func (idGenerator) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	var tid trace.TraceID
	if h, _ := ctx.Value(idHintKey{}).(*idHint); h != nil && h.trace.IsValid() {
		tid = h.trace
	} else {
		randomBytes(tid[:])
	}
	return tid, idGenerator{}.NewSpanID(ctx, tid)
}

// NewSpanID implements sdktrace.IDGenerator.
func (idGenerator) NewSpanID(ctx context.Context, _ trace.TraceID) trace.SpanID {
	if h, _ := ctx.Value(idHintKey{}).(*idHint); h != nil && h.span.IsValid() {
		return h.span
	}
	var sid trace.SpanID
	randomBytes(sid[:])
	return sid
}

func randomBytes(b []byte) {
	for {
		_, _ = rand.Read(b)
		for _, c := range b {
			if c != 0 {
				return
			}
		}
	}
}

// errorStatus marks span as failed with err, when there is one.
func errorStatus(span trace.Span, err error) {
	if err == nil || errors.Is(err, context.Canceled) {
		return
	}
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
}

// Package telemetry is what the engine tells its operators while it runs:
// Prometheus metrics (counters the parts feed as they work, and
// collectors that read the state kept in the database, and the
// connection pool's, when /metrics is scraped) and OpenTelemetry traces
// (a span per request, command, append, projector batch and automation).
//
// Nothing here registers itself anywhere: the composition root hands a
// prometheus.Registerer to NewMetrics and registers the collectors, and
// builds the tracer provider with NewTracing. The parts it watches
// declare the small observer interfaces they call; this package
// implements them.
package telemetry

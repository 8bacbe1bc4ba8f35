package telemetry_test

import (
	"context"
	"testing"
	"time"

	"crm/internal/telemetry"
)

// TestTracingFromEnv: without an OTLP endpoint tracing is off (spans do
// not record); with one it is on, for either protocol; OTEL_SDK_DISABLED
// turns it off again; an unknown protocol is refused.
func TestTracingFromEnv(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name      string
		env       map[string]string
		recording bool
		fails     bool
	}{
		{"no endpoint", nil, false, false},
		{"http endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, true, false},
		{"traces endpoint over grpc", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, true, false},
		{"sdk disabled", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"}, false, false},
		{"unknown protocol", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "carrier-pigeon"}, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL",
				"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_SDK_DISABLED"} {
				t.Setenv(k, c.env[k])
			}
			tr, err := telemetry.NewTracingFromEnv(ctx, "test")
			if c.fails {
				if err == nil {
					t.Fatal("accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, span := tr.Provider().Tracer("t").Start(ctx, "probe")
			if span.IsRecording() != c.recording {
				t.Errorf("span recording %v, want %v", span.IsRecording(), c.recording)
			}
			span.End()
			stop, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
			defer cancel()
			_ = tr.Shutdown(stop) // nothing listens: the export may fail, the shutdown must return
		})
	}
}

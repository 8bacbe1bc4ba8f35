package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"crm/internal/app"
	"crm/internal/telemetry"
	"crm/internal/testdb"
	"crm/projections"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// TestConversionSpanTree converts a lead on a real server whose spans go
// to an in-process exporter, and checks the trace: the request's span,
// the command's beneath it (aggregate, stream, version), the append
// beneath that; projector batches; and automations handling the
// conversion's events as roots of the same trace, each linked to the
// conversion command's span by the ids the events carry.
func TestConversionSpanTree(t *testing.T) {
	ctx := context.Background()
	exp := tracetest.NewInMemoryExporter()
	tracing, err := telemetry.NewTracing(ctx, "test", exp)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.Build(ctx, app.Config{
		Database:    app.DatabaseConfig{URL: testdb.NewDatabase(t), MaxConns: 20},
		Logger:      slog.New(slog.DiscardHandler),
		MasterKey:   app.StaticKey([]byte("telemetry-test-master-key-0123456789")),
		Commands:    true,
		Projections: &projections.Options{},
		Workflows:   &app.WorkflowsConfig{Run: true},
		HTTP:        &app.HTTPConfig{},
		Tracing:     tracing,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler)
	t.Cleanup(srv.Close)
	_, key, err := a.Keys.Create(ctx, "sales", "sales")
	if err != nil {
		t.Fatal(err)
	}
	post := func(path, body string, headers ...string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		if res.StatusCode >= 300 {
			t.Fatalf("POST %s: %d %s", path, res.StatusCode, raw)
		}
		var out map[string]any
		_ = json.NewDecoder(bytes.NewReader(raw)).Decode(&out)
		return out
	}
	lead := post("/v1/leads", `{"name":"Ada Lovelace","company":"Engines Ltd","email":"ada@example.com","source":"webinar"}`)["id"].(string)
	// Lead scoring scores the captured lead before it moves on (it skips
	// a lead already converted when it gets to it).
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		scored := false
		for _, s := range exp.GetSpans() {
			scored = scored || s.Name == "command ScoreLead"
		}
		if scored {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the captured lead was not scored within 10 s")
		}
	}
	post("/v1/leads/"+lead+"/qualify", `{}`)
	const correlation = "conversion-of-ada"
	conv := post("/v1/leads/"+lead+"/convert", `{"opportunity":{"name":"Engines 2027","amount":"125000.00","currency":"EUR","expected_close_date":"2027-03-31"}}`,
		"X-Correlation-ID", correlation)

	// The conversion's events reach the automations; wait for their spans.
	var spans tracetest.SpanStubs
	deadline := time.Now().Add(15 * time.Second)
	for {
		spans = exp.GetSpans()
		linked := 0
		for _, s := range spans {
			if strings.HasPrefix(s.Name, "automation ") && s.SpanContext.TraceID() == telemetry.TraceIDOf(correlation) {
				linked++
			}
		}
		if linked >= 4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}

	attr := func(s tracetest.SpanStub, key string) attribute.Value {
		for _, kv := range s.Attributes {
			if string(kv.Key) == key {
				return kv.Value
			}
		}
		return attribute.Value{}
	}
	find := func(name string, match func(tracetest.SpanStub) bool) tracetest.SpanStub {
		t.Helper()
		for _, s := range spans {
			if s.Name == name && (match == nil || match(s)) {
				return s
			}
		}
		var names []string
		for _, s := range spans {
			names = append(names, s.Name)
		}
		t.Fatalf("no span %q among %v", name, names)
		return tracetest.SpanStub{}
	}
	inTrace := func(s tracetest.SpanStub) bool { return s.SpanContext.TraceID() == telemetry.TraceIDOf(correlation) }

	request := find("POST /v1/leads/{id}/convert", inTrace)
	if request.Parent.IsValid() || request.SpanKind != trace.SpanKindServer {
		t.Errorf("request span: parent %v, kind %v; want a server root", request.Parent, request.SpanKind)
	}
	if got := attr(request, "http.response.status_code").AsInt64(); got != 200 {
		t.Errorf("request span status %d", got)
	}
	command := find("command /v1/leads/{id}/convert", inTrace)
	if command.Parent.SpanID() != request.SpanContext.SpanID() {
		t.Errorf("command span's parent %s, want the request's %s", command.Parent.SpanID(), request.SpanContext.SpanID())
	}
	for key, want := range map[string]string{"crm.aggregate": "lead", "crm.stream": "lead-" + lead, "crm.outcome": "accepted"} {
		if got := attr(command, key).AsString(); got != want {
			t.Errorf("command span %s = %q, want %q", key, got, want)
		}
	}
	if got, want := attr(command, "crm.version").AsInt64(), int64(conv["version"].(float64)); got != want {
		t.Errorf("command span crm.version = %d, want the version the conversion answered, %d", got, want)
	}
	cmdID := attr(command, "crm.command_id").AsString()
	if command.SpanContext.SpanID() != telemetry.SpanIDOf(cmdID) {
		t.Errorf("command span id %s is not derived from its command id %s", command.SpanContext.SpanID(), cmdID)
	}
	// The append that stored the conversion (an automation's event on
	// the lead may have made an earlier attempt a version conflict).
	appendSpan := find("append", func(s tracetest.SpanStub) bool {
		return s.Parent.SpanID() == command.SpanContext.SpanID() && attr(s, "crm.result").AsString() == "ok"
	})
	if got := attr(appendSpan, "crm.events").AsInt64(); got < 4 {
		t.Errorf("append span crm.events = %d, want the conversion's events", got)
	}
	find("project lists", nil)

	// Automations that handled the conversion's events: roots of the
	// correlation id's trace, linked to the conversion command's span.
	automations := 0
	for _, s := range spans {
		if !strings.HasPrefix(s.Name, "automation ") || !inTrace(s) {
			continue
		}
		automations++
		if s.Parent.IsValid() {
			t.Errorf("%s has parent %s; want a root linked to its cause", s.Name, s.Parent.SpanID())
		}
		if len(s.Links) != 1 || s.Links[0].SpanContext.SpanID() != command.SpanContext.SpanID() ||
			s.Links[0].SpanContext.TraceID() != command.SpanContext.TraceID() {
			t.Errorf("%s links %+v, want the conversion command's span %s", s.Name, s.Links, command.SpanContext.SpanID())
		}
		if got := attr(s, "crm.causing_command_id").AsString(); got != cmdID {
			t.Errorf("%s crm.causing_command_id = %q, want %q", s.Name, got, cmdID)
		}
	}
	if automations < 4 {
		t.Errorf("%d automation spans in the conversion's trace, want one per automation and event", automations)
	}
	// An automation's command lies beneath the automation's span: lead
	// scoring scores the captured lead.
	scoring := find("command ScoreLead", nil)
	parent := find("automation lead_scoring", func(s tracetest.SpanStub) bool { return s.SpanContext.SpanID() == scoring.Parent.SpanID() })
	if len(parent.Links) != 1 {
		t.Errorf("lead scoring's span has links %+v", parent.Links)
	}
}

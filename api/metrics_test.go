package api_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"crm/internal/app"
	"crm/workflows/webhooks"
)

// tool returns the path of a command-line tool a test needs. Without it
// the test is skipped, saying why, on a developer's machine, and fails
// when CI is set.
func tool(t *testing.T, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed (%s); CI must have it", name, install)
	}
	t.Skipf("%s is not installed (%s)", name, install)
	return ""
}

// monitoringDir holds the example alert rules and dashboard.
var monitoringDir = filepath.Join("..", "docs", "monitoring")

// scrape reads /metrics as Prometheus does: the text and its families.
func (e *env) scrape() (string, map[string]*familyInfo) {
	e.t.Helper()
	res, err := http.Get(e.url + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 {
		e.t.Fatalf("GET /metrics: %d %v", res.StatusCode, err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(raw)))
	if err != nil {
		e.t.Fatalf("parse /metrics: %v", err)
	}
	out := map[string]*familyInfo{}
	for name, f := range fams {
		fi := &familyInfo{kind: f.GetType().String(), series: map[string]float64{}}
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue() + float64(m.GetHistogram().GetSampleCount())
			fi.series[strings.Join(labels, ",")] = v
		}
		out[name] = fi
	}
	return string(raw), out
}

// familyInfo is one metric family: its type and each series' value
// (a histogram's sample count), keyed by its labels "a=x,b=y".
type familyInfo struct {
	kind   string
	series map[string]float64
}

// value is a series' value; ok is false when the series is absent.
func (f *familyInfo) value(labels string) (float64, bool) {
	if f == nil {
		return 0, false
	}
	v, ok := f.series[labels]
	return v, ok
}

// TestMetricsAfterTrafficPassPromtool drives real traffic through a
// server with the automations and sealing running (a conversion, a
// refused command, a replay, a stale If-Match, bad input, a webhook that
// fails), scrapes /metrics as Prometheus would, checks the engine's
// series say what happened, and runs promtool check metrics over the
// scrape. The example alert rules pass promtool check rules and their
// unit tests, and every expression of the Grafana dashboard names a
// metric the scrape holds.
func TestMetricsAfterTrafficPassPromtool(t *testing.T) {
	promtool := tool(t, "promtool", "Debian package prometheus")
	e := newEnvWith(t, func(c *app.Config) {
		c.SealInterval = 200 * time.Millisecond
		c.Workflows = &app.WorkflowsConfig{Run: true, Webhooks: webhooks.Options{
			Guard: webhooks.AllowLoopbackInTests(webhooks.Guard{AllowPrivate: true}), Backoff: 10 * time.Millisecond, PollInterval: 50 * time.Millisecond}}
	})
	failing := http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) })}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = failing.Serve(ln) }()
	t.Cleanup(func() { _ = failing.Close() })
	e.must(201, e.do("admin", "POST", "/v1/webhooks", map[string]any{"url": "http://" + ln.Addr().String() + "/hook",
		"events": []string{"lead.*"}, "secret": "0123456789abcdef"}))

	e.must(201, e.do("analyst", "POST", "/v1/reports/custom", map[string]any{"name": "by_source",
		"table":    "CREATE TABLE by_source (source text PRIMARY KEY, n int NOT NULL)",
		"handlers": map[string]string{"lead.captured.v1": "INSERT INTO by_source VALUES (:data.source, 1) ON CONFLICT (source) DO UPDATE SET n = by_source.n + 1"}}))
	lead := e.must(201, e.do("sales", "POST", "/v1/leads", leadBody, "Idempotency-Key", "metrics-1")).str("id")
	e.must(201, e.do("sales", "POST", "/v1/leads", leadBody, "Idempotency-Key", "metrics-1"))
	e.must(200, e.do("sales", "POST", "/v1/leads/"+lead+"/contact-attempts", map[string]any{"channel": "call", "outcome": "reached"}))
	// The scoring automation scores the lead before it moves on (it
	// skips a lead that is already converted when it gets to it).
	e.eventually("the lead's score", func() response { return e.do("sales", "GET", "/v1/leads/"+lead, nil) },
		func(r response) bool { s, _ := r.body["score"].(float64); return s > 0 })
	e.must(200, e.do("sales", "POST", "/v1/leads/"+lead+"/qualify", map[string]any{}))
	e.must(412, e.do("sales", "POST", "/v1/leads/"+lead+"/assign", map[string]any{"owner_id": e.owner("owner-2")}, "If-Match", `"1"`))
	conv := e.must(200, e.do("sales", "POST", "/v1/leads/"+lead+"/convert", map[string]any{"opportunity": map[string]any{
		"name": "Engines 2027", "amount": "125000.00", "currency": "EUR", "expected_close_date": "2027-03-31"}}))
	e.must(409, e.do("sales", "POST", "/v1/leads/"+lead+"/convert", map[string]any{}))
	e.must(400, e.do("sales", "POST", "/v1/leads", `{"name":1}`))
	e.must(200, e.do("sales", "GET", "/v1/leads?min_position="+url.QueryEscape(conv.str("position")), nil))

	var fams map[string]*familyInfo
	var text string
	deadline := time.Now().Add(20 * time.Second)
	for {
		text, fams = e.scrape()
		att, _ := fams["crm_webhook_delivery_attempts_total"].value("outcome=failure")
		handled, _ := fams["crm_automation_events_total"].value("automation=assignment,result=handled")
		seals, _ := fams["crm_seals_total"].value("")
		lag, _ := fams["crm_forwarder_backlog_events"].value("forwarder=forwarder")
		reportLag, ok := fams["crm_custom_report_lag_events"].value("report=by_source")
		if att > 0 && handled > 0 && seals > 0 && lag == 0 && ok && reportLag == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, c := range []struct {
		family, labels string
		check          func(float64) bool
		want           string
	}{
		{"crm_commands_total", "code=,command=/v1/leads,outcome=accepted", eq(1), "1 capture"},
		{"crm_commands_total", "code=,command=/v1/leads,outcome=replayed", eq(1), "1 idempotent replay"},
		// A malformed body is refused against the contract before it
		// becomes a command: it is counted with the HTTP requests.
		{"crm_http_requests_total", "method=POST,route=/v1/leads,status=400", eq(1), "1 malformed capture"},
		{"crm_commands_total", "code=stale_version,command=/v1/leads/{id}/assign,outcome=conflict", eq(1), "1 stale If-Match"},
		{"crm_commands_total", "code=lead_already_converted,command=/v1/leads/{id}/convert,outcome=refused", eq(1), "1 refusal by code"},
		{"crm_commands_total", "code=,command=/v1/leads/{id}/convert,outcome=accepted", eq(1), "1 conversion"},
		{"crm_events_appended_total", "", atLeast(6), "the events of capture, attempt, qualify and conversion"},
		{"crm_appends_total", "result=ok", atLeast(4), "4 appends"},
		{"crm_projector_lag_events", "projector=lists", eq(0), "lists caught up"},
		{"crm_projector_state", "projector=lists,state=running", eq(1), "lists running"},
		{"crm_projector_state", "projector=lists,state=failed", eq(0), "lists not failed"},
		{"crm_projector_checkpoint_position", "projector=lists", atLeast(1), "a checkpoint"},
		{"crm_projector_batch_duration_seconds", "projector=lists", atLeast(1), "batches timed"},
		{"crm_forwarder_backlog_events", "forwarder=forwarder", eq(0), "the forwarder caught up"},
		{"crm_automation_events_total", "automation=assignment,result=handled", atLeast(1), "assignment handled events"},
		{"crm_webhook_delivery_attempts_total", "outcome=failure", atLeast(1), "failed webhook attempts"},
		{"crm_dead_letters_pending", "", eq(0), "no dead letters"},
		{"crm_seals_total", "", atLeast(1), "a seal"},
		{"crm_seal_last_age_seconds", "", func(v float64) bool { return v >= 0 && v < 60 }, "a fresh seal"},
		{"crm_scheduler_deadlines_pending", "", atLeast(0), "reported"},
		{"crm_db_pool_max_connections", "", eq(40), "the pool's size"},
		{"crm_db_pool_acquires_total", "", atLeast(1), "connections taken"},
		{"crm_state_scrape_success", "", eq(1), "state read"},
		{"crm_custom_report_state", "report=by_source,state=running", eq(1), "the report running"},
		{"crm_custom_report_lag_events", "report=by_source", eq(0), "the report caught up"},
		{"crm_commands_total", "code=,command=ScoreLead,outcome=accepted", atLeast(1), "an automation's command"},
	} {
		v, ok := fams[c.family].value(c.labels)
		if !ok || !c.check(v) {
			t.Errorf("%s{%s} = %v (present %v), want %s", c.family, c.labels, v, ok, c.want)
		}
	}
	if t.Failed() {
		t.Logf("scrape:\n%s", grepLines(text, "crm_"))
	}

	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
	for _, args := range [][]string{{"check", "rules", "alerts.yml"}, {"test", "rules", "alerts_test.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = monitoringDir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	checkExpressions(t, fams)
}

// checkExpressions parses the dashboard and the alert rules and checks
// that every metric their expressions name is one the engine exports.
func checkExpressions(t *testing.T, fams map[string]*familyInfo) {
	raw, err := os.ReadFile(filepath.Join(monitoringDir, "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	if dash.Title == "" || len(dash.Panels) < 10 {
		t.Fatalf("dashboard %q has %d panels", dash.Title, len(dash.Panels))
	}
	rules, err := os.ReadFile(filepath.Join(monitoringDir, "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	exprs := map[string]string{}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			exprs["panel "+p.Title] += tg.Expr + " "
		}
	}
	exprs["alerts.yml"] = string(rules)
	metric := regexp.MustCompile(`\bcrm_[a-z_]+`)
	for where, expr := range exprs {
		names := metric.FindAllString(expr, -1)
		if len(names) == 0 && where != "alerts.yml" {
			t.Errorf("%s: no crm_ metric in %q", where, expr)
		}
		for _, n := range names {
			if exported(fams, n) {
				continue
			}
			t.Errorf("%s names %s, which /metrics does not export", where, n)
		}
	}
}

// exported reports whether name is a family of the scrape, or a
// histogram's series of one.
func exported(fams map[string]*familyInfo, name string) bool {
	if _, ok := fams[name]; ok {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if f, ok := fams[strings.TrimSuffix(name, suffix)]; ok && strings.HasSuffix(name, suffix) && f.kind == "HISTOGRAM" {
			return true
		}
	}
	return false
}

func eq(want float64) func(float64) bool      { return func(v float64) bool { return v == want } }
func atLeast(want float64) func(float64) bool { return func(v float64) bool { return v >= want } }

func grepLines(text, prefix string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}

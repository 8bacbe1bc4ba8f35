package api_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"crm/api"
	"crm/internal/app"
)

// TestRateLimitIsPerKey: a key past its burst is refused 429 with
// Retry-After, as problem+json, while another key is still served. The
// refill rate is so slow that no refill can happen during the test.
func TestRateLimitIsPerKey(t *testing.T) {
	e := newEnvWith(t, func(c *app.Config) {
		c.HTTP = &app.HTTPConfig{Metrics: prometheus.NewRegistry(), RateLimit: api.RateLimit{PerSecond: 0.001, Burst: 2}}
	})
	e.must(200, e.do("sales", "GET", "/v1/leads", nil))
	e.must(200, e.do("sales", "GET", "/v1/leads", nil))
	r := e.do("sales", "GET", "/v1/leads", nil)
	if r.status != 429 || r.str("code") != "rate_limited" || r.header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("third request: %d %s", r.status, r.raw)
	}
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
	}
	// A command is refused too, and stores nothing.
	before := e.eventCount()
	if r := e.do("sales", "POST", "/v1/leads", leadWith("email", "rl@example.com")); r.status != 429 {
		t.Fatalf("command over the limit: %d %s", r.status, r.raw)
	}
	if e.eventCount() != before {
		t.Error("a rate-limited command stored events")
	}
	e.must(200, e.do("support", "GET", "/v1/tickets", nil))
}

// TestRequestTimeLimit: a request whose work outlasts the per-request
// limit is cancelled and answered 503 naming the limit (here a
// read-your-writes wait for a position the log will never reach, which
// would otherwise wait its full 5 s).
func TestRequestTimeLimit(t *testing.T) {
	e := newEnvWith(t, func(c *app.Config) {
		c.HTTP = &app.HTTPConfig{Metrics: prometheus.NewRegistry(), RequestTimeout: 100 * time.Millisecond}
	})
	r := e.do("sales", "GET", "/v1/leads?min_position=7fffffffffffffff0000000000000001", nil)
	if r.status != 503 || !strings.Contains(r.str("detail"), "time limit") {
		t.Fatalf("status %d: %s", r.status, r.raw)
	}
}

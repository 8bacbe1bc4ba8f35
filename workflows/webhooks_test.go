package workflows_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// receipt is one request a test receiver got.
type receipt struct {
	event, delivery, signature string
	body                       []byte
}

func TestWebhookRetriedWithSameDeliveryIDAndValidSignature(t *testing.T) {
	e := newEnv(t)
	const secret = "a webhook secret of some length"
	var mu sync.Mutex
	var got []receipt
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, receipt{r.Header.Get("X-CRM-Event"), r.Header.Get("X-CRM-Delivery"), r.Header.Get("X-CRM-Signature"), body})
		first := len(got) == 1
		mu.Unlock()
		if first {
			http.Error(w, "not yet", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()
	for _, bad := range []map[string]any{
		{"url": "http://169.254.169.254/latest/meta-data", "events": []string{"*"}, "secret": secret},
		{"url": "http://[fe80::1]/hook", "events": []string{"*"}, "secret": secret},
		{"url": "http://metadata.google.internal/", "events": []string{"*"}, "secret": secret},
		{"url": "ftp://example.com/hook", "events": []string{"*"}, "secret": secret},
		{"url": receiver.URL, "events": []string{}, "secret": secret},
		{"url": receiver.URL, "events": []string{"Opportunity.*"}, "secret": secret},
		{"url": receiver.URL, "events": []string{"*"}, "secret": "short"},
	} {
		r := e.must(http.StatusBadRequest, e.do("admin", "POST", "/v1/webhooks", bad))
		if errs, _ := r.body["errors"].([]any); len(errs) != 1 {
			t.Fatalf("%v: %s", bad, r.raw)
		}
	}
	e.must(http.StatusForbidden, e.do("manager", "POST", "/v1/webhooks", map[string]any{"url": receiver.URL, "events": []string{"*"}, "secret": secret}))
	hook := e.must(http.StatusCreated, e.do("admin", "POST", "/v1/webhooks", map[string]any{"url": receiver.URL + "/hook", "events": []string{"opportunity.*"}, "secret": secret})).str("id")
	quiet := e.must(http.StatusCreated, e.do("admin", "POST", "/v1/webhooks", map[string]any{"url": receiver.URL + "/quiet", "events": []string{"ticket.closed.v1"}, "secret": secret})).str("id")
	acc := e.account("standard")
	opp := e.opportunity(acc, "1000.00", "2030-01-31")
	type deliveries struct {
		Items []struct {
			EventID   string `json:"event_id"`
			EventType string `json:"event_type"`
			Status    string `json:"status"`
			Attempts  []struct {
				StatusCode *int `json:"status_code"`
			} `json:"attempts"`
		} `json:"items"`
	}
	var ds deliveries
	e.eventually("delivered after a retry", func() bool {
		r := e.must(http.StatusOK, e.do("admin", "GET", "/v1/webhooks/"+hook+"/deliveries", nil))
		ds = deliveries{}
		if err := json.Unmarshal(r.raw, &ds); err != nil {
			t.Fatal(err)
		}
		return len(ds.Items) == 1 && ds.Items[0].Status == "delivered"
	})
	d := ds.Items[0]
	if d.EventType != "opportunity.opened.v1" || len(d.Attempts) != 2 || *d.Attempts[0].StatusCode != 503 || *d.Attempts[1].StatusCode != 204 {
		t.Fatalf("delivery %+v", d)
	}
	opened := e.eventsOf("opportunities", opp, "opportunity.opened.v1")[0]
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 {
		t.Fatalf("%d requests, want 2", len(got))
	}
	for i, r := range got {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(r.body)
		if r.signature != "sha256="+hex.EncodeToString(m.Sum(nil)) {
			t.Fatalf("attempt %d: signature %q does not sign the body", i, r.signature)
		}
		if r.delivery != opened["id"] || r.delivery != d.EventID || r.event != "opportunity.opened.v1" {
			t.Fatalf("attempt %d: delivery %q event %q, want %v", i, r.delivery, r.event, opened["id"])
		}
		var body struct {
			ID     string         `json:"id"`
			Stream string         `json:"stream"`
			Data   map[string]any `json:"data"`
		}
		if err := json.Unmarshal(r.body, &body); err != nil || body.ID != r.delivery || body.Stream != "opportunity-"+opp || body.Data["amount"] != "1000.00" {
			t.Fatalf("attempt %d body %s (%v)", i, r.body, err)
		}
	}
	// Nothing the other subscription did not ask for.
	r := e.must(http.StatusOK, e.do("admin", "GET", "/v1/webhooks/"+quiet+"/deliveries", nil))
	if items, _ := r.body["items"].([]any); len(items) != 0 {
		t.Fatalf("unasked deliveries: %s", r.raw)
	}
	list := e.must(http.StatusOK, e.do("admin", "GET", "/v1/webhooks", nil))
	if items, _ := list.body["items"].([]any); len(items) != 2 {
		t.Fatalf("list %s", list.raw)
	}
	e.must(http.StatusNoContent, e.do("admin", "DELETE", "/v1/webhooks/"+quiet, nil))
	e.must(http.StatusNotFound, e.do("admin", "DELETE", "/v1/webhooks/"+quiet, nil))
}

// Personal data leaves the engine revealed, in the request a receiver
// gets, while the delivery log keeps the event as stored: encrypted, so an
// erasure reaches it.
func TestWebhookRevealsPersonalDataOnlyOnTheWire(t *testing.T) {
	e := newEnv(t)
	const secret = "a webhook secret of some length"
	bodies := make(chan []byte, 16)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		bodies <- body
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()
	e.must(http.StatusCreated, e.do("admin", "POST", "/v1/webhooks", map[string]any{"url": receiver.URL, "events": []string{"lead.captured.v1"}, "secret": secret}))
	const email, phone = "grace.hopper@example.org", "+1 555 0100 4242"
	e.lead(map[string]any{"email": email, "phone": phone, "name": "Grace Hopper"})
	var body []byte
	select {
	case body = <-bodies:
	case <-time.After(30 * time.Second):
		t.Fatal("no delivery within 30 s")
	}
	var got struct {
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Data["email"] != email || got.Data["phone"] != phone || got.Data["name"] != "Grace Hopper" {
		t.Fatalf("the receiver got %s, want the plaintext", body)
	}
	var stored []byte
	if err := e.pool.QueryRow(context.Background(), `SELECT payload FROM crm_webhook_deliveries`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	for _, plain := range []string{email, phone, "Grace Hopper"} {
		if bytes.Contains(stored, []byte(plain)) {
			t.Fatalf("the delivery log holds %q in plaintext: %s", plain, stored)
		}
	}
	if !bytes.Contains(stored, []byte(`"enc:v1:`)) {
		t.Fatalf("the delivery log holds no encrypted value: %s", stored)
	}
}

// TestWebhookURLsOutsideGlobalUnicastRefused: a subscription to any
// special-purpose address, by literal or by a numeric spelling resolvers
// read as one, is a 400 naming url, and nothing is stored.
func TestWebhookURLsOutsideGlobalUnicastRefused(t *testing.T) {
	e := newEnv(t)
	for _, u := range []string{
		"http://10.0.0.1/hook", "http://172.16.5.4/hook", "http://192.168.1.1/hook", "http://100.64.0.1/hook",
		"http://198.18.0.1/hook", "http://198.51.100.7/hook", "http://203.0.113.9/hook", "http://192.0.2.1/hook",
		"http://192.0.0.8/hook", "http://192.88.99.1/hook", "http://240.0.0.1/hook", "http://255.255.255.255/hook",
		"http://224.0.0.251/hook", "http://0.0.0.0/hook", "http://169.254.169.254/latest/meta-data",
		"http://[::]/hook", "http://[::ffff:127.0.0.1]/hook", "http://[::ffff:10.0.0.1]/hook", "http://[::10.0.0.1]/hook",
		"http://[64:ff9b::a9fe:a9fe]/hook", "http://[64:ff9b:1::1]/hook", "http://[100::1]/hook",
		"http://[2001:db8::1]/hook", "http://[2001::1]/hook", "http://[2002:a9fe:a9fe::1]/hook", "http://[fc00::1]/hook",
		"http://[fd00:ec2::254]/hook", "http://[fe80::1%25eth0]/hook", "http://[ff02::1]/hook",
		"http://2130706433/hook", "http://0x7f000001/hook", "http://127.1/hook", "http://metadata.google.internal/",
	} {
		r := e.must(http.StatusBadRequest, e.do("admin", "POST", "/v1/webhooks", map[string]any{"url": u, "events": []string{"*"}, "secret": "a webhook secret of some length"}))
		errs, _ := r.body["errors"].([]any)
		if len(errs) != 1 || errs[0].(map[string]any)["field"] != "url" {
			t.Fatalf("%s: %s", u, r.raw)
		}
	}
	var n int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM crm_webhooks`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d subscriptions stored (%v)", n, err)
	}
}

// TestWebhookFailureDoesNotRevealThePort: an attempt that gets no HTTP
// response is recorded as "delivery failed" with no duration, whatever
// happened on the network; a response that arrived keeps its status.
func TestWebhookFailureDoesNotRevealThePort(t *testing.T) {
	e := newEnv(t)
	const secret = "a webhook secret of some length"
	// A port on loopback that nothing listens on: connection refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/hook"
	_ = l.Close()
	hook := e.must(http.StatusCreated, e.do("admin", "POST", "/v1/webhooks", map[string]any{"url": closed, "events": []string{"account.opened.v1"}, "secret": secret})).str("id")
	e.account("standard")
	var attempt map[string]any
	e.eventually("a failed attempt", func() bool {
		r := e.must(http.StatusOK, e.do("admin", "GET", "/v1/webhooks/"+hook+"/deliveries", nil))
		items, _ := r.body["items"].([]any)
		if len(items) != 1 {
			return false
		}
		attempts, _ := items[0].(map[string]any)["attempts"].([]any)
		if len(attempts) == 0 {
			return false
		}
		attempt = attempts[0].(map[string]any)
		return true
	})
	if attempt["error"] != "delivery failed" || attempt["status_code"] != nil || attempt["duration_ms"] != float64(0) {
		t.Fatalf("attempt %v, want only \"delivery failed\"", attempt)
	}
}

// TestWebhookDeletedStopsQueuedDeliveries: deleting a subscription while
// an attempt is under way and its retry is queued sends nothing more to
// it, while other subscriptions go on being served.
func TestWebhookDeletedStopsQueuedDeliveries(t *testing.T) {
	e := newEnv(t)
	const secret = "a webhook secret of some length"
	var mu sync.Mutex
	hits := 0
	inFlight, release := make(chan struct{}), make(chan struct{})
	doomed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		first := hits == 1
		mu.Unlock()
		if first {
			close(inFlight)
			<-release
		}
		http.Error(w, "try again", http.StatusServiceUnavailable)
	}))
	defer doomed.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	served := make(chan string, 16)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served <- r.Header.Get("X-CRM-Event")
		w.WriteHeader(http.StatusNoContent)
	}))
	defer other.Close()
	hook := e.must(http.StatusCreated, e.do("admin", "POST", "/v1/webhooks", map[string]any{"url": doomed.URL, "events": []string{"account.opened.v1"}, "secret": secret})).str("id")
	e.account("standard")
	select {
	case <-inFlight:
	case <-time.After(30 * time.Second):
		t.Fatal("no delivery attempt within 30 s")
	}
	e.must(http.StatusNoContent, e.do("admin", "DELETE", "/v1/webhooks/"+hook, nil))
	close(release)
	e.eventually("the attempt recorded", func() bool {
		var n int
		_ = e.pool.QueryRow(context.Background(), `SELECT count(*) FROM crm_webhook_attempts a JOIN crm_webhook_deliveries d ON d.id = a.delivery_id WHERE d.webhook_id = $1`, hook).Scan(&n)
		return n == 1
	})
	// Its retry would be due long ago: the worker takes due deliveries in
	// order, so one made after it is served only once it was passed over.
	if _, err := e.pool.Exec(context.Background(), `UPDATE crm_webhook_deliveries SET next_attempt_at = now() - interval '1 hour' WHERE webhook_id = $1`, hook); err != nil {
		t.Fatal(err)
	}
	e.must(http.StatusCreated, e.do("admin", "POST", "/v1/webhooks", map[string]any{"url": other.URL, "events": []string{"lead.captured.v1"}, "secret": secret}))
	e.lead(nil)
	select {
	case <-served:
	case <-time.After(30 * time.Second):
		t.Fatal("the other subscription was not served within 30 s")
	}
	mu.Lock()
	defer mu.Unlock()
	if hits != 1 {
		t.Fatalf("the deleted subscription got %d requests, want 1", hits)
	}
	var status string
	if err := e.pool.QueryRow(context.Background(), `SELECT status FROM crm_webhook_deliveries WHERE webhook_id = $1`, hook).Scan(&status); err != nil || status != "cancelled" {
		t.Fatalf("delivery %q (%v), want cancelled", status, err)
	}
}

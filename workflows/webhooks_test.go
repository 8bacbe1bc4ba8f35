package workflows_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
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

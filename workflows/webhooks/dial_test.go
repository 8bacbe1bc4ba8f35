package webhooks

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// TestDeliveryDialRefusesForbiddenAddress: a delivery whose URL was
// accepted but whose name now resolves to a refused address (DNS
// rebinding to loopback) is refused by the dialler before it connects:
// the receiver never sees the connection.
func TestDeliveryDialRefusesForbiddenAddress(t *testing.T) {
	var mu sync.Mutex
	conns := 0
	receiver := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	receiver.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			conns++
			mu.Unlock()
		}
	}
	receiver.Start()
	defer receiver.Close()
	w := New(nil, Options{Guard: Guard{AllowPrivate: true}})
	// localhost resolves through /etc/hosts to loopback, as a rebound
	// name would; the URL check is passed over here on purpose.
	_, port, _ := net.SplitHostPort(receiver.Listener.Addr().String())
	for _, u := range []string{receiver.URL, "http://localhost:" + port + "/"} {
		if _, err := w.send(context.Background(), u, "secret", "lead.captured.v1", "id", []byte("{}")); !errors.Is(err, ErrForbiddenAddress) {
			t.Fatalf("%s: %v, want the dialler to refuse", u, err)
		}
	}
	// A connection the receiver serves is accepted after any earlier one.
	open := New(nil, Options{Guard: AllowLoopbackInTests(Guard{})})
	if code, err := open.send(context.Background(), receiver.URL, "secret", "lead.captured.v1", "id", []byte("{}")); err != nil || code != http.StatusNoContent {
		t.Fatalf("loopback in tests: %d %v", code, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if conns != 1 {
		t.Fatalf("the receiver saw %d connections, want only the allowed one", conns)
	}
}

package natsbus_test

import (
	"context"
	"encoding/json"
	"net"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"crm/eventstore"
	"crm/workflows"
	"crm/workflows/natsbus"
)

// natsURL is the server the tests use: CRM_TEST_NATS_URL, or the local
// default. Tests skip, saying so, when nothing answers there.
func natsURL(t *testing.T) string {
	t.Helper()
	raw := os.Getenv("CRM_TEST_NATS_URL")
	if raw == "" {
		raw = "nats://127.0.0.1:4222"
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("CRM_TEST_NATS_URL: %v", err)
	}
	c, err := net.DialTimeout("tcp", u.Host, time.Second)
	if err != nil {
		t.Skipf("SKIPPED: no NATS server answers at %s (%v); start nats-server -js or set CRM_TEST_NATS_URL", raw, err)
	}
	_ = c.Close()
	return raw
}

func TestCheckURL(t *testing.T) {
	for raw, ok := range map[string]bool{"nats://127.0.0.1:4222": true, "tls://nats.example.com:4222": true,
		"http://127.0.0.1:4222": false, "nats://": false, "127.0.0.1:4222": false} {
		if err := natsbus.CheckURL(raw); (err == nil) != ok {
			t.Errorf("%s: %v", raw, err)
		}
	}
}

func event(typ string) workflows.Event {
	id := uuid.Must(uuid.NewV7())
	return workflows.Event{IntegrationEvent: workflows.IntegrationEvent{ID: id, Cursor: "0000000000000001000000000000000a",
		Stream: "ticket-" + id.String(), Version: 1, Type: typ, Data: json.RawMessage(`{"ticket_id":"` + id.String() + `"}`),
		Metadata: eventstore.Metadata{Actor: "key:test", CorrelationID: "corr-1"}, RecordedAt: time.Now().UTC()}}
}

func TestPublishesPerTypeSubjectOncePerEvent(t *testing.T) {
	raw := natsURL(t)
	ctx := context.Background()
	// A stream and subjects of this run's own, so runs never see each
	// other's messages.
	run := "t" + uuid.NewString()[:8]
	p, err := natsbus.Connect(ctx, raw, natsbus.Options{SubjectPrefix: "crmtest." + run, Stream: "CRMTEST_" + run})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	conn, err := nats.Connect(raw)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	js, err := conn.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = js.DeleteStream("CRMTEST_" + run) }()
	closed, opened := event("ticket.closed.v1"), event("ticket.opened.v1")
	// A redelivered event (the same id) is stored once.
	for _, ev := range []workflows.Event{closed, opened, closed} {
		if err := p.Handle(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if p.Subject("ticket.closed.v1") != "crmtest."+run+".ticket.closed.v1" {
		t.Fatalf("subject %s", p.Subject("ticket.closed.v1"))
	}
	sub, err := js.SubscribeSync(p.Subject("ticket.closed.v1"), nats.DeliverAll(), nats.AckExplicit())
	if err != nil {
		t.Fatal(err)
	}
	msg, err := sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var got workflows.IntegrationEvent
	if err := json.Unmarshal(msg.Data, &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != closed.ID || got.Type != "ticket.closed.v1" || got.Metadata.Actor != "key:test" || msg.Header.Get(nats.MsgIdHdr) != closed.ID.String() {
		t.Fatalf("message %s headers %v", msg.Data, msg.Header)
	}
	_ = msg.Ack()
	if extra, err := sub.NextMsg(500 * time.Millisecond); err == nil {
		t.Fatalf("duplicate or foreign message on the ticket.closed subject: %s", extra.Data)
	}
	info, err := js.StreamInfo("CRMTEST_" + run)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2 {
		t.Fatalf("%d messages in the stream, want 2 (one per event)", info.State.Msgs)
	}
}

func TestConnectFailsFastWhenNothingAnswers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	start := time.Now()
	if _, err := natsbus.Connect(context.Background(), "nats://"+addr, natsbus.Options{ConnectTimeout: time.Second}); err == nil {
		t.Fatal("connected to nothing")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v", d)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"crm/workflows/natsbus"
)

func TestBusFlagIsChecked(t *testing.T) {
	for _, args := range [][]string{{"serve", "--bus", "http://127.0.0.1:4222"}, {"serve", "--bus", "nats://"}} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "-bus") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr.String())
		}
	}
}

// TestServePublishesToNATS runs crm serve with --bus against the local
// NATS server and reads a captured lead's event from its subject.
func TestServePublishesToNATS(t *testing.T) {
	const url = "nats://127.0.0.1:4222"
	c, err := net.DialTimeout("tcp", "127.0.0.1:4222", time.Second)
	if err != nil {
		t.Skipf("SKIPPED: no NATS server answers at %s (%v); start nats-server -js", url, err)
	}
	_ = c.Close()
	bin := crmBinary(t)
	db := openTestDB(t)
	// The stream must exist before the consumer; serve creates it too.
	p, err := natsbus.Connect(context.Background(), url, natsbus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_ = p.Close()
	conn, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	js, err := conn.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	sub, err := js.SubscribeSync(natsbus.DefaultSubjectPrefix+".lead.captured.v1", nats.DeliverNew())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	proc := startCRM(t, bin, nil, "serve", "--database-url", db.url, "--addr", "127.0.0.1:0",
		"--bootstrap-admin-key", testAdminKey, "--bus", url)
	api := newAPIClient(waitServing(t, proc.stderr, proc.exited))
	lead := api.mustDo(t, http.StatusCreated, "POST", "/v1/leads", map[string]any{"name": "Ada", "company": "Engines",
		"email": "ada-nats@example.com", "source": "web"}).commandID(t)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		msg, err := sub.NextMsg(time.Until(deadline))
		if err != nil {
			break
		}
		var ev struct {
			Stream string `json:"stream"`
			Type   string `json:"type"`
		}
		if err := json.Unmarshal(msg.Data, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Stream == "lead-"+lead {
			if ev.Type != "lead.captured.v1" {
				t.Fatalf("type %s", ev.Type)
			}
			return
		}
	}
	t.Fatalf("lead %s's capture never reached NATS; server log:\n%s", lead, proc.stderr.String())
}

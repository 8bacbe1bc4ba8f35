package webhooks

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"crm/internal/pgmigrate"
	"crm/internal/testdb"
	"crm/workflows"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// TestSubscriptionsApplyToTheNextEvent: a subscription created through a
// Webhooks matches the very next event it handles; one created by
// another process matches within SubscriptionsTTL; a deleted one stops
// matching at once.
func TestSubscriptionsApplyToTheNextEvent(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testdb.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := pgmigrate.Migrate(ctx, pool, Migrations); err != nil {
		t.Fatal(err)
	}
	const ttl = 50 * time.Millisecond
	here := New(pool, Options{SubscriptionsTTL: ttl})
	other := New(pool, Options{SubscriptionsTTL: ttl})
	event := func() workflows.Event {
		return workflows.Event{IntegrationEvent: workflows.IntegrationEvent{ID: uuid.Must(uuid.NewV7()), Stream: "lead-1", Version: 1,
			Type: "lead.captured.v1", Data: json.RawMessage(`{}`), RecordedAt: time.Now().UTC()}}
	}
	delivered := func(ev workflows.Event) int {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM crm_webhook_deliveries WHERE event_id = $1`, ev.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	handle := func(w *Webhooks, ev workflows.Event) {
		t.Helper()
		if err := w.Handle(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	// Both have read the (empty) list.
	first := event()
	handle(here, first)
	handle(other, first)
	body, _ := json.Marshal(map[string]any{"url": "https://hooks.example.com/crm", "events": []string{"lead.*"}, "secret": "a webhook secret of some length"})
	hook, err := here.Create(ctx, body)
	if err != nil {
		t.Fatal(err)
	}
	next := event()
	handle(here, next)
	if n := delivered(next); n != 1 {
		t.Fatalf("the event after the subscription, handled where it was created: %d deliveries, want 1", n)
	}
	time.Sleep(2 * ttl)
	later := event()
	handle(other, later)
	if n := delivered(later); n != 1 {
		t.Fatalf("an event handled by another process after the TTL: %d deliveries, want 1", n)
	}
	if err := here.Delete(ctx, hook.ID); err != nil {
		t.Fatal(err)
	}
	gone := event()
	handle(here, gone)
	if n := delivered(gone); n != 0 {
		t.Fatalf("the event after the deletion: %d deliveries, want 0", n)
	}
}

package workflows

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/google/uuid"

	"crm/aggregates"
	"crm/eventstore"
)

func capturedMessage(t *testing.T, id uuid.UUID, name string) []byte {
	t.Helper()
	data, _ := json.Marshal(aggregates.LeadCapturedEvent{LeadID: "l-1", Name: name})
	msg, err := newMessage(eventstore.Event{ID: id, StreamID: "lead-l-1", Version: 1, Type: "lead.captured.v1", SchemaVersion: 1, Data: data})
	if err != nil {
		t.Fatal(err)
	}
	return msg.Payload
}

func TestDecodeCacheSharesOneDecodeAndNoticesOtherPayloads(t *testing.T) {
	codec, err := eventstore.DomainRegistry()
	if err != nil {
		t.Fatal(err)
	}
	c := newDecodeCache(codec)
	id := uuid.New()
	first, err := newMessage(eventstore.Event{ID: id, StreamID: "lead-l-1", Version: 1, Type: "lead.captured.v1", SchemaVersion: 1})
	if err != nil {
		t.Fatal(err)
	}
	first.Payload = capturedMessage(t, id, "Ada")
	// Copies of one message, decoded concurrently, share one result.
	results := make([]Event, 16)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ev, err := c.decode(first.Copy())
			if err != nil {
				t.Error(err)
			}
			results[i] = ev
		}()
	}
	wg.Wait()
	for _, ev := range results {
		got, ok := ev.Domain.(aggregates.LeadCapturedEvent)
		if !ok || got.Name != "Ada" || ev.ID != id {
			t.Fatalf("decoded %+v", ev)
		}
	}
	if n := len(c.byID); n != 1 {
		t.Fatalf("%d cache entries for one message", n)
	}
	// The same UUID with another payload (a replayed dead letter, say) is
	// decoded again, not answered from the cache.
	other := first.Copy()
	other.Payload = capturedMessage(t, id, "Grace")
	ev, err := c.decode(other)
	if err != nil {
		t.Fatal(err)
	}
	if got := ev.Domain.(aggregates.LeadCapturedEvent); got.Name != "Grace" {
		t.Fatalf("stale decode %+v", got)
	}
	// The cache stays bounded.
	for i := range 3 * decodeCacheSize {
		m := first.Copy()
		m.UUID = fmt.Sprint("m-", i)
		if _, err := c.decode(m); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.byID) != decodeCacheSize || len(c.order) != decodeCacheSize {
		t.Fatalf("cache holds %d (%d in order), want %d", len(c.byID), len(c.order), decodeCacheSize)
	}
	// A malformed payload is an error for every copy.
	bad := first.Copy()
	bad.UUID, bad.Payload = "bad", []byte("{")
	if _, err := c.decode(bad); err == nil {
		t.Fatal("malformed payload decoded")
	}
	if _, err := c.decode(bad.Copy()); err == nil {
		t.Fatal("malformed payload decoded from the cache")
	}
}

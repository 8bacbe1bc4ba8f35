package repository_test

import (
	"context"
	"errors"
	"testing"

	"crm/aggregates"
	"crm/commands"
	"crm/eventstore"
	"crm/internal/repository"
)

// Commands that create an entity under an id they generate do not read
// its stream first; if the generator ever repeated an id, the append
// must still refuse, the retry read the stream, and the aggregate refuse
// as it would have without the shortcut.
func TestCreatingUnderAnExistingIDIsRefusedNotOverwritten(t *testing.T) {
	ctx := context.Background()
	pool, store, _ := setup(t)
	codec, err := eventstore.DomainRegistry()
	if err != nil {
		t.Fatal(err)
	}
	repo := repository.New(pool, store, codec, testVault(t, pool), repository.Options{InTx: store})
	env := func() commands.Envelope { return commands.Envelope{Metadata: commands.Metadata{Actor: "user:test"}} }
	const id = "01900000-0000-7000-8000-000000000001"
	h := commands.New(repo, commands.Options{NewID: func() string { return id }})
	first := &commands.CaptureLead{Envelope: env(), CaptureLead: aggregates.CaptureLead{Name: "Ada", Company: "Engines", Email: "ada@example.com", Source: "web"}}
	if err := h.CaptureLead(ctx, first); err != nil {
		t.Fatal(err)
	}
	if !first.Result.Created || first.Result.Version != 1 {
		t.Fatalf("first capture: %+v", first.Result)
	}
	again := &commands.CaptureLead{Envelope: env(), CaptureLead: aggregates.CaptureLead{Name: "Grace", Company: "Navy", Email: "grace@example.com", Source: "web"}}
	err = h.CaptureLead(ctx, again)
	var de *aggregates.Error
	if !errors.As(err, &de) || de.Code != "lead_exists" {
		t.Fatalf("capture under an existing id: %v, want lead_exists", err)
	}
	evs, err := store.ReadStream(ctx, commands.StreamID(commands.TypeLead, id), eventstore.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 {
		t.Fatalf("the stream holds %d events, want the first capture's 1", len(evs))
	}
	// The same holds for an account.
	acct := &commands.OpenAccount{Envelope: env(), OpenAccount: aggregates.OpenAccount{Name: "Engines"}}
	if err := h.OpenAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	err = h.OpenAccount(ctx, &commands.OpenAccount{Envelope: env(), OpenAccount: aggregates.OpenAccount{Name: "Navy"}})
	if !errors.As(err, &de) || de.Code != "account_exists" {
		t.Fatalf("open account under an existing id: %v, want account_exists", err)
	}
}

package repository_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"crm/aggregates"
	"crm/commands"
	"crm/eventstore"
	"crm/eventstore/postgres"
	"crm/pgmigrate"
	"crm/repository"
	"crm/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// appendOnly hides the PostgreSQL store's in-transaction append, so the
// repository takes the path it uses for a store outside PostgreSQL
// (EventStoreDB).
type appendOnly struct{ eventstore.Store }

func setup(t *testing.T) (*pgxpool.Pool, *postgres.Store, *repository.Repository) {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testdb.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := postgres.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if err := pgmigrate.Migrate(ctx, pool, repository.Migrations); err != nil {
		t.Fatal(err)
	}
	store := postgres.New(pool, postgres.Options{})
	t.Cleanup(func() { _ = store.Close() })
	codec, err := eventstore.DomainRegistry()
	if err != nil {
		t.Fatal(err)
	}
	return pool, store, repository.New(pool, appendOnly{store}, codec)
}

func capture(lead, email string) commands.Batch {
	return commands.Batch{
		Changes:  []commands.Change{{Stream: "lead-" + lead, Expected: 0, Events: []aggregates.Event{aggregates.LeadCapturedEvent{LeadID: lead, Name: "Ada", Email: email}}}},
		Claims:   []commands.Claim{{Kind: commands.ClaimEmail, Key: email, OwnerType: "lead", OwnerID: lead}},
		Metadata: commands.Metadata{Actor: "user:test", CommandID: "cmd-" + lead},
	}
}

// TestSaveOutsidePostgres: with a store that cannot append inside the
// PostgreSQL transaction, a taken claim still stores nothing, and a
// successful save stores the events, the claim and the idempotent response.
func TestSaveOutsidePostgres(t *testing.T) {
	ctx := context.Background()
	pool, store, repo := setup(t)
	b := capture("l1", "ada@example.com")
	b.Response = &commands.StoredResponse{Scope: "k1", Key: "idem-1", RequestHash: "h", Render: func(s commands.Saved) (int, []byte) {
		return 201, []byte(s.Position)
	}}
	saved, err := repo.Save(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if saved.Versions["lead-l1"] != 1 || saved.Position == "" {
		t.Fatalf("saved %+v", saved)
	}
	var body []byte
	if err := pool.QueryRow(ctx, `SELECT body FROM crm_idempotency WHERE scope = 'k1' AND key = 'idem-1'`).Scan(&body); err != nil || string(body) != saved.Position {
		t.Errorf("idempotent response %q, %v; want the position %q", body, err, saved.Position)
	}

	// Another lead claiming the same email stores no event.
	_, err = repo.Save(ctx, capture("l2", "ada@example.com"))
	var taken *commands.ClaimTakenError
	if !errors.As(err, &taken) {
		t.Fatalf("got %v, want a taken claim", err)
	}
	if _, err := store.ReadStream(ctx, "lead-l2", eventstore.ReadOptions{}); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Errorf("refused save stored events: %v", err)
	}

	// A version conflict leaves the claim free.
	_, err = repo.Save(ctx, capture("l1", "grace@example.com"))
	if !errors.Is(err, commands.ErrVersionConflict) {
		t.Fatalf("got %v, want a version conflict", err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM crm_claims WHERE key = 'grace@example.com'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("conflicting save kept its claim (%d rows, %v)", n, err)
	}
}

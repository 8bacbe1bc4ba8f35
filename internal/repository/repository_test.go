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
	"crm/internal/pgmigrate"
	"crm/internal/privacy"
	"crm/internal/repository"
	"crm/internal/testdb"
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
	if err := pgmigrate.Migrate(ctx, pool, privacy.Migrations); err != nil {
		t.Fatal(err)
	}
	store := postgres.New(pool, postgres.Options{})
	t.Cleanup(func() { _ = store.Close() })
	codec, err := eventstore.DomainRegistry()
	if err != nil {
		t.Fatal(err)
	}
	return pool, store, repository.New(pool, appendOnly{store}, codec, testVault(t, pool), repository.Options{})
}

// testVault is a vault over pool (migrated) with a fixed master key.
func testVault(t *testing.T, pool *pgxpool.Pool) *privacy.Vault {
	t.Helper()
	v, err := privacy.New(pool, []byte("repository-test-master-key-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	return v
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
	b.Response = &commands.StoredResponse{Scope: "k1", Key: "idem-1", RequestHash: "h", Target: "lead-l1",
		Result: commands.Result{ID: "l1", Created: true}}
	saved, err := repo.Save(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if saved.Versions["lead-l1"] != 1 || saved.Position == "" {
		t.Fatalf("saved %+v", saved)
	}
	rec, ok, err := repo.LookupResponse(ctx, "k1", "idem-1")
	if err != nil || !ok || rec.RequestHash != "h" || rec.Result == nil || rec.Result.Position != saved.Position ||
		rec.Result.Version != 1 || !rec.Result.Created || len(rec.Result.Events) != 1 {
		t.Errorf("idempotency record %+v (result %+v), %v, %v; want the position %q, version 1, one event", rec, rec.Result, ok, err, saved.Position)
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

// TestReplayOfARecordStoredBeforeResults: a record holding only its
// rendered response (stored before results were kept) still replays it.
func TestReplayOfARecordStoredBeforeResults(t *testing.T) {
	ctx := context.Background()
	pool, _, repo := setup(t)
	if _, err := pool.Exec(ctx, `INSERT INTO crm_idempotency (scope, key, request_hash, status, body) VALUES ('k', 'old', 'h', 201, '{"id":"x","version":1}')`); err != nil {
		t.Fatal(err)
	}
	rec, ok, err := repo.LookupResponse(ctx, "k", "old")
	if err != nil || !ok || rec.Result != nil || rec.Status != 201 || string(rec.Body) != `{"id":"x","version":1}` {
		t.Fatalf("old record %+v, %v, %v", rec, ok, err)
	}
	if _, ok, err := repo.LookupResponse(ctx, "k", "none"); ok || err != nil {
		t.Fatalf("a missing key: %v, %v", ok, err)
	}
	// A record must hold a result or a rendered response.
	if _, err := pool.Exec(ctx, `INSERT INTO crm_idempotency (scope, key, request_hash) VALUES ('k', 'empty', 'h')`); err == nil {
		t.Fatal("a record with neither a result nor a response was stored")
	}
}

// TestRehashEmailClaims: reservations stored with the plain email (as
// before emails were hashed) are replaced by their keyed hash with the
// same owner, so they still refuse a duplicate; a second run finds none.
func TestRehashEmailClaims(t *testing.T) {
	ctx := context.Background()
	pool, _, repo := setup(t)
	if _, err := pool.Exec(ctx, `INSERT INTO crm_claims (kind, key, owner_type, owner_id) VALUES ('email', 'old@example.com', 'lead', 'l-old'),
('contact', 'c1', 'account', 'a1')`); err != nil {
		t.Fatal(err)
	}
	if n, err := repo.RehashEmailClaims(ctx); err != nil || n != 1 {
		t.Fatalf("rehash: %d, %v", n, err)
	}
	if n, err := repo.RehashEmailClaims(ctx); err != nil || n != 0 {
		t.Fatalf("second rehash: %d, %v", n, err)
	}
	var plain int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM crm_claims WHERE key LIKE '%@%'`).Scan(&plain); err != nil || plain != 0 {
		t.Fatalf("plain emails left: %d, %v", plain, err)
	}
	if typ, id, ok, err := repo.ClaimOwner(ctx, commands.ClaimEmail, "old@example.com"); err != nil || !ok || typ != "lead" || id != "l-old" {
		t.Errorf("owner after rehash: %s %s %v %v", typ, id, ok, err)
	}
	if _, id, ok, _ := repo.ClaimOwner(ctx, commands.ClaimContact, "c1"); !ok || id != "a1" {
		t.Error("another kind of claim changed")
	}
	_, err := repo.Save(ctx, capture("0198a000-0000-7000-8000-0000000000cc", "old@example.com"))
	var taken *commands.ClaimTakenError
	if !errors.As(err, &taken) || taken.OwnerID != "l-old" {
		t.Errorf("duplicate of a rehashed email: %v", err)
	}
}

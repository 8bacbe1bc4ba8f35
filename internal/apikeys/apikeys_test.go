package apikeys_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5/pgxpool"

	"crm/internal/apikeys"
	"crm/internal/pgmigrate"
	"crm/internal/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

func pool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	p, err := pgxpool.New(context.Background(), testdb.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// TestNamesAreUnique: a second key with a taken name, even the name of a
// revoked key, is refused with ErrNameTaken, so a name in the audit always
// means one key; the actors of two keys always differ.
func TestNamesAreUnique(t *testing.T) {
	ctx := context.Background()
	p := pool(t)
	if err := pgmigrate.Migrate(ctx, p, apikeys.Migrations); err != nil {
		t.Fatal(err)
	}
	s := apikeys.New(p)
	first, _, err := s.Create(ctx, "ops", "sales")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Create(ctx, "ops", "admin"); !errors.Is(err, apikeys.ErrNameTaken) {
		t.Fatalf("second key named ops: %v, want ErrNameTaken", err)
	}
	if err := s.Revoke(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Create(ctx, "ops", "admin"); !errors.Is(err, apikeys.ErrNameTaken) {
		t.Fatalf("reusing a revoked key's name: %v, want ErrNameTaken", err)
	}
	other, _, err := s.Create(ctx, "ops2", "sales")
	if err != nil {
		t.Fatal(err)
	}
	if want := "key:" + first.ID.String() + ":ops"; first.Principal() != want {
		t.Errorf("principal %q, want %q", first.Principal(), want)
	}
	if first.Principal() == other.Principal() {
		t.Error("two keys share an actor")
	}
}

// TestMigrationRenamesDuplicateNames: a database from before names were
// unique, holding duplicates, migrates: the oldest key keeps the name, the
// later ones get "<name> (<id>)", and their secrets still work.
func TestMigrationRenamesDuplicateNames(t *testing.T) {
	ctx := context.Background()
	p := pool(t)
	first, err := fs.ReadFile(apikeys.Migrations.FS, "001_api_keys.sql")
	if err != nil {
		t.Fatal(err)
	}
	old := apikeys.Migrations
	old.FS = fstest.MapFS{"001_api_keys.sql": {Data: first}}
	if err := pgmigrate.Migrate(ctx, p, old); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Exec(ctx, `INSERT INTO crm_api_keys (id, name, role, key_hash, created_at) VALUES
 ('01900000-0000-7000-8000-000000000003', 'ops', 'admin', '\x03', '2026-01-01T00:00:00Z'),
 ('01900000-0000-7000-8000-000000000001', 'ops', 'sales', '\x01', '2026-01-02T00:00:00Z'),
 ('01900000-0000-7000-8000-000000000002', 'ops', 'sales', '\x02', '2026-01-02T00:00:00Z'),
 ('01900000-0000-7000-8000-000000000004', 'solo', 'sales', '\x04', '2026-01-01T00:00:00Z')`); err != nil {
		t.Fatal(err)
	}
	if err := pgmigrate.Migrate(ctx, p, apikeys.Migrations); err != nil {
		t.Fatal(err)
	}
	keys, err := apikeys.New(p).List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, k := range keys {
		got[k.ID.String()] = k.Name
	}
	want := map[string]string{
		"01900000-0000-7000-8000-000000000003": "ops",
		"01900000-0000-7000-8000-000000000001": "ops (01900000-0000-7000-8000-000000000001)",
		"01900000-0000-7000-8000-000000000002": "ops (01900000-0000-7000-8000-000000000002)",
		"01900000-0000-7000-8000-000000000004": "solo",
	}
	for id, name := range want {
		if got[id] != name {
			t.Errorf("key %s named %q, want %q", id, got[id], name)
		}
	}
	if _, _, err := apikeys.New(p).Create(ctx, "ops", "sales"); !errors.Is(err, apikeys.ErrNameTaken) {
		t.Fatalf("after the migration: %v, want ErrNameTaken", err)
	}
}

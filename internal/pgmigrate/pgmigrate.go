// Package pgmigrate applies a package's embedded SQL migrations to
// PostgreSQL with tern. Each package that owns tables (the event store, the
// API keys, the read models) keeps its own migration set and version table,
// so sets evolve independently. Migrating takes an advisory lock, so several
// processes may migrate at once.
package pgmigrate

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"
)

// Set is one package's migrations: SQL files named NNN_name.sql in FS, and
// the table that records which are applied.
type Set struct {
	// Name labels the set in errors ("event store").
	Name string
	// FS holds the migration files at its root.
	FS fs.FS
	// VersionTable records the applied version.
	VersionTable string
}

// Migrate applies the set's pending migrations.
func Migrate(ctx context.Context, pool *pgxpool.Pool, set Set) error {
	return with(ctx, pool, set, func(m *migrate.Migrator) error {
		if err := m.Migrate(ctx); err != nil {
			return fmt.Errorf("migrate %s: %w", set.Name, err)
		}
		return nil
	})
}

// Status reports the applied and the latest version of the set.
func Status(ctx context.Context, pool *pgxpool.Pool, set Set) (current, latest int32, err error) {
	err = with(ctx, pool, set, func(m *migrate.Migrator) error {
		current, err = m.GetCurrentVersion(ctx)
		if err != nil {
			return fmt.Errorf("%s schema version: %w", set.Name, err)
		}
		latest = int32(len(m.Migrations))
		return nil
	})
	return current, latest, err
}

func with(ctx context.Context, pool *pgxpool.Pool, set Set, fn func(*migrate.Migrator) error) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("%s migrations: acquire connection: %w", set.Name, err)
	}
	defer conn.Release()
	m, err := migrate.NewMigrator(ctx, conn.Conn(), set.VersionTable)
	if err != nil {
		return fmt.Errorf("%s migrations: %w", set.Name, err)
	}
	if err := m.LoadMigrations(set.FS); err != nil {
		return fmt.Errorf("%s migrations: load: %w", set.Name, err)
	}
	return fn(m)
}

// Sub returns the subtree dir of an embedded file system, for Set.FS. It
// panics if dir is not a valid path, which is a programming error.
func Sub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(fmt.Sprintf("pgmigrate: %v", err))
	}
	return sub
}

package postgres

import (
	"context"
	"embed"

	"github.com/jackc/pgx/v5/pgxpool"

	"crm/internal/pgmigrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations is the event store's migration set.
var Migrations = pgmigrate.Set{
	Name:         "event store",
	FS:           pgmigrate.Sub(migrationFiles, "migrations"),
	VersionTable: "crm_eventstore_schema_version",
}

// Migrate applies the event store's pending migrations. It is safe to run
// from several processes at once.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return pgmigrate.Migrate(ctx, pool, Migrations)
}

// MigrationStatus reports the applied and the latest schema version.
func MigrationStatus(ctx context.Context, pool *pgxpool.Pool) (current, latest int32, err error) {
	return pgmigrate.Status(ctx, pool, Migrations)
}

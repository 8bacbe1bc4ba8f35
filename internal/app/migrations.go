package app

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"crm/eventstore/postgres"
	"crm/internal/apikeys"
	"crm/internal/customreports"
	"crm/internal/pgmigrate"
	"crm/internal/privacy"
	"crm/internal/repository"
	"crm/internal/requestlog"
	"crm/projections"
	"crm/workflows"
	"crm/workflows/scheduler"
	"crm/workflows/webhooks"
)

// Migrations are every package's migrations, applied in this order.
var Migrations = []pgmigrate.Set{
	postgres.Migrations,
	apikeys.Migrations,
	repository.Migrations,
	projections.Migrations,
	requestlog.Migrations,
	workflows.Migrations,
	scheduler.Migrations,
	webhooks.Migrations,
	customreports.Migrations,
	privacy.Migrations,
}

// Migrate applies every pending migration of every set, in order.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	for _, set := range Migrations {
		if err := pgmigrate.Migrate(ctx, pool, set); err != nil {
			return err
		}
	}
	return nil
}

// SchemaReady reports whether every migration set is at its latest
// version, naming the first that is not.
func SchemaReady(ctx context.Context, pool *pgxpool.Pool) error {
	for _, set := range Migrations {
		cur, latest, err := pgmigrate.Status(ctx, pool, set)
		if err != nil {
			return err
		}
		if cur != latest {
			return fmt.Errorf("%s schema at version %d of %d: run crm migrate", set.Name, cur, latest)
		}
	}
	return nil
}

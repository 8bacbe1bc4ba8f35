package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/jackc/pgx/v5/pgxpool"

	"crm/eventstore"
	"crm/eventstore/esdb"
	"crm/eventstore/postgres"
	"crm/internal/apikeys"
	"crm/internal/customreports"
	"crm/internal/embeddedpg"
	"crm/internal/pgmigrate"
	"crm/internal/privacy"
	"crm/internal/repository"
	"crm/internal/requestlog"
	"crm/projections"
	"crm/workflows"
	"crm/workflows/scheduler"
	"crm/workflows/webhooks"
)

// openLog opens what a command reading the event log needs: the migrated
// database and the event store, EventStoreDB at esURL or (empty) the
// PostgreSQL store in that database. closeLog releases both.
func openLog(ctx context.Context, dbc dbConfig, esURL string, log *slog.Logger) (db *database, store eventstore.Store, closeLog func(), err error) {
	var es *esdb.Store
	if esURL != "" {
		if es, err = openEventStore(ctx, esURL, nil, log); err != nil {
			return nil, nil, nil, err
		}
	}
	if db, err = openDatabase(ctx, dbc, log); err != nil {
		if es != nil {
			_ = es.Close()
		}
		return nil, nil, nil, err
	}
	if err = db.migrate(ctx); err != nil {
		db.close()
		if es != nil {
			_ = es.Close()
		}
		return nil, nil, nil, err
	}
	if es != nil {
		store = es
	} else {
		store = postgres.New(db.pool, postgres.Options{Logger: log})
	}
	return db, store, func() {
		_ = store.Close()
		db.close()
	}, nil
}

// migrationSets are every package's migrations, applied in this order.
var migrationSets = []pgmigrate.Set{postgres.Migrations, apikeys.Migrations, repository.Migrations, projections.Migrations, requestlog.Migrations,
	workflows.Migrations, scheduler.Migrations, webhooks.Migrations,
	customreports.Migrations, privacy.Migrations}

// database is an open connection pool and, on the embedded default, the
// server behind it.
type database struct {
	pool     *pgxpool.Pool
	embedded *embeddedpg.Server
	dataDir  string
}

// openDatabase connects to --database-url, or starts the embedded server in
// --data-dir and connects to its "crm" database.
func openDatabase(ctx context.Context, c dbConfig, log *slog.Logger) (*database, error) {
	db := &database{}
	url := c.url.value
	if url == "" {
		dir, err := filepath.Abs(c.dataDir)
		if err != nil {
			return nil, fmt.Errorf("data dir %s: %w", c.dataDir, err)
		}
		srv, err := embeddedpg.Start(ctx, embeddedpg.Options{DataDir: dir, Logger: log})
		if err != nil {
			if errors.Is(err, embeddedpg.ErrNoBinaries) {
				return nil, err
			}
			return nil, fmt.Errorf("embedded PostgreSQL in %s: %w", dir, err)
		}
		db.embedded, db.dataDir = srv, dir
		if err := srv.CreateDatabase(ctx, "crm"); err != nil {
			db.close()
			return nil, err
		}
		url = srv.URL("crm")
		log.Info("embedded PostgreSQL running", "data_dir", dir)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		db.close()
		return nil, fmt.Errorf("database url: %w", err)
	}
	cfg.MaxConns = int32(c.maxConns)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		db.close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	db.pool = pool
	if err := pool.Ping(ctx); err != nil {
		db.close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return db, nil
}

// migrate applies every pending migration.
func (db *database) migrate(ctx context.Context) error {
	for _, set := range migrationSets {
		if err := pgmigrate.Migrate(ctx, db.pool, set); err != nil {
			return err
		}
	}
	return nil
}

// Ready implements api.Readiness: the database answers and every migration
// set is at its latest version.
func (db *database) Ready(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("database unreachable: %w", err)
	}
	for _, set := range migrationSets {
		cur, latest, err := pgmigrate.Status(ctx, db.pool, set)
		if err != nil {
			return err
		}
		if cur != latest {
			return fmt.Errorf("%s schema at version %d of %d: run crm migrate", set.Name, cur, latest)
		}
	}
	return nil
}

// close releases the pool and stops the embedded server. It is idempotent.
func (db *database) close() {
	if db.pool != nil {
		db.pool.Close()
		db.pool = nil
	}
	if db.embedded != nil {
		_ = db.embedded.Stop()
		db.embedded = nil
	}
}

package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"crm/internal/embeddedpg"
)

// DatabaseConfig selects the PostgreSQL database: a server at URL, or
// (URL empty) the embedded server in DataDir.
type DatabaseConfig struct {
	// URL is a PostgreSQL connection string; empty runs the embedded
	// server in DataDir.
	URL string
	// DataDir holds the embedded server (and the keys the command line
	// keeps beside it).
	DataDir string
	// MaxConns bounds the pool; 0 keeps pgx's default.
	MaxConns int
	// RestartAttempts is how often the embedded server is restarted in a
	// row after it dies before the database is given up (Failed); 0 means
	// 5.
	RestartAttempts int
	// RestartBackoff is the wait after the first failed restart; it
	// doubles after each (0 means 500 ms).
	RestartBackoff time.Duration
}

// Database is an open connection pool and, on the embedded default, the
// server behind it.
type Database struct {
	// Pool is the connection pool.
	Pool     *pgxpool.Pool
	embedded *embeddedpg.Server
	dataDir  string
	// failed receives why the embedded server was given up; stopWatch
	// and watched end the watcher.
	failed    chan error
	stopWatch context.CancelFunc
	watched   chan struct{}
}

// Failed returns a channel that receives one error when the embedded
// server died and could not be restarted: the database is gone for good
// and the process should exit. With a database URL it never receives (the
// pool reconnects when that server returns).
func (db *Database) Failed() <-chan error { return db.failed }

// Embedded reports whether the database is the embedded server.
func (db *Database) Embedded() bool { return db.embedded != nil }

// DataDir is the embedded server's data directory (absolute), empty with
// a database URL.
func (db *Database) DataDir() string { return db.dataDir }

// StartEmbedded starts the embedded server in dir and creates its "crm"
// database, returning the server and that database's URL.
func StartEmbedded(ctx context.Context, dir string, log *slog.Logger) (*embeddedpg.Server, string, error) {
	srv, err := embeddedpg.Start(ctx, embeddedpg.Options{DataDir: dir, Logger: log})
	if err != nil {
		if errors.Is(err, embeddedpg.ErrNoBinaries) {
			return nil, "", err
		}
		return nil, "", fmt.Errorf("embedded PostgreSQL in %s: %w", dir, err)
	}
	if err := srv.CreateDatabase(ctx, "crm"); err != nil {
		_ = srv.Stop()
		return nil, "", err
	}
	return srv, srv.URL("crm"), nil
}

// OpenDatabase connects to c.URL, or starts the embedded server in
// c.DataDir and connects to its "crm" database. It does not migrate.
func OpenDatabase(ctx context.Context, c DatabaseConfig, log *slog.Logger) (*Database, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	db := &Database{}
	url := c.URL
	if url == "" {
		dir, err := filepath.Abs(c.DataDir)
		if err != nil {
			return nil, fmt.Errorf("data dir %s: %w", c.DataDir, err)
		}
		srv, u, err := StartEmbedded(ctx, dir, log)
		if err != nil {
			return nil, err
		}
		db.embedded, db.dataDir, url = srv, dir, u
		log.Info("embedded PostgreSQL running", "data_dir", dir)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("database url: %w", err)
	}
	if c.MaxConns > 0 {
		cfg.MaxConns = int32(c.MaxConns)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	db.Pool = pool
	if err := pool.Ping(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	db.failed = make(chan error, 1)
	if db.embedded != nil {
		wctx, cancel := context.WithCancel(context.Background())
		db.stopWatch, db.watched = cancel, make(chan struct{})
		go func() {
			defer close(db.watched)
			db.watch(wctx, c, log)
		}()
	}
	return db, nil
}

// watch restarts the embedded server whenever its postmaster exits (a
// crash, an OOM kill, a SIGKILL): up to c.RestartAttempts tries in a row
// with doubling waits, the pool's connections to the dead server dropped
// once it is back. When every try fails it sends the reason to Failed,
// in one line, and stops.
func (db *Database) watch(ctx context.Context, c DatabaseConfig, log *slog.Logger) {
	attempts, backoff := c.RestartAttempts, c.RestartBackoff
	if attempts <= 0 {
		attempts = 5
	}
	if backoff <= 0 {
		backoff = 500 * time.Millisecond
	}
	srv := db.embedded
	for {
		select {
		case <-ctx.Done():
			return
		case <-srv.Exited():
		}
		log.Error("embedded PostgreSQL exited; restarting it", "err", srv.ExitErr(), "log", srv.LogPath())
		var err error
		wait := backoff
		for i := 1; i <= attempts; i++ {
			if err = srv.Restart(ctx); err == nil {
				break
			}
			if ctx.Err() != nil {
				return
			}
			log.Warn("embedded PostgreSQL did not restart", "attempt", i, "of", attempts, "err", firstLine(err))
			if i == attempts {
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			wait *= 2
		}
		if err != nil {
			db.failed <- fmt.Errorf("embedded PostgreSQL died and did not restart after %d attempts (%s); see %s",
				attempts, firstLine(err), srv.LogPath())
			return
		}
		// Connections to the dead server would each fail one request.
		db.Pool.Reset()
	}
}

// firstLine is err's text up to its first line break.
func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return strings.TrimSpace(s)
}

// Migrate applies every pending migration.
func (db *Database) Migrate(ctx context.Context) error { return Migrate(ctx, db.Pool) }

// Ready implements api.Readiness: the database answers and every migration
// set is at its latest version.
func (db *Database) Ready(ctx context.Context) error {
	if err := db.Pool.Ping(ctx); err != nil {
		return fmt.Errorf("database unreachable: %w", err)
	}
	return SchemaReady(ctx, db.Pool)
}

// Close releases the pool and stops the embedded server. It is idempotent.
func (db *Database) Close() {
	if db.stopWatch != nil {
		db.stopWatch()
		<-db.watched
		db.stopWatch = nil
	}
	if db.Pool != nil {
		db.Pool.Close()
		db.Pool = nil
	}
	if db.embedded != nil {
		_ = db.embedded.Stop()
		db.embedded = nil
	}
}

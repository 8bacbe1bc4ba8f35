package privacy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ShreddedTables are the vault's tables an erasure deletes rows from: the
// subject's wrapped key and its entity list.
var ShreddedTables = []string{"crm_privacy_keys", "crm_privacy_entities"}

// Horizon is the log of transactions as it stands when an erasure has
// committed: every transaction that could still see the erased rows' old
// versions began before it.
type Horizon uint64

// HorizonNow returns the first transaction id not yet assigned; call it
// after the erasure committed.
func HorizonNow(ctx context.Context, db Querier) (Horizon, error) {
	var x uint64
	if err := db.QueryRow(ctx, `SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint`).Scan(&x); err != nil {
		return 0, fmt.Errorf("privacy: read the transaction horizon: %w", err)
	}
	return Horizon(x), nil
}

// Compact rewrites tables (VACUUM FULL) once no transaction of the
// database that began before h is still running, so that the old versions
// of erased rows, and the stale bytes a plain VACUUM leaves in a page's
// free space, leave the tables' files: the rewrite copies only the live
// rows into new files and drops the old ones. It waits at most wait for
// older transactions and takes each table's lock with a lock timeout of a
// second, trying again a few times; readers and writers of a table wait
// while it is rewritten. VACUUM cannot run in a transaction.
func Compact(ctx context.Context, pool *pgxpool.Pool, h Horizon, wait time.Duration, tables ...string) error {
	deadline := time.Now().Add(wait)
	for {
		var older bool
		// backend_xmin and backend_xid are 32-bit: compare their ages.
		err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
  AND ((backend_xmin IS NOT NULL AND age(backend_xmin) > age($1::text::xid)) OR (backend_xid IS NOT NULL AND age(backend_xid) > age($1::text::xid))))`,
			fmt.Sprint(uint64(h)&0xFFFFFFFF)).Scan(&older)
		if err != nil {
			return fmt.Errorf("privacy: wait for older transactions: %w", err)
		}
		if !older {
			break
		}
		if time.Now().After(deadline) {
			return errors.New("privacy: transactions older than the erasure still run; autovacuum removes the old rows later")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SET lock_timeout = '1s'`); err != nil {
		return err
	}
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), `RESET lock_timeout`) }()
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = pgx.Identifier(strings.Split(t, ".")).Sanitize()
	}
	for _, name := range names {
		for attempt := 1; ; attempt++ {
			_, err := conn.Exec(ctx, `VACUUM (FULL, ANALYZE) `+name)
			var pgErr *pgconn.PgError
			if err != nil && errors.As(err, &pgErr) && pgErr.Code == "55P03" && attempt < 10 {
				continue // lock timeout: the table was busy
			}
			if err != nil {
				return fmt.Errorf("privacy: rewrite %s: %w", name, err)
			}
			break
		}
	}
	return nil
}

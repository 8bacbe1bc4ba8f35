// Package integrity makes the event log tamper-evident and proves it.
//
// Every event row carries a SHA-256 hash over its canonical bytes chained
// to the previous event of its stream (computed on insert by the event
// store's migration 002). A per-stream chain detects an edited event or
// one removed from the middle of a stream, but not a whole stream, or a
// stream's newest events, removed. Seals close that gap: a sealer
// periodically records, over the global order, how many events it has
// seen and a running hash of their hashes, signed with an HMAC under a
// server key. Verify recomputes every hash, every chain link and every
// seal, and names the first bad position and why.
package integrity

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"crm/eventstore"
)

// Checker seals and verifies the log of one database.
type Checker struct {
	pool *pgxpool.Pool
	key  []byte
	// verifying admits one Verify at a time: each scans the whole log.
	verifying chan struct{}
}

// New returns a checker. key signs and authenticates seals; without one
// Seal refuses and Verify checks seals' counts and hashes but cannot
// authenticate them (Report.SealsAuthenticated is false).
func New(pool *pgxpool.Pool, key []byte) *Checker {
	return &Checker{pool: pool, key: key, verifying: make(chan struct{}, 1)}
}

// ErrNoKey is returned by Seal without a key.
var ErrNoKey = errors.New("no seal key configured")

// Seal is a signed checkpoint over the global order.
type Seal struct {
	Seq         int64
	Cursor      eventstore.Cursor
	EventCount  int64
	RunningHash []byte
	SealedAt    time.Time
	MAC         []byte
}

// message is what a seal's MAC signs.
func (s Seal) message() []byte {
	return []byte(strconv.FormatUint(s.Cursor.Major, 10) + ":" + strconv.FormatUint(s.Cursor.Minor, 10) + ":" +
		strconv.FormatInt(s.EventCount, 10) + ":" + hex.EncodeToString(s.RunningHash))
}

func (c *Checker) mac(s Seal) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write(s.message())
	return m.Sum(nil)
}

// chain extends a running hash by one event hash.
func chain(running, eventHash []byte) []byte {
	h := sha256.New()
	h.Write(running)
	h.Write(eventHash)
	return h.Sum(nil)
}

// sealBatch is how many event hashes one sealing query reads.
const sealBatch = 10000

// Seal records a seal over the events committed since the last one that
// every reader can see (below the log's visibility horizon). It returns
// false when there was nothing new to seal. Concurrent sealers (several
// processes) take turns on an advisory lock.
func (c *Checker) Seal(ctx context.Context) (Seal, bool, error) {
	if len(c.key) == 0 {
		return Seal{}, false, ErrNoKey
	}
	var out Seal
	sealed := false
	err := pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('crm_seal', 0))`); err != nil {
			return err
		}
		last, err := lastSeal(ctx, tx)
		if err != nil {
			return err
		}
		cur := last
		for {
			rows, err := tx.Query(ctx, `SELECT transaction_id::text::numeric::bigint, position, hash FROM crm_events
				WHERE (transaction_id, position) > ($1::text::xid8, $2)
				  AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
				ORDER BY transaction_id, position LIMIT $3`,
				strconv.FormatUint(cur.Cursor.Major, 10), int64(cur.Cursor.Minor), sealBatch)
			if err != nil {
				return fmt.Errorf("read event hashes: %w", err)
			}
			var n int
			var txid, pos int64
			var h []byte
			_, err = pgx.ForEachRow(rows, []any{&txid, &pos, &h}, func() error {
				cur.RunningHash = chain(cur.RunningHash, h)
				cur.EventCount++
				cur.Cursor = eventstore.Cursor{Major: uint64(txid), Minor: uint64(pos)}
				n++
				return nil
			})
			if err != nil {
				return fmt.Errorf("read event hashes: %w", err)
			}
			if n < sealBatch {
				break
			}
		}
		if cur.EventCount == last.EventCount {
			return nil
		}
		cur.MAC = c.mac(cur)
		if err := tx.QueryRow(ctx, `INSERT INTO crm_seals (transaction_id, position, event_count, running_hash, mac)
			VALUES ($1::text::xid8, $2, $3, $4, $5) RETURNING seq, sealed_at`,
			strconv.FormatUint(cur.Cursor.Major, 10), int64(cur.Cursor.Minor), cur.EventCount, cur.RunningHash, cur.MAC).
			Scan(&cur.Seq, &cur.SealedAt); err != nil {
			return fmt.Errorf("record seal: %w", err)
		}
		out, sealed = cur, true
		return nil
	})
	if err != nil {
		return Seal{}, false, fmt.Errorf("seal the log: %w", err)
	}
	return out, sealed, nil
}

// lastSeal returns the newest seal, or a zero seal (no events, empty
// running hash) when there is none.
func lastSeal(ctx context.Context, tx pgx.Tx) (Seal, error) {
	var s Seal
	var txid, pos int64
	err := tx.QueryRow(ctx, `SELECT seq, transaction_id::text::numeric::bigint, position, event_count, running_hash, sealed_at, mac
		FROM crm_seals ORDER BY seq DESC LIMIT 1`).Scan(&s.Seq, &txid, &pos, &s.EventCount, &s.RunningHash, &s.SealedAt, &s.MAC)
	if errors.Is(err, pgx.ErrNoRows) {
		return Seal{}, nil
	}
	if err != nil {
		return Seal{}, fmt.Errorf("read the last seal: %w", err)
	}
	s.Cursor = eventstore.Cursor{Major: uint64(txid), Minor: uint64(pos)}
	return s, nil
}

// Run seals every interval until ctx ends, logging failures through
// report (which may be nil).
func (c *Checker) Run(ctx context.Context, interval time.Duration, report func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, _, err := c.Seal(ctx); err != nil && ctx.Err() == nil && report != nil {
			report(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Package integrity makes the event log tamper-evident and proves it.
//
// Every event row carries a SHA-256 hash over its canonical bytes chained
// to the previous event of its stream (computed on insert by the event
// store's migration 002). A per-stream chain detects an edited event or
// one removed from the middle of a stream, but not a whole stream, or a
// stream's newest events, removed. Seals close that gap: a sealer
// periodically records, over the global order, how many events it has
// seen and a running hash of their hashes, signed with an HMAC under a key
// the database never holds. Each seal's MAC also covers its sequence
// number, its time and the previous seal's MAC, so seals removed from the
// start or the middle, or reordered, break the chain of seals. Seals
// removed from the end, or all of them, are caught by the staleness rule
// (every event older than the seal interval must be sealed) and, against
// someone who owns the database, by an anchor: a copy of a seal kept
// outside the database (see Anchor). Verify recomputes every hash, every
// chain link and every seal, and names the first bad position and why.
package integrity

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"crm/eventstore"
)

// DefaultTolerance is Options.Tolerance by default.
const DefaultTolerance = 5 * time.Minute

// Options tunes a Checker. The zero value seals and verifies without the
// staleness rule or an anchor.
type Options struct {
	// Interval is how often the log is sealed. When positive and a key is
	// set, Verify fails when an event recorded more than Interval +
	// Tolerance ago is not covered by a seal (seals removed from the end,
	// all seals removed, or no sealer running), and the sealer refuses a
	// first seal over such a log unless AllowUnsealed.
	Interval time.Duration
	// Tolerance bounds how long an appending transaction may stay open
	// between its append and its commit: events after a seal recorded
	// more than Tolerance before it are back-dated inserts. Zero:
	// DefaultTolerance.
	Tolerance time.Duration
	// Anchor returns the seal kept outside the database (nil: none). The
	// log's seals must include it and the log must match it; the sealer
	// starts from it.
	Anchor func() (*Seal, error)
	// AllowUnsealed lets the sealer make the first seal of a log whose
	// events are older than Interval + Tolerance: an operator's decision
	// (crm audit seal --initial) when a log is sealed for the first time.
	AllowUnsealed bool
}

// Checker seals and verifies the log of one database.
type Checker struct {
	pool *pgxpool.Pool
	key  []byte
	opts Options
	// verifying admits one Verify at a time: each scans the whole log.
	verifying chan struct{}

	// mu serializes Seal; known is the newest seal this checker has
	// authenticated (nil until the first check; zero Seq: the log had no
	// seals), refused the reason it stopped sealing.
	mu      sync.Mutex
	checked bool
	known   Seal
	refused error
}

// New returns a checker with zero Options. key signs and authenticates
// seals; without one Seal refuses and Verify checks seals' counts and
// hashes but cannot authenticate them (Report.SealsAuthenticated is false).
func New(pool *pgxpool.Pool, key []byte) *Checker {
	return NewWithOptions(pool, key, Options{})
}

// NewWithOptions returns a checker tuned by opts.
func NewWithOptions(pool *pgxpool.Pool, key []byte, opts Options) *Checker {
	if opts.Tolerance <= 0 {
		opts.Tolerance = DefaultTolerance
	}
	return &Checker{pool: pool, key: key, opts: opts, verifying: make(chan struct{}, 1)}
}

// ErrNoKey is returned by Seal without a key.
var ErrNoKey = errors.New("no seal key configured")

// ErrRefused is wrapped by Seal's error when it will not seal on top of
// the log as it stands: the log or its seals no longer match the newest
// seal the checker can authenticate. It is sticky: the checker seals no
// more until it is built again.
var ErrRefused = errors.New("sealing refused")

// Seal formats: 1 signs position, count and running hash; 2 also the
// sequence number, the time and the previous seal's MAC.
const (
	formatUnchained = 1
	formatChained   = 2
)

// Seal is a signed checkpoint over the global order.
type Seal struct {
	Seq         int64
	Format      int
	Cursor      eventstore.Cursor
	EventCount  int64
	RunningHash []byte
	SealedAt    time.Time
	// NextXID is the first transaction id not yet assigned when the seal's
	// snapshot was taken (format 2): events of transactions from there on
	// were recorded after the seal.
	NextXID uint64
	PrevMAC []byte
	MAC     []byte
}

// timeLayout is how a seal's time enters its MAC (microseconds, as stored).
const timeLayout = "2006-01-02T15:04:05.000000Z"

// message is what a seal's MAC signs.
func (s Seal) message() []byte {
	base := strconv.FormatUint(s.Cursor.Major, 10) + ":" + strconv.FormatUint(s.Cursor.Minor, 10) + ":" +
		strconv.FormatInt(s.EventCount, 10) + ":" + hex.EncodeToString(s.RunningHash)
	if s.Format < formatChained {
		return []byte(base)
	}
	return []byte("crm-seal-2:" + strconv.FormatInt(s.Seq, 10) + ":" + base + ":" +
		s.SealedAt.UTC().Format(timeLayout) + ":" + strconv.FormatUint(s.NextXID, 10) + ":" + hex.EncodeToString(s.PrevMAC))
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

// sealColumns are the columns of crm_seals as scanSeal reads them.
const sealColumns = `seq, format, transaction_id::text::numeric::bigint, position, event_count, running_hash, sealed_at,
	coalesce(next_xid::text::numeric::bigint, 0), prev_mac, mac`

type rowScanner interface{ Scan(dest ...any) error }

func scanSeal(r rowScanner) (Seal, error) {
	var s Seal
	var txid, pos, next int64
	var format int16
	if err := r.Scan(&s.Seq, &format, &txid, &pos, &s.EventCount, &s.RunningHash, &s.SealedAt, &next, &s.PrevMAC, &s.MAC); err != nil {
		return Seal{}, err
	}
	s.Format, s.NextXID = int(format), uint64(next)
	s.Cursor = eventstore.Cursor{Major: uint64(txid), Minor: uint64(pos)}
	s.SealedAt = s.SealedAt.UTC()
	return s, nil
}

// Seal records a seal over the events committed since the last one that
// every reader can see (below the log's visibility horizon). It returns
// false when there was nothing new to seal. Concurrent sealers (several
// processes) take turns on an advisory lock.
//
// It seals only on top of a log it can authenticate: the first call
// verifies the whole log (against the anchor, when there is one), later
// calls check that the seals since the newest one it knows extend it. When
// they do not (seals removed or replaced, the log no longer matching), it
// returns an error wrapping ErrRefused and seals no more.
func (c *Checker) Seal(ctx context.Context) (Seal, bool, error) {
	if len(c.key) == 0 {
		return Seal{}, false, ErrNoKey
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refused != nil {
		return Seal{}, false, c.refused
	}
	if !c.checked {
		known, err := c.startupCheck(ctx)
		if err != nil {
			return Seal{}, false, err
		}
		c.known, c.checked = known, true
	}
	var out Seal
	sealed := false
	err := pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('crm_seal', 0))`); err != nil {
			return err
		}
		last, err := c.extend(ctx, tx, c.known)
		if err != nil {
			return err
		}
		c.known = last
		// One horizon for the whole seal: every transaction below it had
		// ended when the seal's time was taken.
		var horizon, nextXID string
		var now time.Time
		if err := tx.QueryRow(ctx, `SELECT pg_snapshot_xmin(s)::text, pg_snapshot_xmax(s)::text, clock_timestamp() FROM pg_current_snapshot() s`).
			Scan(&horizon, &nextXID, &now); err != nil {
			return fmt.Errorf("read the log's horizon: %w", err)
		}
		cur := last
		for {
			rows, err := tx.Query(ctx, `SELECT transaction_id::text::numeric::bigint, position, hash FROM crm_events
				WHERE (transaction_id, position) > ($1::text::xid8, $2)
				  AND transaction_id < $3::text::xid8
				ORDER BY transaction_id, position LIMIT $4`,
				strconv.FormatUint(cur.Cursor.Major, 10), int64(cur.Cursor.Minor), horizon, sealBatch)
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
		cur.Seq, cur.Format, cur.PrevMAC = last.Seq+1, formatChained, last.MAC
		cur.SealedAt = now.UTC().Truncate(time.Microsecond)
		if cur.NextXID, err = strconv.ParseUint(nextXID, 10, 64); err != nil {
			return fmt.Errorf("read the log's horizon: %w", err)
		}
		cur.MAC = c.mac(cur)
		if _, err := tx.Exec(ctx, `INSERT INTO crm_seals (seq, format, transaction_id, position, event_count, running_hash, sealed_at, next_xid, prev_mac, mac)
			VALUES ($1, $2, $3::text::xid8, $4, $5, $6, $7, $8::text::xid8, $9, $10)`,
			cur.Seq, cur.Format, strconv.FormatUint(cur.Cursor.Major, 10), int64(cur.Cursor.Minor), cur.EventCount,
			cur.RunningHash, cur.SealedAt, nextXID, cur.PrevMAC, cur.MAC); err != nil {
			return fmt.Errorf("record seal: %w", err)
		}
		out, sealed = cur, true
		return nil
	})
	if errors.Is(err, ErrRefused) {
		c.refused = err
		return Seal{}, false, err
	}
	if err != nil {
		return Seal{}, false, fmt.Errorf("seal the log: %w", err)
	}
	if sealed {
		c.known = out
	}
	return out, sealed, nil
}

// refuse makes the sticky refusal for reason.
func refuse(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, args...))
}

// startupCheck verifies the whole log (without the staleness rule for
// seals that exist: a tail left unsealed by a stopped sealer is what the
// sealer is there to seal) and returns its newest seal.
func (c *Checker) startupCheck(ctx context.Context) (Seal, error) {
	rep, last, err := c.verify(ctx, verifyMode{sealing: true})
	if err != nil {
		return Seal{}, fmt.Errorf("verify the log before sealing: %w", err)
	}
	if !rep.OK {
		err := refuse("the log does not verify, so it is not sealed on top of (run crm audit verify): %s", *rep.Reason)
		c.refused = err
		return Seal{}, err
	}
	return last, nil
}

// extend returns the newest seal, after checking that known is still
// stored as it was and that every seal after it chains to it (another
// sealer's work). A mismatch is an error wrapping ErrRefused.
func (c *Checker) extend(ctx context.Context, tx pgx.Tx, known Seal) (Seal, error) {
	if known.Seq > 0 {
		s, err := scanSeal(tx.QueryRow(ctx, `SELECT `+sealColumns+` FROM crm_seals WHERE seq = $1`, known.Seq))
		if errors.Is(err, pgx.ErrNoRows) {
			return Seal{}, refuse("seal %d, the newest this sealer authenticated, is gone (seals removed)", known.Seq)
		}
		if err != nil {
			return Seal{}, fmt.Errorf("read seal %d: %w", known.Seq, err)
		}
		if !hmac.Equal(s.MAC, known.MAC) {
			return Seal{}, refuse("seal %d, the newest this sealer authenticated, was replaced", known.Seq)
		}
	}
	rows, err := tx.Query(ctx, `SELECT `+sealColumns+` FROM crm_seals WHERE seq > $1 ORDER BY seq`, known.Seq)
	if err != nil {
		return Seal{}, fmt.Errorf("read seals: %w", err)
	}
	defer rows.Close()
	last := known
	for rows.Next() {
		s, err := scanSeal(rows)
		if err != nil {
			return Seal{}, fmt.Errorf("read seals: %w", err)
		}
		switch {
		case s.Seq != last.Seq+1:
			return Seal{}, refuse("seal %d follows seal %d (seals removed)", s.Seq, last.Seq)
		case s.Format != formatChained || !hmac.Equal(s.PrevMAC, last.MAC) || !hmac.Equal(s.MAC, c.mac(s)):
			return Seal{}, refuse("seal %d does not chain to seal %d under this key (forged or altered seal)", s.Seq, last.Seq)
		case s.EventCount <= last.EventCount || s.Cursor.Compare(last.Cursor) <= 0:
			return Seal{}, refuse("seal %d does not move past seal %d", s.Seq, last.Seq)
		}
		last = s
	}
	if err := rows.Err(); err != nil {
		return Seal{}, fmt.Errorf("read seals: %w", err)
	}
	return last, nil
}

// Latest returns the newest seal, false when there is none.
func (c *Checker) Latest(ctx context.Context) (Seal, bool, error) {
	s, err := scanSeal(c.pool.QueryRow(ctx, `SELECT `+sealColumns+` FROM crm_seals ORDER BY seq DESC LIMIT 1`))
	if errors.Is(err, pgx.ErrNoRows) {
		return Seal{}, false, nil
	}
	if err != nil {
		return Seal{}, false, fmt.Errorf("read the last seal: %w", err)
	}
	return s, true, nil
}

// Run seals every interval until ctx ends, logging failures through
// report (which may be nil). A refusal is reported once; the loop then
// keeps running without sealing.
func (c *Checker) Run(ctx context.Context, interval time.Duration, report func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var refused bool
	for {
		_, _, err := c.Seal(ctx)
		switch {
		case err == nil || ctx.Err() != nil || report == nil:
		case errors.Is(err, ErrRefused):
			if !refused {
				report(err)
			}
			refused = true
		default:
			report(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Authenticated returns the newest seal this checker has authenticated
// (made, or checked before sealing on top of it), false before its first
// seal and after a refusal: what may be written to an anchor.
func (c *Checker) Authenticated() (Seal, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.checked || c.refused != nil || c.known.Seq == 0 {
		return Seal{}, false
	}
	return c.known, true
}

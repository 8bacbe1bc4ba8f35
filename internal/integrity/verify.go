package integrity

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"strconv"
	"time"

	"crm/eventstore"
)

// Report is the outcome of Verify.
type Report struct {
	OK            bool  `json:"ok"`
	EventsChecked int64 `json:"events_checked"`
	// FirstBadPosition is the cursor of the first event (in log order)
	// where verification failed, or of the seal that failed when the
	// events it covers are gone.
	FirstBadPosition *string `json:"first_bad_position"`
	Reason           *string `json:"reason"`
	SealsChecked     int     `json:"seals_checked"`
	// SealsAuthenticated tells whether seal signatures were checked (a
	// key was configured).
	SealsAuthenticated bool `json:"seals_authenticated"`
	// SealedThrough is the cursor of the newest seal checked.
	SealedThrough *string `json:"sealed_through"`
	// AnchorChecked tells whether the log was checked against a seal kept
	// outside the database (Options.Anchor).
	AnchorChecked bool `json:"anchor_checked"`
}

func (r *Report) fail(at eventstore.Cursor, format string, args ...any) {
	pos, reason := at.String(), fmt.Sprintf(format, args...)
	r.OK, r.FirstBadPosition, r.Reason = false, &pos, &reason
}

// canonical is an event's canonical bytes (see migration 002 of the event
// store): every field length-prefixed, in a fixed order.
func canonical(eventID, stream string, version int64, typ string, schema int32, actor, command, correlation,
	causation string, recorded time.Time, data string) []byte {
	var b bytes.Buffer
	for _, f := range []string{eventID, stream, strconv.FormatInt(version, 10), typ, strconv.FormatInt(int64(schema), 10),
		actor, command, correlation, causation, recorded.UTC().Format("2006-01-02T15:04:05.000000Z"), data} {
		b.WriteString(strconv.Itoa(len(f)))
		b.WriteByte(':')
		b.WriteString(f)
	}
	return b.Bytes()
}

// eventHash is sha256(prev || canonical bytes).
func eventHash(prev, canon []byte) []byte {
	h := sha256.New()
	h.Write(prev)
	h.Write(canon)
	return h.Sum(nil)
}

// streamTip is the last event verified in a stream.
type streamTip struct {
	version int64
	hash    []byte
}

// verifyMode says who verifies: an auditor (every rule) or the sealer
// before its first seal (which seals an unsealed tail a stopped sealer
// left, unless that tail reaches well past the newest seal).
type verifyMode struct{ sealing bool }

// Verify recomputes every event's hash from its stored fields, checks that
// each stream's versions run 1, 2, 3... with every link to the previous
// hash intact, checks the chain of seals (sequence numbers without gaps,
// each seal's MAC over the previous one's), and replays the global order
// against every seal (count, position, running hash and, with a key,
// signature) and the anchor. It fails on events after a seal recorded
// before it (back-dated inserts) and, with a key and Options.Interval,
// on events older than the interval that no seal covers. It stops at the
// first failure. Only a database error is returned as an error. Calls are
// served one at a time; later ones wait their turn (or until ctx ends), so
// verifications cannot drain the connection pool.
func (c *Checker) Verify(ctx context.Context) (Report, error) {
	rep, _, err := c.verify(ctx, verifyMode{})
	return rep, err
}

// verify is Verify in mode; it also returns the newest seal.
func (c *Checker) verify(ctx context.Context, mode verifyMode) (Report, Seal, error) {
	select {
	case c.verifying <- struct{}{}:
		defer func() { <-c.verifying }()
	case <-ctx.Done():
		return Report{}, Seal{}, ctx.Err()
	}
	rep := Report{OK: true, SealsAuthenticated: len(c.key) > 0}
	var anchor *Seal
	if c.opts.Anchor != nil {
		a, err := c.opts.Anchor()
		if err != nil {
			return rep, Seal{}, fmt.Errorf("read the anchor: %w", err)
		}
		anchor = a
		rep.AnchorChecked = a != nil
	}
	var now time.Time
	if err := c.pool.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&now); err != nil {
		return rep, Seal{}, fmt.Errorf("read the database clock: %w", err)
	}
	var seals []Seal
	rows, err := c.pool.Query(ctx, `SELECT `+sealColumns+` FROM crm_seals ORDER BY seq`)
	if err != nil {
		return rep, Seal{}, fmt.Errorf("read seals: %w", err)
	}
	for rows.Next() {
		s, err := scanSeal(rows)
		if err != nil {
			rows.Close()
			return rep, Seal{}, fmt.Errorf("read seals: %w", err)
		}
		seals = append(seals, s)
	}
	if err := rows.Err(); err != nil {
		return rep, Seal{}, fmt.Errorf("read seals: %w", err)
	}
	if !c.checkSeals(&rep, seals, anchor) {
		return rep, Seal{}, nil
	}
	var last Seal
	if len(seals) > 0 {
		last = seals[len(seals)-1]
	}

	// stale: an event recorded before it must be sealed (zero: no rule).
	var stale time.Time
	if c.opts.Interval > 0 && len(c.key) > 0 && !(mode.sealing && c.opts.AllowUnsealed) {
		stale = now.Add(-(c.opts.Interval + c.opts.Tolerance))
	}
	tips := map[string]streamTip{}
	var running []byte
	var count int64
	next := 0 // the next seal to reach
	rows, err = c.pool.Query(ctx, `SELECT transaction_id::text::numeric::bigint, position, event_id::text, stream_id, version, type,
		schema_version, actor, command_id, correlation_id, causation_id, recorded_at, data::text, prev_hash, hash
		FROM crm_events ORDER BY transaction_id, position`)
	if err != nil {
		return rep, Seal{}, fmt.Errorf("read events: %w", err)
	}
	defer rows.Close()
	var (
		txid, pos, version                                      int64
		eventID, stream, typ, actor, command, corr, cause, data string
		schema                                                  int32
		recorded                                                time.Time
		prev, hash                                              []byte
	)
	for rows.Next() {
		if err := rows.Scan(&txid, &pos, &eventID, &stream, &version, &typ, &schema, &actor, &command, &corr, &cause,
			&recorded, &data, &prev, &hash); err != nil {
			return rep, Seal{}, fmt.Errorf("read events: %w", err)
		}
		at := eventstore.Cursor{Major: uint64(txid), Minor: uint64(pos)}
		if next < len(seals) && at.Compare(seals[next].Cursor) > 0 {
			s := seals[next]
			rep.fail(s.Cursor, "seal %d ends at an event no longer in the log (events removed)", s.Seq)
			return rep, Seal{}, nil
		}
		rep.EventsChecked++
		tip, seen := tips[stream]
		switch {
		case !seen && version != 1:
			rep.fail(at, "stream %s starts at version %d: versions 1 to %d are missing", stream, version, version-1)
		case seen && version != tip.version+1:
			rep.fail(at, "stream %s: version %d follows version %d (events missing, duplicated or reordered)", stream, version, tip.version)
		case seen && !bytes.Equal(prev, tip.hash):
			rep.fail(at, "stream %s version %d: its link to the previous event's hash is broken", stream, version)
		case !seen && len(prev) != 0:
			rep.fail(at, "stream %s version 1 links to a previous event", stream)
		case !bytes.Equal(hash, eventHash(prev, canonical(eventID, stream, version, typ, schema, actor, command, corr, cause, recorded, data))):
			rep.fail(at, "stream %s version %d: data or metadata changed since it was recorded (hash mismatch)", stream, version)
		case next > 0 && seals[next-1].NextXID != 0 && uint64(txid) >= seals[next-1].NextXID &&
			recorded.Before(seals[next-1].SealedAt.Add(-c.opts.Tolerance)):
			s := seals[next-1]
			rep.fail(at, "stream %s version %d was recorded at %s but lies after seal %d of %s (back-dated insert)",
				stream, version, recorded.UTC().Format(time.RFC3339Nano), s.Seq, s.SealedAt.Format(time.RFC3339Nano))
		case next == len(seals) && !stale.IsZero() && recorded.Before(stale) && !(mode.sealing && sealerCovered(last, recorded, c.opts)):
			if len(seals) == 0 {
				rep.fail(at, "stream %s version %d was recorded at %s and the log has no seals (all seals removed, "+
					"or never sealed: crm audit seal --accept-unsealed seals it as it stands)", stream, version, recorded.UTC().Format(time.RFC3339Nano))
			} else {
				rep.fail(at, "stream %s version %d was recorded at %s and no seal covers it; the newest seal is %d of %s "+
					"(the newest seals removed, or no sealer ran since)", stream, version, recorded.UTC().Format(time.RFC3339Nano),
					last.Seq, last.SealedAt.Format(time.RFC3339Nano))
			}
		}
		if !rep.OK {
			return rep, Seal{}, nil
		}
		tips[stream] = streamTip{version: version, hash: hash}
		running = chain(running, hash)
		count++
		if next < len(seals) && at == seals[next].Cursor {
			s := seals[next]
			switch {
			case count != s.EventCount:
				rep.fail(at, "seal %d counts %d events up to here, the log holds %d (events removed or added before this position)",
					s.Seq, s.EventCount, count)
			case !bytes.Equal(running, s.RunningHash):
				rep.fail(at, "seal %d: the running hash up to here does not match (events replaced or reordered before this position)", s.Seq)
			}
			if !rep.OK {
				return rep, Seal{}, nil
			}
			rep.SealsChecked++
			through := s.Cursor.String()
			rep.SealedThrough = &through
			next++
		}
	}
	if err := rows.Err(); err != nil {
		return rep, Seal{}, fmt.Errorf("read events: %w", err)
	}
	if next < len(seals) {
		s := seals[next]
		rep.fail(s.Cursor, "seal %d ends at an event no longer in the log (the log is shorter than the seal says: events removed)", s.Seq)
		return rep, Seal{}, nil
	}
	return rep, last, nil
}

// sealerCovered tells the sealer's first check that an unsealed event
// recorded at t may be a tail a stopped sealer left: it was recorded no
// later than one interval (plus the tolerance) after the newest seal.
// Events recorded later than that were sealed once, and their seals
// removed, or were appended while no sealer ran.
func sealerCovered(last Seal, t time.Time, o Options) bool {
	return last.Seq > 0 && !t.After(last.SealedAt.Add(o.Interval+o.Tolerance))
}

// checkSeals checks the chain of seals and the anchor's place in it,
// failing rep on the first fault.
func (c *Checker) checkSeals(rep *Report, seals []Seal, anchor *Seal) bool {
	for i, s := range seals {
		var prev *Seal
		if i > 0 {
			prev = &seals[i-1]
		}
		switch {
		case s.Format >= formatChained && prev == nil && s.Seq != 1:
			rep.fail(s.Cursor, "seal %d is the first seal: seals 1 to %d are missing (seals removed)", s.Seq, s.Seq-1)
		case s.Format >= formatChained && prev != nil && s.Seq != prev.Seq+1:
			rep.fail(s.Cursor, "seal %d follows seal %d: seals %d to %d are missing (seals removed)", s.Seq, prev.Seq, prev.Seq+1, s.Seq-1)
		case s.Format < formatChained && prev != nil && prev.Format >= formatChained:
			rep.fail(s.Cursor, "seal %d is in the old format but follows chained seal %d (forged seal)", s.Seq, prev.Seq)
		case s.Format >= formatChained && prev != nil && !bytes.Equal(s.PrevMAC, prev.MAC):
			rep.fail(s.Cursor, "seal %d does not chain to seal %d before it (seals removed, reordered or replaced)", s.Seq, prev.Seq)
		case s.Format >= formatChained && prev == nil && len(s.PrevMAC) != 0:
			rep.fail(s.Cursor, "seal %d chains to a seal that is not in the log (seals removed)", s.Seq)
		case s.Format >= formatChained && prev != nil && s.SealedAt.Before(prev.SealedAt):
			rep.fail(s.Cursor, "seal %d is older than seal %d before it (seals reordered)", s.Seq, prev.Seq)
		case prev != nil && s.EventCount <= prev.EventCount:
			rep.fail(s.Cursor, "seal %d counts %d events, not more than seal %d before it", s.Seq, s.EventCount, prev.Seq)
		case rep.SealsAuthenticated && !hmac.Equal(s.MAC, c.mac(s)):
			rep.fail(s.Cursor, "seal %d: signature does not match its contents (forged or altered seal, or another key)", s.Seq)
		}
		if !rep.OK {
			return false
		}
	}
	if anchor == nil {
		return true
	}
	if rep.SealsAuthenticated && !hmac.Equal(anchor.MAC, c.mac(*anchor)) {
		rep.fail(anchor.Cursor, "the anchor (seal %d) is not signed by this key (a forged anchor, or another key)", anchor.Seq)
		return false
	}
	for _, s := range seals {
		if s.Seq != anchor.Seq {
			continue
		}
		if !hmac.Equal(s.MAC, anchor.MAC) || s.Cursor != anchor.Cursor || s.EventCount != anchor.EventCount ||
			!bytes.Equal(s.RunningHash, anchor.RunningHash) {
			rep.fail(anchor.Cursor, "seal %d differs from the anchor kept outside the database (seals replaced)", anchor.Seq)
			return false
		}
		return true
	}
	var newest int64
	if len(seals) > 0 {
		newest = seals[len(seals)-1].Seq
	}
	rep.fail(anchor.Cursor, "the anchored seal %d (%d events) is not among the log's seals (newest: %d): seals removed, "+
		"or the log rolled back or replaced", anchor.Seq, anchor.EventCount, newest)
	return false
}

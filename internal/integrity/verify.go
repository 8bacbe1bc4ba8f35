package integrity

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

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

// Verify recomputes every event's hash from its stored fields, checks that
// each stream's versions run 1, 2, 3... with every link to the previous
// hash intact, and replays the global order against every seal (count,
// position, running hash and, with a key, signature). It stops at the
// first failure. Only a database error is returned as an error.
// Calls are served one at a time; later ones wait their turn (or until ctx
// ends), so verifications cannot drain the connection pool.
func (c *Checker) Verify(ctx context.Context) (Report, error) {
	select {
	case c.verifying <- struct{}{}:
		defer func() { <-c.verifying }()
	case <-ctx.Done():
		return Report{}, ctx.Err()
	}
	rep := Report{OK: true, SealsAuthenticated: len(c.key) > 0}
	var seals []Seal
	rows, err := c.pool.Query(ctx, `SELECT seq, transaction_id::text::numeric::bigint, position, event_count, running_hash, sealed_at, mac
		FROM crm_seals ORDER BY seq`)
	if err != nil {
		return rep, fmt.Errorf("read seals: %w", err)
	}
	var s Seal
	var stx, spos int64
	if _, err := pgx.ForEachRow(rows, []any{&s.Seq, &stx, &spos, &s.EventCount, &s.RunningHash, &s.SealedAt, &s.MAC}, func() error {
		s.Cursor = eventstore.Cursor{Major: uint64(stx), Minor: uint64(spos)}
		seals = append(seals, s)
		return nil
	}); err != nil {
		return rep, fmt.Errorf("read seals: %w", err)
	}
	for i, s := range seals {
		if i > 0 && s.EventCount <= seals[i-1].EventCount {
			rep.fail(s.Cursor, "seal %d counts %d events, not more than seal %d before it", s.Seq, s.EventCount, seals[i-1].Seq)
			return rep, nil
		}
		if rep.SealsAuthenticated && !hmac.Equal(s.MAC, c.mac(s)) {
			rep.fail(s.Cursor, "seal %d: signature does not match its contents (forged or altered seal, or another key)", s.Seq)
			return rep, nil
		}
	}

	tips := map[string]streamTip{}
	var running []byte
	var count int64
	next := 0 // the next seal to reach
	rows, err = c.pool.Query(ctx, `SELECT transaction_id::text::numeric::bigint, position, event_id::text, stream_id, version, type,
		schema_version, actor, command_id, correlation_id, causation_id, recorded_at, data::text, prev_hash, hash
		FROM crm_events ORDER BY transaction_id, position`)
	if err != nil {
		return rep, fmt.Errorf("read events: %w", err)
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
			return rep, fmt.Errorf("read events: %w", err)
		}
		at := eventstore.Cursor{Major: uint64(txid), Minor: uint64(pos)}
		if next < len(seals) && at.Compare(seals[next].Cursor) > 0 {
			s := seals[next]
			rep.fail(s.Cursor, "seal %d ends at an event no longer in the log (events removed)", s.Seq)
			return rep, nil
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
		}
		if !rep.OK {
			return rep, nil
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
				return rep, nil
			}
			rep.SealsChecked++
			through := s.Cursor.String()
			rep.SealedThrough = &through
			next++
		}
	}
	if err := rows.Err(); err != nil {
		return rep, fmt.Errorf("read events: %w", err)
	}
	if next < len(seals) {
		s := seals[next]
		rep.fail(s.Cursor, "seal %d ends at an event no longer in the log (events removed)", s.Seq)
	}
	return rep, nil
}

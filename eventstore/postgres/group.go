package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"crm/eventstore"
)

// Group commit. Appends that arrive while others are being stored wait in
// a queue; a flusher takes every waiting append (up to MaxGroup) and
// stores them with one statement in one transaction (crm_append_group),
// so concurrent commands share a round trip, a commit and its WAL flush.
// Each append is still checked on its own: one whose stream moved gets
// its version conflict, the others are stored.

// appendReq is one append waiting for a flusher.
type appendReq struct {
	ctx     context.Context
	streams []eventstore.StreamEvents
	res     eventstore.AppendResult
	err     error
	done    chan struct{}
}

// groupable reports whether an append may share a transaction: every
// expectation exact (what commands append with) and no caller-chosen
// event id (a retry of stored events is answered by crm_append alone).
func (s *Store) groupable(streams []eventstore.StreamEvents) bool {
	if s.opts.MaxGroup < 2 || len(streams) == 0 {
		return false
	}
	for _, st := range streams {
		if int64(st.Expected) < 0 {
			return false
		}
		for _, e := range st.Events {
			if e.ID != uuid.Nil {
				return false
			}
		}
	}
	return true
}

// appendGrouped queues an append for the flushers and waits for its
// outcome. Once queued, the append is stored or refused whatever happens
// to ctx, so the caller always learns which.
func (s *Store) appendGrouped(ctx context.Context, streams []eventstore.StreamEvents) (eventstore.AppendResult, error) {
	if err := eventstore.CheckAppend(streams); err != nil {
		return eventstore.AppendResult{}, err
	}
	req := &appendReq{ctx: ctx, streams: streams, done: make(chan struct{})}
	s.qmu.RLock()
	if s.qclosed {
		s.qmu.RUnlock()
		return eventstore.AppendResult{}, eventstore.ErrClosed
	}
	select {
	case s.queue <- req:
		s.qmu.RUnlock()
	case <-ctx.Done():
		s.qmu.RUnlock()
		return eventstore.AppendResult{}, ctx.Err()
	}
	<-req.done
	return req.res, req.err
}

// closeQueue refuses further grouped appends and answers those still
// queued with ErrClosed; the flushers have stopped.
func (s *Store) closeQueue() {
	s.qmu.Lock()
	s.qclosed = true
	s.qmu.Unlock()
	for {
		select {
		case r := <-s.queue:
			r.err = eventstore.ErrClosed
			close(r.done)
		default:
			return
		}
	}
}

// flushLoop is one flusher: it stores what waits in the queue, a group
// at a time, until ctx ends; appends still queued then get ErrClosed.
func (s *Store) flushLoop(ctx context.Context) {
	defer s.wg.Done()
	group := make([]*appendReq, 0, s.opts.MaxGroup)
	for {
		select {
		case <-ctx.Done():
			return
		case first := <-s.queue:
			group = append(group[:0], first)
		more:
			for len(group) < s.opts.MaxGroup {
				select {
				case r := <-s.queue:
					group = append(group, r)
				default:
					break more
				}
			}
			s.flush(group)
		}
	}
}

// flush stores a group and answers each of its appends.
func (s *Store) flush(group []*appendReq) {
	live := group[:0:0]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			close(r.done)
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	stored := false
	if len(live) == 1 {
		r := live[0]
		r.res, r.err = s.append(r.ctx, s.pool, r.streams)
		stored = r.err == nil
	} else {
		// The group's own deadline: its appends' callers wait for it.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := s.appendGroup(ctx, live)
		cancel()
		var pgErr *pgconn.PgError
		switch {
		case errors.As(err, &pgErr):
			// The statement failed as a whole and stored nothing (a
			// conflict is per append, not an error): store each append
			// alone, so that one bad append fails only itself.
			for _, r := range live {
				r.res, r.err = s.append(r.ctx, s.pool, r.streams)
			}
		case err != nil:
			// The outcome is unknown (the connection broke, or the
			// answer made no sense): say so to every append.
			for _, r := range live {
				r.err = err
			}
		}
		for _, r := range live {
			stored = stored || r.err == nil
		}
	}
	if stored {
		s.Committed()
	}
	for _, r := range live {
		close(r.done)
	}
}

const appendGroupSQL = `SELECT out_group, out_ord, out_version, out_tx, out_position, out_recorded_at, out_conflict, out_actual
FROM crm_append_group($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`

// appendGroup stores the group's appends with one statement and sets
// each one's result or version conflict. An error is the statement's as
// a whole; no append's outcome is set then.
func (s *Store) appendGroup(ctx context.Context, group []*appendReq) error {
	var nStreams, nEvents int
	for _, r := range group {
		nStreams += len(r.streams)
		for _, st := range r.streams {
			nEvents += len(st.Events)
		}
	}
	var (
		first    = make([]int32, len(group))
		last     = make([]int32, len(group))
		names    = make([]string, 0, nStreams)
		expected = make([]int64, 0, nStreams)
		counts   = make([]int32, 0, nStreams)
		cols     = newAppendColumns(nEvents)
		// owner maps each event ordinal (from 1) to its append and its
		// place among that append's events.
		owner = make([][2]int, 0, nEvents)
		outs  = make([][]eventstore.Event, len(group))
	)
	for g, r := range group {
		first[g] = int32(len(names) + 1)
		for _, st := range r.streams {
			names = append(names, st.StreamID)
			expected = append(expected, int64(st.Expected))
			counts = append(counts, int32(len(st.Events)))
			for ei, e := range st.Events {
				cols.add(len(names), ei+1, e)
				owner = append(owner, [2]int{g, len(outs[g])})
				outs[g] = append(outs[g], eventstore.Event{ID: e.ID, StreamID: st.StreamID, Type: e.Type,
					SchemaVersion: e.SchemaVersion, Data: e.Data, Metadata: e.Metadata})
			}
		}
		last[g] = int32(len(names))
	}
	supplied := s.suppliedTime()
	rows, err := s.pool.Query(ctx, appendGroupSQL, first, last, names, expected, counts, cols.idx, cols.offs, cols.ids,
		cols.types, cols.schema, cols.data, cols.actor, cols.command, cols.corr, cols.cause, supplied)
	if err != nil {
		return fmt.Errorf("group append: %w", err)
	}
	var (
		grp, ord  *int32
		version   *int64
		tx        *uint64
		pos       *int64
		at        *time.Time
		conflict  *string
		actual    *int64
		conflicts = make([]error, len(group))
		got       = make([]int, len(group))
	)
	_, err = pgx.ForEachRow(rows, []any{&grp, &ord, &version, &tx, &pos, &at, &conflict, &actual}, func() error {
		if grp == nil || *grp < 1 || int(*grp) > len(group) {
			return errors.New("group append returned a row of no append")
		}
		g := int(*grp) - 1
		if conflict != nil {
			ce := &eventstore.VersionConflictError{StreamID: *conflict}
			if actual != nil {
				ce.Actual = *actual
			}
			for _, st := range group[g].streams {
				if st.StreamID == *conflict {
					ce.Expected = st.Expected
				}
			}
			conflicts[g] = ce
			return nil
		}
		if ord == nil || version == nil || tx == nil || pos == nil || at == nil || *ord < 1 || int(*ord) > len(owner) {
			return errors.New("group append returned an incomplete event row")
		}
		o := owner[*ord-1]
		if o[0] != g {
			return fmt.Errorf("group append returned event %d for append %d, which is of append %d", *ord, g+1, o[0]+1)
		}
		e := &outs[g][o[1]]
		e.Version, e.Cursor, e.RecordedAt = *version, eventstore.Cursor{Major: *tx, Minor: uint64(*pos)}, at.UTC()
		got[g]++
		return nil
	})
	if err != nil {
		return fmt.Errorf("group append: %w", err)
	}
	for g, r := range group {
		switch {
		case conflicts[g] != nil:
			r.err = conflicts[g]
		case got[g] != len(outs[g]):
			r.err = fmt.Errorf("append: stored %d of %d events", got[g], len(outs[g]))
		default:
			res := eventstore.AppendResult{Events: outs[g]}
			for _, e := range outs[g] {
				if e.Cursor.After(res.Position) {
					res.Position = e.Cursor
				}
			}
			r.res = res
		}
	}
	return nil
}

package app

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"

	"crm/api"
	"crm/eventstore"
	"crm/eventstore/postgres"
	"crm/projections"
)

// Waiter tells what holds a log's readers back (the PostgreSQL store
// does).
type Waiter interface {
	Waiting(ctx context.Context) (postgres.Waiting, error)
}

// NewAdapter adapts the engine to the HTTP layer: status, rebuilds started
// in the background (they stop when ctx ends), read-your-writes waits, and
// the event feed read from log. waiting tells what holds the log's readers
// back; nil when the log cannot tell.
func NewAdapter(ctx context.Context, e *projections.Engine, log projections.Log, waiting Waiter, logger *slog.Logger) *Adapter {
	return &Adapter{ctx: ctx, e: e, events: log, waiting: waiting, log: logger}
}

// Adapter serves the projection engine to the HTTP layer: it implements
// api.Projections, api.Progress and api.EventFeed.
type Adapter struct {
	ctx     context.Context
	e       *projections.Engine
	events  projections.Log
	waiting Waiter
	log     *slog.Logger
	wg      sync.WaitGroup
}

// Horizon implements api.Projections; logs that cannot tell report
// nothing waiting.
func (a *Adapter) Horizon(ctx context.Context) (api.Horizon, error) {
	if a.waiting == nil {
		return api.Horizon{}, nil
	}
	got, err := a.waiting.Waiting(ctx)
	if err != nil {
		return api.Horizon{}, err
	}
	h := api.Horizon{EventsWaiting: got.Events}
	if o := got.OldestWriter; o != nil {
		h.OldestWriter = &api.Writer{PID: o.PID, Database: o.Database, Application: o.Application, State: o.State,
			TransactionStartedAt: o.Since}
	}
	return h, nil
}

// Status implements api.Projections.
func (a *Adapter) Status(ctx context.Context) ([]api.ProjectionInfo, error) {
	st, err := a.e.Status(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]api.ProjectionInfo, len(st))
	for i, s := range st {
		out[i] = api.ProjectionInfo{Name: s.Name, Checkpoint: s.Checkpoint, Head: s.Head, CaughtUp: s.CaughtUp, State: s.State,
			Error: s.Error, ErrorPosition: s.ErrorPosition, EventsApplied: s.EventsApplied, Owner: s.Owner, UpdatedAt: s.UpdatedAt}
		if rb := s.Rebuild; rb != nil {
			out[i].Rebuild = &api.RebuildInfo{State: rb.State, Done: rb.Done, Total: rb.Total, Error: rb.Error, RebuiltAt: rb.LastDone}
		}
	}
	return out, nil
}

// StartRebuild implements api.Projections.
func (a *Adapter) StartRebuild(name string) error {
	if _, ok := a.e.Projector(name); !ok {
		return api.ErrUnknownProjection
	}
	started := make(chan error, 1)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		err := a.e.Rebuild(a.ctx, name, func(done, total int64) {
			select {
			case started <- nil:
			default:
			}
		})
		select {
		case started <- err:
		default:
		}
		if err != nil && a.ctx.Err() == nil {
			a.log.Error("rebuild failed", "projector", name, "err", err)
		}
	}()
	err := <-started
	if errors.Is(err, projections.ErrRebuildRunning) {
		return api.ErrRebuildRunning
	}
	return err
}

// Wait waits for rebuilds started through the API to end (they stop when
// the adapter's context ends).
func (a *Adapter) Wait() { a.wg.Wait() }

// WaitFor implements api.Progress.
func (a *Adapter) WaitFor(ctx context.Context, position string, names ...string) error {
	err := a.e.WaitFor(ctx, position, names...)
	if errors.Is(err, projections.ErrBadPosition) {
		return api.ErrBadPosition
	}
	return err
}

// Latest implements api.Progress: the newest committed event where the
// log can tell (PostgreSQL), else its head.
func (a *Adapter) Latest(ctx context.Context) (string, error) {
	var c eventstore.Cursor
	var err error
	if n, ok := a.events.(interface {
		Newest(context.Context) (eventstore.Cursor, error)
	}); ok {
		c, err = n.Newest(ctx)
	} else {
		c, err = a.events.Head(ctx)
	}
	if err != nil || c.IsZero() {
		return "", err
	}
	return c.String(), nil
}

// Checkpoint implements api.Progress.
func (a *Adapter) Checkpoint(ctx context.Context, projector string) (string, error) {
	return a.e.Checkpoint(ctx, projector)
}

// feedScan bounds how many events one feed page inspects when filtering by
// type.
const feedScan = 20

// Events implements api.EventFeed.
func (a *Adapter) Events(ctx context.Context, after string, limit int, types []string) ([]api.FeedEvent, string, error) {
	var cursor eventstore.Cursor
	if after != "" {
		c, err := eventstore.ParseCursor(after)
		if err != nil {
			return nil, "", api.ErrBadPosition
		}
		cursor = c
	}
	var out []api.FeedEvent
	scanned := 0
	for len(out) < limit && scanned < feedScan*limit {
		batch, err := a.events.ReadAll(ctx, cursor, limit)
		if errors.Is(err, eventstore.ErrInvalidCursor) {
			return nil, "", api.ErrBadPosition
		}
		if err != nil {
			return nil, "", err
		}
		if len(batch) == 0 {
			break
		}
		for _, ev := range batch {
			cursor = ev.Cursor
			scanned++
			if !matchType(types, ev.Type) {
				continue
			}
			out = append(out, api.FeedEvent{Cursor: ev.Cursor.String(), ID: ev.ID.String(), Stream: ev.StreamID, Version: ev.Version,
				Type: ev.Type, Data: ev.Data, RecordedAt: ev.RecordedAt, Metadata: api.FeedMetadata{Actor: ev.Metadata.Actor,
					CommandID: ev.Metadata.CommandID, CorrelationID: ev.Metadata.CorrelationID, CausationID: ev.Metadata.CausationID,
					SchemaVersion: ev.SchemaVersion}})
			if len(out) == limit {
				break
			}
		}
	}
	if scanned == 0 {
		return out, "", nil
	}
	return out, cursor.String(), nil
}

func matchType(patterns []string, typ string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if p == typ || (strings.HasSuffix(p, "*") && strings.HasPrefix(typ, strings.TrimSuffix(p, "*"))) {
			return true
		}
	}
	return false
}

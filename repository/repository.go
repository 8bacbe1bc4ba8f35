// Package repository stores the command side's batches in the event store:
// events encoded through the domain codec registry, unique-key claims and
// idempotency records. With the PostgreSQL event store all three are one
// transaction. With another store (EventStoreDB) the events are appended
// while the claims are held in an open PostgreSQL transaction, which commits
// the idempotency record after the append succeeds: a failure of that commit
// after a successful append (rare) leaves the events stored without their
// claims and idempotency record.
package repository

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"crm/aggregates"
	"crm/commands"
	"crm/eventstore"
	"crm/pgmigrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations create the claims and idempotency tables.
var Migrations = pgmigrate.Set{Name: "commands", FS: pgmigrate.Sub(migrationFiles, "migrations"), VersionTable: "crm_schema_commands"}

// Repository implements commands.Repository.
type Repository struct {
	pool  *pgxpool.Pool
	store eventstore.Store
	codec *eventstore.Registry
	cache *streamCache
}

// txAppender is a store that appends within a PostgreSQL transaction of
// the repository's pool (the PostgreSQL event store).
type txAppender interface {
	AppendTx(ctx context.Context, tx pgx.Tx, streams ...eventstore.StreamEvents) (eventstore.AppendResult, error)
	Committed()
}

// New returns a repository over a migrated pool and its event store.
func New(pool *pgxpool.Pool, store eventstore.Store, codec *eventstore.Registry) *Repository {
	return &Repository{pool: pool, store: store, codec: codec, cache: newStreamCache(cacheMaxBytes)}
}

// Load implements commands.Repository. The current state of a long stream
// comes from the stream cache plus the events appended since; a state as
// of a past time is read whole.
func (r *Repository) Load(ctx context.Context, stream string, asOf time.Time) ([]commands.Recorded, error) {
	if !asOf.IsZero() {
		return r.read(ctx, stream, eventstore.ReadOptions{Until: asOf})
	}
	prefix, prefixBytes := r.cache.get(stream)
	var last int64
	if len(prefix) > 0 {
		last = prefix[len(prefix)-1].Version
	}
	tail, tailBytes, err := r.readSized(ctx, stream, eventstore.ReadOptions{FromVersion: last + 1})
	if err != nil {
		return nil, err
	}
	if len(tail) == 0 {
		if len(prefix) > 0 && tail == nil {
			// The stream is gone (a store that can delete streams).
			r.cache.drop(stream)
			return nil, nil
		}
		return prefix, nil
	}
	if len(prefix) > 0 && tail[0].Version != last+1 {
		r.cache.drop(stream)
		return nil, fmt.Errorf("%s: version %d follows cached version %d", stream, tail[0].Version, last)
	}
	all := make([]commands.Recorded, 0, len(prefix)+len(tail))
	all = append(append(all, prefix...), tail...)
	// Only a stream numbered 1, 2, 3... from its start is cached, so the
	// last cached version always says where the tail begins.
	if all[0].Version == 1 && all[len(all)-1].Version == int64(len(all)) {
		r.cache.put(stream, all, prefixBytes+tailBytes)
	}
	return all[:len(all):len(all)], nil
}

// read reads and decodes a stream's events; a missing stream has none.
func (r *Repository) read(ctx context.Context, stream string, opts eventstore.ReadOptions) ([]commands.Recorded, error) {
	recs, _, err := r.readSized(ctx, stream, opts)
	return recs, err
}

// readSized is read that also returns the events' stored size in bytes
// (an estimate of what they take decoded). A missing stream gives nil; a
// stream with no events in range gives an empty, non-nil slice.
func (r *Repository) readSized(ctx context.Context, stream string, opts eventstore.ReadOptions) ([]commands.Recorded, int, error) {
	evs, err := r.store.ReadStream(ctx, stream, opts)
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	size := 0
	for _, e := range evs {
		size += len(e.Data) + recordOverhead
	}
	out := make([]commands.Recorded, len(evs))
	for i, e := range evs {
		v, err := r.codec.Decode(e.Type, e.Data)
		if err != nil {
			return nil, 0, fmt.Errorf("%s version %d: %w", stream, e.Version, err)
		}
		de, ok := v.(aggregates.Event)
		if !ok {
			return nil, 0, fmt.Errorf("%s version %d: %s is not a domain event", stream, e.Version, e.Type)
		}
		out[i] = commands.Recorded{ID: e.ID.String(), Event: de, Type: e.Type, Version: e.Version, RecordedAt: e.RecordedAt,
			Position: e.Cursor.String(), Metadata: commands.Metadata{Actor: e.Metadata.Actor, CommandID: e.Metadata.CommandID,
				CorrelationID: e.Metadata.CorrelationID, CausationID: e.Metadata.CausationID}}
	}
	return out, size, nil
}

// Save implements commands.Repository.
func (r *Repository) Save(ctx context.Context, b commands.Batch) (commands.Saved, error) {
	meta := eventstore.Metadata{Actor: b.Metadata.Actor, CommandID: b.Metadata.CommandID,
		CorrelationID: b.Metadata.CorrelationID, CausationID: b.Metadata.CausationID}
	streams := make([]eventstore.StreamEvents, 0, len(b.Changes))
	for _, c := range b.Changes {
		se := eventstore.StreamEvents{StreamID: c.Stream, Expected: eventstore.Exact(c.Expected)}
		for _, e := range c.Events {
			enc, err := r.codec.Encode(e)
			if err != nil {
				return commands.Saved{}, err
			}
			se.Events = append(se.Events, eventstore.EventData{Type: enc.Type, SchemaVersion: enc.SchemaVersion, Data: enc.Data, Metadata: meta})
		}
		streams = append(streams, se)
	}
	tx, err := r.pool.Begin(ctx)
	if err != nil {
		return commands.Saved{}, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.Background())
	var saved commands.Saved
	ta, inTx := r.store.(txAppender)
	if !inTx {
		// The claims are taken before the events leave PostgreSQL.
		if err := claims(ctx, tx, b); err != nil {
			return commands.Saved{}, err
		}
	}
	if len(streams) > 0 {
		var (
			res eventstore.AppendResult
			err error
		)
		if inTx {
			res, err = ta.AppendTx(ctx, tx, streams...)
		} else {
			res, err = r.store.Append(ctx, streams...)
		}
		if errors.Is(err, eventstore.ErrVersionConflict) {
			return commands.Saved{}, fmt.Errorf("%w: %w", commands.ErrVersionConflict, err)
		}
		if err != nil {
			return commands.Saved{}, err
		}
		saved.Position = res.Position.String()
		saved.Versions = map[string]int64{}
		for _, e := range res.Events {
			saved.Versions[e.StreamID] = e.Version
			saved.Events = append(saved.Events, commands.EventRef{Stream: e.StreamID, Type: e.Type, ID: e.ID.String()})
		}
	}
	if inTx {
		if err := claims(ctx, tx, b); err != nil {
			return commands.Saved{}, err
		}
	}
	if resp := b.Response; resp != nil {
		status, body := resp.Render(saved)
		tag, err := tx.Exec(ctx, `INSERT INTO crm_idempotency (scope, key, request_hash, status, body) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (scope, key) DO NOTHING`, resp.Scope, resp.Key, resp.RequestHash, status, body)
		if err != nil {
			return commands.Saved{}, fmt.Errorf("store idempotent response: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return commands.Saved{}, commands.ErrIdempotencyRace
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return commands.Saved{}, fmt.Errorf("commit: %w", err)
	}
	if len(streams) > 0 && inTx {
		ta.Committed()
	}
	return saved, nil
}

// claims releases and takes the batch's unique-key claims in tx.
func claims(ctx context.Context, tx pgx.Tx, b commands.Batch) error {
	for _, c := range b.Releases {
		if _, err := tx.Exec(ctx, `DELETE FROM crm_claims WHERE kind = $1 AND key = $2 AND owner_type = $3 AND owner_id = $4`,
			c.Kind, c.Key, c.OwnerType, c.OwnerID); err != nil {
			return fmt.Errorf("release %s: %w", c.Kind, err)
		}
	}
	for _, c := range b.Claims {
		if err := claim(ctx, tx, c); err != nil {
			return err
		}
	}
	return nil
}

// claim takes c's key, or confirms the same owner holds it already. A
// concurrent uncommitted claim of the same key makes the insert wait for
// that transaction's outcome, so exactly one of racing claims wins.
func claim(ctx context.Context, tx pgx.Tx, c commands.Claim) error {
	tag, err := tx.Exec(ctx, `INSERT INTO crm_claims (kind, key, owner_type, owner_id) VALUES ($1, $2, $3, $4)
ON CONFLICT (kind, key) DO NOTHING`, c.Kind, c.Key, c.OwnerType, c.OwnerID)
	if err != nil {
		return fmt.Errorf("claim %s: %w", c.Kind, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var ownerType, ownerID string
	if err := tx.QueryRow(ctx, `SELECT owner_type, owner_id FROM crm_claims WHERE kind = $1 AND key = $2`, c.Kind, c.Key).
		Scan(&ownerType, &ownerID); err != nil {
		return fmt.Errorf("claim %s: %w", c.Kind, err)
	}
	if ownerType == c.OwnerType && ownerID == c.OwnerID {
		return nil
	}
	return &commands.ClaimTakenError{Claim: c, OwnerType: ownerType, OwnerID: ownerID}
}

// ClaimOwner implements commands.Repository.
func (r *Repository) ClaimOwner(ctx context.Context, kind, key string) (string, string, bool, error) {
	var ownerType, ownerID string
	err := r.pool.QueryRow(ctx, `SELECT owner_type, owner_id FROM crm_claims WHERE kind = $1 AND key = $2`, kind, key).Scan(&ownerType, &ownerID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, fmt.Errorf("look up %s claim: %w", kind, err)
	}
	return ownerType, ownerID, true, nil
}

// LookupResponse returns the request hash, status and body stored under
// an idempotency key; ok is false when there is none.
func (r *Repository) LookupResponse(ctx context.Context, scope, key string) (hash string, status int, body []byte, ok bool, err error) {
	err = r.pool.QueryRow(ctx, `SELECT request_hash, status, body FROM crm_idempotency WHERE scope = $1 AND key = $2`, scope, key).
		Scan(&hash, &status, &body)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", 0, nil, false, nil
	}
	if err != nil {
		return "", 0, nil, false, fmt.Errorf("look up idempotency key: %w", err)
	}
	return hash, status, body, true, nil
}

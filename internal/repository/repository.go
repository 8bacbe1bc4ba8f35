// Package repository stores the command side's batches in the event store:
// events encoded through the domain codec registry, unique-key claims and
// idempotency records. Personal values are encrypted on the way in and
// revealed (plaintext, or "[erased]") on the way out by a Vault, and email
// reservations are stored under the vault's keyed hash of the email, never
// the email. With the PostgreSQL event store all of it is one
// transaction. With another store (EventStoreDB) the events are appended
// while the claims are held in an open PostgreSQL transaction, which commits
// the idempotency record after the append succeeds: a failure of that commit
// after a successful append (rare) leaves the events stored without their
// claims and idempotency record.
package repository

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"crm/aggregates"
	"crm/commands"
	"crm/eventstore"
	"crm/internal/pgmigrate"
	"crm/internal/privacy"
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
	vault Vault
	inTx  TxAppender
	cache *streamCache
}

// Vault encrypts and reveals personal data (see privacy.Vault).
type Vault interface {
	// Seal encrypts the personal values of the streams' events in place
	// (reading with q, the append's transaction, at most); Store then
	// records new subjects' keys in it, after the append, or fails with
	// privacy.ErrSubjectChanged.
	Seal(ctx context.Context, q privacy.Querier, streams []privacy.Stream) (*privacy.Sealed, error)
	Store(ctx context.Context, q privacy.Querier, s *privacy.Sealed) error
	// Reveal decrypts events' personal values in place and returns the
	// subjects it met.
	Reveal(ctx context.Context, events []eventstore.Event) ([]string, error)
	// Subjects returns the subjects whose keys sealed the events' personal
	// values (events as Seal left them).
	Subjects(events []eventstore.EventData) ([]string, error)
	// AnyErased reports whether any of the subjects was erased.
	AnyErased(ctx context.Context, subjects []string) (bool, error)
	// ClaimKey is the stored key of an email reservation.
	ClaimKey(email string) string
	// Subject finds the subject of an email and its entities.
	Subject(ctx context.Context, email string) (id string, entities []privacy.Entity, ok bool, err error)
	// Shred deletes a subject's key in tx; Forget drops it from the
	// cache once tx committed.
	Shred(ctx context.Context, tx privacy.Querier, subject string, expect []privacy.Entity) error
	Forget(subject string)
}

// TxAppender appends within a PostgreSQL transaction of the repository's
// pool (the PostgreSQL event store does).
type TxAppender interface {
	// AppendTx appends the streams' events in tx.
	AppendTx(ctx context.Context, tx pgx.Tx, streams ...eventstore.StreamEvents) (eventstore.AppendResult, error)
	// Committed tells the store that a transaction it appended in has
	// committed.
	Committed()
}

// Options are a repository's optional dependencies.
type Options struct {
	// InTx appends the events in the transaction that holds the claims,
	// keys and idempotency record: the event store itself when it lives
	// in the same PostgreSQL database. Nil appends through the store,
	// with the claims held in an open transaction meanwhile.
	InTx TxAppender
}

// New returns a repository over a migrated pool and its event store,
// encrypting personal data with vault.
func New(pool *pgxpool.Pool, store eventstore.Store, codec *eventstore.Registry, vault Vault, o Options) *Repository {
	return &Repository{pool: pool, store: store, codec: codec, vault: vault, inTx: o.InTx, cache: newStreamCache(cacheMaxBytes)}
}

// Load implements commands.Repository. The current state of a long stream
// comes from the stream cache plus the events appended since; a state as
// of a past time is read whole.
func (r *Repository) Load(ctx context.Context, stream string, asOf time.Time) ([]commands.Recorded, error) {
	if !asOf.IsZero() {
		return r.read(ctx, stream, eventstore.ReadOptions{Until: asOf})
	}
	prefix, prefixBytes, subjects := r.cache.get(stream)
	if len(subjects) > 0 {
		erased, err := r.vault.AnyErased(ctx, subjects)
		if err != nil {
			return nil, err
		}
		if erased {
			r.cache.drop(stream)
			prefix, prefixBytes, subjects = nil, 0, nil
		}
	}
	var last int64
	if len(prefix) > 0 {
		last = prefix[len(prefix)-1].Version
	}
	tail, tailBytes, tailSubjects, err := r.readSized(ctx, stream, eventstore.ReadOptions{FromVersion: last + 1})
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
		r.cache.put(stream, all, prefixBytes+tailBytes, union(subjects, tailSubjects))
	}
	return all[:len(all):len(all)], nil
}

// Current implements commands.Repository: a stream the cache holds comes
// from memory alone, with cached true (another writer may have appended
// since: the append's expected version finds out); any other stream is
// read as Load reads it, then cached whatever its length.
func (r *Repository) Current(ctx context.Context, stream string) ([]commands.Recorded, bool, error) {
	recs, _, subjects := r.cache.get(stream)
	if len(recs) > 0 {
		erased := false
		if len(subjects) > 0 {
			var err error
			if erased, err = r.vault.AnyErased(ctx, subjects); err != nil {
				return nil, false, err
			}
		}
		if !erased {
			return recs, true, nil
		}
		r.cache.drop(stream)
	}
	all, bytes, subjects, err := r.readSized(ctx, stream, eventstore.ReadOptions{})
	if err != nil {
		return nil, false, err
	}
	if len(all) > 0 && all[0].Version == 1 && all[len(all)-1].Version == int64(len(all)) {
		r.cache.putMin(stream, all, bytes, subjects, 1)
	}
	return all[:len(all):len(all)], false, nil
}

// remember puts what a committed append stored into the stream cache:
// each change's events, decoded as the command decided them.
func (r *Repository) remember(b commands.Batch, streams []eventstore.StreamEvents, plain [][][]byte, res eventstore.AppendResult) {
	at := 0
	for i, c := range b.Changes {
		n := len(c.Events)
		if at+n > len(res.Events) {
			return
		}
		stored := res.Events[at : at+n]
		at += n
		subjects, err := r.vault.Subjects(streams[i].Events)
		if err != nil {
			r.cache.drop(c.Stream)
			continue
		}
		recs := make([]commands.Recorded, n)
		size := 0
		for j, e := range stored {
			v, err := r.codec.Decode(e.Type, plain[i][j])
			de, ok := v.(aggregates.Event)
			if err != nil || !ok {
				r.cache.drop(c.Stream)
				recs = nil
				break
			}
			recs[j] = commands.Recorded{ID: e.ID.String(), Event: de, Type: e.Type, Version: e.Version, RecordedAt: e.RecordedAt,
				Position: e.Cursor.String(), Metadata: commands.Metadata{Actor: e.Metadata.Actor, CommandID: e.Metadata.CommandID,
					CorrelationID: e.Metadata.CorrelationID, CausationID: e.Metadata.CausationID}}
			size += len(streams[i].Events[j].Data) + recordOverhead
		}
		if recs == nil {
			continue
		}
		if e := stored[len(stored)-1]; e.StreamID != c.Stream || e.Version != c.Expected+int64(n) {
			r.cache.drop(c.Stream)
			continue
		}
		r.cache.extend(c.Stream, c.Expected, recs, size, subjects)
	}
}

// forget drops the batch's streams from the cache (after a conflict: the
// cache may be behind).
func (r *Repository) forget(b commands.Batch) {
	for _, c := range b.Changes {
		r.cache.drop(c.Stream)
	}
}

// read reads and decodes a stream's events; a missing stream has none.
func (r *Repository) read(ctx context.Context, stream string, opts eventstore.ReadOptions) ([]commands.Recorded, error) {
	recs, _, _, err := r.readSized(ctx, stream, opts)
	return recs, err
}

// union is the subjects of a and b, each once.
func union(a, b []string) []string {
	if len(b) == 0 {
		return a
	}
	out := append([]string(nil), a...)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// readSized is read that also returns the events' stored size in bytes
// (an estimate of what they take decoded) and the data subjects whose
// personal values they hold. A missing stream gives nil; a stream with no
// events in range gives an empty, non-nil slice.
func (r *Repository) readSized(ctx context.Context, stream string, opts eventstore.ReadOptions) ([]commands.Recorded, int, []string, error) {
	evs, err := r.store.ReadStream(ctx, stream, opts)
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return nil, 0, nil, nil
	}
	if err != nil {
		return nil, 0, nil, err
	}
	subjects, err := r.vault.Reveal(ctx, evs)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("%s: %w", stream, err)
	}
	size := 0
	for _, e := range evs {
		size += len(e.Data) + recordOverhead
	}
	out := make([]commands.Recorded, len(evs))
	for i, e := range evs {
		v, err := r.codec.Decode(e.Type, e.Data)
		if err != nil {
			return nil, 0, nil, fmt.Errorf("%s version %d: %w", stream, e.Version, err)
		}
		de, ok := v.(aggregates.Event)
		if !ok {
			return nil, 0, nil, fmt.Errorf("%s version %d: %s is not a domain event", stream, e.Version, e.Type)
		}
		out[i] = commands.Recorded{ID: e.ID.String(), Event: de, Type: e.Type, Version: e.Version, RecordedAt: e.RecordedAt,
			Position: e.Cursor.String(), Metadata: commands.Metadata{Actor: e.Metadata.Actor, CommandID: e.Metadata.CommandID,
				CorrelationID: e.Metadata.CorrelationID, CausationID: e.Metadata.CausationID}}
	}
	return out, size, subjects, nil
}

// Save implements commands.Repository.
func (r *Repository) Save(ctx context.Context, b commands.Batch) (commands.Saved, error) {
	meta := eventstore.Metadata{Actor: b.Metadata.Actor, CommandID: b.Metadata.CommandID,
		CorrelationID: b.Metadata.CorrelationID, CausationID: b.Metadata.CausationID}
	streams := make([]eventstore.StreamEvents, 0, len(b.Changes))
	personal := make([]privacy.Stream, 0, len(b.Changes))
	// plain keeps each event's plaintext encoding: the cache holds what a
	// reload would decode.
	plain := make([][][]byte, len(b.Changes))
	for ci, c := range b.Changes {
		se := eventstore.StreamEvents{StreamID: c.Stream, Expected: eventstore.Exact(c.Expected)}
		for _, e := range c.Events {
			enc, err := r.codec.Encode(e)
			if err != nil {
				return commands.Saved{}, err
			}
			se.Events = append(se.Events, eventstore.EventData{Type: enc.Type, SchemaVersion: enc.SchemaVersion, Data: enc.Data, Metadata: meta})
			plain[ci] = append(plain[ci], enc.Data)
		}
		streams = append(streams, se)
		personal = append(personal, privacy.Stream{Events: se.Events, Email: c.Subject})
	}
	// A batch of events alone, whose personal values need no new key,
	// is one statement: the append commits on its own.
	alone := len(streams) > 0 && len(b.Claims) == 0 && len(b.Releases) == 0 && len(b.Erase) == 0 && b.Response == nil
	if alone {
		sealed, err := r.vault.Seal(ctx, r.pool, personal)
		if err != nil {
			return commands.Saved{}, err
		}
		if sealed.Empty() {
			return r.appendAlone(ctx, b, streams, plain)
		}
		return r.saveTx(ctx, b, streams, plain, sealed)
	}
	return r.saveTx(ctx, b, streams, plain, nil)
}

// appendAlone stores a batch that is only events, in one statement.
func (r *Repository) appendAlone(ctx context.Context, b commands.Batch, streams []eventstore.StreamEvents, plain [][][]byte) (commands.Saved, error) {
	res, err := r.store.Append(ctx, streams...)
	if errors.Is(err, eventstore.ErrVersionConflict) {
		r.forget(b)
		return commands.Saved{}, fmt.Errorf("%w: %w", commands.ErrVersionConflict, err)
	}
	if err != nil {
		return commands.Saved{}, err
	}
	r.remember(b, streams, plain, res)
	return savedOf(res), nil
}

// savedOf is what an append saved, as the command side sees it.
func savedOf(res eventstore.AppendResult) commands.Saved {
	saved := commands.Saved{Position: res.Position.String(), Versions: map[string]int64{}}
	for _, e := range res.Events {
		saved.Versions[e.StreamID] = e.Version
		saved.Events = append(saved.Events, commands.EventRef{Stream: e.StreamID, Type: e.Type, ID: e.ID.String()})
	}
	return saved
}

// saveTx stores a batch in one transaction: the events (in it, or through
// the store while it holds the claims), new subjects' keys, erasures,
// claims and the idempotency record. sealed, when not nil, is the
// batch's personal values sealed already.
func (r *Repository) saveTx(ctx context.Context, b commands.Batch, streams []eventstore.StreamEvents, plain [][][]byte, sealed *privacy.Sealed) (commands.Saved, error) {
	tx, err := r.pool.Begin(ctx)
	if err != nil {
		return commands.Saved{}, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.Background())
	if sealed == nil {
		// The events never reach the store in plaintext, and new
		// subjects' keys commit with the events encrypted under them.
		personal := make([]privacy.Stream, len(b.Changes))
		for i, c := range b.Changes {
			personal[i] = privacy.Stream{Events: streams[i].Events, Email: c.Subject}
		}
		if sealed, err = r.vault.Seal(ctx, tx, personal); err != nil {
			return commands.Saved{}, err
		}
	}
	var (
		saved    commands.Saved
		appended eventstore.AppendResult
	)
	ta, inTx := r.inTx, r.inTx != nil
	if !inTx {
		// The keys and claims are taken before the events leave
		// PostgreSQL.
		if err := r.keys(ctx, tx, sealed, b.Erase); err != nil {
			return commands.Saved{}, err
		}
		if err := r.claims(ctx, tx, b); err != nil {
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
			r.forget(b)
			return commands.Saved{}, fmt.Errorf("%w: %w", commands.ErrVersionConflict, err)
		}
		if err != nil {
			return commands.Saved{}, err
		}
		appended, saved = res, savedOf(res)
	}
	if inTx {
		// The append is the transaction's first write; keys follow it.
		if err := r.keys(ctx, tx, sealed, b.Erase); err != nil {
			return commands.Saved{}, err
		}
		if err := r.claims(ctx, tx, b); err != nil {
			return commands.Saved{}, err
		}
	}
	if resp := b.Response; resp != nil {
		result, err := json.Marshal(resp.Result.Completed(resp.Target, saved))
		if err != nil {
			return commands.Saved{}, fmt.Errorf("encode idempotent result: %w", err)
		}
		tag, err := tx.Exec(ctx, `INSERT INTO crm_idempotency (scope, key, request_hash, result) VALUES ($1, $2, $3, $4)
ON CONFLICT (scope, key) DO NOTHING`, resp.Scope, resp.Key, resp.RequestHash, result)
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
	r.remember(b, streams, plain, appended)
	for _, s := range b.Erase {
		r.vault.Forget(s.ID)
	}
	if len(b.Erase) > 0 {
		// The erasure has committed: rewrite the vault's tables so that
		// the deleted key rows leave their pages now. A failure does not
		// undo the erasure (the key is gone for every reader); autovacuum
		// removes the old rows later, and their bytes go as the space is
		// reused.
		if h, err := privacy.HorizonNow(ctx, r.pool); err == nil {
			_ = privacy.Compact(ctx, r.pool, h, 5*time.Second, append(privacy.ShreddedTables, "crm_claims")...)
		}
	}
	return saved, nil
}

// keys stores new subjects' keys and deletes erased ones in tx. A subject
// that changed meanwhile is a version conflict: the command is sealed and
// decided again.
func (r *Repository) keys(ctx context.Context, tx pgx.Tx, sealed *privacy.Sealed, erase []commands.DataSubject) error {
	if err := r.vault.Store(ctx, tx, sealed); err != nil {
		if errors.Is(err, privacy.ErrSubjectChanged) {
			return fmt.Errorf("%w: %w", commands.ErrVersionConflict, err)
		}
		return err
	}
	for _, s := range erase {
		expect := make([]privacy.Entity, len(s.Entities))
		for i, e := range s.Entities {
			expect[i] = privacy.Entity{EntityType: e.EntityType, EntityID: e.EntityID}
		}
		if err := r.vault.Shred(ctx, tx, s.ID, expect); err != nil {
			if errors.Is(err, privacy.ErrSubjectChanged) {
				return fmt.Errorf("%w: %w", commands.ErrVersionConflict, err)
			}
			return err
		}
	}
	return nil
}

// storedKey is the key a claim is stored under: an email's keyed hash,
// any other key as it is.
func (r *Repository) storedKey(kind, key string) string {
	if kind == commands.ClaimEmail {
		return r.vault.ClaimKey(key)
	}
	return key
}

// claims releases and takes the batch's unique-key claims in tx.
func (r *Repository) claims(ctx context.Context, tx pgx.Tx, b commands.Batch) error {
	for _, c := range b.Releases {
		if _, err := tx.Exec(ctx, `DELETE FROM crm_claims WHERE kind = $1 AND key = $2 AND owner_type = $3 AND owner_id = $4`,
			c.Kind, r.storedKey(c.Kind, c.Key), c.OwnerType, c.OwnerID); err != nil {
			return fmt.Errorf("release %s: %w", c.Kind, err)
		}
	}
	for _, c := range b.Claims {
		if err := r.claim(ctx, tx, c); err != nil {
			return err
		}
	}
	return nil
}

// claim takes c's key, or confirms the same owner holds it already. A
// concurrent uncommitted claim of the same key makes the insert wait for
// that transaction's outcome, so exactly one of racing claims wins.
func (r *Repository) claim(ctx context.Context, tx pgx.Tx, c commands.Claim) error {
	key := r.storedKey(c.Kind, c.Key)
	tag, err := tx.Exec(ctx, `INSERT INTO crm_claims (kind, key, owner_type, owner_id) VALUES ($1, $2, $3, $4)
ON CONFLICT (kind, key) DO NOTHING`, c.Kind, key, c.OwnerType, c.OwnerID)
	if err != nil {
		return fmt.Errorf("claim %s: %w", c.Kind, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var ownerType, ownerID string
	if err := tx.QueryRow(ctx, `SELECT owner_type, owner_id FROM crm_claims WHERE kind = $1 AND key = $2`, c.Kind, key).
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
	err := r.pool.QueryRow(ctx, `SELECT owner_type, owner_id FROM crm_claims WHERE kind = $1 AND key = $2`, kind, r.storedKey(kind, key)).Scan(&ownerType, &ownerID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, fmt.Errorf("look up %s claim: %w", kind, err)
	}
	return ownerType, ownerID, true, nil
}

// RehashEmailClaims replaces email reservations stored with the plain
// email (before emails were stored as keyed hashes) by their keyed hash,
// keeping their owners, in one transaction, and returns how many it
// replaced. Run it on start; it finds nothing once done.
func (r *Repository) RehashEmailClaims(ctx context.Context) (int, error) {
	tx, err := r.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("rehash email claims: %w", err)
	}
	defer tx.Rollback(context.Background())
	rows, err := tx.Query(ctx, `SELECT key, owner_type, owner_id FROM crm_claims WHERE kind = $1 AND key LIKE '%@%' FOR UPDATE`, commands.ClaimEmail)
	if err != nil {
		return 0, fmt.Errorf("rehash email claims: %w", err)
	}
	var plain []commands.Claim
	for rows.Next() {
		c := commands.Claim{Kind: commands.ClaimEmail}
		if err := rows.Scan(&c.Key, &c.OwnerType, &c.OwnerID); err != nil {
			rows.Close()
			return 0, fmt.Errorf("rehash email claims: %w", err)
		}
		plain = append(plain, c)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("rehash email claims: %w", err)
	}
	if len(plain) == 0 {
		return 0, nil
	}
	batch := &pgx.Batch{}
	for _, c := range plain {
		batch.Queue(`DELETE FROM crm_claims WHERE kind = $1 AND key = $2`, c.Kind, c.Key)
		batch.Queue(`INSERT INTO crm_claims (kind, key, owner_type, owner_id) VALUES ($1, $2, $3, $4) ON CONFLICT (kind, key) DO NOTHING`,
			c.Kind, r.storedKey(c.Kind, c.Key), c.OwnerType, c.OwnerID)
	}
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return 0, fmt.Errorf("rehash email claims: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("rehash email claims: %w", err)
	}
	return len(plain), nil
}

// Subject implements commands.Repository.
func (r *Repository) Subject(ctx context.Context, email string) (commands.DataSubject, bool, error) {
	id, entities, ok, err := r.vault.Subject(ctx, email)
	if err != nil || !ok {
		return commands.DataSubject{}, false, err
	}
	s := commands.DataSubject{ID: id, Entities: make([]aggregates.ErasedEntity, len(entities))}
	for i, e := range entities {
		s.Entities[i] = aggregates.ErasedEntity{EntityType: e.EntityType, EntityID: e.EntityID}
	}
	return s, true, nil
}

// LookupResponse returns the idempotency record stored under a key; ok is
// false when there is none.
func (r *Repository) LookupResponse(ctx context.Context, scope, key string) (rec commands.Replay, ok bool, err error) {
	var (
		status *int
		result []byte
	)
	err = r.pool.QueryRow(ctx, `SELECT request_hash, status, body, result FROM crm_idempotency WHERE scope = $1 AND key = $2`, scope, key).
		Scan(&rec.RequestHash, &status, &rec.Body, &result)
	if errors.Is(err, pgx.ErrNoRows) {
		return commands.Replay{}, false, nil
	}
	if err != nil {
		return commands.Replay{}, false, fmt.Errorf("look up idempotency key: %w", err)
	}
	if result != nil {
		rec.Result = &commands.Result{}
		if err := json.Unmarshal(result, rec.Result); err != nil {
			return commands.Replay{}, false, fmt.Errorf("decode idempotent result of key %q: %w", key, err)
		}
	} else if status != nil {
		rec.Status = *status
	}
	return rec, true, nil
}

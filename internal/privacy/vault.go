package privacy

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"crm/internal/pgmigrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations create the key and entity tables.
var Migrations = pgmigrate.Set{Name: "privacy", FS: pgmigrate.Sub(migrationFiles, "migrations"), VersionTable: "crm_schema_privacy"}

// MinMasterKeyLen is the shortest master key accepted, in bytes.
const MinMasterKeyLen = 32

// ErrMasterKey is returned by New for a master key that is too short.
var ErrMasterKey = errors.New("the master key must be at least 32 characters")

// Querier is what the vault runs its statements on: a pool or a
// transaction.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Cache bounds: keys found are trusted for keyTTL, after which they are
// checked again (another process may have erased the subject); at most
// maxCachedKeys are kept.
const (
	keyTTL        = time.Minute
	maxCachedKeys = 1 << 16
)

// Vault encrypts and decrypts personal data under per-subject keys and
// erases subjects. It is safe for concurrent use.
type Vault struct {
	db      Querier
	kek     cipher.AEAD
	hashKey []byte
	now     func() time.Time

	mu   sync.Mutex
	keys map[uuid.UUID]keyEntry
	// emails maps email hashes to their subjects, for Seal.
	emails map[[sha256.Size]byte]uuid.UUID
	// changed holds email hashes whose subject Store found changed:
	// Seal looks them up.
	changed map[[sha256.Size]byte]bool
}

// keyEntry is a cached subject key: its cipher, or erased.
type keyEntry struct {
	aead   cipher.AEAD
	erased bool
	at     time.Time
}

// New returns a vault over a migrated database (see Migrations) with the
// master key, a secret of at least MinMasterKeyLen bytes (ErrMasterKey).
// The key-encryption key and the email-hash key are derived from it.
func New(db Querier, masterKey []byte) (*Vault, error) {
	if len(masterKey) < MinMasterKeyLen {
		return nil, ErrMasterKey
	}
	kek, err := newAEAD(derive(masterKey, "crm privacy key-encryption key v1"))
	if err != nil {
		return nil, err
	}
	return &Vault{db: db, kek: kek, hashKey: derive(masterKey, "crm privacy email hash key v1"), now: time.Now,
		keys: map[uuid.UUID]keyEntry{}, emails: map[[sha256.Size]byte]uuid.UUID{},
		changed: map[[sha256.Size]byte]bool{}}, nil
}

// derive returns HMAC-SHA256(master, label): a 32-byte key for one use.
func derive(master []byte, label string) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte(label))
	return m.Sum(nil)
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("privacy: %w", err)
	}
	return cipher.NewGCM(block)
}

// NormalizeEmail is the form of an email that identifies a subject.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// EmailHash is the keyed hash of a normalised email: how the subject and
// the email reservations are found without storing the email.
func (v *Vault) EmailHash(email string) []byte {
	m := hmac.New(sha256.New, v.hashKey)
	m.Write([]byte(NormalizeEmail(email)))
	return m.Sum(nil)
}

// ClaimKey is the key an email reservation is stored under: the keyed
// hash of the email, in hex with a prefix.
func (v *Vault) ClaimKey(email string) string {
	return "hmac-sha256:" + hex.EncodeToString(v.EmailHash(email))
}

// wrap encrypts a data key under the key-encryption key, bound to its
// subject.
func (v *Vault) wrap(subject uuid.UUID, key []byte) ([]byte, error) {
	nonce := make([]byte, v.kek.NonceSize(), v.kek.NonceSize()+len(key)+v.kek.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("privacy: nonce: %w", err)
	}
	return v.kek.Seal(nonce, nonce, key, subject[:]), nil
}

// unwrap returns the cipher of a wrapped data key.
func (v *Vault) unwrap(subject uuid.UUID, wrapped []byte) (cipher.AEAD, error) {
	ns := v.kek.NonceSize()
	if len(wrapped) < ns+v.kek.Overhead() {
		return nil, fmt.Errorf("privacy: key of subject %s is malformed", subject)
	}
	key, err := v.kek.Open(nil, wrapped[:ns], wrapped[ns:], subject[:])
	if err != nil {
		return nil, fmt.Errorf("privacy: cannot unwrap the key of subject %s (another master key?): %w", subject, err)
	}
	return newAEAD(key)
}

// cached returns a subject's cached key; ok is false when it is unknown
// or due for a check.
func (v *Vault) cached(subject uuid.UUID) (keyEntry, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	e, ok := v.keys[subject]
	if !ok || (!e.erased && v.now().Sub(e.at) > keyTTL) {
		return keyEntry{}, false
	}
	return e, true
}

// remember caches a subject's key (or its erasure).
func (v *Vault) remember(subject uuid.UUID, e keyEntry) {
	e.at = v.now()
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.keys) >= maxCachedKeys {
		n := 0
		for k := range v.keys {
			delete(v.keys, k)
			if n++; n >= maxCachedKeys/4 {
				break
			}
		}
	}
	v.keys[subject] = e
}

// mapEmail caches the subject of an email hash.
func (v *Vault) mapEmail(hash []byte, subject uuid.UUID) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.emails) >= maxCachedKeys {
		n := 0
		for k := range v.emails {
			delete(v.emails, k)
			if n++; n >= maxCachedKeys/4 {
				break
			}
		}
	}
	v.emails[[sha256.Size]byte(hash)] = subject
}

// keysOf returns the keys of subjects, from the cache or one query; a
// subject without a key row is erased.
func (v *Vault) keysOf(ctx context.Context, subjects map[uuid.UUID]bool) (map[uuid.UUID]keyEntry, error) {
	out := make(map[uuid.UUID]keyEntry, len(subjects))
	var missing []uuid.UUID
	for s := range subjects {
		if e, ok := v.cached(s); ok {
			out[s] = e
		} else {
			missing = append(missing, s)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	rows, err := v.db.Query(ctx, `SELECT subject_id, wrapped_key FROM crm_privacy_keys WHERE subject_id = ANY($1)`, missing)
	if err != nil {
		return nil, fmt.Errorf("privacy: read subject keys: %w", err)
	}
	found := map[uuid.UUID][]byte{}
	for rows.Next() {
		var s uuid.UUID
		var w []byte
		if err := rows.Scan(&s, &w); err != nil {
			rows.Close()
			return nil, fmt.Errorf("privacy: read subject keys: %w", err)
		}
		found[s] = w
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("privacy: read subject keys: %w", err)
	}
	for _, s := range missing {
		e := keyEntry{erased: true}
		if w, ok := found[s]; ok {
			a, err := v.unwrap(s, w)
			if err != nil {
				return nil, err
			}
			e = keyEntry{aead: a}
		}
		v.remember(s, e)
		out[s] = e
	}
	return out, nil
}

// AnyErased reports whether any of the subjects (ids as strings) has been
// erased, as far as this process can tell: from its cache, checked
// against the database at most once a minute per subject.
func (v *Vault) AnyErased(ctx context.Context, subjects []string) (bool, error) {
	set := make(map[uuid.UUID]bool, len(subjects))
	for _, s := range subjects {
		id, err := uuid.Parse(s)
		if err != nil {
			return false, fmt.Errorf("privacy: subject id %q: %w", s, err)
		}
		set[id] = true
	}
	keys, err := v.keysOf(ctx, set)
	if err != nil {
		return false, err
	}
	for _, k := range keys {
		if k.erased {
			return true, nil
		}
	}
	return false, nil
}

// ErrSubjectChanged is returned by Store when a subject the sealed values
// were encrypted for was created or erased concurrently: roll back and
// seal again.
var ErrSubjectChanged = errors.New("privacy: a data subject changed concurrently")

// subjectOf returns the subject of an email as this process knows it
// (learnt from values it revealed or stored), or else a new one (id and
// key) for Store to create. It reads the database (with q) only for an
// email Store found changed; otherwise Store finds out, in the append's
// transaction, when the email had a subject already (or the known one
// was erased) and fails with ErrSubjectChanged, and the retry looks the
// subject up.
func (v *Vault) subjectOf(ctx context.Context, q Querier, email string) (id uuid.UUID, a cipher.AEAD, created *newSubject, err error) {
	hash := v.EmailHash(email)
	h := [sha256.Size]byte(hash)
	v.mu.Lock()
	id, ok := v.emails[h]
	e, known := v.keys[id]
	lookUp := v.changed[h]
	v.mu.Unlock()
	if ok && known && !e.erased {
		return id, e.aead, nil, nil
	}
	if lookUp {
		var w []byte
		err := q.QueryRow(ctx, `SELECT subject_id, wrapped_key FROM crm_privacy_keys WHERE email_hash = $1`, hash).Scan(&id, &w)
		switch {
		case err == nil:
			if a, err = v.unwrap(id, w); err != nil {
				return uuid.Nil, nil, nil, err
			}
			v.remember(id, keyEntry{aead: a})
			v.mapEmail(hash, id)
			return id, a, nil, nil
		case !errors.Is(err, pgx.ErrNoRows):
			return uuid.Nil, nil, nil, fmt.Errorf("privacy: look up subject: %w", err)
		}
	}
	if id, err = uuid.NewV7(); err != nil {
		return uuid.Nil, nil, nil, fmt.Errorf("privacy: subject id: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return uuid.Nil, nil, nil, fmt.Errorf("privacy: data key: %w", err)
	}
	wrapped, err := v.wrap(id, key)
	if err != nil {
		return uuid.Nil, nil, nil, err
	}
	if a, err = newAEAD(key); err != nil {
		return uuid.Nil, nil, nil, err
	}
	return id, a, &newSubject{id: id, hash: hash, wrapped: wrapped, aead: a}, nil
}

// newSubject is a subject Seal made up, for Store to create.
type newSubject struct {
	id            uuid.UUID
	hash, wrapped []byte
	aead          cipher.AEAD
}

// Sealed is what Seal encrypted values under and Store must record in
// the same transaction: new subjects, and the entities their data
// belongs to.
type Sealed struct {
	subjects []newSubject
	entities []entityRow
	// emails are the hashes of every email sealed for.
	emails [][sha256.Size]byte
}

// entityRow is an entity whose data a subject's key protects.
type entityRow struct {
	subject            uuid.UUID
	entityType, entity string
}

// Empty reports whether there is nothing to store.
func (s *Sealed) Empty() bool { return s == nil || (len(s.subjects) == 0 && len(s.entities) == 0) }

// Store records s in q, the transaction that appended the sealed events,
// in one statement. If a subject was created meanwhile by another
// transaction (so the values are under a key that will not be kept), or
// one was erased, it returns ErrSubjectChanged and forgets what it
// cached: roll back, and seal again.
func (v *Vault) Store(ctx context.Context, q Querier, s *Sealed) error {
	if s.Empty() {
		return nil
	}
	ids, hashes, wrapped := make([]uuid.UUID, len(s.subjects)), make([][]byte, len(s.subjects)), make([][]byte, len(s.subjects))
	for i, n := range s.subjects {
		ids[i], hashes[i], wrapped[i] = n.id, n.hash, n.wrapped
	}
	es, ts, eids := make([]uuid.UUID, len(s.entities)), make([]string, len(s.entities)), make([]string, len(s.entities))
	for i, e := range s.entities {
		es[i], ts[i], eids[i] = e.subject, e.entityType, e.entity
	}
	// An entity row checks (and locks against erasure) its subject's key
	// row; a subject created concurrently makes its insert do nothing,
	// and its entities then miss their key.
	var created int
	err := q.QueryRow(ctx, `WITH new AS (
    INSERT INTO crm_privacy_keys (subject_id, email_hash, wrapped_key)
    SELECT * FROM unnest($1::uuid[], $2::bytea[], $3::bytea[])
    ON CONFLICT (email_hash) DO NOTHING RETURNING subject_id
), ent AS (
    INSERT INTO crm_privacy_entities (subject_id, entity_type, entity_id)
    SELECT * FROM unnest($4::uuid[], $5::text[], $6::text[])
    ON CONFLICT DO NOTHING
)
SELECT count(*) FROM new`, ids, hashes, wrapped, es, ts, eids).Scan(&created)
	var pgErr *pgconn.PgError
	if (err == nil && created != len(ids)) || (errors.As(err, &pgErr) && pgErr.Code == "23503") {
		for _, e := range s.entities {
			v.forget(e.subject)
		}
		v.mu.Lock()
		for _, e := range s.emails {
			if len(v.changed) >= maxCachedKeys {
				clear(v.changed)
			}
			v.changed[e] = true
		}
		v.mu.Unlock()
		return ErrSubjectChanged
	}
	if err != nil {
		return fmt.Errorf("privacy: store subjects: %w", err)
	}
	for _, n := range s.subjects {
		v.remember(n.id, keyEntry{aead: n.aead})
		v.mapEmail(n.hash, n.id)
	}
	v.mu.Lock()
	for _, e := range s.emails {
		delete(v.changed, e)
	}
	v.mu.Unlock()
	return nil
}

// Entity is a lead or contact whose personal data a subject key protects.
type Entity struct {
	EntityType string `json:"entity_type"`
	EntityID   string `json:"entity_id"`
}

// Subject returns the subject an email belongs to and its entities, in
// the order they were recorded; ok is false when the email has none (never
// seen, or erased).
func (v *Vault) Subject(ctx context.Context, email string) (id string, entities []Entity, ok bool, err error) {
	rows, err := v.db.Query(ctx, `SELECT k.subject_id, coalesce(e.entity_type, ''), coalesce(e.entity_id, '')
FROM crm_privacy_keys k LEFT JOIN crm_privacy_entities e USING (subject_id)
WHERE k.email_hash = $1 ORDER BY e.created_at, e.entity_type, e.entity_id`, v.EmailHash(email))
	if err != nil {
		return "", nil, false, fmt.Errorf("privacy: look up subject: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s uuid.UUID
		var e Entity
		if err := rows.Scan(&s, &e.EntityType, &e.EntityID); err != nil {
			return "", nil, false, fmt.Errorf("privacy: look up subject: %w", err)
		}
		id, ok = s.String(), true
		if e.EntityID != "" {
			entities = append(entities, e)
		}
	}
	if err := rows.Err(); err != nil {
		return "", nil, false, fmt.Errorf("privacy: look up subject: %w", err)
	}
	return id, entities, ok, nil
}

// Shred deletes a subject's key (and its entity list) in tx, the
// transaction that records the erasure, after locking the key row. expect
// are the entities the erasure names (nil: any): when the subject's
// entities differ (a conversion added a contact since they were read) or
// the key is gone already, it returns ErrSubjectChanged, so the erasure is
// decided again and names every entity. Call Forget after it commits.
func (v *Vault) Shred(ctx context.Context, tx Querier, subject string, expect []Entity) error {
	id, err := uuid.Parse(subject)
	if err != nil {
		return fmt.Errorf("privacy: subject id %q: %w", subject, err)
	}
	var one int
	err = tx.QueryRow(ctx, `SELECT 1 FROM crm_privacy_keys WHERE subject_id = $1 FOR UPDATE`, id).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrSubjectChanged
	}
	if err != nil {
		return fmt.Errorf("privacy: lock the key of subject %s: %w", subject, err)
	}
	rows, err := tx.Query(ctx, `DELETE FROM crm_privacy_entities WHERE subject_id = $1 RETURNING entity_type, entity_id`, id)
	if err != nil {
		return fmt.Errorf("privacy: delete the entities of subject %s: %w", subject, err)
	}
	held, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Entity, error) {
		var e Entity
		return e, r.Scan(&e.EntityType, &e.EntityID)
	})
	if err != nil {
		return fmt.Errorf("privacy: delete the entities of subject %s: %w", subject, err)
	}
	if expect != nil && !sameEntities(held, expect) {
		return ErrSubjectChanged
	}
	if _, err := tx.Exec(ctx, `DELETE FROM crm_privacy_keys WHERE subject_id = $1`, id); err != nil {
		return fmt.Errorf("privacy: delete the key of subject %s: %w", subject, err)
	}
	return nil
}

// sameEntities reports whether a and b hold the same entities, in any
// order.
func sameEntities(a, b []Entity) bool {
	if len(a) != len(b) {
		return false
	}
	seen := make(map[Entity]int, len(a))
	for _, e := range a {
		seen[e]++
	}
	for _, e := range b {
		if seen[e] == 0 {
			return false
		}
		seen[e]--
	}
	return true
}

// Forget records in this process's cache that a subject was shredded.
func (v *Vault) Forget(subject string) {
	if id, err := uuid.Parse(subject); err == nil {
		v.forget(id)
		v.remember(id, keyEntry{erased: true})
	}
}

// forget drops what the cache knows of a subject.
func (v *Vault) forget(id uuid.UUID) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.keys, id)
	for h, s := range v.emails {
		if s == id {
			delete(v.emails, h)
		}
	}
}

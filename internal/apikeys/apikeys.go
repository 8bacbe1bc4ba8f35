// Package apikeys owns API keys: generating secrets, storing only their
// SHA-256 hashes in PostgreSQL, looking a presented secret up, and the
// bootstrap of the first admin key.
package apikeys

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"crm/internal/pgmigrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations is the key store's migration set.
var Migrations = pgmigrate.Set{
	Name:         "api keys",
	FS:           pgmigrate.Sub(migrationFiles, "migrations"),
	VersionTable: "crm_apikeys_schema_version",
}

// Roles lists the roles a key may have (see API.md).
var Roles = []string{"admin", "manager", "sales", "support", "analyst", "auditor"}

// secretPrefix marks CRM API key secrets so they are recognisable in logs
// and secret scanners.
const secretPrefix = "crm_"

// Key describes a stored key; the secret is never part of it.
type Key struct {
	ID        uuid.UUID  `json:"id"`
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	// UserID is the user the key is bound to ("" for none): requests with
	// it act as that user.
	UserID string `json:"user_id,omitempty"`
}

// Principal is the actor events record for this key: "key:<id>:<name>".
// The id makes it unique even across renamed or reissued keys; the name
// keeps it readable.
func (k Key) Principal() string { return Actor(k.ID.String(), k.Name) }

// Actor is the actor of the key with this id and name: "key:<id>:<name>".
func Actor(id, name string) string { return "key:" + id + ":" + name }

// Store keeps keys in PostgreSQL.
type Store struct{ pool *pgxpool.Pool }

// New returns a key store over a migrated pool (see Migrations).
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// NewSecret returns a fresh random secret (256 bits).
func NewSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("new api key secret: %w", err)
	}
	return secretPrefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

func hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// CheckSecret reports whether a caller-chosen secret is acceptable: at
// least 16 printable characters without spaces.
func CheckSecret(secret string) error {
	if len(secret) < 16 {
		return fmt.Errorf("%w: a key must be at least 16 characters", ErrInvalid)
	}
	if strings.ContainsFunc(secret, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return fmt.Errorf("%w: a key may not contain spaces or control characters", ErrInvalid)
	}
	return nil
}

func checkNameRole(name, role string) error {
	if strings.TrimSpace(name) == "" || len(name) > 200 {
		return fmt.Errorf("%w: name must be 1 to 200 characters", ErrInvalid)
	}
	if !utf8.ValidString(name) || strings.ContainsRune(name, 0) {
		return fmt.Errorf("%w: name must be valid UTF-8 without NUL characters", ErrInvalid)
	}
	if !slices.Contains(Roles, role) {
		return fmt.Errorf("%w: role %q is not one of %s", ErrInvalid, role, strings.Join(Roles, ", "))
	}
	return nil
}

// Create stores a new key with a generated secret and returns both; the
// secret cannot be recovered later.
func (s *Store) Create(ctx context.Context, name, role string) (Key, string, error) {
	secret, err := NewSecret()
	if err != nil {
		return Key{}, "", err
	}
	k, err := s.CreateWithSecret(ctx, name, role, secret)
	return k, secret, err
}

// CreateForUser is Create for a key bound to the user userID ("" for
// none); the caller checks that the user exists.
func (s *Store) CreateForUser(ctx context.Context, name, role, userID string) (Key, string, error) {
	secret, err := NewSecret()
	if err != nil {
		return Key{}, "", err
	}
	k, err := s.createKey(ctx, name, role, secret, userID)
	return k, secret, err
}

// CreateWithSecret stores a key with a caller-chosen secret.
func (s *Store) CreateWithSecret(ctx context.Context, name, role, secret string) (Key, error) {
	return s.createKey(ctx, name, role, secret, "")
}

func (s *Store) createKey(ctx context.Context, name, role, secret, userID string) (Key, error) {
	if err := checkNameRole(name, role); err != nil {
		return Key{}, err
	}
	if err := CheckSecret(secret); err != nil {
		return Key{}, err
	}
	k := Key{ID: uuid.Must(uuid.NewV7()), Name: name, Role: role, UserID: userID}
	err := s.pool.QueryRow(ctx,
		`INSERT INTO crm_api_keys (id, name, role, key_hash, user_id) VALUES ($1, $2, $3, $4, $5) RETURNING created_at`,
		k.ID, name, role, hash(secret), userID).Scan(&k.CreatedAt)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "crm_api_keys_name" {
		return Key{}, fmt.Errorf("create api key %q: %w", name, ErrNameTaken)
	}
	if err != nil {
		return Key{}, fmt.Errorf("create api key %q: %w", name, err)
	}
	return k, nil
}

// Bootstrap creates an admin key with the given secret (or a generated one
// when secret is empty) only if no key exists yet. It returns created=false
// when keys already exist. Concurrent bootstraps create at most one key.
func (s *Store) Bootstrap(ctx context.Context, secret string) (k Key, generated string, created bool, err error) {
	if secret == "" {
		if generated, err = NewSecret(); err != nil {
			return Key{}, "", false, err
		}
		secret = generated
	}
	if err := CheckSecret(secret); err != nil {
		return Key{}, "", false, err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE crm_api_keys IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM crm_api_keys`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		k = Key{ID: uuid.Must(uuid.NewV7()), Name: "bootstrap-admin", Role: "admin"}
		created = true
		return tx.QueryRow(ctx,
			`INSERT INTO crm_api_keys (id, name, role, key_hash) VALUES ($1, $2, $3, $4) RETURNING created_at`,
			k.ID, k.Name, k.Role, hash(secret)).Scan(&k.CreatedAt)
	})
	if err != nil {
		return Key{}, "", false, fmt.Errorf("bootstrap admin key: %w", err)
	}
	if !created {
		generated = ""
	}
	return k, generated, created, nil
}

// Authenticate returns the active key whose secret this is, or ErrNotFound.
func (s *Store) Authenticate(ctx context.Context, secret string) (Key, error) {
	var k Key
	err := s.pool.QueryRow(ctx,
		`SELECT id, name, role, created_at, user_id FROM crm_api_keys WHERE key_hash = $1 AND revoked_at IS NULL`,
		hash(secret)).Scan(&k.ID, &k.Name, &k.Role, &k.CreatedAt, &k.UserID)
	if errors.Is(err, pgx.ErrNoRows) {
		return Key{}, ErrNotFound
	}
	if err != nil {
		return Key{}, fmt.Errorf("authenticate api key: %w", err)
	}
	return k, nil
}

// List returns every key, revoked ones included, oldest first.
func (s *Store) List(ctx context.Context) ([]Key, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, name, role, created_at, revoked_at, user_id FROM crm_api_keys ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Key, error) {
		var k Key
		err := r.Scan(&k.ID, &k.Name, &k.Role, &k.CreatedAt, &k.RevokedAt, &k.UserID)
		return k, err
	})
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return keys, nil
}

// Revoke makes a key unusable from its next request on. Revoking an
// unknown or already revoked key returns ErrNotFound.
func (s *Store) Revoke(ctx context.Context, id uuid.UUID) error {
	tag, err := s.pool.Exec(ctx, `UPDATE crm_api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`, id)
	if err != nil {
		return fmt.Errorf("revoke api key %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("revoke api key %s: %w", id, ErrNotFound)
	}
	return nil
}

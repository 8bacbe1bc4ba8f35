package readmodels

import (
	"github.com/jackc/pgx/v5/pgxpool"
)

// Queries answers read-model queries from PostgreSQL.
type Queries struct {
	pool *pgxpool.Pool
}

// New returns the query functions over pool.
func New(pool *pgxpool.Pool) *Queries { return &Queries{pool: pool} }

// Page is one page of a list: items and the opaque cursor of the next page
// (nil on the last page).
type Page[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// Limits of list pages.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

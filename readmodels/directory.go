package readmodels

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// DirectoryProjector builds the users directory (DirectorySchema).
const DirectoryProjector = "directory"

// DirectorySchemaName is the schema of the users directory.
const DirectorySchemaName = SchemaPrefix + DirectoryProjector

// DirectorySchema is the DDL of the users directory (projector
// "directory"); lists and reports look owners' names up in it.
const DirectorySchema = `
CREATE TABLE users (
	id            text COLLATE "C" PRIMARY KEY,
	name          text NOT NULL,
	email         text NOT NULL,
	title         text NOT NULL DEFAULT '',
	team          text NOT NULL DEFAULT '',
	manager_id    text NOT NULL DEFAULT '',
	active        boolean NOT NULL DEFAULT true,
	registered_at timestamptz NOT NULL
);
CREATE INDEX users_registered ON users (registered_at, id);
CREATE INDEX users_team ON users (team, registered_at, id);
`

// UserRow is a user as the directory lists them.
type UserRow struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Email        string    `json:"email"`
	Title        string    `json:"title"`
	Team         string    `json:"team"`
	ManagerID    string    `json:"manager_id"`
	Active       bool      `json:"active"`
	RegisteredAt time.Time `json:"registered_at"`
}

// UserFilter selects users: by team, by active ("true", "false" or ""),
// and by q (a case-insensitive substring of name or email).
type UserFilter struct {
	Team, Active, Q string
	Limit           int
	Cursor          string
}

// Users returns a page of users matching f, oldest registered first.
// Errors: ErrCursor for a malformed cursor; ErrInvalid for a bad filter.
func (q *Queries) Users(ctx context.Context, f UserFilter) (Page[UserRow], error) {
	var w where
	if err := w.equal("team", "team", f.Team); err != nil {
		return Page[UserRow]{}, err
	}
	switch f.Active {
	case "":
	case "true", "false":
		w.conds = append(w.conds, "active = "+w.arg(f.Active == "true"))
	default:
		return Page[UserRow]{}, fmt.Errorf("%w: active must be true or false", ErrInvalid)
	}
	if err := w.search(f.Q, "name", "email"); err != nil {
		return Page[UserRow]{}, err
	}
	return listPage(ctx, q, &w, listQuery{
		schema: DirectorySchemaName, table: "users",
		columns: `id, name, email, title, team, manager_id, active, registered_at`,
		limit:   f.Limit, cursor: f.Cursor,
	}, userSorts, func(row pgx.CollectableRow) (UserRow, error) {
		var u UserRow
		err := row.Scan(&u.ID, &u.Name, &u.Email, &u.Title, &u.Team, &u.ManagerID, &u.Active, &u.RegisteredAt)
		u.RegisteredAt = u.RegisteredAt.UTC()
		return u, err
	}, func(u UserRow) string { return u.ID })
}

// userSorts is the users directory's one order: by registration.
var userSorts = []sortKey[UserRow]{
	timeKey("created", "registered_at", func(u UserRow) time.Time { return u.RegisteredAt }),
}

// ownerName is the column expression of the name of the user whose id is
// in column (qualified by its table), or "" when the directory has none.
func ownerName(column string) string {
	return `coalesce((SELECT u.name FROM ` + DirectorySchemaName + `.users u WHERE u.id = ` + column + `), '')`
}

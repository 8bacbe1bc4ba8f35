package projections

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"crm/aggregates"
	"crm/readmodels"
)

// Directory projects the users directory of readmodels.DirectorySchema:
// one row per user, which the lists and reports name owners by.
type Directory struct{}

// NewDirectory returns the directory projector.
func NewDirectory() *Directory { return &Directory{} }

// Name implements Projector: "directory".
func (*Directory) Name() string { return readmodels.DirectoryProjector }

// Setup implements Projector: it creates the users table.
func (*Directory) Setup(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, readmodels.DirectorySchema); err != nil {
		return fmt.Errorf("create the users table: %w", err)
	}
	return nil
}

// Apply implements Projector: each user event becomes one statement, in
// log order; other events are skipped.
func (*Directory) Apply(ctx context.Context, tx pgx.Tx, events []Event) error {
	b := &pgx.Batch{}
	for _, ev := range events {
		switch e := ev.Domain.(type) {
		case aggregates.UserRegisteredEvent:
			b.Queue(`INSERT INTO users (id, name, email, title, team, manager_id, active, registered_at)
				VALUES ($1, $2, $3, $4, $5, $6, true, $7)
				ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email, title = EXCLUDED.title,
					team = EXCLUDED.team, manager_id = EXCLUDED.manager_id, active = true, registered_at = EXCLUDED.registered_at`,
				e.UserID, e.Name, e.Email, e.Title, e.Team, e.ManagerID, listsAt(e.RegisteredAt, ev))
		case aggregates.UserDetailsChangedEvent:
			for _, c := range e.Changes {
				column, ok := map[string]string{"name": "name", "email": "email", "title": "title", "team": "team", "manager_id": "manager_id"}[c.Field]
				if ok {
					b.Queue(`UPDATE users SET `+column+` = $2 WHERE id = $1`, e.UserID, c.To)
				}
			}
		case aggregates.UserDeactivatedEvent:
			b.Queue(`UPDATE users SET active = false WHERE id = $1`, e.UserID)
		case aggregates.UserReactivatedEvent:
			b.Queue(`UPDATE users SET active = true WHERE id = $1`, e.UserID)
		}
	}
	if b.Len() == 0 {
		return nil
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("directory: %w", err)
	}
	return nil
}

package projections

import (
	"context"

	"github.com/jackc/pgx/v5"

	"crm/aggregates"
	"crm/eventstore"
	"crm/readmodels"
)

// Event is one event of the global log as projectors see it: the stored
// record and its decoded domain event (nil for a type this build does not
// know, which projectors skip).
type Event struct {
	eventstore.Event
	Domain aggregates.Event
}

// Projector builds one read model from the log. Its tables live in its own
// schema, SchemaName(Name()); the engine sets the transaction's search_path
// to that schema (or to a shadow schema during a rebuild) before calling
// Setup or Apply, so projector SQL names its tables unqualified.
type Projector interface {
	// Name is stable and short: [a-z][a-z0-9_]*.
	Name() string
	// Setup creates the projector's tables in the current schema. It runs
	// once per (re)build, in the transaction that creates the schema.
	Setup(ctx context.Context, tx pgx.Tx) error
	// Apply applies a batch of events, in log order, within tx. The engine
	// commits the batch together with the projector's checkpoint, so Apply
	// sees every event exactly once across restarts. An error stops the
	// projector at that batch; nothing of the batch is kept.
	Apply(ctx context.Context, tx pgx.Tx, events []Event) error
}

// Scrubber is a projector that overwrites personal values in place when a
// data subject is erased. Scrubbed names its tables (in its schema) whose
// rows it overwrote for an erasure among events; after the batch commits,
// the engine vacuums them, so that the old row versions, which still
// hold the plaintext, leave the table's pages.
type Scrubber interface {
	Scrubbed(events []Event) []string
}

// SchemaName is the live schema of the projector called name. Read-model
// queries name their tables with it.
func SchemaName(name string) string { return readmodels.SchemaName(name) }

// Package workflows runs the automations (process managers) on a watermill
// message.Router fed from the committed event log.
//
// A checkpointed forwarder, held by one process at a time through a
// PostgreSQL advisory lock, reads the log with the event store's no-skip
// reads and publishes each event to an in-process GoChannel that blocks
// until every handler has acknowledged it; only then does the checkpoint
// move. A crash therefore redelivers, never loses, and every automation is
// idempotent by the triggering event's id. Handlers run behind the
// CorrelationID, PoisonQueue, Retry and Recoverer middleware; poisoned
// messages are stored in PostgreSQL as dead letters that can be listed and
// replayed. Automations issue commands through a components/cqrs
// CommandBus whose handlers are the commands package's use cases.
package workflows

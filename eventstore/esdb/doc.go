// Package esdb is the EventStoreDB (KurrentDB) backend of the event-store
// contract, built on github.com/EventStore/EventStore-Client-Go/v4.
//
// Mapping:
//
//   - Streams: a contract stream id such as "lead-<uuid>" is stored as the
//     EventStoreDB stream Namespace+id, so the part before the first dash is
//     the EventStoreDB category ($ce-lead). Stream ids starting with "$" or
//     with the reserved prefix "crmtx-" are refused as invalid appends.
//   - Events: the event id is the EventStoreDB event id, the type is the
//     event type, the data is stored as JSON, and the metadata JSON holds the
//     actor, command, correlation and causation ids, the schema version and
//     the recorded time (taken from Options.Clock, not the server clock).
//   - Versions: contract version v (1-based) is revision v-1. NoStream,
//     StreamExists and Exact(v) map to esdb.NoStream, esdb.StreamExists and
//     esdb.Revision(v-1); Any maps to esdb.Any and is only for writes whose
//     order does not depend on a decision (aggregate writes always state a
//     version).
//   - Cursors: a global-log cursor is (commit position, prepare position),
//     encoded in the contract's 32-hex-digit form.
//   - Errors: errors are mapped with errors.As to *esdb.Error (never
//     esdb.FromError, whose boolean means "no error"): WrongExpectedVersion
//     becomes *eventstore.VersionConflictError, ResourceNotFound on a read
//     becomes eventstore.ErrStreamNotFound.
//   - The global log is $all read forward; Subscribe uses a catch-up
//     subscription to $all with the server-side filter that excludes system
//     events (types starting with "$"); events of other namespaces and of the
//     transaction streams are dropped client-side. Checkpoints are cursors
//     and stay with the read models in PostgreSQL.
//
// Multi-stream appends. EventStoreDB appends to one stream at a time, so an
// append of several streams (lead conversion: lead, account, contact,
// opportunity) follows a roll-forward protocol that keeps "all or nothing"
// from the caller's view and converges after a crash without duplicates:
//
//  1. Every stream's expected version is checked first; a mismatch fails
//     the append with a version conflict and nothing is written.
//  2. The whole append (every stream, expectation and event, with ids) is
//     written as an intent to the transaction stream "crmtx-<id>" with
//     NoStream. The id is derived from the event ids, so retrying the same
//     append finds the same intent.
//  3. The streams are appended in the order given. The first stream is the
//     commit point: if it conflicts, an abort marker is written to the
//     transaction stream and the conflict is returned, with nothing else
//     written. Once it is written the append rolls forward: each later stream
//     is appended at its expected revision; if that conflicts, the stream is
//     re-read and the events are appended after what is there now, unless
//     they are stored already.
//  4. A commit marker closes the transaction stream.
//
// Every step is idempotent by event id (a stream that already holds the
// events is not written again), so re-running the protocol after a crash
// at any point completes the append exactly once. Recover does that for
// every intent without a commit or abort marker; crm serve runs it at start.
// Readers of the global log may see the first streams of a transaction
// before the last ones while it is in flight, never a duplicate.
//
// Event ids are unique within a stream (a re-append of stored ids is
// idempotent, a mix of stored and new ids is refused). EventStoreDB has no
// global id index, so an id reused in another stream is not detected.
package esdb

// Package customreports runs analysts' declarative reports: a report is a
// set of tables (CREATE TABLE / CREATE INDEX) and, per event type, one SQL
// statement with named parameters (:stream_id, :data.amount, ...). The
// engine replays the whole event log into the report in checkpointed
// batches, then follows the log live; with an "until" time it replays only
// the events recorded up to then and stops.
//
// Every statement of a report runs on a connection that logs in as the
// report's own database role: a role that can use and create in the
// report's schema and nothing else (no other schema, no temporary tables,
// no catalog secrets). The report's checkpoint is a row of a table in that
// schema, so it commits in the same transaction as the report's rows and
// the role can corrupt nothing but its own report. Definitions are checked
// before anything is kept: their named parameters are parsed, their DDL is
// run and each handler prepared and planned in a transaction that is
// rolled back.
package customreports

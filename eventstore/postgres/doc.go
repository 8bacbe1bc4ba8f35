// Package postgres is the PostgreSQL backend of the event store (pgx v5).
//
// Appends are one statement (the crm_append function) in one round trip;
// only appends to the same stream wait for each other. Each event row keeps
// the xid8 of the transaction that appended it, and the global log is read
// in (transaction id, position) order up to the oldest transaction still
// running (pg_snapshot_xmin of the reader's snapshot), so a reader never
// skips an event whose transaction commits late.
//
// Live followers wake up on an in-process signal after each local append and
// on a coalesced LISTEN/NOTIFY sent outside the append transaction by other
// processes; polling is the safety net.
//
// The crm_events table refuses UPDATE, DELETE and TRUNCATE through triggers.
package postgres

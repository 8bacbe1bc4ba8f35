// Package bench measures the engine against the raw limits of its
// PostgreSQL server in one run on one database, so that the ratios hold on
// a noisy machine: single-row INSERT transactions against a realistic mix
// of commands over HTTP, a rebuild of every projector against a
// server-side INSERT … SELECT, the lag from a command's response to the
// read models, a command on a long stream against one on a fresh stream,
// and the peak memory of the server and of a rebuild, each run as a child
// process of its own.
//
// Run drives the phases; Load, Lag and Sample are the load generators and
// figures the Go benchmarks of other packages share; the SQL constants seed and copy
// the log the same way everywhere.
package bench

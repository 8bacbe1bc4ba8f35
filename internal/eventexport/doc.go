// Package eventexport writes the event log as rows, for analysts' tools
// (DuckDB, pandas, spreadsheets): one row per event with its cursor and
// position, stream, version, type, recorded time, actor and ids, its data
// as JSON, and each top-level data field of the known event types as a
// column of its own. Formats: Parquet, CSV and NDJSON.
//
// The log is read in batches and written as it is read, so memory stays
// bounded whatever the log's length (a Parquet row group holds at most
// RowGroupSize rows). The rows are what the log given reads: through the
// privacy vault, personal values in plaintext while their subject's key
// exists and "[erased]" after the erasure.
package eventexport

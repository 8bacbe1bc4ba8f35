// Package commands holds one use case per file: load an aggregate from the
// event store, let it decide, append its events with the expected version,
// retry on version conflicts, and make retried commands idempotent. It
// declares the small storage interfaces it needs and never imports a
// database driver or HTTP package.
package commands

// Package commands holds one use case per file: load an aggregate from the
// event store, let it decide, append its events with the expected version,
// retry on version conflicts, and make retried commands idempotent. It
// declares the small storage interfaces it needs and never imports a
// database driver or HTTP package.
//
// Each use case has its own file named for it (capture_lead.go,
// convert_lead.go, change_stage.go, ...): the command struct and its
// handler method. The shared machinery has its own files: handler.go (the
// Handler, the envelope and the load-decide-append loop with its retries),
// aggregate.go (the one path of a command on an existing aggregate),
// repository.go (the storage interface commands need), errors.go (the
// errors commands return, with their kinds), reads.go (reads by id,
// folded from the event store) and cash.go (the lead-to-cash entity types,
// derived ids and reads).
package commands

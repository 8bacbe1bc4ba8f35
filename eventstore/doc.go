// Package eventstore defines the event-store contract every backend
// implements: atomic appends to one or more streams with optimistic
// concurrency, stream reads (including "as of" a past time), an ordered global
// log read in batches, and subscriptions that catch up and then follow live.
//
// It also owns the codec registry that maps versioned event type names to Go
// types and upcasts events stored under older schema versions.
//
// Backends live in sub-packages (postgres and esdb); the shared
// contract test suite lives in eventstoretest.
package eventstore

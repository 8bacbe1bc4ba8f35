// Package eventstoretest is the contract test suite every event-store
// backend runs: optimistic concurrency under races, atomic multi-stream
// appends, idempotent event ids, stream reads as of a past time, batched log
// reads, subscriptions, and ordering under fire (concurrent writers,
// rolled-back and long-held transactions, a live tailing subscriber).
package eventstoretest

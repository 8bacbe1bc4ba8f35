// Package projections turns the ordered global event log into read models:
// an engine that catches up and follows live in batches, writes each batch
// and its checkpoint in one transaction, holds each projector in exactly one
// process, and rebuilds without downtime. AsOf replays the log up to a
// past moment into a scratch schema, for reports as they stood then.
package projections

// Package webhooks delivers events to subscribers' HTTP endpoints.
//
// A subscription names a URL, event-type patterns and a secret. The router
// handler (an automation fed from the committed log) records one delivery
// per matching event and subscription, idempotently; a worker POSTs each
// delivery as JSON signed with HMAC-SHA256, retrying failures with
// exponential backoff up to a cap, and logs every attempt. Deliveries go
// only to http(s) URLs on global unicast addresses (Guard), checked on the
// URL and again on every address dialled; the private networks only when
// the operator allows them. Deleting a subscription cancels its queued
// deliveries.
package webhooks

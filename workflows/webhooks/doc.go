// Package webhooks delivers events to subscribers' HTTP endpoints.
//
// A subscription names a URL, event-type patterns and a secret. The router
// handler (an automation fed from the committed log) records one delivery
// per matching event and subscription, idempotently; a worker POSTs each
// delivery as JSON signed with HMAC-SHA256, retrying failures with
// exponential backoff up to a cap, and logs every attempt. Deliveries go
// only to http(s) URLs, and never to link-local or cloud metadata
// addresses; loopback and private networks only when allowed.
package webhooks

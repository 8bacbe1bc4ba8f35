// Package natsbus publishes the committed log's events to NATS JetStream
// through watermill-nats, one subject per event type
// ("crm.events.opportunity.opened.v1"), so other systems and other crm
// processes can consume them. It is fed by the workflows forwarder
// (at-least-once); each message carries the event id as its Nats-Msg-Id,
// so JetStream drops a redelivered event within its duplicate window, and
// consumers can deduplicate by it beyond that.
package natsbus

// Package scheduler keeps durable deadlines in PostgreSQL and fires each
// one when its time has come on an injectable clock: deadlines survive
// restarts, and with several processes each due deadline is leased by one
// of them at a time and marked fired when its handler succeeds. Handlers
// must be idempotent: a process that dies mid-handler leaves the deadline
// to fire again once its lease expires.
package scheduler

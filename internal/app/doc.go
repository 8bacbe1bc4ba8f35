// Package app is the composition root: it builds the object graph the
// crm command runs (database, event store, repository, command handlers,
// projections, automations, webhooks, the message bus, the HTTP router)
// and owns the one ordered list of migrations. crm serve, every
// subcommand and the end-to-end test harnesses build through it; a
// Config leaves out the parts a caller does not need.
package app

// Package aggregates holds the domain: Lead, Account (with its contacts),
// Opportunity and Ticket; for lead to cash Product, PriceBook, Quote (in
// versions, with discount approvals), Order (with its payment plan,
// payments and collection steps) and Forecast (an owner's target and
// forecast adjustments for a period); and for marketing and service
// Campaign, WebForm, Segment, Article and the tasks of any of them. Money
// is computed exactly in decimals; decimal.go states the rounding rules.
// Each aggregate keeps its state unexported, changes only by applying
// events, and exposes behaviour methods that validate a command against
// that state and return the events to store. It does no I/O, takes no
// context and reads no clock: time is passed in.
package aggregates

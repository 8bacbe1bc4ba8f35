// Package aggregates holds the domain: Lead, Account (with its contacts),
// Opportunity and Ticket, and for marketing and service Campaign, WebForm,
// Segment, Article and the tasks of any of them. Each aggregate keeps its
// state unexported, changes only by applying events, and exposes behaviour
// methods that validate a command against that state and return the
// events to store. It does no I/O, takes no context and reads no clock:
// time is passed in.
package aggregates

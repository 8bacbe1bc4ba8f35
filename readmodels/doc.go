// Package readmodels owns the read-model schema (lists, funnel, pipeline,
// dashboard, audit timeline, and the engagement tables: campaigns,
// articles, activities) and the query functions over it, the campaign
// report, article search, segments, the account timeline and customer
// health among them. Read models
// are disposable: rebuilt from the event log, they answer byte for byte the
// same.
package readmodels

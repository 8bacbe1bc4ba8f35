// Package readmodels owns the read-model schema (lists, funnel, pipeline,
// dashboard, audit timeline) and the query functions over it. Read models
// are disposable: rebuilt from the event log, they answer byte for byte the
// same.
package readmodels

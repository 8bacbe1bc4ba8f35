package api

import (
	"encoding/json"
	"net/http"
)

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Code is a machine-readable reason for refusals (409 and the like).
	Code string `json:"code,omitempty"`
	// Errors names each invalid field of a 400.
	Errors []FieldError `json:"errors,omitempty"`
	// ConflictingID names the entity a 409 conflicts with, if any.
	ConflictingID string `json:"conflicting_id,omitempty"`
	// CurrentVersion is the version the entity is at, on a 412.
	CurrentVersion *int64 `json:"current_version,omitempty"`
}

// FieldError names one invalid input field; for a CSV file, also the row
// (the header is row 1) and the column.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
	Row     int    `json:"row,omitempty"`
	Column  string `json:"column,omitempty"`
}

// writeProblem sends p as application/problem+json.
func writeProblem(w http.ResponseWriter, p Problem) {
	if p.Type == "" {
		p.Type = "about:blank"
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// writeJSON sends v as application/json with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

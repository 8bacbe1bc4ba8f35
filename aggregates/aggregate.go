package aggregates

import (
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// Event is a domain event: a past-tense fact. Its type name is stable and
// versioned (TypeName "lead.captured" at SchemaVersion 1 is stored as
// "lead.captured.v1").
type Event interface {
	// TypeName is the event's name without its version.
	TypeName() string
	// SchemaVersion is the version of the event's shape.
	SchemaVersion() int
}

// EventType is the stored type of e: its name and version, such as
// "lead.captured.v1".
func EventType(e Event) string { return fmt.Sprintf("%s.v%d", e.TypeName(), e.SchemaVersion()) }

// Kind classifies a domain error; the HTTP layer maps each kind to a status
// in one place.
type Kind int

const (
	// Invalid: the command itself is malformed (HTTP 400). Field names it.
	Invalid Kind = iota + 1
	// Refused: the command is well-formed but a business rule forbids it in
	// the aggregate's current state (HTTP 409 with Code).
	Refused
	// NotFound: the addressed entity does not exist (HTTP 404).
	NotFound
)

// Error is the error every aggregate behaviour returns.
type Error struct {
	Kind Kind
	// Code is a stable machine-readable reason, such as
	// "lead_already_converted".
	Code string
	// Field names the offending input field of an Invalid error.
	Field string
	// Message is a human-readable explanation.
	Message string
	// ConflictID names the entity a Refused error conflicts with, if any.
	ConflictID string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

func invalid(field, format string, args ...any) *Error {
	return &Error{Kind: Invalid, Code: "invalid", Field: field, Message: fmt.Sprintf(format, args...)}
}

func refused(code, format string, args ...any) *Error {
	return &Error{Kind: Refused, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Limits on free-text fields.
const (
	maxShortText = 200
	maxLongText  = 10000
)

func required(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return invalid(field, "is required")
	}
	return optional(field, v, maxShortText)
}

// requiredLong is required for long free text.
func requiredLong(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return invalid(field, "is required")
	}
	return optional(field, v, maxLongText)
}

func optional(field, v string, max int) error {
	if len(v) > max {
		return invalid(field, "is longer than %d bytes", max)
	}
	if strings.ContainsRune(v, 0) {
		return invalid(field, "contains a NUL character")
	}
	return nil
}

func oneOf(field, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return invalid(field, "must be one of %s", strings.Join(allowed, ", "))
}

// NormalizeEmail validates an email address and returns its canonical form
// (trimmed, lower case), or an Invalid error naming field.
func NormalizeEmail(field, v string) (string, error) {
	v = strings.ToLower(strings.TrimSpace(v))
	if v == "" {
		return "", invalid(field, "is required")
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || a.Name != "" || len(v) > 254 || !strings.Contains(v[strings.LastIndexByte(v, '@'):], ".") {
		return "", invalid(field, "is not a valid email address")
	}
	return v, nil
}

// utc drops monotonic readings and zones so events compare and encode
// stably.
func utc(t time.Time) time.Time { return t.UTC().Round(0) }

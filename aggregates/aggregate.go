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

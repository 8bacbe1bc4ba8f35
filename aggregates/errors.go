package aggregates

import (
	"fmt"
	"strings"
)

// Kind classifies a domain error. Its value is one of the error kinds the
// HTTP layer maps to a status in one table: "invalid", "conflict",
// "not_found".
type Kind string

const (
	// Invalid: the command itself is malformed (HTTP 400). Field names it.
	Invalid Kind = "invalid"
	// Refused: the command is well-formed but a business rule forbids it in
	// the aggregate's current state (HTTP 409 with Code).
	Refused Kind = "conflict"
	// NotFound: the addressed entity does not exist (HTTP 404).
	NotFound Kind = "not_found"
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

// ErrorKind is the error's kind: Invalid, NotFound, or Refused for any
// other value.
func (e *Error) ErrorKind() string {
	switch e.Kind {
	case Invalid, NotFound:
		return string(e.Kind)
	}
	return string(Refused)
}

// ErrorCode is the machine-readable reason; an Invalid error has none.
func (e *Error) ErrorCode() string {
	if e.Kind == Invalid {
		return ""
	}
	return e.Code
}

// ErrorDetail is the text a client sees: the error itself, without the
// context callers wrapped around it.
func (e *Error) ErrorDetail() string {
	if e.Kind == Invalid {
		return e.Error()
	}
	return e.Message
}

// ErrorField names the invalid input field and what is wrong with it; both
// are empty unless the error is Invalid.
func (e *Error) ErrorField() (name, message string) {
	if e.Kind != Invalid {
		return "", ""
	}
	return e.Field, e.Message
}

// ConflictingID names the entity a Refused error conflicts with, if any.
func (e *Error) ConflictingID() string {
	if e.Kind == Invalid || e.Kind == NotFound {
		return ""
	}
	return e.ConflictID
}

// Errors is several Invalid errors of one command, one per field, in the
// order the command's fields are checked (a single one is returned as
// its *Error). It is Invalid.
type Errors []*Error

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// ErrorKind is Invalid.
func (es Errors) ErrorKind() string { return string(Invalid) }

// ErrorDetail is every field's problem.
func (es Errors) ErrorDetail() string { return es.Error() }

// ErrorField is the first field's problem.
func (es Errors) ErrorField() (name, message string) {
	if len(es) == 0 {
		return "", ""
	}
	return es[0].Field, es[0].Message
}

// ErrorFields names every invalid field and what is wrong with it.
func (es Errors) ErrorFields() (fields, messages []string) {
	for _, e := range es {
		fields, messages = append(fields, e.Field), append(messages, e.Message)
	}
	return fields, messages
}

// err is the error of es: nil for none, the one *Error alone, else es.
func (es Errors) err() error {
	switch len(es) {
	case 0:
		return nil
	case 1:
		return es[0]
	}
	return es
}

func invalid(field, format string, args ...any) *Error {
	return &Error{Kind: Invalid, Code: "invalid", Field: field, Message: fmt.Sprintf(format, args...)}
}

func refused(code, format string, args ...any) *Error {
	return &Error{Kind: Refused, Code: code, Message: fmt.Sprintf(format, args...)}
}

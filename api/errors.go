package api

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"crm/commands"
	"crm/internal/csvimport"
)

// Error kinds: the fixed set of values an error's ErrorKind method returns.
// Every package whose errors reach a client declares the kinds it produces
// as constants with these values; kindStatus below is the one place where a
// kind becomes an HTTP status.
const (
	kindInvalid      = "invalid"      // 400: the request is malformed
	kindNotFound     = "not_found"    // 404: the addressed thing does not exist
	kindConflict     = "conflict"     // 409: a business rule refuses it in the current state
	kindPrecondition = "precondition" // 412: the entity is not at the version If-Match names
	kindForbidden    = "forbidden"    // 403: the caller's role may not do this
	kindUnauthorized = "unauthorized" // 401: no valid credentials
	kindUnavailable  = "unavailable"  // 503: not now; retry (Retry-After when known)
	kindInternal     = "internal"     // 500: a bug; logged, never shown

	// Kinds only the HTTP layer produces, about the request itself.
	kindTooLarge         = "too_large"              // 413: the body exceeds maxBody
	kindUnsupportedMedia = "unsupported_media_type" // 415: the body is not JSON
	kindMethodNotAllowed = "method_not_allowed"     // 405: the route exists, the method does not
	kindUnprocessable    = "unprocessable"          // 422: well-formed but unusable (a reused idempotency key)
	kindNotImplemented   = "not_implemented"        // 501: this deployment cannot do it
	kindNotReady         = "not_ready"              // 503 "Not ready": the service is starting or degraded
	kindTooManyRequests  = "too_many_requests"      // 429: the key exceeds its request rate
)

// kindRow is how one kind is answered.
type kindRow struct {
	status int
	// title overrides the status text as the problem's title.
	title string
}

// kindStatus maps every error kind to its HTTP answer.
var kindStatus = map[string]kindRow{
	kindInvalid:          {status: http.StatusBadRequest},
	kindNotFound:         {status: http.StatusNotFound},
	kindConflict:         {status: http.StatusConflict},
	kindPrecondition:     {status: http.StatusPreconditionFailed},
	kindForbidden:        {status: http.StatusForbidden},
	kindUnauthorized:     {status: http.StatusUnauthorized},
	kindUnavailable:      {status: http.StatusServiceUnavailable},
	kindInternal:         {status: http.StatusInternalServerError},
	kindTooLarge:         {status: http.StatusRequestEntityTooLarge},
	kindUnsupportedMedia: {status: http.StatusUnsupportedMediaType},
	kindMethodNotAllowed: {status: http.StatusMethodNotAllowed},
	kindUnprocessable:    {status: http.StatusUnprocessableEntity},
	kindNotImplemented:   {status: http.StatusNotImplemented},
	kindNotReady:         {status: http.StatusServiceUnavailable, title: "Not ready"},
	kindTooManyRequests:  {status: http.StatusTooManyRequests},
}

// The behaviours an error may have, found with errors.As on the chain. Only
// kindedError is required; the others refine the problem when the kinded
// error has them.
type (
	// kindedError says which kind of failure an error is.
	kindedError interface {
		error
		ErrorKind() string
	}
	// codedError gives the problem's machine-readable code, such as
	// "lead_already_converted" ("": none).
	codedError interface{ ErrorCode() string }
	// detailedError gives the problem's detail ("": the whole error's text).
	detailedError interface{ ErrorDetail() string }
	// fieldedError names the one invalid input field and what is wrong
	// with it (an empty message: no field).
	fieldedError interface {
		ErrorField() (name, message string)
	}
	// fieldsError names several invalid input fields, each with what is
	// wrong with it.
	fieldsError interface {
		ErrorFields() (fields, messages []string)
	}
	// conflictingError names the entity a conflict is with ("": none).
	conflictingError interface{ ConflictingID() string }
	// versionedError names the version the entity is at (a 412).
	versionedError interface{ CurrentVersion() int64 }
	// retryableError says how long to wait before a retry (0: no advice).
	retryableError interface{ RetryAfter() time.Duration }
)

// internalDetail is what a client learns of an internal error.
const internalDetail = "internal error; the correlation id identifies it in the server log"

// errorWriter maps every error a handler meets to its HTTP problem: the
// one place where error kinds become statuses. A zero errorWriter logs to
// slog.Default().
type errorWriter struct{ log *slog.Logger }

func (ew errorWriter) write(w http.ResponseWriter, r *http.Request, err error) {
	kind := kindInternal
	var ke kindedError
	if errors.As(err, &ke) {
		kind = ke.ErrorKind()
	}
	row, ok := kindStatus[kind]
	if !ok {
		kind, row = kindInternal, kindStatus[kindInternal]
	}
	p := Problem{Status: row.status, Title: row.title}
	if kind == kindInternal && errors.Is(err, context.DeadlineExceeded) && errors.Is(context.Cause(r.Context()), errRequestTimeout) {
		// The per-request time limit cut the work off.
		kind, row = kindUnavailable, kindStatus[kindUnavailable]
		p = Problem{Status: row.status, Detail: "the request exceeded the server's time limit"}
		w.Header().Set("Retry-After", "1")
		writeProblem(w, p)
		return
	}
	if kind == kindInternal {
		if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
			// The client went away; nobody reads the answer.
			w.WriteHeader(499)
			return
		}
		log := ew.log
		if log == nil {
			log = slog.Default()
		}
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "correlation_id", CorrelationID(r.Context()), "err", err)
		p.Detail = internalDetail
		if d, ok := ke.(detailedError); ok && d.ErrorDetail() != "" {
			p.Detail = d.ErrorDetail()
		}
		writeProblem(w, p)
		return
	}
	p.Detail = err.Error()
	if d, ok := ke.(detailedError); ok && d.ErrorDetail() != "" {
		p.Detail = d.ErrorDetail()
	}
	if c, ok := ke.(codedError); ok {
		p.Code = c.ErrorCode()
	}
	if f, ok := ke.(fieldedError); ok {
		if name, msg := f.ErrorField(); msg != "" {
			p.Errors = []FieldError{{Field: name, Message: msg}}
		}
	}
	if ae, ok := ke.(*apiError); ok && len(ae.fields) > 0 {
		p.Errors = ae.fields
	}
	if fe, ok := ke.(fieldsError); ok {
		if fields, messages := fe.ErrorFields(); len(fields) > 0 {
			p.Errors = make([]FieldError, len(fields))
			for i := range fields {
				p.Errors[i] = FieldError{Field: fields[i], Message: messages[i]}
			}
		}
	}
	var rows *commands.ImportInvalidError
	if errors.As(err, &rows) {
		// An import's invalid values: each with its CSV row and column.
		for _, pr := range rows.Problems {
			p.Errors = append(p.Errors, FieldError{Field: pr.Field, Message: pr.Message, Row: pr.Row, Column: pr.Column})
		}
	}
	var file *csvimport.Error
	if errors.As(err, &file) && len(p.Errors) == 1 {
		p.Errors[0].Row, p.Errors[0].Column = file.Row, file.Column
	}
	if c, ok := ke.(conflictingError); ok {
		p.ConflictingID = c.ConflictingID()
	}
	var ve versionedError
	if errors.As(err, &ve) {
		v := ve.CurrentVersion()
		p.CurrentVersion = &v
		w.Header().Set("ETag", etag(v))
	}
	if ra, ok := ke.(retryableError); ok && ra.RetryAfter() > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(ra.RetryAfter().Seconds()))))
	}
	writeProblem(w, p)
}

// apiError is an error of the HTTP layer itself: a malformed request, a
// refused caller, or a sentinel of an interface api declares.
type apiError struct {
	kind, code, detail string
	// field and message name one invalid input field; fields, when set,
	// names several.
	field, message string
	fields         []FieldError
	retryAfter     time.Duration
	// msg is the error's text when it differs from detail.
	msg string
}

func (e *apiError) Error() string {
	if e.msg != "" {
		return e.msg
	}
	return e.detail
}

// ErrorKind is one of the kind constants.
func (e *apiError) ErrorKind() string { return e.kind }

// ErrorCode is the machine-readable reason, if any.
func (e *apiError) ErrorCode() string { return e.code }

// ErrorDetail is the text a client sees.
func (e *apiError) ErrorDetail() string { return e.detail }

// ErrorField names the invalid field, if any.
func (e *apiError) ErrorField() (name, message string) { return e.field, e.message }

// RetryAfter is how long to wait before a retry (0: no advice).
func (e *apiError) RetryAfter() time.Duration { return e.retryAfter }

// requestErr returns an error of kind with detail and no code.
func requestErr(kind, detail string) error { return &apiError{kind: kind, detail: detail} }

// codedErr returns an error of kind with code and detail.
func codedErr(kind, code, detail string) error {
	return &apiError{kind: kind, code: code, detail: detail}
}

// badField is a 400 naming one invalid input field.
func badField(field, msg string) error {
	return &apiError{kind: kindInvalid, detail: field + ": " + msg, field: field, message: msg}
}

// sentinel is an error an interface of api documents, with its kind and
// code; its text is the detail unless the wrapping adds context.
func sentinel(kind, code, msg string) error { return &apiError{kind: kind, code: code, msg: msg} }

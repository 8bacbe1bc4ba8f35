package customreports

import "fmt"

// Error kinds of the service's errors, as their ErrorKind method returns
// them; the HTTP layer maps each kind to a status in one table.
const (
	// KindInvalid: the definition or request is malformed.
	KindInvalid = "invalid"
	// KindNotFound: no report has that name.
	KindNotFound = "not_found"
	// KindConflict: the report cannot be created beside the existing ones.
	KindConflict = "conflict"
	// KindUnavailable: custom reports cannot run on this database.
	KindUnavailable = "unavailable"
)

// InvalidError is a definition or request refused before anything was
// created; Field names what is wrong ("name", "table", "until",
// "handlers.<event type>", "cursor", "table" for a read). It is
// KindInvalid.
type InvalidError struct {
	Field   string
	Message string
}

// Error names the field and what is wrong with it.
func (e *InvalidError) Error() string { return e.Field + ": " + e.Message }

// ErrorKind is KindInvalid.
func (e *InvalidError) ErrorKind() string { return KindInvalid }

// ErrorDetail is the error itself, without the context callers wrapped
// around it.
func (e *InvalidError) ErrorDetail() string { return e.Error() }

// ErrorField names the invalid field and what is wrong with it.
func (e *InvalidError) ErrorField() (name, message string) { return e.Field, e.Message }

func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// kindError is a sentinel error with its kind and code.
type kindError struct{ msg, kind, code string }

func (e *kindError) Error() string { return e.msg }

// ErrorKind is one of the Kind constants.
func (e *kindError) ErrorKind() string { return e.kind }

// ErrorCode is the machine-readable reason.
func (e *kindError) ErrorCode() string { return e.code }

// Errors of the service besides *InvalidError.
var (
	// ErrReportFailed: the report stopped on an error, so it will not
	// reach a later position until it is fixed and rebuilt (KindConflict,
	// code "report_failed").
	ErrReportFailed error = &kindError{"custom report failed", KindConflict, "report_failed"}
	// ErrNotFound: no report has that name (KindNotFound, code "not_found").
	ErrNotFound error = &kindError{"custom report not found", KindNotFound, "not_found"}
	// ErrExists: a report with that name exists already (KindConflict,
	// code "report_exists").
	ErrExists error = &kindError{"custom report exists already", KindConflict, "report_exists"}
	// ErrTooMany: as many reports as Options.MaxReports exist already
	// (KindConflict, code "too_many_reports").
	ErrTooMany error = &kindError{"too many custom reports", KindConflict, "too_many_reports"}
	// ErrSandboxUnavailable: the database cannot give the report a role of
	// its own (the engine's role lacks CREATEROLE, the new role cannot log
	// in, or the database grants too much to every role). Nothing is
	// created. KindUnavailable, code "custom_reports_unavailable".
	ErrSandboxUnavailable error = &kindError{"custom reports are unavailable on this database", KindUnavailable, "custom_reports_unavailable"}
)

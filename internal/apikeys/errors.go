package apikeys

// Error kinds of the store's errors, as their ErrorKind method returns
// them; the HTTP layer maps each kind to a status in one table.
const (
	// KindNotFound: no active key matches.
	KindNotFound = "not_found"
	// KindInvalid: a bad name, role or secret.
	KindInvalid = "invalid"
	// KindConflict: the name belongs to another key.
	KindConflict = "conflict"
)

// kindError is a sentinel error with its kind and code.
type kindError struct{ msg, kind, code string }

func (e *kindError) Error() string { return e.msg }

// ErrorKind is one of the Kind constants.
func (e *kindError) ErrorKind() string { return e.kind }

// ErrorCode is the machine-readable reason, if any.
func (e *kindError) ErrorCode() string { return e.code }

var (
	// ErrNotFound is returned when no active key matches (KindNotFound,
	// code "not_found").
	ErrNotFound error = &kindError{"api key not found", KindNotFound, "not_found"}
	// ErrInvalid is returned for a bad name, role or secret (KindInvalid).
	ErrInvalid error = &kindError{"invalid api key", KindInvalid, ""}
	// ErrNameTaken is returned when another key, active or revoked,
	// already has the name (KindConflict, code "name_taken").
	ErrNameTaken error = &kindError{"api key name taken", KindConflict, "name_taken"}
)

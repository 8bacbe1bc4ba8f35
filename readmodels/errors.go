package readmodels

// KindInvalid is the error kind of ErrInvalid, as its ErrorKind method
// returns it; the HTTP layer maps each kind to a status in one table.
const KindInvalid = "invalid"

// invalidError is the type of ErrInvalid.
type invalidError struct{ msg string }

func (e *invalidError) Error() string { return e.msg }

// ErrorKind is KindInvalid.
func (e *invalidError) ErrorKind() string { return KindInvalid }

// ErrInvalid marks a bad query argument (a malformed cursor, filter or
// date); the wrapping error names the parameter. It is KindInvalid.
var ErrInvalid error = &invalidError{"invalid query"}

package commands

import (
	"fmt"
	"time"
)

// Error kinds of the command side's errors, as their ErrorKind method
// returns them; the HTTP layer maps each kind to a status in one table.
const (
	// KindConflict: the change collides with data another owner holds.
	KindConflict = "conflict"
	// KindPrecondition: the entity is not at the version the caller named.
	KindPrecondition = "precondition"
	// KindUnavailable: the change could not be made now; retry later.
	KindUnavailable = "unavailable"
	// KindForbidden: the caller may not do this to this record.
	KindForbidden = "forbidden"
	// KindInternal: an error the command side handles itself; reaching a
	// client means a bug.
	KindInternal = "internal"
)

// kindError is a sentinel error with its kind, code and client-facing
// detail.
type kindError struct {
	msg, kind, code, detail string
	retryAfter              time.Duration
}

func (e *kindError) Error() string { return e.msg }

// ErrorKind is one of the Kind constants.
func (e *kindError) ErrorKind() string { return e.kind }

// ErrorCode is the machine-readable reason, if any.
func (e *kindError) ErrorCode() string { return e.code }

// ErrorDetail is the text a client sees; empty means the error's whole
// text.
func (e *kindError) ErrorDetail() string { return e.detail }

// RetryAfter is how long a client should wait before retrying (0: no
// advice).
func (e *kindError) RetryAfter() time.Duration { return e.retryAfter }

// Errors of the command side.
var (
	// ErrVersionConflict: a stream moved between load and save. Handlers
	// retry it; it is KindInternal.
	ErrVersionConflict error = &kindError{msg: "version conflict", kind: KindInternal}
	// ErrPreconditionFailed: the stream is not at the version If-Match
	// named (KindPrecondition, code "stale_version").
	ErrPreconditionFailed error = &kindError{msg: "precondition failed: the entity changed", kind: KindPrecondition,
		code: "stale_version", detail: "the entity is not at the version If-Match names; reload it and retry"}
	// ErrIdempotencyRace: another request with the same idempotency key
	// completed first; look its response up and replay it (KindInternal).
	ErrIdempotencyRace error = &kindError{msg: "idempotency key used concurrently", kind: KindInternal}
	// ErrNotApprover: the approval goes to another user (KindForbidden,
	// code "not_the_approver").
	ErrNotApprover error = &kindError{msg: "the approval goes to another user", kind: KindForbidden, code: "not_the_approver",
		detail: "this approval goes to the opportunity owner's manager; a key bound to another user may not decide it"}
	// ErrBusy: version conflicts persisted through every retry
	// (KindUnavailable, code "busy", retry after a second).
	ErrBusy error = &kindError{msg: "too many concurrent changes; retry", kind: KindUnavailable, code: "busy", retryAfter: time.Second}
)

// StaleVersionError is ErrPreconditionFailed with the version the entity
// is at: errors.Is(err, ErrPreconditionFailed) holds for it.
type StaleVersionError struct {
	// Current is the target stream's version when the command was refused.
	Current int64
}

func (e *StaleVersionError) Error() string {
	return fmt.Sprintf("%s (it is at version %d)", ErrPreconditionFailed.Error(), e.Current)
}

// Is makes errors.Is(err, ErrPreconditionFailed) true.
func (e *StaleVersionError) Is(target error) bool { return target == ErrPreconditionFailed }

// ErrorKind is KindPrecondition.
func (e *StaleVersionError) ErrorKind() string { return KindPrecondition }

// ErrorCode is "stale_version".
func (e *StaleVersionError) ErrorCode() string { return "stale_version" }

// ErrorDetail names the current version.
func (e *StaleVersionError) ErrorDetail() string {
	return fmt.Sprintf("the entity is at version %d, not the version If-Match names; reload it and retry", e.Current)
}

// CurrentVersion is the version the entity is at.
func (e *StaleVersionError) CurrentVersion() int64 { return e.Current }

// ClaimTakenError reports that a unique key (such as an email) belongs to
// another owner. It is KindConflict with code "duplicate_<claim kind>".
type ClaimTakenError struct {
	Claim     Claim
	OwnerType string
	OwnerID   string
}

func (e *ClaimTakenError) Error() string {
	return fmt.Sprintf("%s %s already belongs to %s %s", e.Claim.Kind, e.Claim.Key, e.OwnerType, e.OwnerID)
}

// ErrorKind is KindConflict.
func (e *ClaimTakenError) ErrorKind() string { return KindConflict }

// ErrorCode is "duplicate_" and the claim's kind, such as "duplicate_email".
func (e *ClaimTakenError) ErrorCode() string { return "duplicate_" + e.Claim.Kind }

// ErrorDetail is the error itself, without the context callers wrapped
// around it.
func (e *ClaimTakenError) ErrorDetail() string { return e.Error() }

// ConflictingID is the id of the claim's owner.
func (e *ClaimTakenError) ConflictingID() string { return e.OwnerID }

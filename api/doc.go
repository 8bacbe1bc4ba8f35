// Package api is the HTTP interface: the chi router, problem+json errors,
// correlation ids, request metrics, and the operational endpoints
// (/healthz, /readyz, /metrics). It reaches storage only through the small
// interfaces it declares.
//
// # Errors
//
// Handlers never write a problem themselves: they hand every error to one
// writer, which finds the first error in the chain with an
// ErrorKind() string method (errors.As) and answers from one table:
//
//	invalid       400   the request is malformed
//	not_found     404   the addressed thing does not exist
//	conflict      409   a business rule refuses it in the current state
//	precondition  412   the entity is not at the version If-Match names
//	forbidden     403   the caller's role may not do this
//	unauthorized  401   no valid credentials
//	unavailable   503   not now; retry
//	internal      500   a bug: logged with the correlation id, never shown
//
// plus the request-level kinds only this package produces (too_large 413,
// unsupported_media_type 415, method_not_allowed 405, unprocessable 422,
// not_implemented 501, not_ready 503). An error without a kind is internal.
// The kinded error may refine its problem with ErrorCode() string (the
// machine-readable code), ErrorDetail() string (the text a client sees;
// otherwise the whole error's text), ErrorField() (name, message string)
// (one entry of errors[]), ConflictingID() string and RetryAfter()
// time.Duration (the Retry-After header). The producing packages
// (aggregates, commands, readmodels, internal/customreports,
// internal/apikeys) declare their kinds as constants with these values and
// import nothing of this package.
package api

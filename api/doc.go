// Package api is the HTTP interface: the chi router, problem+json errors,
// correlation ids, request metrics, and the operational endpoints
// (/healthz, /readyz, /metrics). It reaches storage only through the small
// interfaces it declares.
package api

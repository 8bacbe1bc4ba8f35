// Package console is the engine's web console: server-rendered pages for
// sales, service, compliance and analysts, served at / by crm serve.
//
// The console is a client of the HTTP API. It is given the /v1 handler and
// calls it in-process with the signed-in API key, so roles, validation,
// If-Match and problem+json come from the API itself; the console only
// renders them, and offers an action only when the key's permissions (from
// GET /v1/whoami) allow it. Sessions are opaque ids in an HttpOnly,
// SameSite=Strict cookie, held in memory; every state-changing form
// carries a CSRF token. Pages send a strict Content-Security-Policy and
// load nothing from elsewhere: assets, including the vendored htmx, are
// embedded. Pages speak English and Simplified Chinese.
package console

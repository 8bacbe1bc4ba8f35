package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
)

// Principal is the authenticated caller: an API key and its role.
type Principal struct {
	KeyID string
	Name  string
	Role  string
	// UserID is the user the key is bound to ("" for none).
	UserID string
}

// Actor is the actor events and the request audit record for the
// principal: "user:<user id>" for a key bound to a user, else
// "key:<key id>:<name>". Key ids are unique and never reused, so two keys
// can never write the same actor; the name keeps it readable.
func (p Principal) Actor() string {
	if p.UserID != "" {
		return "user:" + p.UserID
	}
	return "key:" + p.KeyID + ":" + p.Name
}

// KeyInfo describes a stored API key (never its secret).
type KeyInfo struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Role      string  `json:"role"`
	CreatedAt string  `json:"created_at"`
	RevokedAt *string `json:"revoked_at"`
	// UserID is the user the key is bound to, if any.
	UserID string `json:"user_id,omitempty"`
}

// Keys authenticates secrets and manages keys.
type Keys interface {
	// Authenticate returns the principal of an active key's secret, or
	// ErrUnknownKey.
	Authenticate(ctx context.Context, secret string) (Principal, error)
	// Create makes a key, bound to the user userID unless it is "", and
	// returns it with its secret. A bad name or role is an error wrapping
	// ErrBadKey, a name another key has one wrapping ErrKeyNameTaken.
	Create(ctx context.Context, name, role, userID string) (KeyInfo, string, error)
	// List returns every key.
	List(ctx context.Context) ([]KeyInfo, error)
	// Revoke deactivates a key, or returns ErrUnknownKey.
	Revoke(ctx context.Context, id string) error
}

// Errors a Keys implementation returns.
var (
	// ErrUnknownKey: no active key has that secret or id (kind not_found,
	// code "not_found").
	ErrUnknownKey = sentinel(kindNotFound, "not_found", "unknown api key")
	// ErrBadKey: a bad name or role (kind invalid).
	ErrBadKey = sentinel(kindInvalid, "", "invalid api key request")
	// ErrKeyNameTaken: another key, active or revoked, has the name (kind
	// conflict, code "name_taken", naming the field name).
	ErrKeyNameTaken error = &apiError{kind: kindConflict, code: "name_taken", msg: "api key name taken",
		field: "name", message: "is taken by another key"}
)

// Permissions a route requires.
const (
	permSalesRead    = "sales:read"    // leads, opportunities
	permSalesWrite   = "sales:write"   // lead, account, contact, opportunity commands
	permAccountsRead = "accounts:read" // accounts and contacts
	permServiceRead  = "service:read"  // tickets
	permServiceWrite = "service:write" // ticket commands
	permApprovals    = "approvals:decide"
	permReports      = "reports:read"     // funnel, pipeline, dashboard, custom reports
	permAudit        = "audit:read"       // audit timeline and exports
	permEvents       = "events:read"      // the global event feed
	permCompliance   = "audit:compliance" // the request audit and log verification
	permKeys         = "keys:admin"
	permForms        = "forms:admin" // web-to-lead forms (admin only)
	permUsersRead    = "users:read"  // the users directory
	permUsersWrite   = "users:write" // register, change and deactivate users
)

// rolePermissions is the role table of API.md.
var rolePermissions = map[string][]string{
	"admin": {"*"},
	"manager": {permUsersRead, permUsersWrite, permSalesRead, permSalesWrite, permAccountsRead, permServiceRead, permServiceWrite, permApprovals,
		permReports, permAudit, permEvents, permAutomation, permCatalog, permForecast},
	"sales":   {permUsersRead, permSalesRead, permSalesWrite, permAccountsRead},
	"support": {permUsersRead, permServiceRead, permServiceWrite, permAccountsRead},
	"analyst": {permUsersRead, permSalesRead, permAccountsRead, permServiceRead, permReports, permEvents, permReportsDefine},
	"auditor": {permUsersRead, permSalesRead, permAccountsRead, permServiceRead, permAudit, permEvents, permCompliance},
}

// Allowed reports whether role may use a route that needs perm.
func Allowed(role, perm string) bool {
	for _, p := range rolePermissions[role] {
		if p == "*" || p == perm {
			return true
		}
	}
	return false
}

type principalKey struct{}

// principalOf returns the request's authenticated principal.
func principalOf(ctx context.Context) Principal {
	p, _ := ctx.Value(principalKey{}).(Principal)
	return p
}

// authenticate requires a valid bearer key.
func authenticate(keys Keys, fail func(http.ResponseWriter, *http.Request, error)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := r.Header.Get("Authorization")
			scheme, secret, ok := strings.Cut(h, " ")
			if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
				w.Header().Set("WWW-Authenticate", `Bearer realm="crm"`)
				fail(w, r, requestErr(kindUnauthorized, "an Authorization: Bearer <api key> header is required"))
				return
			}
			p, err := keys.Authenticate(r.Context(), strings.TrimSpace(secret))
			if errors.Is(err, ErrUnknownKey) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="crm", error="invalid_token"`)
				fail(w, r, requestErr(kindUnauthorized, "unknown or revoked api key"))
				return
			}
			if err != nil {
				fail(w, r, err)
				return
			}
			noteCaller(r.Context(), p)
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
		})
	}
}

// require refuses principals whose role lacks perm.
func require(perm string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p := principalOf(r.Context())
			if !Allowed(p.Role, perm) {
				errorWriter{}.write(w, r, codedErr(kindForbidden, "forbidden",
					"role "+p.Role+" may not do this (needs "+perm+")"))
				return
			}
			// The caller may do this: now the request itself.
			if err := checkRequest(r); err != nil {
				errorWriter{}.write(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

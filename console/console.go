package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

//go:embed assets templates
var files embed.FS

// Options are the console's dependencies.
type Options struct {
	// API is the HTTP API's handler (it serves /v1). The console calls
	// it in-process with the signed-in key and hands it every request
	// the console has no page for. Required.
	API http.Handler
	// Logger logs failed renders; defaults to slog.Default().
	Logger *slog.Logger
	// SessionTTL is how long an idle session lives (default 12 h).
	SessionTTL time.Duration
}

// Console is the web console's handler.
type Console struct {
	api      apiClient
	fallback http.Handler
	log      *slog.Logger
	sessions *sessions
	pages    map[string]*template.Template
	mux      *http.ServeMux
	assets   http.Handler
}

// ContentSecurityPolicy is sent with every console response: nothing
// inline, nothing from elsewhere.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// New builds the console. It fails only when Options.API is missing or a
// template does not parse.
func New(o Options) (*Console, error) {
	if o.API == nil {
		return nil, errors.New("console: Options.API is required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	c := &Console{api: apiClient{h: o.API}, fallback: o.API, log: o.Logger, sessions: newSessions(o.SessionTTL),
		pages: map[string]*template.Template{}}
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(files, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", n, err)
		}
		c.pages[base] = t
	}
	sub, err := fs.Sub(files, "assets")
	if err != nil {
		return nil, err
	}
	c.assets = http.StripPrefix("/assets/", http.FileServerFS(sub))
	c.routes()
	return c, nil
}

// ServeHTTP serves a console page, or hands the request to the API when
// the console has none for it (so unknown paths answer problem+json).
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := c.mux.Handler(r); pattern == "" {
		c.fallback.ServeHTTP(w, r)
		return
	}
	// One correlation id for the page and every API call it makes, so the
	// events a form causes and the request audit name the same one.
	corr := token()
	r = r.WithContext(context.WithValue(r.Context(), correlationKey{}, corr))
	h := w.Header()
	h.Set(correlationHeader, corr)
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	c.mux.ServeHTTP(w, r)
}

// correlationHeader carries a correlation id to the API and back.
const correlationHeader = "X-Correlation-ID"

type correlationKey struct{}

// correlationOf is the console request's correlation id.
func correlationOf(ctx context.Context) string {
	id, _ := ctx.Value(correlationKey{}).(string)
	return id
}

// handler is a page handler that needs a session.
type handler func(w http.ResponseWriter, r *http.Request, ss *session)

// routes registers every page.
func (c *Console) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /assets/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		c.assets.ServeHTTP(w, r)
	})
	m.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/assets/favicon.svg", http.StatusMovedPermanently)
	})
	m.HandleFunc("GET /signin", c.signinPage)
	m.HandleFunc("POST /signin", c.signin)
	m.HandleFunc("GET /lang", c.switchLanguage)
	m.Handle("POST /signout", c.auth(c.signout))
	m.Handle("GET /{$}", c.auth(c.dashboard))
	for _, l := range lists {
		m.Handle("GET /"+l.Kind, c.auth(c.list(l)))
	}
	m.Handle("GET /leads/new", c.auth(c.newLeadPage))
	m.Handle("POST /leads/new", c.auth(c.newLead))
	m.Handle("GET /tickets/new", c.auth(c.newTicketPage))
	m.Handle("POST /tickets/new", c.auth(c.newTicket))
	for _, k := range []string{"leads", "accounts", "contacts", "opportunities", "tickets"} {
		m.Handle("GET /"+k+"/{id}", c.auth(c.record(k)))
		m.Handle("POST /"+k+"/{id}/{action}", c.auth(c.act(k)))
	}
	m.Handle("GET /audit", c.auth(c.auditPage))
	m.Handle("GET /audit/export", c.auth(c.auditExport))
	m.Handle("GET /audit/verify", c.auth(c.verifyPage))
	m.Handle("GET /audit/requests", c.auth(c.requestsPage))
	m.Handle("GET /privacy", c.auth(c.privacyPage))
	m.Handle("POST /privacy/erasure", c.auth(c.erase))
	m.Handle("GET /privacy/export", c.auth(c.privacyExport))
	m.Handle("GET /reports", c.auth(c.reportsPage))
	m.Handle("POST /reports", c.auth(c.createReport))
	m.Handle("GET /reports/{name}", c.auth(c.reportPage))
	m.Handle("GET /operations", c.auth(c.operationsPage))
	m.Handle("POST /operations/projections/{name}/rebuild", c.auth(c.rebuild))
	m.Handle("POST /operations/dead-letters/{id}/replay", c.auth(c.replay))
	m.Handle("GET /operations/webhooks/{id}", c.auth(c.deliveriesPage))
	c.mux = m
}

// auth runs h with the request's session, sends a request without one to
// the sign-in page, and refuses a state-changing request whose CSRF token
// or origin is wrong.
func (c *Console) auth(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		ss := c.sessions.get(r)
		if ss == nil {
			if r.Method != http.MethodGet {
				c.fail(w, r, nil, http.StatusUnauthorized, "Your session has ended. Sign in again.")
				return
			}
			http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
			if !sameOrigin(r) || !sameToken(r.PostFormValue("csrf"), ss.CSRF) {
				c.fail(w, r, ss, http.StatusForbidden, "This form has expired or did not come from this console. Reload the page and try again.")
				return
			}
		}
		h(w, r, ss)
	})
}

// sameOrigin refuses a request whose Origin header names another site.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || o == "null" && r.Header.Get("Sec-Fetch-Site") == "same-origin" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

// render writes a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	t, ok := c.pages[name]
	if !ok {
		c.log.Error("console: no such template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	p.init(r)
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", p); err != nil {
		c.log.Error("console: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", p.Lang)
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

// fail renders the error page with a message (translated).
func (c *Console) fail(w http.ResponseWriter, r *http.Request, ss *session, status int, msg string) {
	c.render(w, r, status, "error", &page{S: ss, Title: http.StatusText(status), Data: errorData{Status: status, Message: msg}})
}

// failProblem renders the error page for an API problem.
func (c *Console) failProblem(w http.ResponseWriter, r *http.Request, ss *session, err error) {
	p, ok := asProblem(err)
	if !ok {
		c.log.Error("console: api call", "err", err)
		c.fail(w, r, ss, http.StatusBadGateway, "The engine answered in a way the console does not understand.")
		return
	}
	if p.Status == http.StatusUnauthorized && ss != nil {
		// The key was revoked: the session ends with it.
		c.sessions.end(ss)
		setCookie(w, r, sessionCookie, "", -1)
		c.renderSignin(w, r, http.StatusUnauthorized, "/", map[string]string{"key": "This key is unknown or revoked."})
		return
	}
	c.render(w, r, p.Status, "error", &page{S: ss, Title: http.StatusText(p.Status), Data: errorData{Status: p.Status, Problem: p}})
}

// errorData is the error page's content.
type errorData struct {
	Status  int
	Message string
	Problem *problem
}

// switchLanguage sets the language cookie and goes back.
func (c *Console) switchLanguage(w http.ResponseWriter, r *http.Request) {
	l, ok := supported(r.URL.Query().Get("to"))
	if !ok {
		l = langEN
	}
	setCookie(w, r, langCookie, l, 365*24*3600)
	http.Redirect(w, r, localPath(r.URL.Query().Get("back")), http.StatusSeeOther)
}

// localPath keeps a redirect target on this site.
func localPath(p string) string {
	if p == "" || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.Contains(p, `\`) {
		return "/"
	}
	return p
}

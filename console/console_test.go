package console_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"crm/console"
	"crm/internal/app"
	"crm/internal/customreports"
	"crm/internal/testdb"
	"crm/projections"
)

// site is the engine built in-process with the console mounted, on a
// loopback server, with a browser-like client that keeps cookies and does
// not follow redirects.
type site struct {
	t      *testing.T
	url    string
	client *http.Client
	admin  string
	app    *app.App
}

func newSite(t *testing.T) *site { return newSiteWith(t, false) }

// newSiteWith is newSite, with the analysts' reports when reports is set.
func newSiteWith(t *testing.T, reports bool) *site {
	t.Helper()
	ctx := context.Background()
	cfg := app.Config{
		Database:    app.DatabaseConfig{URL: testdb.NewDatabase(t), MaxConns: 30},
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		MasterKey:   app.StaticKey([]byte("console-unit-master-key-0123456789abcdef")),
		Commands:    true,
		Projections: &projections.Options{},
		HTTP:        &app.HTTPConfig{Metrics: prometheus.NewRegistry()},
	}
	if reports {
		cfg.Reports = &customreports.Options{Poll: 100 * time.Millisecond}
	}
	a, err := app.Build(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	_, secret, err := a.Keys.Create(ctx, "admin-1", "admin")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	return &site{t: t, url: srv.URL, admin: secret, app: a, client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// get fetches a path and returns the response and its body.
func (s *site) get(path string, headers ...string) (*http.Response, string) {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.url+path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return s.do(req)
}

// post sends a form.
func (s *site) post(path string, form url.Values, headers ...string) (*http.Response, string) {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return s.do(req)
}

func (s *site) do(req *http.Request) (*http.Response, string) {
	s.t.Helper()
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var csrfPattern = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the first CSRF token of a page.
func csrf(t *testing.T, body string) string {
	t.Helper()
	m := csrfPattern.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf token in:\n%.1500s", body)
	}
	return m[1]
}

// signIn signs in with key and returns a page's CSRF token.
func (s *site) signIn(key string) string {
	s.t.Helper()
	_, page := s.get("/signin")
	resp, body := s.post("/signin", url.Values{"csrf": {csrf(s.t, page)}, "key": {key}, "next": {"/leads"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/leads" {
		s.t.Fatalf("sign in: %d %s %.500s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	_, list := s.get("/leads")
	return csrf(s.t, list)
}

// TestSessionCookieAndSignOut: the session is an opaque HttpOnly,
// SameSite=Strict cookie that is not the key; sign-out ends it.
func TestSessionCookieAndSignOut(t *testing.T) {
	s := newSite(t)
	resp, _ := s.get("/")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin") {
		t.Fatalf("signed out: / answered %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page := s.get("/signin")
	resp, _ = s.post("/signin", url.Values{"csrf": {csrf(t, page)}, "key": {s.admin}})
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "crm_session" {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Value == "" ||
		strings.Contains(session.Value, s.admin) || session.Path != "/" {
		t.Fatalf("session cookie %+v", session)
	}
	resp, body := s.get("/")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-role="admin"`) {
		t.Fatalf("dashboard: %d", resp.StatusCode)
	}
	tok := csrf(t, body)
	resp, _ = s.post("/signout", url.Values{"csrf": {tok}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out: %d", resp.StatusCode)
	}
	// The old session id no longer opens anything, even sent by hand.
	req, _ := http.NewRequest(http.MethodGet, s.url+"/leads", nil)
	req.AddCookie(&http.Cookie{Name: "crm_session", Value: session.Value})
	resp, _ = (&http.Client{CheckRedirect: s.client.CheckRedirect}).Do(req)
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("old session after sign-out: %d", resp.StatusCode)
	}
}

// TestSignInRefusesForgedAndUnknown: a sign-in without its token, or with
// an unknown key, creates no session.
func TestSignInRefusesForgedAndUnknown(t *testing.T) {
	s := newSite(t)
	resp, _ := s.post("/signin", url.Values{"csrf": {"forged"}, "key": {s.admin}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("forged sign-in: %d", resp.StatusCode)
	}
	_, page := s.get("/signin")
	resp, body := s.post("/signin", url.Values{"csrf": {csrf(t, page)}, "key": {"no-such-key-000000000000"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `data-field="key"`) {
		t.Errorf("unknown key: %d %.300s", resp.StatusCode, body)
	}
	if resp, _ := s.get("/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a refused sign-in opened a session: %d", resp.StatusCode)
	}
}

// TestStateChangesNeedTheCSRFToken: a form without the session's token,
// or from another origin, is refused and stores nothing.
func TestStateChangesNeedTheCSRFToken(t *testing.T) {
	s := newSite(t)
	tok := s.signIn(s.admin)
	lead := url.Values{"name": {"Grace"}, "company": {"Navy"}, "email": {"grace@example.com"}, "source": {"event"}}
	resp, _ := s.post("/leads/new", lead)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("no token: %d", resp.StatusCode)
	}
	lead.Set("csrf", tok)
	resp, _ = s.post("/leads/new", lead, "Origin", "http://evil.example")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("other origin: %d", resp.StatusCode)
	}
	var n int
	if err := s.app.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM crm_events WHERE type = 'lead.captured.v1'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("refused forms stored %d leads (%v)", n, err)
	}
	resp, _ = s.post("/leads/new", lead, "Origin", s.url)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/leads/") {
		t.Fatalf("with the token: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The event names the form's correlation id, which the page echoed.
	corr := resp.Header.Get("X-Correlation-ID")
	var stored string
	if err := s.app.DB.Pool.QueryRow(context.Background(), `SELECT correlation_id FROM crm_events WHERE type = 'lead.captured.v1'`).Scan(&stored); err != nil || corr == "" || stored != corr {
		t.Errorf("correlation id: page %q, event %q (%v)", corr, stored, err)
	}
}

// TestRevokedKeyEndsTheSession: once its key is revoked, the session's
// next page is the sign-in form and the session is gone.
func TestRevokedKeyEndsTheSession(t *testing.T) {
	s := newSite(t)
	k, secret, err := s.app.Keys.Create(context.Background(), "temp", "sales")
	if err != nil {
		t.Fatal(err)
	}
	s.signIn(secret)
	if err := s.app.Keys.Revoke(context.Background(), k.ID); err != nil {
		t.Fatal(err)
	}
	resp, body := s.get("/leads")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `name="key"`) {
		t.Fatalf("revoked key: %d %.300s", resp.StatusCode, body)
	}
	if resp, _ := s.get("/leads"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the session outlived its key: %d", resp.StatusCode)
	}
}

// TestFieldErrorsAndNothingStored: the API's validation errors are shown
// next to the named field and the form keeps what was typed.
func TestFieldErrorsAndNothingStored(t *testing.T) {
	s := newSite(t)
	tok := s.signIn(s.admin)
	resp, body := s.post("/leads/new", url.Values{"csrf": {tok}, "name": {"Grace"}, "company": {"Navy"}, "email": {"nope"}, "source": {"event"}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad email: %d", resp.StatusCode)
	}
	if !regexp.MustCompile(`id="f-new-email"[^>]*aria-invalid="true" aria-describedby="f-new-email-error"`).MatchString(body) ||
		!strings.Contains(body, `id="f-new-email-error" data-field="email"`) || !strings.Contains(body, `value="Grace"`) {
		t.Errorf("the error is not next to the email field:\n%s", body)
	}
}

// TestHeadersAndAPIPaths: every page has the strict CSP; the API keeps
// its paths, and paths the console has no page for answer problem+json.
func TestHeadersAndAPIPaths(t *testing.T) {
	s := newSite(t)
	resp, _ := s.get("/signin")
	if got := resp.Header.Get("Content-Security-Policy"); got != console.ContentSecurityPolicy || !strings.Contains(got, "default-src 'self'") {
		t.Errorf("CSP %q", got)
	}
	if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers %v", resp.Header)
	}
	for path, want := range map[string]string{"/healthz": `"status":"ok"`, "/openapi.json": `"openapi"`, "/v1/leads": `"status":401`, "/nope": `"status":404`} {
		resp, body := s.get(path)
		if !strings.Contains(body, want) || strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("GET %s: %d %s %.200s", path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
	resp, body := s.get("/assets/vendor/htmx.min.js")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "htmx") {
		t.Errorf("vendored htmx: %d", resp.StatusCode)
	}
}

// TestLanguageAndFormats: Accept-Language chooses Simplified Chinese, the
// switch sticks, and CSV downloads start with a UTF-8 byte order mark.
func TestLanguageAndFormats(t *testing.T) {
	s := newSite(t)
	tok := s.signIn(s.admin)
	resp, _ := s.post("/leads/new", url.Values{"csrf": {tok}, "name": {"李雷"}, "company": {"北京机械"}, "email": {"lilei@example.com"}, "source": {"展会"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("capture: %d", resp.StatusCode)
	}
	_, body := s.get("/leads", "Accept-Language", "zh-CN,zh;q=0.9,en;q=0.8")
	if !strings.Contains(body, `<html lang="zh-Hans">`) || !strings.Contains(body, "线索") || !strings.Contains(body, "李雷") {
		t.Errorf("Chinese list:\n%.800s", body)
	}
	_, body = s.get("/leads", "Accept-Language", "en-GB,en;q=0.9")
	if !strings.Contains(body, `<html lang="en">`) {
		t.Error("English not chosen")
	}
	resp, _ = s.get("/lang?to=zh-Hans&back=/leads")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/leads" {
		t.Fatalf("switch: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body = s.get("/leads", "Accept-Language", "en")
	if !strings.Contains(body, `<html lang="zh-Hans">`) {
		t.Error("the switch did not stick over Accept-Language")
	}
	if resp, _ := s.get("/lang?to=en&back=//evil.example"); resp.Header.Get("Location") != "/" {
		t.Errorf("switch went off-site: %s", resp.Header.Get("Location"))
	}
	resp, body = s.get("/leads?format=csv")
	if !strings.HasPrefix(body, "\ufeffid,name,") || !strings.Contains(body, "李雷") || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("CSV: %s %q", resp.Header.Get("Content-Disposition"), body)
	}
	resp, body = s.get("/audit/export?format=csv")
	if !strings.HasPrefix(body, "\ufeff") || !strings.Contains(body, "北京机械") {
		t.Errorf("audit CSV: %d %q", resp.StatusCode, body)
	}
	resp, body = s.get("/audit/export?format=ndjson")
	var first map[string]any
	if line, _, _ := strings.Cut(body, "\n"); json.Unmarshal([]byte(line), &first) != nil || first["event_type"] == nil {
		t.Errorf("audit NDJSON: %d %q", resp.StatusCode, body)
	}
}

// TestTemplatesAreTranslated: every message a template translates has
// its Simplified Chinese text.
func TestTemplatesAreTranslated(t *testing.T) {
	files, err := filepath.Glob("templates/*.html")
	if err != nil || len(files) == 0 {
		t.Fatal("no templates", err)
	}
	msg := regexp.MustCompile(`\.Tf? "([^"]+)"`)
	checked := 0
	defer func() {
		if checked < 100 {
			t.Errorf("only %d messages found in the templates", checked)
		}
	}()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msg.FindAllStringSubmatch(string(b), -1) {
			checked++
			if !console.Translated(m[1]) {
				t.Errorf("%s: %q has no Simplified Chinese text", f, m[1])
			}
		}
	}
}

// TestPrivacyErasureConfirms: the first post only asks; the confirmed one
// erases the person, whose record then reads [erased].
func TestPrivacyErasureConfirms(t *testing.T) {
	s := newSite(t)
	tok := s.signIn(s.admin)
	resp, _ := s.post("/leads/new", url.Values{"csrf": {tok}, "name": {"Erin Gone"}, "company": {"Vanish"}, "email": {"erin@example.com"}, "source": {"event"}})
	lead := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(lead, "/leads/") {
		t.Fatalf("capture: %d %s", resp.StatusCode, lead)
	}
	lead, _, _ = strings.Cut(lead, "?")
	resp, body := s.get("/privacy/export?email=erin@example.com")
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") || !strings.Contains(body, "Erin Gone") {
		t.Errorf("subject access download: %d %s %.300s", resp.StatusCode, resp.Header.Get("Content-Disposition"), body)
	}
	resp, body = s.post("/privacy/erasure", url.Values{"csrf": {tok}, "email": {"erin@example.com"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="confirm" value="yes"`) || !strings.Contains(body, "erin@example.com") {
		t.Fatalf("first step: %d %.500s", resp.StatusCode, body)
	}
	if _, page := s.get(lead); !strings.Contains(page, "Erin Gone") {
		t.Fatal("the first step erased already")
	}
	resp, body = s.post("/privacy/erasure", url.Values{"csrf": {tok}, "email": {"erin@example.com"}, "confirm": {"yes"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-erased="true"`) {
		t.Fatalf("confirmed: %d %.500s", resp.StatusCode, body)
	}
	if _, page := s.get(lead); strings.Contains(page, "Erin Gone") || !strings.Contains(page, "[erased]") {
		t.Errorf("after erasure the lead page still shows the name")
	}
}

// TestRebuildFromOperations: an admin starts a rebuild from the
// operations page, which then shows its progress; an analyst is offered
// no rebuild and is refused one.
func TestRebuildFromOperations(t *testing.T) {
	s := newSite(t)
	tok := s.signIn(s.admin)
	_, body := s.get("/operations")
	if !strings.Contains(body, `action="/operations/projections/lists/rebuild"`) {
		t.Fatalf("no rebuild offered:\n%.1000s", body)
	}
	resp, _ := s.post("/operations/projections/lists/rebuild", url.Values{"csrf": {tok}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("rebuild: %d", resp.StatusCode)
	}
	if _, body = s.get("/operations"); !strings.Contains(body, `data-rebuild=`) {
		t.Errorf("no rebuild progress shown")
	}

	_, secret, err := s.app.Keys.Create(context.Background(), "ana", "analyst")
	if err != nil {
		t.Fatal(err)
	}
	a := &site{t: t, url: s.url, app: s.app}
	jar, _ := cookiejar.New(nil)
	a.client = &http.Client{Jar: jar, CheckRedirect: s.client.CheckRedirect}
	atok := a.signIn(secret)
	if _, body := a.get("/operations"); strings.Contains(body, "/rebuild") {
		t.Error("an analyst is offered a rebuild")
	}
	resp, body = a.post("/operations/projections/lists/rebuild", url.Values{"csrf": {atok}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `data-status="403"`) {
		t.Errorf("analyst rebuild: %d", resp.StatusCode)
	}
}

// TestDashboardPeriod: the period filters the funnel by when leads were
// captured; a period the API refuses is named on its field.
func TestDashboardPeriod(t *testing.T) {
	s := newSite(t)
	tok := s.signIn(s.admin)
	if resp, _ := s.post("/leads/new", url.Values{"csrf": {tok}, "name": {"Ada"}, "company": {"Engines"}, "email": {"ada@example.com"}, "source": {"event"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("capture: %d", resp.StatusCode)
	}
	captured := regexp.MustCompile(`data-funnel="lead-funnel.captured">(\d+)<`)
	count := func(path string) string {
		t.Helper()
		resp, body := s.get(path)
		m := captured.FindStringSubmatch(body)
		if resp.StatusCode != http.StatusOK || m == nil {
			t.Fatalf("GET %s: %d %.500s", path, resp.StatusCode, body)
		}
		return m[1]
	}
	if got := count("/"); got != "1" {
		t.Errorf("all time: %s captured", got)
	}
	if got := count("/?from=2001-01-01&to=2001-12-31"); got != "0" {
		t.Errorf("in 2001: %s captured", got)
	}
	resp, body := s.get("/?from=2027-02-01&to=2027-01-01")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `id="range-to-error" data-field="to"`) {
		t.Errorf("to before from: %d %.800s", resp.StatusCode, body)
	}
}

// TestTicketActionsAndReportCSV: a ticket is worked from its page
// (respond, resolve, close, satisfaction), and a report's rows download
// as CSV.
func TestTicketActionsAndReportCSV(t *testing.T) {
	s := newSiteWith(t, true)
	tok := s.signIn(s.admin)
	resp, _ := s.post("/tickets/new", url.Values{"csrf": {tok}, "subject": {"Broken"}, "priority": {"high"}, "channel": {"email"}})
	ticket, _, _ := strings.Cut(resp.Header.Get("Location"), "?")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(ticket, "/tickets/") {
		t.Fatalf("open ticket: %d %s", resp.StatusCode, ticket)
	}
	for _, step := range []struct {
		action string
		form   url.Values
		status string
	}{
		{"responses", url.Values{"body": {"Looking"}}, "open"},
		{"resolve", url.Values{"resolution": {"Fixed"}}, "resolved"},
		{"close", url.Values{}, "closed"},
		{"satisfaction", url.Values{"score": {"5"}, "comment": {"great"}}, "closed"},
	} {
		step.form.Set("csrf", tok)
		resp, body := s.post(ticket+"/"+step.action, step.form)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: %d %.600s", step.action, resp.StatusCode, body)
		}
		_, page := s.get(ticket)
		if !strings.Contains(page, `data-value="`+step.status+`"`) {
			t.Errorf("after %s the ticket is not %s", step.action, step.status)
		}
	}
	_, page := s.get(ticket)
	if !strings.Contains(page, `data-field="satisfaction">5<`) {
		t.Errorf("satisfaction not shown")
	}
	// Bad input is named next to its field: a score out of range.
	resp, body := s.post(ticket+"/satisfaction", url.Values{"csrf": {tok}, "score": {"9"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `id="f-satisfaction-score-error" data-field="score"`) {
		t.Errorf("bad score: %d", resp.StatusCode)
	}

	resp, _ = s.post("/reports", url.Values{"csrf": {tok}, "name": {"tickets_by_priority"},
		"table":   {"CREATE TABLE tickets_by_priority (priority text PRIMARY KEY, n int NOT NULL)"},
		"event_0": {"ticket.opened.v1"},
		"sql_0":   {"INSERT INTO tickets_by_priority VALUES (:data.priority, 1) ON CONFLICT (priority) DO UPDATE SET n = tickets_by_priority.n + 1"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create report: %d", resp.StatusCode)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, body = s.get("/reports/tickets_by_priority?format=csv")
		if strings.Contains(body, "1,high") || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.HasPrefix(body, "\ufeffn,priority\n") || !strings.Contains(body, "\n1,high\n") {
		t.Errorf("report CSV: %d %q", resp.StatusCode, body)
	}
}

// TestOddInputsNeverFail: malformed ids, filters, cursors, actions and
// bodies get a 4xx page, never a 5xx, and the console keeps serving.
func TestOddInputsNeverFail(t *testing.T) {
	s := newSiteWith(t, true)
	tok := s.signIn(s.admin)
	missing := "01a23d12-dfa2-7580-b0f4-48d2250b361d"
	for _, path := range []string{
		"/leads/not-a-uuid", "/leads/%00", "/opportunities/" + missing, "/contacts/" + missing, "/tickets/" + missing + "?version=-3",
		"/opportunities/" + missing + "?as_of=yesterday", "/leads?status=bogus", "/leads?cursor=%ff%fe", "/opportunities?closing_before=soon",
		"/tickets?breached=maybe", "/audit?from=yesterday", "/audit?entity_type=planet", "/audit/requests?status=teapot",
		"/reports/nope", "/reports/%2e%2e", "/operations/webhooks/x", "/audit/export?format=xml", "/privacy/export?email=",
		"/lang?to=klingon&back=javascript:alert(1)", "/?from=2027-13-45",
	} {
		resp, body := s.get(path)
		if resp.StatusCode >= 500 {
			t.Errorf("GET %s: %d %.300s", path, resp.StatusCode, body)
		}
	}
	posts := []struct {
		path string
		form url.Values
	}{
		{"/leads/" + missing + "/no-such-action", url.Values{}},
		{"/leads/" + missing + "/qualify", url.Values{}},
		{"/opportunities/" + missing + "/stage", url.Values{"stage": {"xyz"}, "version": {"abc"}}},
		{"/opportunities/" + missing + "/approve", url.Values{"approval_id": {"../../keys"}}},
		{"/tickets/" + missing + "/satisfaction", url.Values{"score": {"NaN"}}},
		{"/leads/new", url.Values{"name": {strings.Repeat("x", 2<<20)}}},
		{"/reports", url.Values{"name": {"r"}, "event_0": {"x"}, "sql_0": {"DROP TABLE crm_events"}}},
		{"/privacy/erasure", url.Values{"email": {"\x00"}, "confirm": {"yes"}}},
		{"/operations/projections/nope/rebuild", url.Values{}},
		{"/operations/dead-letters/nope/replay", url.Values{}},
	}
	for _, p := range posts {
		p.form.Set("csrf", tok)
		resp, body := s.post(p.path, p.form)
		if resp.StatusCode >= 500 {
			t.Errorf("POST %s: %d %.300s", p.path, resp.StatusCode, body)
		}
	}
	var n int
	if err := s.app.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM crm_events`).Scan(&n); err != nil || n != 0 {
		t.Errorf("odd input stored %d events (%v)", n, err)
	}
	if resp, _ := s.get("/leads"); resp.StatusCode != http.StatusOK {
		t.Errorf("the console stopped serving: %d", resp.StatusCode)
	}
}

// TestHistoryWithoutTheAudit: a role without the audit timeline still
// sees every event of a record, with its data, from the record's history.
func TestHistoryWithoutTheAudit(t *testing.T) {
	s := newSite(t)
	_, secret, err := s.app.Keys.Create(context.Background(), "sam", "sales")
	if err != nil {
		t.Fatal(err)
	}
	tok := s.signIn(secret)
	resp, _ := s.post("/leads/new", url.Values{"csrf": {tok}, "name": {"Hedy"}, "company": {"Films"}, "email": {"hedy@example.com"}, "source": {"event"}})
	lead, _, _ := strings.Cut(resp.Header.Get("Location"), "?")
	_, body := s.get(lead)
	if !strings.Contains(body, `data-timeline="events"`) || !strings.Contains(body, "1. lead.captured.v1") || !strings.Contains(body, "hedy@example.com") {
		t.Errorf("sales sees no history:\n%.3000s", body)
	}
	if strings.Contains(body, `href="/audit"`) {
		t.Error("sales is offered the audit")
	}
}

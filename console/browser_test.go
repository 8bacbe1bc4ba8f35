package console_test

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

//go:embed testdata/axe.min.js
var axeSource string

// screenshotDir is where the tests write a screenshot of every page in
// both languages (README names it): build/screenshots, ignored by git, or
// CRM_SCREENSHOTS_DIR (make screenshots refreshes docs/screenshots so).
func screenshotDir() string {
	if d := os.Getenv("CRM_SCREENSHOTS_DIR"); d != "" {
		return d
	}
	return "../build/screenshots"
}

// chromium returns the browser to drive: CHROMIUM_PATH, else Debian's.
// Without one the test skips, saying so, except under CI, where it fails.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("CHROMIUM_PATH"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no Chromium: CI must have one (apt-get install chromium)")
	}
	t.Skip("no Chromium on this machine (apt-get install chromium, or set CHROMIUM_PATH): the browser tests of the console are skipped")
	return ""
}

// browser is one headless Chromium tab that records every console error,
// uncaught exception and failed request.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string

	mu          sync.Mutex
	failures    []string
	expected    map[string]int // URL path → the one error status the step expects
	expectedLog string         // the URL of the last expected error status
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("lang", "en-US"),
	)
	b := &browser{t: t, base: base, expected: map[string]int{}}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx, chromedp.WithListener(b.listen))
	t.Cleanup(func() { cancelB(); cancelA() })
	b.ctx = ctx
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return b
}

// listen records what must fail the test: console errors, uncaught
// exceptions, browser log errors (a refused Content-Security-Policy, for
// one), failed requests and error statuses the step did not expect.
func (b *browser) listen(ev any) {
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert {
			var args []string
			for _, a := range e.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			b.fail("console." + string(e.Type) + ": " + strings.Join(args, " "))
		}
	case *runtime.EventExceptionThrown:
		b.fail("uncaught exception: " + e.ExceptionDetails.Text + " " + e.ExceptionDetails.URL)
	case *log.EventEntryAdded:
		if e.Entry.Level == log.EntryLevelError && !b.expectedURL(e.Entry.URL) {
			b.fail("browser log error: " + e.Entry.Text + " " + e.Entry.URL)
		}
	case *network.EventLoadingFailed:
		// A load the next navigation aborts (a favicon still arriving
		// when a step clicks on) is the browser's doing, not a failure.
		if !e.Canceled && e.ErrorText != "net::ERR_ABORTED" {
			b.fail("request failed: " + e.ErrorText)
		}
	case *network.EventResponseReceived:
		if e.Response.Status >= 400 && !b.expectedStatus(e.Response.URL, int(e.Response.Status)) {
			b.fail(fmt.Sprintf("request %s answered %d", e.Response.URL, e.Response.Status))
		}
	}
}

func (b *browser) fail(msg string) {
	b.mu.Lock()
	b.failures = append(b.failures, msg)
	b.mu.Unlock()
}

// expect lets the next response to path carry status (once).
func (b *browser) expect(path string, status int) {
	b.mu.Lock()
	b.expected[path] = status
	b.mu.Unlock()
}

func (b *browser) expectedStatus(u string, status int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for p, s := range b.expected {
		if s == status && strings.HasPrefix(u, b.base+p) {
			delete(b.expected, p)
			b.expectedLog = b.base + p
			return true
		}
	}
	return false
}

// expectedURL reports whether a browser log entry is about the response
// a step expected (Chromium logs an error status as an error).
func (b *browser) expectedURL(u string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.expectedLog != "" && strings.HasPrefix(u, b.expectedLog) {
		b.expectedLog = ""
		return true
	}
	for p := range b.expected {
		if strings.HasPrefix(u, b.base+p) {
			return true
		}
	}
	return false
}

// check fails the test on anything the browser reported so far.
func (b *browser) check(step string) {
	b.t.Helper()
	time.Sleep(50 * time.Millisecond) // let the last events of the step arrive
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, f := range b.failures {
		b.t.Errorf("%s: %s", step, f)
	}
	b.failures = nil
}

// do runs steps, failing the test on error.
func (b *browser) do(step string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v%s", step, err, b.state())
	}
	b.check(step)
}

// state describes the page a failed step left, for the failure message.
func (b *browser) state() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	u, _ := chromedp.Run(ctx, chromedp.Location())
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("main") ? document.querySelector("main").innerText.slice(0, 1500) : ""`))
	return "\n  at " + u + "\n  page: " + text
}

// value runs one action that returns a value.
func value[T any](b *browser, step string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v", step, err)
	}
	return v
}

// open navigates to a console path and waits for sel.
func (b *browser) open(path, sel string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.base+path), chromedp.WaitVisible(chromedp.CSS(sel)))
}

// text returns an element's text.
func (b *browser) text(sel string) string {
	b.t.Helper()
	return strings.TrimSpace(value(b, "read "+sel, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible)))
}

// attr returns an element's attribute.
func (b *browser) attr(sel, name string) string {
	b.t.Helper()
	return value(b, "read "+sel, chromedp.AttributeValue(chromedp.CSS(sel), name)).Value
}

// count returns how many elements match sel.
func (b *browser) count(sel string) int {
	b.t.Helper()
	return value(b, "count "+sel, chromedp.Evaluate[int](`document.querySelectorAll(`+strconv.Quote(sel)+`).length`))
}

// location is the page's path and query.
func (b *browser) location() string {
	b.t.Helper()
	return strings.TrimPrefix(value(b, "location", chromedp.Location()), b.base)
}

// axeViolation is one serious or critical finding.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any `json:"target"`
	} `json:"nodes"`
}

// axe runs axe-core on the page and fails on serious or critical
// violations.
func (b *browser) axe(name string) {
	b.t.Helper()
	b.do("load axe on "+name, chromedp.Evaluate[chromedp.Void](axeSource+";true"))
	js := `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.filter(v => v.impact === "serious" || v.impact === "critical"))`
	vs := value(b, "axe on "+name, chromedp.Evaluate[[]axeViolation](js, chromedp.EvalAwaitPromise))
	for _, v := range vs {
		var where []string
		for _, n := range v.Nodes {
			where = append(where, fmt.Sprint(n.Target...))
		}
		b.t.Errorf("axe on %s: %s (%s): %s at %s", name, v.ID, v.Impact, v.Help, strings.Join(where, ", "))
	}
	b.check("axe on " + name)
}

// shot saves a screenshot as NAME.png in screenshotDir: of the whole
// dashboard, of the first screen of every other page (long timelines
// would make files of megabytes).
func (b *browser) shot(name string) {
	b.t.Helper()
	take := chromedp.CaptureScreenshot()
	if strings.HasPrefix(name, "dashboard.") {
		take = chromedp.FullScreenshot(100)
	}
	png := value(b, "screenshot "+name, take)
	dir := screenshotDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// submit fills the named inputs of a form, submits it and waits for sel.
func (b *browser) submit(form string, fields map[string]string, sel string) {
	b.t.Helper()
	var steps []chromedp.Action[chromedp.Void]
	for name, v := range fields {
		steps = append(steps, chromedp.SetValue(chromedp.CSS(form+` [name="`+name+`"]`), v))
	}
	steps = append(steps, chromedp.Click(chromedp.CSS(form+` button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS(sel)))
	b.do("submit "+form, steps...)
}

// signIn signs in with a key from the sign-in page.
func (b *browser) signIn(key string) {
	b.t.Helper()
	b.open("/", `input[name="key"]`)
	b.submit(`form[action="/signin"]`, map[string]string{"key": key}, `nav[aria-label]`)
}

var idPattern = regexp.MustCompile(`/(leads|accounts|contacts|opportunities|tickets)/([0-9a-f-]{36})`)

// recordID is the id in the page's path.
func (b *browser) recordID(kind string) string {
	b.t.Helper()
	m := idPattern.FindStringSubmatch(b.location())
	if m == nil || m[1] != kind {
		b.t.Fatalf("not on a %s page: %s", kind, b.location())
	}
	return m[2]
}

// TestConsoleInChromium drives the console as a person would: sign in,
// capture a lead through the form, convert it, move the deal to
// closed_won, see the funnel count change, time-slide the opportunity
// back to proposal from the audit, meet the conflict of a stale edit, and
// see an analyst offered no commands and refused one forced through. Every
// page passes axe-core and is photographed in both languages.
func TestConsoleInChromium(t *testing.T) {
	chromium(t)
	srv := startServer(t)
	status, created := srv.api(t, testAdminKey, "POST", "/v1/keys", `{"name":"ana","role":"analyst"}`)
	if status != 201 {
		t.Fatalf("create analyst key: %d %v", status, created)
	}
	analystKey := created["key"].(string)

	b := newBrowser(t, srv.URL)
	b.open("/", `input[name="key"]`)
	b.axe("sign-in")
	b.shot("signin.en")
	b.expect("/signin", 401)
	b.submit(`form[action="/signin"]`, map[string]string{"key": "not-a-key"}, `.field-error[data-field="key"]`)
	b.submit(`form[action="/signin"]`, map[string]string{"key": testAdminKey}, `nav[aria-label]`)
	wonBefore := b.funnelCount("opportunity-funnel.closed_won")

	// Capture a lead through the form; a bad email is named next to its field.
	b.open("/leads/new", `#new-leads`)
	lead := map[string]string{"name": "Ada Lovelace", "company": "Engines Ltd", "email": "not-an-email", "source": "webinar", "region": "EMEA"}
	b.expect("/leads/new", 400)
	b.submit(`#new-leads`, lead, `.field-error[data-field="email"]`)
	b.axe("capture form with an error")
	b.shot("lead-form-error.en")
	lead["email"] = "ada@example.com"
	b.submit(`#new-leads`, lead, `#action-qualify`)
	leadID := b.recordID("leads")
	if got := b.attr(`dd[data-field="status"] .tag`, "data-value"); got != "captured" {
		t.Errorf("new lead status %q", got)
	}
	b.submit(`#action-contact-attempts`, map[string]string{"channel": "call", "outcome": "reached"}, `dd[data-field="status"] .tag[data-value="contacted"]`)
	b.submit(`#action-qualify`, nil, `#action-convert`)

	// Convert it, with an opportunity: the console opens the opportunity.
	b.submit(`#action-convert`, map[string]string{"opportunity.name": "Engines 2027", "opportunity.amount": "125000.00",
		"opportunity.currency": "EUR", "opportunity.expected_close_date": "2027-03-31"}, `#action-stage`)
	oppID := b.recordID("opportunities")
	if got := b.attr(`dd[data-field="stage"] .tag`, "data-value"); got != "prospecting" {
		t.Errorf("converted opportunity stage %q", got)
	}
	if got := b.text(`dd[data-field="amount"]`); got != "€125,000.00" {
		t.Errorf("amount shown %q", got)
	}
	b.submit(`#action-stage`, map[string]string{"stage": "proposal"}, `dd[data-field="stage"] .tag[data-value="proposal"]`)

	// A stale-version edit: someone else moves the deal meanwhile.
	seen := b.attr(`#action-stage input[name="version"]`, "value")
	if st, body := srv.api(t, testAdminKey, "POST", "/v1/opportunities/"+oppID+"/stage", `{"stage":"negotiation"}`); st != 200 {
		t.Fatalf("concurrent stage change: %d %v", st, body)
	}
	b.expect("/opportunities/"+oppID+"/stage", 412)
	b.submit(`#action-stage`, map[string]string{"stage": "closed_won"}, `[data-conflict="true"]`)
	if got := b.text(`[data-conflict="true"]`); !strings.Contains(got, "version "+seen) || !strings.Contains(got, "opportunity.stage_changed") {
		t.Errorf("conflict view: %q", got)
	}
	if got := b.attr(`dd[data-field="stage"] .tag`, "data-value"); got != "negotiation" {
		t.Errorf("after the conflict the page shows stage %q, want the stored negotiation", got)
	}
	b.axe("conflict")
	b.shot("conflict.en")

	// Now from the current version: closed_won.
	b.submit(`#action-stage`, map[string]string{"stage": "closed_won"}, `dd[data-field="stage"] .tag[data-value="closed_won"]`)
	if b.count(`#action-stage`) != 0 {
		t.Error("a closed opportunity still offers a stage change")
	}
	b.open("/", `[data-funnel="opportunity-funnel.closed_won"]`)
	if after := b.funnelCount("opportunity-funnel.closed_won"); after != wonBefore+1 {
		t.Errorf("funnel closed_won %d → %d, want one more", wonBefore, after)
	}

	// The audit: find the opportunity, open it, slide it back to proposal.
	b.open("/audit?entity_type=opportunity&entity_id="+oppID, `table[data-list="audit"] a[data-entity]`)
	if n := b.count(`table[data-list="audit"] tbody tr`); n < 4 {
		t.Errorf("audit shows %d entries for the opportunity, want at least 4", n)
	}
	b.do("open the record from the audit", chromedp.Click(chromedp.CSS(`table[data-list="audit"] a[data-entity]`)),
		chromedp.WaitVisible(chromedp.CSS(`#time-slider`)))
	version := b.proposalVersion()
	// By keyboard: arrow keys move the slider, Enter shows that version.
	latest, _ := strconv.Atoi(b.attr(`#version`, "max"))
	b.do("slide", chromedp.SendKeys(chromedp.CSS(`#version`), strings.Repeat(kb.ArrowLeft, latest-version)+kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`[data-as-of]`)))
	if got := b.attr(`dd[data-field="stage"] .tag`, "data-value"); got != "proposal" {
		t.Errorf("slid to version %d: stage %q, want proposal", version, got)
	}
	if b.count(`form[data-action]`) != 0 {
		t.Error("a past version offers actions")
	}
	b.axe("time slider")
	b.shot("time-slider.en")

	// Open a ticket and define a report through their forms, so every
	// page has something to show.
	b.open("/tickets/new", `#new-tickets`)
	b.submit(`#new-tickets`, map[string]string{"subject": "Printer on fire", "priority": "high", "channel": "email"}, `#action-responses`)
	ticketID := b.recordID("tickets")
	b.submit(`#action-responses`, map[string]string{"body": "On our way."}, `.notice`)
	b.open("/reports", `#new-report`)
	b.expect("/reports", 400)
	b.submit(`#new-report`, map[string]string{"name": "leads_by_source", "table": "CREATE TABLE leads_by_source (source text PRIMARY KEY, n int NOT NULL)",
		"event_0": "lead.captured.v1", "sql_0": "INSERT INTO elsewhere VALUES (:data.source, 1)"}, `.field-error[data-field="sql_0"]`)
	b.submit(`#new-report`, map[string]string{"sql_0": "INSERT INTO leads_by_source VALUES (:data.source, 1) ON CONFLICT (source) DO UPDATE SET n = leads_by_source.n + 1"},
		`table[data-list="report-rows"]`)

	var accountID, contactID string
	b.open("/leads/"+leadID, `a[data-link="opportunity"]`)
	accountID = strings.TrimPrefix(b.attr(`a[href^="/accounts/"]`, "href"), "/accounts/")
	contactID = strings.TrimPrefix(b.attr(`a[href^="/contacts/"]`, "href"), "/contacts/")

	seedShowcase(t, srv)
	pages := []struct{ name, path, sel string }{
		{"dashboard", "/", `[data-funnel]`},
		{"leads", "/leads", `table[data-list="leads"]`},
		{"lead", "/leads/" + leadID, `.timeline`},
		{"lead-form", "/leads/new", `#new-leads`},
		{"accounts", "/accounts", `table[data-list="accounts"]`},
		{"account", "/accounts/" + accountID, `.timeline`},
		{"contacts", "/contacts", `table[data-list="contacts"]`},
		{"contact", "/contacts/" + contactID, `dl.state`},
		{"opportunities", "/opportunities", `table[data-list="opportunities"]`},
		{"opportunity", "/opportunities/" + oppID, `.timeline`},
		{"tickets", "/tickets", `table[data-list="tickets"]`},
		{"ticket", "/tickets/" + ticketID, `.timeline`},
		{"ticket-form", "/tickets/new", `#new-tickets`},
		{"audit", "/audit", `table[data-list="audit"]`},
		{"verify", "/audit/verify", `[data-verified="true"]`},
		{"requests", "/audit/requests", `table.list`},
		{"privacy", "/privacy", `#erase-h`},
		{"reports", "/reports", `table[data-list="reports"]`},
		{"report", "/reports/leads_by_source", `table[data-list="report-rows"]`},
		{"operations", "/operations", `table[data-list="projections"]`},
	}
	for _, lang := range []string{"en", "zh-Hans"} {
		b.open("/lang?to="+lang+"&back=/", `html[lang="`+lang+`"]`)
		for _, p := range pages {
			b.open(p.path, p.sel)
			if got := b.attr("html", "lang"); got != lang {
				t.Errorf("%s: lang %q, want %s", p.path, got, lang)
			}
			b.axe(p.name + " (" + lang + ")")
			b.shot(p.name + "." + lang)
		}
	}
	if got := b.text(`h1`); got != "运维" {
		t.Errorf("Chinese operations heading %q", got)
	}
	b.open("/opportunities/"+oppID, `dd[data-field="expected_close_date"]`)
	if got := b.text(`dd[data-field="expected_close_date"]`); got != "2027年3月31日" {
		t.Errorf("Chinese date %q", got)
	}
	b.open("/lang?to=en&back=/", `html[lang="en"]`)

	// Sign out: the session is gone.
	b.do("sign out", chromedp.Click(chromedp.CSS(`form[action="/signout"] button`)), chromedp.WaitVisible(chromedp.CSS(`input[name="key"]`)))
	b.open("/leads", `input[name="key"]`)

	// An analyst sees no command buttons, and forcing one is refused.
	b.signIn(analystKey)
	if got := b.attr(`[data-role]`, "data-role"); got != "analyst" {
		t.Errorf("signed in as role %q", got)
	}
	for _, path := range []string{"/leads/" + leadID, "/opportunities/" + oppID, "/tickets/" + ticketID, "/accounts/" + accountID} {
		b.open(path, `dl.state`)
		if n := b.count(`form[data-action], #action-stage, #action-convert`); n != 0 {
			t.Errorf("analyst on %s is offered %d command forms", path, n)
		}
	}
	b.open("/leads", `table[data-list="leads"]`)
	if b.count(`a[href="/leads/new"]`) != 0 {
		t.Error("analyst is offered lead capture")
	}
	b.axe("analyst leads")
	b.open("/opportunities/"+oppID, `dl.state`)
	b.expect("/opportunities/"+oppID+"/reopen", 403)
	b.do("force a command", chromedp.Evaluate[chromedp.Void](`(() => {
		const f = document.createElement("form"); f.method = "post"; f.action = "/opportunities/`+oppID+`/reopen";
		for (const [k, v] of [["csrf", document.querySelector('form[action="/signout"] input[name="csrf"]').value], ["reason", "forced"], ["version", "99"]]) {
			const i = document.createElement("input"); i.type = "hidden"; i.name = k; i.value = v; f.appendChild(i) }
		document.body.appendChild(f); f.submit(); return true })()`),
		chromedp.WaitVisible(chromedp.CSS(`.problem[data-status="403"]`)))
	b.axe("forbidden")
	b.shot("forbidden.en")
	if st, body := srv.api(t, testAdminKey, "GET", "/v1/opportunities/"+oppID, ""); st != 200 || body["stage"] != "closed_won" {
		t.Errorf("after the forced reopen: %d %v", st, body)
	}
}

// funnelCount reads a funnel cell of the dashboard.
func (b *browser) funnelCount(key string) int {
	b.t.Helper()
	n, err := strconv.Atoi(b.text(`[data-funnel="` + key + `"]`))
	if err != nil {
		b.t.Fatalf("funnel %s: %v", key, err)
	}
	return n
}

// proposalVersion is the version at which the opportunity on the page
// entered proposal, read from the time slider's list of events.
func (b *browser) proposalVersion() int {
	b.t.Helper()
	ticks := value(b, "read history", chromedp.Evaluate[[]string](`[...document.querySelectorAll(".ticks a")].map(a => a.textContent)`))
	// opened (prospecting), then proposal, negotiation, closed_won.
	var stageChanges []int
	for _, tk := range ticks {
		if strings.Contains(tk, "stage_changed") {
			v, _ := strconv.Atoi(strings.SplitN(strings.TrimSpace(tk), ".", 2)[0])
			stageChanges = append(stageChanges, v)
		}
	}
	if len(stageChanges) < 3 {
		b.t.Fatalf("history %v has fewer than three stage changes", ticks)
	}
	return stageChanges[0]
}

// seedShowcase adds a few more leads, deals and tickets through the API,
// so that the screenshots show a funnel and a pipeline with some shape.
func seedShowcase(t *testing.T, srv *server) {
	t.Helper()
	people := []struct{ name, company, source, region, stage, amount, currency, month string }{
		{"王芳", "上海精密制造", "展会", "APAC", "negotiation", "880000.00", "CNY", "2027-02"},
		{"Carlos Ruiz", "Andes Mining", "referral", "AMER", "proposal", "64000.00", "USD", "2027-03"},
		{"Ingrid Berg", "Nordic Freight", "webinar", "EMEA", "qualification", "42000.00", "EUR", "2027-03"},
		{"陈伟", "深圳智能科技", "广告", "APAC", "proposal", "350000.00", "CNY", "2027-04"},
		{"Amara Okafor", "Lagos Logistics", "webinar", "EMEA", "closed_lost", "30000.00", "EUR", "2027-01"},
		{"Tom Becker", "Rhein Chemie", "event", "EMEA", "", "", "", ""},
		{"Yuki Tanaka", "Osaka Robotics", "referral", "APAC", "", "", "", ""},
	}
	for i, p := range people {
		st, lead := srv.api(t, testAdminKey, "POST", "/v1/leads", fmt.Sprintf(`{"name":%q,"company":%q,"email":"p%d@example.com","source":%q,"region":%q}`,
			p.name, p.company, i, p.source, p.region))
		if st != 201 {
			t.Fatalf("seed lead: %d %v", st, lead)
		}
		id := lead["id"].(string)
		if i == len(people)-1 {
			continue // stays captured
		}
		srv.api(t, testAdminKey, "POST", "/v1/leads/"+id+"/contact-attempts", `{"channel":"call","outcome":"reached"}`)
		if p.stage == "" {
			continue // stays contacted
		}
		srv.api(t, testAdminKey, "POST", "/v1/leads/"+id+"/qualify", `{}`)
		st, conv := srv.api(t, testAdminKey, "POST", "/v1/leads/"+id+"/convert", fmt.Sprintf(
			`{"opportunity":{"name":%q,"amount":%q,"currency":%q,"expected_close_date":"%s-28"}}`, p.company+" 2027", p.amount, p.currency, p.month))
		if st != 200 {
			t.Fatalf("seed convert: %d %v", st, conv)
		}
		opp := conv["opportunity_id"].(string)
		body := fmt.Sprintf(`{"stage":%q}`, p.stage)
		if p.stage == "closed_lost" {
			body = `{"stage":"closed_lost","reason":"budget"}`
		}
		if st, out := srv.api(t, testAdminKey, "POST", "/v1/opportunities/"+opp+"/stage", body); st != 200 {
			t.Fatalf("seed stage: %d %v", st, out)
		}
	}
	for _, tk := range []string{`{"subject":"发票金额有误","priority":"urgent","channel":"email"}`, `{"subject":"Cannot export the report","priority":"normal","channel":"web"}`} {
		if st, out := srv.api(t, testAdminKey, "POST", "/v1/tickets", tk); st != 201 {
			t.Fatalf("seed ticket: %d %v", st, out)
		}
	}
}

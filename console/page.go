package console

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// page is what every template gets.
type page struct {
	Lang    string
	Title   string
	Nav     string
	S       *session
	Path    string
	Data    any
	Errors  map[string]string
	Problem *problem
	Form    url.Values
	Notice  string
}

// init fills what comes from the request.
func (p *page) init(r *http.Request) {
	p.Lang = languageOf(r)
	p.Path = r.URL.RequestURI()
	if p.Errors == nil {
		p.Errors = map[string]string{}
	}
	if p.Form == nil {
		p.Form = url.Values{}
	}
}

// T translates a message into the page's language.
func (p *page) T(msg string) string { return translate(p.Lang, msg) }

// Tf translates a message with %s/%d verbs and fills them.
func (p *page) Tf(msg string, args ...any) string {
	return fmt.Sprintf(translate(p.Lang, msg), args...)
}

// Label names a field or a value (a stage, a status) in the page's
// language.
func (p *page) Label(name string) string {
	if p.Lang == langZH {
		if s, ok := zhHans[name]; ok {
			return s
		}
	}
	if s, ok := enLabels[name]; ok {
		return s
	}
	s := strings.ReplaceAll(name, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// enLabels name the fields whose English name is not their JSON name
// with spaces.
var enLabels = map[string]string{
	"owner_id": "Owner", "account_id": "Account", "contact_id": "Contact", "lead_id": "Lead", "assignee_id": "Assignee",
	"opportunity.name": "Opportunity name", "opportunity.amount": "Opportunity amount",
	"opportunity.currency": "Opportunity currency", "opportunity.expected_close_date": "Opportunity close date",
	"event_0": "Event type", "event_1": "Event type", "event_2": "Event type",
	"sql_0": "SQL statement", "sql_1": "SQL statement", "sql_2": "SQL statement",
	"q": "Search", "entity_id": "Record id", "entity_type": "Record type", "type": "Event type", "at": "Time",
	"correlation_id": "Correlation id", "url": "URL", "vip": "VIP", "closing_before": "Closing before",
}

// Money formats an amount.
func (p *page) Money(amount any, currency any) string {
	return formatMoney(p.Lang, str(amount), str(currency))
}

// Time formats an RFC 3339 time or a time.Time.
func (p *page) Time(v any) string {
	switch t := v.(type) {
	case time.Time:
		return formatTime(p.Lang, t)
	case *time.Time:
		if t == nil {
			return ""
		}
		return formatTime(p.Lang, *t)
	case string:
		if tt, err := time.Parse(time.RFC3339Nano, t); err == nil {
			return formatTime(p.Lang, tt)
		}
		return t
	case nil:
		return ""
	}
	return str(v)
}

// Date formats a YYYY-MM-DD date.
func (p *page) Date(v any) string { return formatDate(p.Lang, str(v)) }

// Month formats a YYYY-MM month.
func (p *page) Month(v any) string { return formatMonth(p.Lang, str(v)) }

// Can reports whether the session may do what perm guards.
func (p *page) Can(perm string) bool { return p.S.Can(perm) }

// Err is the API's message for a field of the submitted form.
func (p *page) Err(field string) string { return p.Errors[field] }

// Val is a submitted value, to refill a form.
func (p *page) Val(field string) string { return p.Form.Get(field) }

// OtherLang is the language the switch offers.
func (p *page) OtherLang() string {
	if p.Lang == langZH {
		return langEN
	}
	return langZH
}

// LangLink switches language and comes back here.
func (p *page) LangLink() string {
	return "/lang?" + url.Values{"to": {p.OtherLang()}, "back": {p.Path}}.Encode()
}

// funcs are the templates' helpers that need no page.
var funcs = template.FuncMap{
	"str":      str,
	"num":      num,
	"pct":      pct,
	"json":     compactJSON,
	"link":     link,
	"add":      func(a, b int) int { return a + b },
	"seq":      seq,
	"keys":     sortedKeys,
	"short":    short,
	"monthEnd": monthEnd,
	"ctlChart": func(p *page, c chart, title string) map[string]any {
		return map[string]any{"P": p, "C": c, "Title": title}
	},
	"shown": shown,
	"list":  func(s ...string) []string { return s },
	"inputOf": func(name, kind string) input {
		return input{Name: name, Kind: kind}
	},
	// blank is the page without the submitted form and its errors, for
	// the forms other than the one that failed.
	"blank": func(p *page) *page {
		b := *p
		b.Form, b.Errors = url.Values{}, map[string]string{}
		return &b
	},
	"ctl": func(p *page, action string, i input) map[string]any {
		return map[string]any{"P": p, "A": action, "I": i}
	},
	"isMap": func(v any) bool { _, ok := v.(map[string]any); return ok },
	"isList": func(v any) bool {
		_, ok := v.([]any)
		return ok
	},
}

// str shows a JSON value as text.
func str(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case json.Number:
		return t.String()
	case bool:
		return strconv.FormatBool(t)
	case int:
		return strconv.Itoa(t)
	case int64:
		return strconv.FormatInt(t, 10)
	case *string:
		if t == nil {
			return ""
		}
		return *t
	}
	return compactJSON(v)
}

// num shows a count with grouped thousands.
func num(v any) string {
	switch t := v.(type) {
	case float64:
		if t == float64(int64(t)) {
			return formatNumber(int64(t))
		}
		return strconv.FormatFloat(t, 'f', 1, 64)
	case int64:
		return formatNumber(t)
	case int:
		return formatNumber(int64(t))
	case *float64:
		if t == nil {
			return "—"
		}
		return strconv.FormatFloat(*t, 'f', 1, 64)
	}
	if v == nil {
		return "—"
	}
	return str(v)
}

// pct shows a ratio as a percentage, or a dash for none.
func pct(v any) string {
	switch t := v.(type) {
	case float64:
		return formatPercent(t)
	case *float64:
		if t != nil {
			return formatPercent(*t)
		}
	}
	return "—"
}

// compactJSON shows any value as one line of JSON.
func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// link builds path?k=v&... from pairs, skipping empty values.
func link(path string, kv ...any) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if v := str(kv[i+1]); v != "" {
			q.Set(str(kv[i]), v)
		}
	}
	return withQuery(path, q)
}

// seq is 1..n.
func seq(n int64) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(i) + 1
	}
	return out
}

// sortedKeys lists a map's keys in order.
func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// short cuts an id to its last 8 characters for tables.
func short(v any) string {
	s := str(v)
	if len(s) > 12 {
		return "…" + s[len(s)-8:]
	}
	return s
}

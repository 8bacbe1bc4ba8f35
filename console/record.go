package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// entityTypes maps a console path to the audit's entity type.
var entityTypes = map[string]string{"leads": "lead", "accounts": "account", "contacts": "contact",
	"opportunities": "opportunity", "tickets": "ticket"}

// fieldOrder is the order a record's fields are shown in; fields not
// named follow, sorted.
var fieldOrder = map[string][]string{
	"leads":         {"name", "company", "email", "phone", "status", "score", "source", "campaign", "region", "industry", "company_size", "owner_id", "contact_attempts", "activities", "captured_at"},
	"accounts":      {"name", "tier", "industry", "size", "region", "owner_id", "tags", "activities", "opened_at"},
	"contacts":      {"name", "email", "phone", "title", "role", "account_id", "added_at"},
	"opportunities": {"name", "stage", "amount", "currency", "probability", "forecast_category", "expected_close_date", "account_id", "lead_id", "owner_id", "is_closed", "lost_reason", "activities", "opened_at", "closed_at"},
	"tickets":       {"subject", "status", "priority", "channel", "description", "account_id", "contact_id", "assignee_id", "escalation_level", "first_response_due", "first_response_at", "first_response_breached", "resolution_due", "resolved_at", "resolution_breached", "closed_at", "satisfaction", "satisfaction_comment", "activities", "opened_at"},
}

// hiddenFields are shown elsewhere on the page or not at all.
var hiddenFields = []string{"id", "version", "stage_history", "approvals", "contacts", "conversion"}

// historyEvent is one event of GET /v1/{kind}/{id}/history.
type historyEvent struct {
	ID         string          `json:"id"`
	Version    int64           `json:"version"`
	Type       string          `json:"type"`
	Data       json.RawMessage `json:"data"`
	RecordedAt string          `json:"recorded_at"`
	Metadata   struct {
		Actor         string `json:"actor"`
		CommandID     string `json:"command_id"`
		CorrelationID string `json:"correlation_id"`
	} `json:"metadata"`
}

// auditEntry is one entry of GET /v1/audit.
type auditEntry struct {
	Position   string `json:"position"`
	RecordedAt string `json:"recorded_at"`
	Actor      string `json:"actor"`
	EntityType string `json:"entity_type"`
	EntityID   string `json:"entity_id"`
	EventType  string `json:"event_type"`
	Summary    string `json:"summary"`
	Changes    []struct {
		Field string          `json:"field"`
		From  json.RawMessage `json:"from"`
		To    json.RawMessage `json:"to"`
	} `json:"changes"`
	CommandID     string `json:"command_id"`
	CorrelationID string `json:"correlation_id"`
	CausationID   string `json:"causation_id"`
}

// Link is the console page of the entry's record.
func (e auditEntry) Link() string { return recordLink(e.EntityType, e.EntityID) }

// recordLink is the console page of an entity.
func recordLink(entityType, id string) string {
	for k, t := range entityTypes {
		if t == entityType {
			return "/" + k + "/" + id
		}
	}
	return ""
}

// shown shows a change's JSON value as text.
func shown(raw json.RawMessage) string {
	var v any
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil || v == nil {
		return "—"
	}
	return str(v)
}

// field is a record field to show.
type field struct {
	Name  string
	Value any
	Link  string
}

// conflict is what a 412 shows: the version the person saw, the one
// stored now and the events in between.
type conflict struct {
	Seen    int64
	Current int64
	Since   []historyEvent
}

// recordData is a record page's content.
type recordData struct {
	Kind       string
	EntityType string
	ID         string
	State      map[string]any
	Fields     []field
	Version    int64 // the version shown
	Latest     int64 // the newest version
	AsOf       string
	History    []historyEvent
	Timeline   []auditEntry
	Activities []auditEntry
	Actions    []actionDef
	Failed     string
	Conflict   *conflict
	Contacts   []any
	Approvals  []any
	Stages     []any
	Conversion map[string]any
}

// Past reports whether the page shows an earlier version.
func (d recordData) Past() bool { return d.AsOf != "" }

// Slider reports whether the record has a time slider.
func (d recordData) Slider() bool { return len(d.History) > 1 }

func (c *Console) record(kind string) handler {
	return func(w http.ResponseWriter, r *http.Request, ss *session) {
		version, _ := strconv.ParseInt(r.URL.Query().Get("version"), 10, 64)
		var done *page
		if a := r.URL.Query().Get("done"); a != "" {
			done = &page{Notice: "Done."}
		}
		c.renderRecord(w, r, ss, kind, r.PathValue("id"), version, r.URL.Query().Get("as_of"), http.StatusOK, done)
	}
}

// renderRecord shows a record as of a version (0: the newest) or a time,
// with a failed action's errors or a conflict when given.
func (c *Console) renderRecord(w http.ResponseWriter, r *http.Request, ss *session, kind, id string, version int64, asOf string, status int, fail *page) {
	p := &page{S: ss, Title: kindTitles[kind], Nav: kind}
	if fail != nil {
		p.Errors, p.Problem, p.Form, p.Notice = fail.Errors, fail.Problem, fail.Form, fail.Notice
	}
	d := recordData{Kind: kind, EntityType: entityTypes[kind], ID: id}
	if kind != "contacts" {
		var h struct {
			Items []historyEvent `json:"items"`
		}
		if _, err := c.api.getJSON(r.Context(), r, ss.key, "/v1/"+kind+"/"+url.PathEscape(id)+"/history", &h); err != nil {
			c.failProblem(w, r, ss, err)
			return
		}
		d.History = h.Items
		if n := len(h.Items); n > 0 {
			d.Latest = h.Items[n-1].Version
		}
		if version > 0 && version < d.Latest {
			for _, e := range h.Items {
				if e.Version == version {
					asOf = e.RecordedAt
				}
			}
		}
	}
	path := "/v1/" + kind + "/" + url.PathEscape(id)
	if asOf != "" {
		path += "?" + url.Values{"as_of": {asOf}}.Encode()
	}
	rep, err := c.api.getJSON(r.Context(), r, ss.key, path, &d.State)
	if err != nil {
		if pr, ok := asProblem(err); ok && pr.Status == http.StatusBadRequest && asOf != "" {
			p.Problem, p.Errors = pr, pr.fields()
			asOf = ""
			rep, err = c.api.getJSON(r.Context(), r, ss.key, "/v1/"+kind+"/"+url.PathEscape(id), &d.State)
		}
		if err != nil {
			c.failProblem(w, r, ss, err)
			return
		}
	}
	d.Version = rep.version()
	if kind == "contacts" || d.Latest == 0 {
		d.Latest = d.Version
	}
	if asOf != "" && d.Version < d.Latest {
		d.AsOf = asOf
	}
	if ss.Can("audit:read") {
		q := url.Values{"entity_type": {d.EntityType}, "entity_id": {id}, "limit": {"500"}, "min_position": {c.sessions.positionOf(ss)}}
		var a struct {
			Items []auditEntry `json:"items"`
		}
		if _, err := c.api.getJSON(r.Context(), r, ss.key, withQuery("/v1/audit", q), &a); err == nil {
			d.Timeline = a.Items
		}
		for _, e := range d.Timeline {
			if strings.Contains(e.EventType, "activity") {
				d.Activities = append(d.Activities, e)
			}
		}
	}
	d.Fields = fieldsOf(kind, d.State)
	d.Contacts, _ = d.State["contacts"].([]any)
	d.Approvals, _ = d.State["approvals"].([]any)
	d.Stages, _ = d.State["stage_history"].([]any)
	d.Conversion, _ = d.State["conversion"].(map[string]any)
	if d.AsOf == "" {
		for _, a := range actions[kind] {
			if ss.Can(a.Perm) && (a.When == nil || a.When(d.State)) {
				d.Actions = append(d.Actions, a)
			}
		}
	}
	if fail != nil {
		d.Failed = fail.Nav
		if fail.Data != nil {
			if cf, ok := fail.Data.(*conflict); ok {
				cf.Current = d.Latest
				for _, e := range d.History {
					if e.Version > cf.Seen {
						cf.Since = append(cf.Since, e)
					}
				}
				d.Conflict = cf
			}
		}
	}
	p.Data = d
	c.render(w, r, status, "record", p)
}

// kindTitles name each kind's pages.
var kindTitles = map[string]string{"leads": "Lead", "accounts": "Account", "contacts": "Contact",
	"opportunities": "Opportunity", "tickets": "Ticket"}

// fieldsOf lists a record's scalar fields in display order.
func fieldsOf(kind string, state map[string]any) []field {
	var out []field
	seen := map[string]bool{}
	add := func(k string) {
		v, ok := state[k]
		if !ok || seen[k] || slices.Contains(hiddenFields, k) {
			return
		}
		seen[k] = true
		out = append(out, field{Name: k, Value: v, Link: idLink(k, v)})
	}
	for _, k := range fieldOrder[kind] {
		add(k)
	}
	for _, k := range sortedKeys(state) {
		add(k)
	}
	return out
}

// idLink links a field naming another record.
func idLink(name string, v any) string {
	s, _ := v.(string)
	if s == "" {
		return ""
	}
	switch name {
	case "account_id":
		return "/accounts/" + s
	case "contact_id":
		return "/contacts/" + s
	case "opportunity_id":
		return "/opportunities/" + s
	case "lead_id":
		return "/leads/" + s
	}
	return ""
}

package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// input is a form control of an action; Name is the API's JSON field
// (dotted for nested objects), so the API's field errors land next to it.
type input struct {
	Name     string
	Kind     string // text, textarea, select, number, date, email, checkbox, hidden
	Options  []string
	Required bool
}

// ID is the control's element id within an action's form.
func (i input) ID(action string) string {
	return "f-" + action + "-" + strings.NewReplacer(".", "-", "_", "-").Replace(i.Name)
}

// actionDef is a command a record page offers.
type actionDef struct {
	Name  string // path segment of the API command, and the form's name
	Title string
	Perm  string
	// IfMatch sends the page's version as If-Match: the command is refused
	// (412) when the record changed since the page was shown. Only where
	// a person decides on what they saw; a lead's automations (scoring,
	// assignment) append to it right after each command.
	IfMatch bool
	Inputs  []input
	// When reports whether the record's state allows the action (nil:
	// always); the API still decides.
	When func(state map[string]any) bool
	// Path is the API path of the command (default /v1/<kind>/<id>/<Name>).
	Path func(id string, form url.Values) string
	// Danger marks actions shown as destructive.
	Danger bool
}

// FormID is the action's form element id.
func (a actionDef) FormID() string { return "action-" + a.Name }

func statusIs(field string, values ...string) func(map[string]any) bool {
	return func(s map[string]any) bool {
		v, _ := s[field].(string)
		for _, x := range values {
			if v == x {
				return true
			}
		}
		return false
	}
}

func statusNot(field string, values ...string) func(map[string]any) bool {
	is := statusIs(field, values...)
	return func(s map[string]any) bool { return !is(s) }
}

var activityAction = func(perm string) actionDef {
	return actionDef{Name: "activities", Title: "Log an activity", Perm: perm, Inputs: []input{
		{Name: "kind", Kind: "select", Options: []string{"call", "meeting", "email", "note", "task"}, Required: true},
		{Name: "subject", Kind: "text", Required: true}, {Name: "body", Kind: "textarea"}}}
}

// actions are each kind's record actions, in the order shown.
var actions = map[string][]actionDef{
	"leads": {
		{Name: "contact-attempts", Title: "Log a contact attempt", Perm: "sales:write", When: statusNot("status", "converted", "disqualified"), Inputs: []input{
			{Name: "channel", Kind: "select", Options: []string{"call", "email", "meeting", "chat"}, Required: true},
			{Name: "outcome", Kind: "select", Options: []string{"reached", "no_answer", "left_message", "bounced"}, Required: true},
			{Name: "note", Kind: "text"}}},
		{Name: "qualify", Title: "Qualify", Perm: "sales:write", When: statusNot("status", "converted", "disqualified", "qualified"),
			Inputs: []input{{Name: "note", Kind: "text"}}},
		{Name: "disqualify", Title: "Disqualify", Perm: "sales:write", Danger: true, When: statusNot("status", "converted", "disqualified"),
			Inputs: []input{{Name: "reason", Kind: "text", Required: true}}},
		{Name: "convert", Title: "Convert", Perm: "sales:write", When: statusIs("status", "qualified"), Inputs: []input{
			{Name: "account_id", Kind: "text"},
			{Name: "opportunity.name", Kind: "text"}, {Name: "opportunity.amount", Kind: "text"},
			{Name: "opportunity.currency", Kind: "text"}, {Name: "opportunity.expected_close_date", Kind: "date"}}},
		{Name: "assign", Title: "Assign", Perm: "sales:write", Inputs: []input{{Name: "owner_id", Kind: "text", Required: true}}},
		activityAction("sales:write"),
	},
	"accounts": {
		{Name: "contacts", Title: "Add a contact", Perm: "sales:write", Inputs: []input{
			{Name: "name", Kind: "text", Required: true}, {Name: "email", Kind: "email", Required: true},
			{Name: "phone", Kind: "text"}, {Name: "title", Kind: "text"}, {Name: "role", Kind: "text"}}},
		{Name: "tags", Title: "Tag", Perm: "sales:write", Inputs: []input{{Name: "add", Kind: "text"}, {Name: "remove", Kind: "text"}}},
		activityAction("sales:write"),
	},
	"opportunities": {
		{Name: "stage", Title: "Change stage", Perm: "sales:write", IfMatch: true, When: func(s map[string]any) bool { return s["is_closed"] != true },
			Inputs: []input{{Name: "stage", Kind: "select", Options: stages, Required: true}, {Name: "note", Kind: "text"}, {Name: "reason", Kind: "text"}}},
		{Name: "amount", Title: "Change amount", Perm: "sales:write", IfMatch: true, When: func(s map[string]any) bool { return s["is_closed"] != true },
			Inputs: []input{{Name: "amount", Kind: "text", Required: true}, {Name: "currency", Kind: "text", Required: true}}},
		{Name: "close-date", Title: "Change close date", Perm: "sales:write", IfMatch: true, When: func(s map[string]any) bool { return s["is_closed"] != true },
			Inputs: []input{{Name: "expected_close_date", Kind: "date", Required: true}}},
		{Name: "reopen", Title: "Reopen", Perm: "sales:write", IfMatch: true, When: func(s map[string]any) bool { return s["is_closed"] == true },
			Inputs: []input{{Name: "reason", Kind: "text", Required: true}}},
		activityAction("sales:write"),
	},
	"tickets": {
		{Name: "responses", Title: "Respond", Perm: "service:write", When: statusIs("status", "open"), Inputs: []input{{Name: "body", Kind: "textarea", Required: true}}},
		{Name: "resolve", Title: "Resolve", Perm: "service:write", When: statusIs("status", "open"), Inputs: []input{{Name: "resolution", Kind: "text", Required: true}}},
		{Name: "close", Title: "Close", Perm: "service:write", When: statusNot("status", "closed")},
		{Name: "reopen", Title: "Reopen", Perm: "service:write", When: statusNot("status", "open"), Inputs: []input{{Name: "reason", Kind: "text", Required: true}}},
		{Name: "satisfaction", Title: "Record satisfaction", Perm: "service:write", When: statusNot("status", "open"), Inputs: []input{
			{Name: "score", Kind: "select", Options: []string{"1", "2", "3", "4", "5"}, Required: true}, {Name: "comment", Kind: "text"}}},
		{Name: "priority", Title: "Change priority", Perm: "service:write", When: statusIs("status", "open"), Inputs: []input{{Name: "priority", Kind: "select", Options: priorities, Required: true}}},
		{Name: "escalate", Title: "Escalate", Perm: "service:write", When: statusIs("status", "open"), Inputs: []input{{Name: "reason", Kind: "text", Required: true}}},
		{Name: "assign", Title: "Assign", Perm: "service:write", Inputs: []input{{Name: "assignee_id", Kind: "text", Required: true}}},
		activityAction("service:write"),
	},
}

// approvalActions decide an opportunity's pending approval.
var approvalActions = map[string]actionDef{
	"approve": {Name: "approve", Perm: "approvals:decide", Inputs: []input{{Name: "note", Kind: "text"}}},
	"reject":  {Name: "reject", Perm: "approvals:decide", Inputs: []input{{Name: "reason", Kind: "text", Required: true}}},
}

// findAction returns a kind's action by name, with any permission: a
// request for an action the page did not offer still goes to the API,
// which refuses it.
func findAction(kind, name string) (actionDef, bool) {
	for _, a := range actions[kind] {
		if a.Name == name {
			return a, true
		}
	}
	if kind == "opportunities" {
		if a, ok := approvalActions[name]; ok {
			a.Path = func(id string, f url.Values) string {
				return "/v1/opportunities/" + url.PathEscape(id) + "/approvals/" + url.PathEscape(f.Get("approval_id")) + "/" + name
			}
			return a, true
		}
	}
	return actionDef{}, false
}

// body builds the command's JSON body from the form: each filled input
// at its dotted path; numbers for number inputs.
func (a actionDef) body(form url.Values) ([]byte, error) {
	out := map[string]any{}
	for _, in := range a.Inputs {
		v := strings.TrimSpace(form.Get(in.Name))
		if v == "" {
			continue
		}
		var val any = v
		switch {
		case in.Name == "score":
			if n, err := strconv.Atoi(v); err == nil {
				val = n
			}
		case a.Name == "tags":
			var tags []string
			for _, t := range strings.Split(v, ",") {
				if t = strings.TrimSpace(t); t != "" {
					tags = append(tags, t)
				}
			}
			val = tags
		}
		setPath(out, in.Name, val)
	}
	return json.Marshal(out)
}

// setPath sets a dotted path in nested maps.
func setPath(m map[string]any, path string, v any) {
	head, rest, nested := strings.Cut(path, ".")
	if !nested {
		m[head] = v
		return
	}
	sub, ok := m[head].(map[string]any)
	if !ok {
		sub = map[string]any{}
		m[head] = sub
	}
	setPath(sub, rest, v)
}

// commandReply is the part of a command response the console reads.
type commandReply struct {
	ID            string  `json:"id"`
	Version       int64   `json:"version"`
	Position      string  `json:"position"`
	OpportunityID *string `json:"opportunity_id"`
	AccountID     string  `json:"account_id"`
}

// act runs a record action through the API and shows its outcome: the
// record again on success, the form with the API's field errors, the
// conflict on 412, the refusal on 403.
func (c *Console) act(kind string) handler {
	return func(w http.ResponseWriter, r *http.Request, ss *session) {
		id, name := r.PathValue("id"), r.PathValue("action")
		a, ok := findAction(kind, name)
		if !ok {
			c.fail(w, r, ss, http.StatusNotFound, "There is no such action.")
			return
		}
		form := r.PostForm
		body, err := a.body(form)
		if err != nil {
			c.fail(w, r, ss, http.StatusBadRequest, err.Error())
			return
		}
		path := "/v1/" + kind + "/" + url.PathEscape(id) + "/" + a.Name
		if a.Path != nil {
			path = a.Path(id, form)
		}
		var headers []string
		seen, _ := strconv.ParseInt(form.Get("version"), 10, 64)
		if a.IfMatch && seen > 0 {
			headers = append(headers, "If-Match", `"`+strconv.FormatInt(seen, 10)+`"`)
		}
		rep := c.api.do(r.Context(), r, ss.key, http.MethodPost, path, body, headers...)
		if err := rep.err(); err != nil {
			pr, _ := asProblem(err)
			switch pr.Status {
			case http.StatusPreconditionFailed:
				c.renderRecord(w, r, ss, kind, id, 0, "", pr.Status, &page{Nav: a.Name, Problem: pr, Form: form, Data: &conflict{Seen: seen}})
			case http.StatusBadRequest, http.StatusConflict, http.StatusUnprocessableEntity:
				c.renderRecord(w, r, ss, kind, id, 0, "", pr.Status, &page{Nav: a.Name, Problem: pr, Errors: pr.fields(), Form: form})
			default:
				c.failProblem(w, r, ss, pr)
			}
			return
		}
		var cr commandReply
		_ = json.Unmarshal(rep.Body, &cr)
		c.sessions.notePosition(ss, cr.Position)
		next := "/" + kind + "/" + id
		if a.Name == "convert" {
			next = "/accounts/" + cr.AccountID
			if cr.OpportunityID != nil {
				next = "/opportunities/" + *cr.OpportunityID
			}
		}
		http.Redirect(w, r, next+"?done="+url.QueryEscape(a.Name), http.StatusSeeOther)
	}
}

// creation is a form that creates a record.
type creation struct {
	Kind   string
	Title  string
	Perm   string
	Inputs []input
}

var (
	leadForm = creation{Kind: "leads", Title: "Capture a lead", Perm: "sales:write", Inputs: []input{
		{Name: "name", Kind: "text", Required: true}, {Name: "company", Kind: "text", Required: true},
		{Name: "email", Kind: "email", Required: true}, {Name: "phone", Kind: "text"},
		{Name: "source", Kind: "text", Required: true}, {Name: "campaign", Kind: "text"},
		{Name: "region", Kind: "text"}, {Name: "industry", Kind: "text"}, {Name: "company_size", Kind: "text"}, {Name: "owner_id", Kind: "text"}}}
	ticketForm = creation{Kind: "tickets", Title: "Open a ticket", Perm: "service:write", Inputs: []input{
		{Name: "subject", Kind: "text", Required: true}, {Name: "description", Kind: "textarea"},
		{Name: "priority", Kind: "select", Options: priorities, Required: true},
		{Name: "channel", Kind: "select", Options: []string{"email", "phone", "chat", "web"}, Required: true},
		{Name: "account_id", Kind: "text"}, {Name: "contact_id", Kind: "text"}}}
)

func (c *Console) newLeadPage(w http.ResponseWriter, r *http.Request, ss *session) {
	c.render(w, r, http.StatusOK, "new", &page{S: ss, Title: leadForm.Title, Nav: "leads", Data: leadForm})
}

func (c *Console) newTicketPage(w http.ResponseWriter, r *http.Request, ss *session) {
	c.render(w, r, http.StatusOK, "new", &page{S: ss, Title: ticketForm.Title, Nav: "tickets", Data: ticketForm})
}

func (c *Console) newLead(w http.ResponseWriter, r *http.Request, ss *session) {
	c.create(w, r, ss, leadForm)
}

func (c *Console) newTicket(w http.ResponseWriter, r *http.Request, ss *session) {
	c.create(w, r, ss, ticketForm)
}

// create posts a creation form to the API and opens the new record.
func (c *Console) create(w http.ResponseWriter, r *http.Request, ss *session, f creation) {
	body, _ := actionDef{Inputs: f.Inputs}.body(r.PostForm)
	rep := c.api.do(r.Context(), r, ss.key, http.MethodPost, "/v1/"+f.Kind, body)
	if err := rep.err(); err != nil {
		pr, _ := asProblem(err)
		if pr.Status == http.StatusBadRequest || pr.Status == http.StatusConflict {
			c.render(w, r, pr.Status, "new", &page{S: ss, Title: f.Title, Nav: f.Kind, Data: f, Problem: pr, Errors: pr.fields(), Form: r.PostForm})
			return
		}
		c.failProblem(w, r, ss, pr)
		return
	}
	var cr commandReply
	_ = json.Unmarshal(rep.Body, &cr)
	c.sessions.notePosition(ss, cr.Position)
	http.Redirect(w, r, "/"+f.Kind+"/"+cr.ID+"?done=created", http.StatusSeeOther)
}

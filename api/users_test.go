package api_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"crm/commands"
)

func TestUsersDirectory(t *testing.T) {
	e := newEnv(t)
	boss := e.user("Grace Boss", "team", "EMEA sales", "title", "Head of sales")
	rep := e.must(201, e.do("manager", "POST", "/v1/users", `{"name":"Rita Rep","email":"Rita@Staff.example.com","team":"EMEA sales","manager_id":"`+boss+`"}`))
	repID := rep.str("id")
	u := e.must(200, e.do("sales", "GET", "/v1/users/"+repID, nil))
	if u.str("email") != "rita@staff.example.com" || u.str("manager_id") != boss || u.body["active"] != true || u.header.Get("ETag") != `"1"` {
		t.Fatalf("user: %s", u.raw)
	}
	before := e.eventCount()
	e.must(403, e.do("sales", "POST", "/v1/users", `{"name":"X","email":"x@staff.example.com"}`))
	if d := e.must(409, e.do("admin", "POST", "/v1/users", `{"name":"Rita Again","email":"rita@staff.example.com"}`)); d.str("code") != "duplicate_user_email" || d.str("conflicting_id") != repID {
		t.Fatalf("duplicate user email: %s", d.raw)
	}
	bad := e.must(400, e.do("admin", "POST", "/v1/users", `{"name":"","email":"nope","manager_id":"0190a0a0-0000-7000-8000-000000000000"}`))
	if got := strings.Join(fieldsOf(bad), ","); got != "email,name" {
		t.Fatalf("invalid user named %s: %s", got, bad.raw)
	}
	if r := e.must(400, e.do("admin", "POST", "/v1/users", `{"name":"Y","email":"y@staff.example.com","manager_id":"0190a0a0-0000-7000-8000-000000000000"}`)); fieldsOf(r)[0] != "manager_id" {
		t.Fatalf("unknown manager: %s", r.raw)
	}
	if e.eventCount() != before {
		t.Fatal("refused registrations stored events")
	}
	ch := e.must(200, e.do("admin", "POST", "/v1/users/"+repID+"/details", `{"title":"Account executive","team":"EMEA sales"}`))
	if ch.body["version"] != float64(2) || len(ch.body["events"].([]any)) != 1 {
		t.Fatalf("details: %s", ch.raw)
	}
	changes := e.auditChangesOf("user", repID, "user.details_changed.v1", ch.str("position"))
	if len(changes) != 1 || changes[0].(map[string]any)["field"] != "title" {
		t.Fatalf("user audit changes: %v", changes)
	}
}

// TestOwnersMustBeActiveUsers: owner_id and assignee_id must name an
// active user; anything else is a 400 naming the field that stores
// nothing.
func TestOwnersMustBeActiveUsers(t *testing.T) {
	e := newEnv(t)
	gone, successor := e.user("Gone Rep"), e.user("Next Rep")
	lead := e.must(201, e.do("sales", "POST", "/v1/leads", leadWith("email", "o1@example.com", "owner_id", gone))).str("id")
	e.must(200, e.do("manager", "POST", "/v1/users/"+gone+"/deactivate", `{"successor_id":"`+successor+`"}`))
	acc := e.must(201, e.do("sales", "POST", "/v1/accounts", `{"name":"Acme"}`)).str("id")
	tk := e.must(201, e.do("support", "POST", "/v1/tickets", `{"subject":"s","priority":"low","channel":"web"}`)).str("id")
	before := e.eventCount()
	for _, c := range []struct{ role, path, body, field string }{
		{"sales", "/v1/leads", string(mustJSON(leadWith("email", "o2@example.com", "owner_id", "0190a0a0-0000-7000-8000-000000000000"))), "owner_id"},
		{"sales", "/v1/leads", string(mustJSON(leadWith("email", "o3@example.com", "owner_id", "rep-1"))), "owner_id"},
		{"sales", "/v1/leads/" + lead + "/assign", `{"owner_id":"` + gone + `"}`, "owner_id"},
		{"sales", "/v1/accounts", `{"name":"B","owner_id":"` + gone + `"}`, "owner_id"},
		{"sales", "/v1/accounts/" + acc + "/details", `{"owner_id":"` + gone + `"}`, "owner_id"},
		{"sales", "/v1/opportunities", `{"account_id":"` + acc + `","name":"n","amount":"1","currency":"EUR","expected_close_date":"2027-01-01","owner_id":"` + gone + `"}`, "owner_id"},
		{"support", "/v1/tickets/" + tk + "/assign", `{"assignee_id":"` + gone + `"}`, "assignee_id"},
		{"manager", "/v1/users/" + successor + "/deactivate", `{"successor_id":"` + gone + `"}`, "successor_id"},
		{"manager", "/v1/users/" + successor + "/deactivate", `{}`, "successor_id"},
	} {
		r := e.do(c.role, "POST", c.path, c.body)
		if r.status != 400 || !strings.Contains(strings.Join(fieldsOf(r), ","), c.field) {
			t.Errorf("POST %s %s: %d %s, want 400 naming %s", c.path, c.body, r.status, r.raw, c.field)
		}
	}
	if e.eventCount() != before {
		t.Fatal("refused commands stored events")
	}
}

// TestDeactivationHandsOverOpenRecords: one command deactivates a user
// and gives every open record they hold to the successor; closed records
// stay theirs.
func TestDeactivationHandsOverOpenRecords(t *testing.T) {
	e := newEnv(t)
	leaving, successor := e.user("Leaving Rep"), e.user("Successor Rep")
	lead := e.must(201, e.do("sales", "POST", "/v1/leads", leadWith("email", "h1@example.com", "owner_id", leaving))).str("id")
	acc := e.must(201, e.do("sales", "POST", "/v1/accounts", `{"name":"Acme","owner_id":"`+leaving+`"}`)).str("id")
	open := e.must(201, e.do("sales", "POST", "/v1/opportunities", `{"account_id":"`+acc+`","name":"Open","amount":"1","currency":"EUR","expected_close_date":"2027-01-01","owner_id":"`+leaving+`"}`)).str("id")
	won := e.must(201, e.do("sales", "POST", "/v1/opportunities", `{"account_id":"`+acc+`","name":"Won","amount":"1","currency":"EUR","expected_close_date":"2027-01-01","owner_id":"`+leaving+`"}`)).str("id")
	e.must(200, e.do("sales", "POST", "/v1/opportunities/"+won+"/stage", `{"stage":"closed_won"}`))
	tk := e.must(201, e.do("support", "POST", "/v1/tickets", `{"subject":"s","priority":"low","channel":"web"}`)).str("id")
	e.must(200, e.do("support", "POST", "/v1/tickets/"+tk+"/assign", `{"assignee_id":"`+leaving+`"}`))
	e.must(403, e.do("sales", "POST", "/v1/users/"+leaving+"/deactivate", `{"successor_id":"`+successor+`"}`))
	r := e.must(200, e.do("manager", "POST", "/v1/users/"+leaving+"/deactivate", `{"successor_id":"`+successor+`"}`))
	streams := map[string]bool{}
	for _, ev := range r.body["events"].([]any) {
		streams[ev.(map[string]any)["stream"].(string)] = true
	}
	for _, s := range []string{"user-" + leaving, "lead-" + lead, "account-" + acc, "opportunity-" + open, "ticket-" + tk} {
		if !streams[s] {
			t.Errorf("deactivation did not touch %s: %s", s, r.raw)
		}
	}
	if len(streams) != 5 {
		t.Errorf("deactivation touched %d streams, want 5: %s", len(streams), r.raw)
	}
	for path, field := range map[string]string{"/v1/leads/" + lead: "owner_id", "/v1/accounts/" + acc: "owner_id",
		"/v1/opportunities/" + open: "owner_id", "/v1/tickets/" + tk: "assignee_id"} {
		if got := e.must(200, e.do("admin", "GET", path, nil)).str(field); got != successor {
			t.Errorf("%s %s = %q, want the successor", path, field, got)
		}
	}
	if got := e.must(200, e.do("admin", "GET", "/v1/opportunities/"+won, nil)).str("owner_id"); got != leaving {
		t.Errorf("a won deal changed owner to %q", got)
	}
	if u := e.must(200, e.do("admin", "GET", "/v1/users/"+leaving, nil)); u.body["active"] != false {
		t.Fatalf("user still active: %s", u.raw)
	}
	again := e.must(200, e.do("manager", "POST", "/v1/users/"+leaving+"/deactivate", `{"successor_id":"`+successor+`"}`))
	if len(again.body["events"].([]any)) != 0 {
		t.Fatalf("deactivating twice stored events: %s", again.raw)
	}
	e.must(200, e.do("manager", "POST", "/v1/users/"+leaving+"/reactivate", nil))
	e.must(200, e.do("sales", "POST", "/v1/leads/"+lead+"/assign", `{"owner_id":"`+leaving+`"}`))
}

// TestListsNameOwners: list rows carry the owner's (assignee's) name from
// the users directory, and the directory lists users by team.
func TestListsNameOwners(t *testing.T) {
	e := newEnv(t)
	rep := e.user("Rita Rep", "team", "EMEA")
	agent := e.user("Sam Support", "team", "Service")
	e.must(201, e.do("sales", "POST", "/v1/leads", leadWith("email", "n1@example.com", "owner_id", rep)))
	e.must(201, e.do("sales", "POST", "/v1/accounts", `{"name":"Acme","owner_id":"`+rep+`"}`))
	tk := e.must(201, e.do("support", "POST", "/v1/tickets", `{"subject":"s","priority":"low","channel":"web"}`)).str("id")
	pos := e.must(200, e.do("support", "POST", "/v1/tickets/"+tk+"/assign", `{"assignee_id":"`+agent+`"}`)).str("position")
	q := "?min_position=" + url.QueryEscape(pos)
	for path, want := range map[string]string{"/v1/leads": `"owner_name":"Rita Rep"`, "/v1/accounts": `"owner_name":"Rita Rep"`,
		"/v1/tickets": `"assignee_name":"Sam Support"`} {
		if r := e.must(200, e.do("admin", "GET", path+q, nil)); !strings.Contains(string(r.raw), want) {
			t.Errorf("%s lacks %s: %s", path, want, r.raw)
		}
	}
	r := e.must(200, e.do("manager", "GET", "/v1/users?team=EMEA"+strings.Replace(q, "?", "&", 1), nil))
	items := r.body["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["id"] != rep {
		t.Fatalf("users of team EMEA: %s", r.raw)
	}
	e.must(400, e.do("manager", "GET", "/v1/users?active=maybe", nil))
}

// TestKeysBoundToUsersAndApprovalsToManagers: a key bound to a user acts
// as that user; an approval goes to the owner's manager, and a key bound
// to another user may not decide it.
func TestKeysBoundToUsersAndApprovalsToManagers(t *testing.T) {
	e := newEnv(t)
	boss := e.user("Bea Boss")
	other := e.user("Oscar Other")
	rep := e.user("Rita Rep", "manager_id", boss)
	before := e.eventCount()
	if r := e.must(400, e.do("admin", "POST", "/v1/keys", `{"name":"ghost","role":"manager","user_id":"0190a0a0-0000-7000-8000-000000000000"}`)); fieldsOf(r)[0] != "user_id" {
		t.Fatalf("key for an unknown user: %s", r.raw)
	}
	bossKey := e.must(201, e.do("admin", "POST", "/v1/keys", `{"name":"bea","role":"manager","user_id":"`+boss+`"}`))
	if bossKey.str("user_id") != boss {
		t.Fatalf("bound key: %s", bossKey.raw)
	}
	e.keys["boss"] = bossKey.str("key")
	e.keys["other"] = e.must(201, e.do("admin", "POST", "/v1/keys", `{"name":"oscar","role":"manager","user_id":"`+other+`"}`)).str("key")
	if e.eventCount() != before {
		t.Fatal("creating keys stored events")
	}
	acc := e.must(201, e.do("boss", "POST", "/v1/accounts", `{"name":"Big Co","owner_id":"`+rep+`"}`)).str("id")
	hist := e.must(200, e.do("admin", "GET", "/v1/accounts/"+acc+"/history", nil))
	if actor := hist.body["items"].([]any)[0].(map[string]any)["metadata"].(map[string]any)["actor"]; actor != "user:"+boss {
		t.Fatalf("actor of a bound key's command: %v", actor)
	}
	opp := e.must(201, e.do("sales", "POST", "/v1/opportunities", `{"account_id":"`+acc+`","name":"Huge","amount":"900000.00","currency":"EUR","expected_close_date":"2027-06-30","stage":"negotiation","owner_id":"`+rep+`"}`)).str("id")
	req := commands.RequestApproval{OpportunityID: opp, Reason: "above 500000.00 EUR"}
	req.Metadata = commands.Metadata{Actor: "automation:approval", CommandID: "c1", CorrelationID: "c1", CausationID: "c1"}
	if err := e.cmds.RequestApproval(t.Context(), &req); err != nil {
		t.Fatal(err)
	}
	approval := req.Result.Extra["approval_id"]
	o := e.must(200, e.do("sales", "GET", "/v1/opportunities/"+opp, nil))
	if a := o.body["approvals"].([]any)[0].(map[string]any); a["approver_id"] != boss {
		t.Fatalf("approval not addressed to the owner's manager: %s", o.raw)
	}
	before = e.eventCount()
	base := "/v1/opportunities/" + opp + "/approvals/" + approval
	if r := e.must(403, e.do("other", "POST", base+"/approve", `{}`)); r.str("code") != "not_the_approver" {
		t.Fatalf("another manager decided: %s", r.raw)
	}
	if e.eventCount() != before {
		t.Fatal("a refused decision stored events")
	}
	e.must(200, e.do("boss", "POST", base+"/approve", `{"note":"go"}`))
}

// TestFunnelByOwnerAndTeam: the funnel groups by owner with the owner's
// name, and by the owner's team.
func TestFunnelByOwnerAndTeam(t *testing.T) {
	e := newEnv(t)
	emea, apac := e.user("Eve Emea", "team", "EMEA"), e.user("Abe Apac", "team", "APAC")
	e.must(201, e.do("sales", "POST", "/v1/leads", leadWith("email", "f1@example.com", "owner_id", emea)))
	e.must(201, e.do("sales", "POST", "/v1/leads", leadWith("email", "f2@example.com", "owner_id", emea)))
	pos := e.must(201, e.do("sales", "POST", "/v1/leads", leadWith("email", "f3@example.com", "owner_id", apac))).str("position")
	q := "&min_position=" + url.QueryEscape(pos)
	groups := func(by string) map[string]string {
		r := e.must(200, e.do("manager", "GET", "/v1/reports/funnel?group_by="+by+q, nil))
		out := map[string]string{}
		for _, g := range r.body["groups"].([]any) {
			m := g.(map[string]any)
			key, _ := m["key"].(string)
			name, _ := m["name"].(string)
			count := m["leads"].(map[string]any)["stages"].([]any)[0].(map[string]any)["count"]
			out[key] = fmt.Sprintf("%s/%v", name, count)
		}
		return out
	}
	if got := groups("team"); got["EMEA"] != "/2" || got["APAC"] != "/1" || len(got) != 2 {
		t.Fatalf("by team: %v", got)
	}
	if got := groups("owner"); got[emea] != "Eve Emea/2" || got[apac] != "Abe Apac/1" {
		t.Fatalf("by owner: %v", got)
	}
}

// TestEscalationsGoToTheManager: an escalation names the assignee's
// manager.
func TestEscalationsGoToTheManager(t *testing.T) {
	e := newEnv(t)
	lead := e.user("Lee Lead")
	agent := e.user("Ann Agent", "manager_id", lead)
	tk := e.must(201, e.do("support", "POST", "/v1/tickets", `{"subject":"s","priority":"low","channel":"web"}`)).str("id")
	e.must(200, e.do("support", "POST", "/v1/tickets/"+tk+"/assign", `{"assignee_id":"`+agent+`"}`))
	e.must(200, e.do("support", "POST", "/v1/tickets/"+tk+"/escalate", `{"reason":"angry customer"}`))
	if v := e.must(200, e.do("support", "GET", "/v1/tickets/"+tk, nil)); v.str("escalated_to") != lead || v.body["escalation_level"] != float64(1) {
		t.Fatalf("escalation not routed to the manager: %s", v.raw)
	}
}

// TestKeyOfADeactivatedUserIsRefused: a key bound to a user stops working
// when the user is deactivated, and works again on reactivation.
func TestKeyOfADeactivatedUserIsRefused(t *testing.T) {
	e := newEnv(t)
	leaving, successor := e.user("Lea Leaving"), e.user("Sue Successor")
	e.keys["leaving"] = e.must(201, e.do("admin", "POST", "/v1/keys", `{"name":"lea","role":"sales","user_id":"`+leaving+`"}`)).str("key")
	e.must(200, e.do("leaving", "GET", "/v1/users/"+leaving, nil))
	e.must(200, e.do("manager", "POST", "/v1/users/"+leaving+"/deactivate", `{"successor_id":"`+successor+`"}`))
	e.must(401, e.do("leaving", "GET", "/v1/users/"+leaving, nil))
	e.must(200, e.do("manager", "POST", "/v1/users/"+leaving+"/reactivate", nil))
	e.must(200, e.do("leaving", "GET", "/v1/users/"+leaving, nil))
}

package api_test

import (
	"slices"
	"strings"
	"testing"
)

func TestKeysLifecycle(t *testing.T) {
	e := newEnv(t)
	created := e.must(201, e.do("admin", "POST", "/v1/keys", `{"name":"integration","role":"sales"}`))
	secret, id := created.str("key"), created.str("id")
	if secret == "" || id == "" || created.str("role") != "sales" {
		t.Fatalf("created key: %s", created.raw)
	}
	e.keys["integration"] = secret
	lead := e.must(201, e.do("integration", "POST", "/v1/leads", leadBody))
	hist := e.must(200, e.do("integration", "GET", "/v1/leads/"+lead.str("id")+"/history", nil))
	meta := hist.body["items"].([]any)[0].(map[string]any)["metadata"].(map[string]any)
	if meta["actor"] != "key:"+id+":integration" {
		t.Errorf("actor %v, want the key's principal", meta["actor"])
	}
	list := e.must(200, e.do("admin", "GET", "/v1/keys", nil))
	var found bool
	for _, it := range list.body["items"].([]any) {
		k := it.(map[string]any)
		if _, leaked := k["key"]; leaked {
			t.Fatal("the key list shows secrets")
		}
		found = found || k["id"] == id
	}
	if !found {
		t.Fatalf("new key not listed: %s", list.raw)
	}
	e.must(400, e.do("admin", "POST", "/v1/keys", `{"name":"x","role":"overlord"}`))
	e.must(403, e.do("integration", "POST", "/v1/keys", `{"name":"x","role":"admin"}`))
	e.must(204, e.do("admin", "DELETE", "/v1/keys/"+id, nil))
	e.must(401, e.do("integration", "GET", "/v1/leads/"+lead.str("id"), nil))
	e.must(404, e.do("admin", "DELETE", "/v1/keys/0190a0a0-0000-7000-8000-000000000000", nil))
	r := e.do("", "GET", "/v1/keys", nil)
	if r.status != 401 || r.header.Get("WWW-Authenticate") == "" {
		t.Errorf("no key: %d, WWW-Authenticate %q", r.status, r.header.Get("WWW-Authenticate"))
	}
}

func TestConvertIntoExistingAccount(t *testing.T) {
	e := newEnv(t)
	accountID := e.must(201, e.do("sales", "POST", "/v1/accounts", `{"name":"Acme","tier":"vip"}`)).str("id")
	e.must(201, e.do("sales", "POST", "/v1/accounts/"+accountID+"/contacts", `{"name":"Bob","email":"bob@acme.com"}`))
	leadID := e.must(201, e.do("sales", "POST", "/v1/leads", leadWith("email", "carol@acme.com"))).str("id")
	e.must(200, e.do("sales", "POST", "/v1/leads/"+leadID+"/qualify", `{}`))
	before := e.eventCount()
	e.must(400, e.do("sales", "POST", "/v1/leads/"+leadID+"/convert", `{"account_id":"0190a0a0-0000-7000-8000-000000000000"}`))
	e.must(400, e.do("sales", "POST", "/v1/leads/"+leadID+"/convert", `{"opportunity":{"name":"x","amount":"-1","currency":"EUR","expected_close_date":"2027-01-01"}}`))
	if e.eventCount() != before {
		t.Fatal("a refused conversion stored events")
	}
	conv := e.must(200, e.do("sales", "POST", "/v1/leads/"+leadID+"/convert", `{"account_id":"`+accountID+`"}`))
	if conv.str("account_id") != accountID || conv.body["opportunity_id"] != nil {
		t.Fatalf("conversion: %s", conv.raw)
	}
	acc := e.must(200, e.do("sales", "GET", "/v1/accounts/"+accountID, nil))
	if n := len(acc.body["contacts"].([]any)); n != 2 || acc.str("name") != "Acme" {
		t.Errorf("account after conversion: %s", acc.raw)
	}
	// The email moved from the lead to the new contact: still taken.
	dup := e.must(409, e.do("sales", "POST", "/v1/leads", leadWith("email", "carol@acme.com")))
	if dup.str("conflicting_id") != conv.str("contact_id") {
		t.Errorf("email now belongs to %s, want the contact %s", dup.str("conflicting_id"), conv.str("contact_id"))
	}
	e.must(409, e.do("sales", "POST", "/v1/accounts/"+accountID+"/contacts", `{"name":"Bobby","email":"bob@acme.com"}`))
	// A contact's email can't be captured as a lead either.
	e.must(409, e.do("sales", "POST", "/v1/leads", leadWith("email", "bob@acme.com")))
	// Details change records only what changed.
	e.must(200, e.do("sales", "POST", "/v1/accounts/"+accountID+"/details", `{"name":"Acme","region":"EMEA"}`))
	h := e.must(200, e.do("sales", "GET", "/v1/accounts/"+accountID+"/history", nil))
	items := h.body["items"].([]any)
	last := items[len(items)-1].(map[string]any)
	changes := last["data"].(map[string]any)["changes"].([]any)
	if last["type"] != "account.details_changed.v1" || len(changes) != 1 || changes[0].(map[string]any)["field"] != "region" {
		t.Errorf("details change: %v", last)
	}
}

// TestKeyNamesAreUniqueOverHTTP: a second key with a taken name is a 409
// naming name, even once the first is revoked; two keys never write the
// same actor.
func TestKeyNamesAreUniqueOverHTTP(t *testing.T) {
	e := newEnv(t)
	first := e.must(201, e.do("admin", "POST", "/v1/keys", `{"name":"ops","role":"sales"}`))
	for _, when := range []string{"while active", "once revoked"} {
		r := e.do("admin", "POST", "/v1/keys", `{"name":"ops","role":"admin"}`)
		if r.status != 409 || r.str("code") != "name_taken" || !problemNames(r, "name") {
			t.Fatalf("second key named ops %s: %d %s", when, r.status, r.raw)
		}
		if when == "while active" {
			e.must(204, e.do("admin", "DELETE", "/v1/keys/"+first.str("id"), nil))
		}
	}
	// The harness's own keys: every actor is distinct and carries the id.
	seen := map[string]bool{}
	for role, actor := range e.actors {
		if seen[actor] || !strings.HasPrefix(actor, "key:") || !strings.HasSuffix(actor, ":"+role+"-key") {
			t.Errorf("actor %q of %s", actor, role)
		}
		seen[actor] = true
	}
}

// TestWhoami: every key learns its own role and the permissions behind it,
// and what it lacks matches what the routes refuse.
func TestWhoami(t *testing.T) {
	e := newEnv(t)
	admin := e.must(200, e.do("admin", "GET", "/v1/whoami", nil))
	if admin.str("role") != "admin" || admin.str("key_id") == "" || !strings.HasPrefix(admin.str("actor"), "key:"+admin.str("key_id")+":") {
		t.Fatalf("admin whoami: %s", admin.raw)
	}
	perms := func(r response) []string {
		var out []string
		for _, p := range r.body["permissions"].([]any) {
			out = append(out, p.(string))
		}
		return out
	}
	if got := perms(admin); len(got) < 10 || !slices.Contains(got, "keys:admin") || !slices.Contains(got, "sales:write") {
		t.Errorf("admin permissions: %v", got)
	}
	analyst := e.must(200, e.do("analyst", "GET", "/v1/whoami", nil))
	got := perms(analyst)
	if analyst.str("role") != "analyst" || slices.Contains(got, "sales:write") || !slices.Contains(got, "reports:read") {
		t.Errorf("analyst whoami: %s", analyst.raw)
	}
	e.must(403, e.do("analyst", "POST", "/v1/leads", leadBody))
	if r := e.do("", "GET", "/v1/whoami", nil); r.status != 401 {
		t.Errorf("whoami without a key: %d", r.status)
	}
}

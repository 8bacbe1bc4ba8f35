package api_test

import (
	"fmt"
	"testing"
	"time"
)

// TestSegments: a saved filter's count and members follow the read
// models (never stored by hand), pages are keyset, and bad filters are
// refused naming the field.
func TestSegments(t *testing.T) {
	e, clock := pillarsEnv(t)
	tr := &tracker{e: e}
	for i, region := range []string{"EMEA", "EMEA", "APAC", "EMEA"} {
		tr.cmd(201, "sales", "POST", "/v1/leads", leadWith("email", fmt.Sprintf("seg%d@example.com", i), "region", region, "owner_id", e.owner("rep-1")))
	}
	vip := tr.cmd(201, "sales", "POST", "/v1/accounts", map[string]any{"name": "Big Co", "tier": "vip", "region": "EMEA"}).str("id")
	tr.cmd(201, "sales", "POST", "/v1/accounts", map[string]any{"name": "Small Co", "region": "EMEA"})
	tr.cmd(200, "sales", "POST", "/v1/accounts/"+vip+"/tags", map[string]any{"add": []string{"partner", "emea"}})
	tr.cmd(201, "sales", "POST", "/v1/accounts/"+vip+"/contacts", map[string]any{"name": "Vera", "email": "vera@big.example"})

	emea := tr.cmd(201, "sales", "POST", "/v1/segments", map[string]any{"name": "EMEA leads", "entity": "leads",
		"filter": map[string]any{"region": "EMEA", "score_max": 0}}).str("id")
	if n := tr.read("sales", "/v1/segments/"+emea+"/count"); n.body["count"] != float64(3) || n.body["entity"] != "leads" {
		t.Fatalf("count: %s", n.raw)
	}
	var seen []string
	cursor := ""
	for range 5 {
		path := "/v1/segments/" + emea + "/members?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r := tr.read("sales", path)
		for _, it := range r.body["items"].([]any) {
			seen = append(seen, it.(map[string]any)["region"].(string))
		}
		next, _ := r.body["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != 3 || seen[0] != "EMEA" || seen[2] != "EMEA" {
		t.Errorf("members: %v", seen)
	}
	// Membership follows the data: a new EMEA lead joins.
	tr.cmd(201, "sales", "POST", "/v1/leads", leadWith("email", "seg9@example.com", "region", "EMEA"))
	if n := tr.read("sales", "/v1/segments/"+emea+"/count"); n.body["count"] != float64(4) {
		t.Errorf("count after a new lead: %s", n.raw)
	}

	partners := tr.cmd(201, "sales", "POST", "/v1/segments", map[string]any{"name": "VIP partners", "entity": "accounts",
		"filter": map[string]any{"tier": "vip", "tags": []string{"partner"}}}).str("id")
	if m := tr.read("sales", "/v1/segments/"+partners+"/members"); len(m.body["items"].([]any)) != 1 || m.body["items"].([]any)[0].(map[string]any)["id"] != vip {
		t.Errorf("account segment: %s", m.raw)
	}
	vipContacts := tr.cmd(201, "sales", "POST", "/v1/segments", map[string]any{"name": "VIP contacts", "entity": "contacts",
		"filter": map[string]any{"tier": "vip", "last_activity_before": "2030-01-01T00:00:00Z"}}).str("id")
	if m := tr.read("sales", "/v1/segments/"+vipContacts+"/members"); len(m.body["items"].([]any)) != 1 {
		t.Errorf("contact segment: %s", m.raw)
	}
	// Recent activity: after an activity on the VIP account, "active since"
	// finds it.
	clock.set(pillarsT0.Add(time.Hour))
	tr.cmd(200, "sales", "POST", "/v1/accounts/"+vip+"/activities", map[string]any{"kind": "call", "subject": "QBR"})
	active := tr.cmd(201, "sales", "POST", "/v1/segments", map[string]any{"name": "Active", "entity": "accounts",
		"filter": map[string]any{"last_activity_after": pillarsT0.Add(30 * time.Minute).Format(time.RFC3339)}}).str("id")
	if n := tr.read("sales", "/v1/segments/"+active+"/count"); n.body["count"] != float64(1) {
		t.Errorf("active accounts: %s", n.raw)
	}
	tr.cmd(200, "sales", "POST", "/v1/segments/"+emea+"/definition", map[string]any{"name": "APAC leads", "filter": map[string]any{"region": "APAC"}})
	if n := tr.read("sales", "/v1/segments/"+emea+"/count"); n.body["count"] != float64(1) {
		t.Errorf("count after the redefinition: %s", n.raw)
	}
	tr.cmd(200, "sales", "POST", "/v1/segments/"+emea+"/archive", "")
	if v := e.must(200, e.do("sales", "GET", "/v1/segments/"+emea, nil)); v.body["archived"] != true || v.body["name"] != "APAC leads" {
		t.Errorf("segment: %s", v.raw)
	}

	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"name": "x", "entity": "opportunities"}, "entity"},
		{map[string]any{"entity": "leads"}, "name"},
		{map[string]any{"name": "x", "entity": "leads", "filter": map[string]any{"tier": "vip"}}, "filter.tier"},
		{map[string]any{"name": "x", "entity": "accounts", "filter": map[string]any{"score_min": 10}}, "filter.score_min"},
		{map[string]any{"name": "x", "entity": "leads", "filter": map[string]any{"score_min": 10, "score_max": 5}}, "filter.score_max"},
		{map[string]any{"name": "x", "entity": "accounts", "filter": map[string]any{"tier": "gold"}}, "filter.tier"},
		{map[string]any{"name": "x", "entity": "leads", "filter": map[string]any{"colour": "red"}}, "filter.colour"},
		{map[string]any{"name": "x", "entity": "leads", "filter": map[string]any{"last_activity_after": "yesterday"}}, "filter.last_activity_after"},
	} {
		refused(t, e, 400, c.field, func() response { return e.do("sales", "POST", "/v1/segments", c.body) })
	}
	refused(t, e, 409, "", func() response {
		return e.do("sales", "POST", "/v1/segments/"+emea+"/definition", map[string]any{"name": "y", "filter": map[string]any{}})
	})
	e.must(403, e.do("support", "POST", "/v1/segments", map[string]any{"name": "x", "entity": "leads"}))
	e.must(400, e.do("sales", "GET", "/v1/segments/"+partners+"/members?cursor=bogus", nil))
}

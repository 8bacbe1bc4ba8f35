package api_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strings"
	"testing"
)

// TestListExportsCSV: every list exports as a CSV file a spreadsheet
// opens right: UTF-8 with a byte-order mark, CRLF, Chinese text intact,
// formulas defused, every matching row across pages.
func TestListExportsCSV(t *testing.T) {
	e, _ := pillarsEnv(t)
	tr := &tracker{e: e}
	for i := range 3 {
		tr.cmd(201, "sales", "POST", "/v1/leads", leadWith("name", fmt.Sprintf("张伟 %d", i), "company", "=HYPERLINK(\"x\")",
			"email", fmt.Sprintf("zhang%d@example.cn", i), "campaign", "cn"))
	}
	tr.cmd(201, "sales", "POST", "/v1/leads", leadWith("email", "other@example.com", "region", "EMEA"))
	acc := tr.cmd(201, "sales", "POST", "/v1/accounts", map[string]any{"name": "北京科技有限公司", "tier": "vip"}).str("id")
	tr.cmd(200, "sales", "POST", "/v1/accounts/"+acc+"/tags", map[string]any{"add": []string{"b", "a"}})
	tr.cmd(201, "sales", "POST", "/v1/accounts/"+acc+"/contacts", map[string]any{"name": "李娜", "email": "li@bj.example.cn"})
	tr.cmd(201, "sales", "POST", "/v1/opportunities", map[string]any{"account_id": acc, "name": "扩展", "amount": "1000.50",
		"currency": "CNY", "expected_close_date": "2027-12-31"})
	tr.cmd(201, "support", "POST", "/v1/tickets", map[string]any{"subject": "无法登录", "account_id": acc, "priority": "low", "channel": "web"})
	tr.cmd(200, "sales", "POST", "/v1/accounts/"+acc+"/activities", map[string]any{"kind": "task", "subject": "跟进", "owner_id": e.owner("rep-1"),
		"due_at": "2027-03-02T09:00:00Z"})

	read := func(role, path string, headers ...string) [][]string {
		t.Helper()
		r := e.must(200, e.do(role, "GET", path+"&min_position="+tr.pos, nil, headers...))
		if ct := r.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" || !strings.Contains(r.header.Get("Content-Disposition"), ".csv") {
			t.Fatalf("%s: content type %q, disposition %q", path, ct, r.header.Get("Content-Disposition"))
		}
		if !bytes.HasPrefix(r.raw, []byte("\xef\xbb\xbf")) || !bytes.Contains(r.raw, []byte("\r\n")) {
			t.Fatalf("%s: no byte-order mark or CRLF: %q", path, r.raw[:min(40, len(r.raw))])
		}
		rows, err := csv.NewReader(bytes.NewReader(r.raw[3:])).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return rows
	}
	leads := read("sales", "/v1/leads?format=csv&campaign=cn")
	if len(leads) != 4 || leads[0][0] != "id" || leads[0][2] != "name" || !strings.HasPrefix(leads[1][2], "张伟") || leads[1][3] != `'=HYPERLINK("x")` {
		t.Errorf("leads export: %q", leads)
	}
	if accounts := read("sales", "/v1/accounts?limit=50", "Accept", "text/csv"); len(accounts) != 2 || accounts[1][1] != "北京科技有限公司" || accounts[1][7] != "a;b" {
		t.Errorf("accounts export: %q", accounts)
	}
	if contacts := read("sales", "/v1/contacts?format=csv"); len(contacts) != 2 || contacts[1][2] != "李娜" {
		t.Errorf("contacts export: %q", contacts)
	}
	if opps := read("sales", "/v1/opportunities?format=csv"); len(opps) != 2 || opps[1][3] != "扩展" || opps[1][4] != "1000.50" {
		t.Errorf("opportunities export: %q", opps)
	}
	if tickets := read("support", "/v1/tickets?format=csv"); len(tickets) != 2 || tickets[1][1] != "无法登录" {
		t.Errorf("tickets export: %q", tickets)
	}
	if tasks := read("sales", "/v1/tasks?format=csv"); len(tasks) != 2 || tasks[1][3] != "跟进" || tasks[1][7] != "false" {
		t.Errorf("tasks export: %q", tasks)
	}
	refused(t, e, 400, "format", func() response { return e.do("sales", "GET", "/v1/leads?format=xlsx", nil) })
	refused(t, e, 400, "campaign", func() response {
		return e.do("sales", "GET", "/v1/leads?format=csv&campaign="+strings.Repeat("x", 201), nil)
	})
	e.must(403, e.do("support", "GET", "/v1/leads?format=csv", nil))
}

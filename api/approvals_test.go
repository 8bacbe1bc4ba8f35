package api_test

import (
	"strings"
	"testing"

	"crm/commands"
)

func TestApprovalGatesClosedWon(t *testing.T) {
	e := newEnv(t)
	accountID := e.must(201, e.do("sales", "POST", "/v1/accounts", `{"name":"Big Co"}`)).str("id")
	oppID := e.must(201, e.do("sales", "POST", "/v1/opportunities", `{"account_id":"`+accountID+`","name":"Huge","amount":"900000.00","currency":"EUR","expected_close_date":"2027-06-30","stage":"negotiation"}`)).str("id")
	req := commands.RequestApproval{OpportunityID: oppID, Reason: "above 500000.00 EUR"}
	req.Metadata = commands.Metadata{Actor: "automation:approval", CommandID: "c1", CorrelationID: "c1", CausationID: "c1"}
	if err := e.cmds.RequestApproval(t.Context(), &req); err != nil {
		t.Fatal(err)
	}
	approvalID := req.Result.Extra["approval_id"]
	o := e.must(200, e.do("sales", "GET", "/v1/opportunities/"+oppID, nil))
	approvals := o.body["approvals"].([]any)
	if len(approvals) != 1 || approvals[0].(map[string]any)["status"] != "pending" || approvals[0].(map[string]any)["id"] != approvalID {
		t.Fatalf("approvals: %s", o.raw)
	}
	before := e.streamCount("opportunity-" + oppID)
	won := e.must(409, e.do("sales", "POST", "/v1/opportunities/"+oppID+"/stage", `{"stage":"closed_won"}`))
	if won.str("code") != "approval_pending" || won.str("conflicting_id") != approvalID || !strings.Contains(won.str("detail"), approvalID) {
		t.Errorf("409 does not name the approval %s: %s", approvalID, won.raw)
	}
	base := "/v1/opportunities/" + oppID + "/approvals/" + approvalID
	e.must(403, e.do("sales", "POST", base+"/approve", `{}`))
	e.must(404, e.do("manager", "POST", "/v1/opportunities/"+oppID+"/approvals/0190a0a0-0000-7000-8000-000000000000/approve", `{}`))
	e.must(400, e.do("manager", "POST", base+"/reject", `{}`))
	if e.streamCount("opportunity-"+oppID) != before {
		t.Fatal("refused requests stored events")
	}
	e.must(200, e.do("manager", "POST", base+"/approve", `{"note":"strategic"}`))
	e.must(409, e.do("manager", "POST", base+"/reject", `{"reason":"too late"}`))
	e.must(200, e.do("sales", "POST", "/v1/opportunities/"+oppID+"/stage", `{"stage":"closed_won"}`))
}

package api_test

import (
	"fmt"
	"testing"

	"crm/api"
	"crm/internal/app"
	"crm/readmodels"
)

// TestTimelineAndHealthTakeMoreSources: a deployment adds a timeline
// source and a health factor (as quotes, orders and overdue payments
// will) without changing the queries: the extra source's entries join
// the timeline in log order, the extra factor's penalty the score.
func TestTimelineAndHealthTakeMoreSources(t *testing.T) {
	clock := &testClock{now: pillarsT0}
	e := newEnvWith(t, func(c *app.Config) {
		c.Clock = clock.Now
		c.HTTP.Engagement = api.Engagement{
			TimelineSources: append(readmodels.DefaultTimelineSources(), readmodels.TimelineSource{Category: "campaign", EntityType: "campaign",
				IDs: `SELECT DISTINCT campaign FROM ` + readmodels.ListsSchemaName + `.leads WHERE account_id = $1 AND campaign <> ''`}),
			HealthFactors: append(readmodels.DefaultHealthFactors(), readmodels.HealthFactor{Name: "vip_without_owner",
				SQL: `SELECT id, 1::float8 FROM ` + readmodels.ListsSchemaName + `.accounts WHERE id = ANY($1) AND tier = 'vip' AND owner_id = '' AND $2::timestamptz IS NOT NULL`,
				Penalty: func(v float64, ok bool) (int, string) {
					if ok {
						return 25, "a VIP account nobody owns"
					}
					return 0, "owned or not VIP"
				}}),
		}
	})
	tr := &tracker{e: e}
	camp := tr.cmd(201, "sales", "POST", "/v1/campaigns", map[string]any{"name": "Fair", "channel": "event", "start_date": "2027-03-01",
		"budget": "100.00", "currency": "EUR"}).str("id")
	lead := tr.cmd(201, "sales", "POST", "/v1/leads", leadWith("email", "plug@example.com", "campaign", camp)).str("id")
	tr.cmd(200, "sales", "POST", "/v1/leads/"+lead+"/qualify", map[string]any{})
	acc := tr.cmd(200, "sales", "POST", "/v1/leads/"+lead+"/convert", map[string]any{}).str("account_id")
	tr.cmd(200, "sales", "POST", "/v1/accounts/"+acc+"/details", map[string]any{"tier": "vip"})
	tr.cmd(200, "sales", "POST", "/v1/campaigns/"+camp+"/cost", map[string]any{"actual_cost": "80.00", "currency": "EUR"})

	tl := tr.read("sales", "/v1/accounts/"+acc+"/timeline")
	var seq []string
	for _, it := range tl.body["items"].([]any) {
		m := it.(map[string]any)
		seq = append(seq, m["category"].(string)+":"+m["event_type"].(string))
	}
	want := []string{"campaign:campaign.created.v1", "campaign:lead.captured.v1", "lead:lead.qualified.v1", "lead:lead.converted.v1",
		"account:account.opened.v1", "contact:account.contact_added.v1", "account:account.details_changed.v1", "campaign:campaign.cost_recorded.v1"}
	if fmt.Sprint(seq) != fmt.Sprint(want) {
		t.Errorf("timeline\n got %v\nwant %v", seq, want)
	}
	h := tr.read("manager", "/v1/accounts/"+acc+"/health")
	// No activity (20), no open pipeline (10), a VIP nobody owns (25).
	if h.body["score"] != float64(45) || h.body["status"] != "at_risk" {
		t.Errorf("health: %s", h.raw)
	}
	factors := h.body["factors"].([]any)
	if last := factors[len(factors)-1].(map[string]any); last["name"] != "vip_without_owner" || last["penalty"] != float64(25) || last["value"] != float64(1) {
		t.Errorf("the added factor: %v", last)
	}
}

package aggregates

import "testing"

var campaignCreated = CampaignCreatedEvent{CampaignID: "C1", Name: "Webinar", Channel: "webinar", StartDate: "2027-03-01",
	EndDate: "2027-03-31", Budget: "5000.00", Currency: "EUR", Status: CampaignPlanned, CreatedAt: t0}

func TestCampaign(t *testing.T) {
	valid := CreateCampaign{Name: "Webinar", Channel: "webinar", StartDate: "2027-03-01", EndDate: "2027-03-31", Budget: "5000.00", Currency: "EUR"}
	with := func(f func(*CreateCampaign)) CreateCampaign { c := valid; f(&c); return c }
	closed := CampaignStatusChangedEvent{CampaignID: "C1", From: CampaignPlanned, To: CampaignCompleted}
	tests := []struct {
		name    string
		history []Event
		when    func(*Campaign) ([]Event, error)
		want    outcome
	}{
		{"create", nil, func(c *Campaign) ([]Event, error) { return c.Create(valid, t0) }, expectEvents(campaignCreated)},
		{"create twice", []Event{campaignCreated}, func(c *Campaign) ([]Event, error) { return c.Create(valid, t0) }, expectRefused("campaign_exists")},
		{"no name", nil, func(c *Campaign) ([]Event, error) {
			return c.Create(with(func(c *CreateCampaign) { c.Name = " " }), t0)
		}, expectInvalid("name")},
		{"bad channel", nil, func(c *Campaign) ([]Event, error) {
			return c.Create(with(func(c *CreateCampaign) { c.Channel = "radio" }), t0)
		}, expectInvalid("channel")},
		{"bad start", nil, func(c *Campaign) ([]Event, error) {
			return c.Create(with(func(c *CreateCampaign) { c.StartDate = "2027-02-30" }), t0)
		}, expectInvalid("start_date")},
		{"end before start", nil, func(c *Campaign) ([]Event, error) {
			return c.Create(with(func(c *CreateCampaign) { c.EndDate = "2027-02-01" }), t0)
		}, expectInvalid("end_date")},
		{"float budget", nil, func(c *Campaign) ([]Event, error) {
			return c.Create(with(func(c *CreateCampaign) { c.Budget = "1e3" }), t0)
		}, expectInvalid("budget")},
		{"bad currency", nil, func(c *Campaign) ([]Event, error) {
			return c.Create(with(func(c *CreateCampaign) { c.Currency = "eur" }), t0)
		}, expectInvalid("currency")},
		{"bad status", nil, func(c *Campaign) ([]Event, error) {
			return c.Create(with(func(c *CreateCampaign) { c.Status = "done" }), t0)
		}, expectInvalid("status")},

		{"record cost", []Event{campaignCreated}, func(c *Campaign) ([]Event, error) { return c.RecordCost("4000.00", "EUR", "", t0) },
			expectEvents(CampaignCostRecordedEvent{CampaignID: "C1", ActualCost: "4000.00", PreviousCost: "0", Currency: "EUR", RecordedAt: t0})},
		{"the same cost again", []Event{campaignCreated, CampaignCostRecordedEvent{CampaignID: "C1", ActualCost: "4000.00", Currency: "EUR"}},
			func(c *Campaign) ([]Event, error) { return c.RecordCost("4000.0", "EUR", "", t0) }, expectEvents()},
		{"cost in another currency", []Event{campaignCreated}, func(c *Campaign) ([]Event, error) { return c.RecordCost("10", "USD", "", t0) }, expectInvalid("currency")},
		{"negative cost", []Event{campaignCreated}, func(c *Campaign) ([]Event, error) { return c.RecordCost("-1", "EUR", "", t0) }, expectInvalid("actual_cost")},
		{"cost of a missing campaign", nil, func(c *Campaign) ([]Event, error) { return c.RecordCost("1", "EUR", "", t0) }, expectNotFound()},

		{"activate", []Event{campaignCreated}, func(c *Campaign) ([]Event, error) { return c.ChangeStatus(CampaignActive) },
			expectEvents(CampaignStatusChangedEvent{CampaignID: "C1", From: CampaignPlanned, To: CampaignActive})},
		{"same status", []Event{campaignCreated}, func(c *Campaign) ([]Event, error) { return c.ChangeStatus(CampaignPlanned) }, expectEvents()},
		{"reopen a completed campaign", []Event{campaignCreated, closed}, func(c *Campaign) ([]Event, error) { return c.ChangeStatus(CampaignActive) },
			expectRefused("campaign_closed")},
		{"unknown status", []Event{campaignCreated}, func(c *Campaign) ([]Event, error) { return c.ChangeStatus("paused") }, expectInvalid("status")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.when(given(NewCampaign("C1"), tt.history...))
			check(t, got, err, tt.want)
		})
	}
	v := given(NewCampaign("C1"), campaignCreated, CampaignCostRecordedEvent{CampaignID: "C1", ActualCost: "4000.00"}).View()
	if v.ActualCost != "4000.00" || v.Budget != "5000.00" || v.EndDate == nil || *v.EndDate != "2027-03-31" {
		t.Errorf("view: %+v", v)
	}
}

var formCreated = WebFormCreatedEvent{FormID: "F1", Name: "Sign-up", CampaignID: "C1", Fields: []string{"name", "company", "email", "phone"},
	AllowedOrigins: []string{"https://www.example.com"}, Token: "tok", Honeypot: DefaultHoneypot, CreatedAt: t0}

func TestWebForm(t *testing.T) {
	valid := CreateWebForm{Name: "Sign-up", CampaignID: "C1", Token: "tok", Fields: []string{"phone", "name"}, AllowedOrigins: []string{" https://WWW.example.com "}}
	with := func(f func(*CreateWebForm)) CreateWebForm { c := valid; f(&c); return c }
	tests := []struct {
		name    string
		history []Event
		when    func(*WebForm) ([]Event, error)
		want    outcome
	}{
		{"create", nil, func(f *WebForm) ([]Event, error) { return f.Create(valid, t0) }, expectEvents(formCreated)},
		{"create twice", []Event{formCreated}, func(f *WebForm) ([]Event, error) { return f.Create(valid, t0) }, expectRefused("webform_exists")},
		{"unknown field", nil, func(f *WebForm) ([]Event, error) {
			return f.Create(with(func(c *CreateWebForm) { c.Fields = []string{"password"} }), t0)
		}, expectInvalid("fields")},
		{"origin with a path", nil, func(f *WebForm) ([]Event, error) {
			return f.Create(with(func(c *CreateWebForm) { c.AllowedOrigins = []string{"https://example.com/form"} }), t0)
		}, expectInvalid("allowed_origins")},
		{"origin without scheme", nil, func(f *WebForm) ([]Event, error) {
			return f.Create(with(func(c *CreateWebForm) { c.AllowedOrigins = []string{"example.com"} }), t0)
		}, expectInvalid("allowed_origins")},
		{"honeypot named like a field", nil, func(f *WebForm) ([]Event, error) {
			return f.Create(with(func(c *CreateWebForm) { c.Honeypot = "email" }), t0)
		}, expectInvalid("honeypot")},
		{"disable", []Event{formCreated}, func(f *WebForm) ([]Event, error) { return f.Disable("campaign over") },
			expectEvents(WebFormDisabledEvent{FormID: "F1", Reason: "campaign over"})},
		{"disable without reason", []Event{formCreated}, func(f *WebForm) ([]Event, error) { return f.Disable("") }, expectInvalid("reason")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.when(given(NewWebForm("F1"), tt.history...))
			check(t, got, err, tt.want)
		})
	}
	f := given(NewWebForm("F1"), formCreated)
	c, err := f.CaptureFrom(Submission{Name: "Ada", Company: "Engines", Email: "ada@example.com", Phone: "1"})
	if err != nil || c.Source != WebFormSource || c.Campaign != "C1" || c.Phone != "1" {
		t.Errorf("capture from a submission: %+v %v", c, err)
	}
	if _, err := f.CaptureFrom(Submission{Name: "Ada", Company: "Engines", Email: "ada@example.com", Region: "EMEA"}); err == nil {
		t.Error("a field the form lacks was accepted")
	}
	if _, err := given(NewWebForm("F1"), formCreated, WebFormDisabledEvent{FormID: "F1"}).CaptureFrom(Submission{Email: "a@b.co"}); err == nil {
		t.Error("a disabled form took a submission")
	}
}

func TestNormalizeCompanyName(t *testing.T) {
	for in, want := range map[string]string{"Engines Ltd.": "engines", "  ENGINES   ltd ": "engines", "Carver & Co": "carver",
		"Fischer GmbH": "fischer", "Ltd": "ltd", "北京科技有限公司": "北京科技有限公司", "Dorsey-Smith Inc": "dorsey smith"} {
		if got := NormalizeCompanyName(in); got != want {
			t.Errorf("NormalizeCompanyName(%q) = %q, want %q", in, got, want)
		}
	}
}

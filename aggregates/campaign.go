package aggregates

import (
	"slices"
	"time"
)

// Campaign statuses.
const (
	CampaignPlanned   = "planned"
	CampaignActive    = "active"
	CampaignCompleted = "completed"
	CampaignCancelled = "cancelled"
)

// CampaignChannels and CampaignStatuses are the allowed values.
var (
	CampaignChannels = []string{"webinar", "trade_show", "email", "ads", "social", "content", "referral", "event", "other"}
	CampaignStatuses = []string{CampaignPlanned, CampaignActive, CampaignCompleted, CampaignCancelled}
)

// CampaignCreatedEvent records a new marketing campaign with its budget.
type CampaignCreatedEvent struct {
	CampaignID string    `json:"campaign_id"`
	Name       string    `json:"name"`
	Channel    string    `json:"channel"`
	StartDate  string    `json:"start_date"`
	EndDate    string    `json:"end_date,omitempty"`
	Budget     string    `json:"budget"`
	Currency   string    `json:"currency"`
	Status     string    `json:"status"`
	CreatedAt  time.Time `json:"created_at"`
}

// CampaignCostRecordedEvent records the campaign's actual cost to date
// (the new total, not an increment) and the total before.
type CampaignCostRecordedEvent struct {
	CampaignID   string    `json:"campaign_id"`
	ActualCost   string    `json:"actual_cost"`
	PreviousCost string    `json:"previous_cost"`
	Currency     string    `json:"currency"`
	Note         string    `json:"note,omitempty"`
	RecordedAt   time.Time `json:"recorded_at"`
}

// CampaignStatusChangedEvent records a campaign's new status.
type CampaignStatusChangedEvent struct {
	CampaignID string `json:"campaign_id"`
	From       string `json:"from"`
	To         string `json:"to"`
}

// TypeName implements Event.
func (CampaignCreatedEvent) TypeName() string { return "campaign.created" }

// TypeName implements Event.
func (CampaignCostRecordedEvent) TypeName() string { return "campaign.cost_recorded" }

// TypeName implements Event.
func (CampaignStatusChangedEvent) TypeName() string { return "campaign.status_changed" }

// SchemaVersion implements Event.
func (CampaignCreatedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (CampaignCostRecordedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (CampaignStatusChangedEvent) SchemaVersion() int { return 1 }

// CampaignEvents lists a sample of every campaign event type, for codec
// registration.
func CampaignEvents() []Event {
	return []Event{CampaignCreatedEvent{}, CampaignCostRecordedEvent{}, CampaignStatusChangedEvent{}}
}

// CreateCampaign is the command that creates a campaign. Status defaults
// to planned.
type CreateCampaign struct {
	Name, Channel, StartDate, EndDate, Budget, Currency, Status string
}

// Campaign is a marketing campaign: its channel, dates, budget, actual
// cost and status. Leads name the campaign that brought them.
type Campaign struct {
	id      string
	exists  bool
	created CampaignCreatedEvent
	status  string
	cost    string
}

// NewCampaign returns an empty campaign with the given id.
func NewCampaign(id string) *Campaign { return &Campaign{id: id} }

// Exists reports whether the campaign was created.
func (c *Campaign) Exists() bool { return c.exists }

// Apply folds one event into the campaign's state.
func (c *Campaign) Apply(e Event) {
	switch e := e.(type) {
	case CampaignCreatedEvent:
		c.exists, c.created, c.status, c.cost = true, e, e.Status, "0"
	case CampaignCostRecordedEvent:
		c.cost = e.ActualCost
	case CampaignStatusChangedEvent:
		c.status = e.To
	}
}

func (c *Campaign) notFound() error {
	return &Error{Kind: NotFound, Code: "not_found", Message: "campaign " + c.id + " not found"}
}

// Create validates cmd and returns the event that creates the campaign.
func (c *Campaign) Create(cmd CreateCampaign, now time.Time) ([]Event, error) {
	if c.exists {
		return nil, refused("campaign_exists", "campaign %s already exists", c.id)
	}
	if err := required("name", cmd.Name); err != nil {
		return nil, err
	}
	if err := oneOf("channel", cmd.Channel, CampaignChannels...); err != nil {
		return nil, err
	}
	start, err := ValidateDate("start_date", cmd.StartDate)
	if err != nil {
		return nil, err
	}
	end := ""
	if cmd.EndDate != "" {
		if end, err = ValidateDate("end_date", cmd.EndDate); err != nil {
			return nil, err
		}
		if end < start {
			return nil, invalid("end_date", "must not be before start_date")
		}
	}
	budget, currency, err := ValidateMoney("budget", "currency", cmd.Budget, cmd.Currency)
	if err != nil {
		return nil, err
	}
	status := cmd.Status
	if status == "" {
		status = CampaignPlanned
	}
	if err := oneOf("status", status, CampaignStatuses...); err != nil {
		return nil, err
	}
	return []Event{CampaignCreatedEvent{CampaignID: c.id, Name: cmd.Name, Channel: cmd.Channel, StartDate: start,
		EndDate: end, Budget: budget, Currency: currency, Status: status, CreatedAt: utc(now)}}, nil
}

// RecordCost sets the campaign's actual cost to date, in the campaign's
// currency. Recording the same total again changes nothing.
func (c *Campaign) RecordCost(actualCost, currency, note string, now time.Time) ([]Event, error) {
	if !c.exists {
		return nil, c.notFound()
	}
	cost, cur, err := ValidateMoney("actual_cost", "currency", actualCost, currency)
	if err != nil {
		return nil, err
	}
	if cur != c.created.Currency {
		return nil, invalid("currency", "must be the campaign's currency %s", c.created.Currency)
	}
	if err := optional("note", note, maxLongText); err != nil {
		return nil, err
	}
	if sameAmount(cost, c.cost) {
		return nil, nil
	}
	return []Event{CampaignCostRecordedEvent{CampaignID: c.id, ActualCost: cost, PreviousCost: c.cost, Currency: cur,
		Note: note, RecordedAt: utc(now)}}, nil
}

// ChangeStatus moves the campaign to status; a completed or cancelled
// campaign stays so. The same status again changes nothing.
func (c *Campaign) ChangeStatus(status string) ([]Event, error) {
	if !c.exists {
		return nil, c.notFound()
	}
	if err := oneOf("status", status, CampaignStatuses...); err != nil {
		return nil, err
	}
	if status == c.status {
		return nil, nil
	}
	if slices.Contains([]string{CampaignCompleted, CampaignCancelled}, c.status) {
		return nil, refused("campaign_closed", "campaign %s is %s", c.id, c.status)
	}
	return []Event{CampaignStatusChangedEvent{CampaignID: c.id, From: c.status, To: status}}, nil
}

// CampaignView is a campaign's current state as the API shows it.
type CampaignView struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Channel    string    `json:"channel"`
	StartDate  string    `json:"start_date"`
	EndDate    *string   `json:"end_date"`
	Budget     string    `json:"budget"`
	ActualCost string    `json:"actual_cost"`
	Currency   string    `json:"currency"`
	Status     string    `json:"status"`
	CreatedAt  time.Time `json:"created_at"`
}

// View returns the campaign's current state.
func (c *Campaign) View() CampaignView {
	v := CampaignView{ID: c.id, Name: c.created.Name, Channel: c.created.Channel, StartDate: c.created.StartDate,
		Budget: c.created.Budget, ActualCost: c.cost, Currency: c.created.Currency, Status: c.status, CreatedAt: c.created.CreatedAt}
	if c.created.EndDate != "" {
		end := c.created.EndDate
		v.EndDate = &end
	}
	return v
}

package aggregates

import "time"

// Opportunity stages of the default pipeline.
const (
	StageProspecting   = "prospecting"
	StageQualification = "qualification"
	StageProposal      = "proposal"
	StageNegotiation   = "negotiation"
	StageClosedWon     = "closed_won"
	StageClosedLost    = "closed_lost"
)

// Forecast categories of the default pipeline.
const (
	ForecastPipeline = "pipeline"
	ForecastBestCase = "best_case"
	ForecastCommit   = "commit"
	ForecastClosed   = "closed"
	ForecastOmitted  = "omitted"
)

// OpenStages are the open stages of the default pipeline, in order.
var OpenStages = []string{StageProspecting, StageQualification, StageProposal, StageNegotiation}

// Stages are all stages of the default pipeline, in order: the open ones,
// then closed_won and closed_lost.
var Stages = []string{StageProspecting, StageQualification, StageProposal, StageNegotiation, StageClosedWon, StageClosedLost}

// StageProbability is the win probability of a stage in percent (10, 30,
// 60, 80, 100, 0); 0 for an unknown stage.
func StageProbability(stage string) int {
	switch stage {
	case StageProspecting:
		return 10
	case StageQualification:
		return 30
	case StageProposal:
		return 60
	case StageNegotiation:
		return 80
	case StageClosedWon:
		return 100
	}
	return 0
}

// ForecastCategory is the forecast category of a stage (pipeline,
// best_case, commit, closed, omitted); "" for an unknown stage.
func ForecastCategory(stage string) string {
	switch stage {
	case StageProspecting, StageQualification:
		return ForecastPipeline
	case StageProposal:
		return ForecastBestCase
	case StageNegotiation:
		return ForecastCommit
	case StageClosedWon:
		return ForecastClosed
	case StageClosedLost:
		return ForecastOmitted
	}
	return ""
}

// IsClosedStage reports whether stage is closed_won or closed_lost.
func IsClosedStage(stage string) bool { return stage == StageClosedWon || stage == StageClosedLost }

// OpportunityOpenedEvent records a new opportunity.
type OpportunityOpenedEvent struct {
	OpportunityID     string    `json:"opportunity_id"`
	AccountID         string    `json:"account_id"`
	LeadID            string    `json:"lead_id,omitempty"`
	Name              string    `json:"name"`
	Amount            string    `json:"amount"`
	Currency          string    `json:"currency"`
	ExpectedCloseDate string    `json:"expected_close_date"`
	OwnerID           string    `json:"owner_id"`
	Stage             string    `json:"stage"`
	Probability       int       `json:"probability"`
	ForecastCategory  string    `json:"forecast_category"`
	OpenedAt          time.Time `json:"opened_at"`
}

// OpportunityStageChangedEvent records a move from one stage to another,
// closing included; From is always the previous stage.
type OpportunityStageChangedEvent struct {
	OpportunityID    string `json:"opportunity_id"`
	From             string `json:"from"`
	To               string `json:"to"`
	Probability      int    `json:"probability"`
	ForecastCategory string `json:"forecast_category"`
	Note             string `json:"note,omitempty"`
	// Reason is why the deal was lost, set only when To is closed_lost.
	Reason    string    `json:"reason,omitempty"`
	ChangedAt time.Time `json:"changed_at"`
}

// OpportunityAmountChangedEvent records a new amount or currency.
type OpportunityAmountChangedEvent struct {
	OpportunityID string `json:"opportunity_id"`
	FromAmount    string `json:"from_amount"`
	FromCurrency  string `json:"from_currency"`
	Amount        string `json:"amount"`
	Currency      string `json:"currency"`
}

// OpportunityCloseDateChangedEvent records a new expected close date
// (YYYY-MM-DD).
type OpportunityCloseDateChangedEvent struct {
	OpportunityID string `json:"opportunity_id"`
	From          string `json:"from"`
	To            string `json:"to"`
}

// OpportunityReopenedEvent records that a closed opportunity was reopened:
// it leaves FromStage (the closed stage) for ToStage, the last open stage it
// was in before it closed.
type OpportunityReopenedEvent struct {
	OpportunityID string    `json:"opportunity_id"`
	Reason        string    `json:"reason"`
	FromStage     string    `json:"from_stage"`
	ToStage       string    `json:"to_stage"`
	ReopenedAt    time.Time `json:"reopened_at"`
}

// TypeName implements Event.
func (OpportunityOpenedEvent) TypeName() string { return "opportunity.opened" }

// TypeName implements Event.
func (OpportunityStageChangedEvent) TypeName() string { return "opportunity.stage_changed" }

// TypeName implements Event.
func (OpportunityAmountChangedEvent) TypeName() string { return "opportunity.amount_changed" }

// TypeName implements Event.
func (OpportunityCloseDateChangedEvent) TypeName() string { return "opportunity.close_date_changed" }

// TypeName implements Event.
func (OpportunityReopenedEvent) TypeName() string { return "opportunity.reopened" }

// SchemaVersion implements Event.
func (OpportunityOpenedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (OpportunityStageChangedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (OpportunityAmountChangedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (OpportunityCloseDateChangedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (OpportunityReopenedEvent) SchemaVersion() int { return 1 }

// OpportunityEvents lists a sample of every opportunity event type, for
// codec registration (activities are ActivityLoggedEvent, listed
// elsewhere).
func OpportunityEvents() []Event {
	return []Event{OpportunityOpenedEvent{}, OpportunityStageChangedEvent{}, OpportunityAmountChangedEvent{},
		OpportunityCloseDateChangedEvent{}, OpportunityReopenedEvent{}}
}

// OpenOpportunity is the command that creates an opportunity. Stage is
// optional (prospecting by default) and must be an open stage; LeadID and
// OwnerID are optional.
type OpenOpportunity struct {
	AccountID, LeadID, Name, Amount, Currency, ExpectedCloseDate, OwnerID, Stage string
}

// StageEntry is one stage an opportunity entered, and when.
type StageEntry struct {
	Stage     string    `json:"stage"`
	EnteredAt time.Time `json:"entered_at"`
}

// Opportunity is a potential deal with an account, from its first stage to
// won or lost.
type Opportunity struct {
	id         string
	exists     bool
	opened     OpportunityOpenedEvent
	name       string
	amount     string
	currency   string
	closeDate  string
	stage      string
	lastOpen   string
	lostReason string
	history    []StageEntry
	activities int
	closedAt   *time.Time
	approvals  []Approval
	// remindedFor is the expected close date last reminded as overdue.
	remindedFor string
	accepted    *AcceptedQuote
}

// NewOpportunity returns an empty opportunity with the given id, to open or
// to fold history into.
func NewOpportunity(id string) *Opportunity { return &Opportunity{id: id} }

// ID is the opportunity's id.
func (o *Opportunity) ID() string { return o.id }

// Exists reports whether the opportunity was opened.
func (o *Opportunity) Exists() bool { return o.exists }

// Stage is the opportunity's current stage ("" before it is opened).
func (o *Opportunity) Stage() string { return o.stage }

// IsClosed reports whether the opportunity is won or lost.
func (o *Opportunity) IsClosed() bool { return IsClosedStage(o.stage) }

// Apply folds one event into the opportunity's state. Unknown events are
// ignored; nothing is re-validated.
func (o *Opportunity) Apply(e Event) {
	switch e := e.(type) {
	case OpportunityOpenedEvent:
		o.exists, o.opened = true, e
		o.name, o.amount, o.currency, o.closeDate = e.Name, e.Amount, e.Currency, e.ExpectedCloseDate
		o.enter(e.Stage, e.OpenedAt)
	case OpportunityStageChangedEvent:
		o.enter(e.To, e.ChangedAt)
		if IsClosedStage(e.To) {
			at := e.ChangedAt
			o.closedAt, o.lostReason = &at, e.Reason
		}
	case OpportunityAmountChangedEvent:
		o.amount, o.currency = e.Amount, e.Currency
	case OpportunityCloseDateChangedEvent:
		o.closeDate = e.To
	case OpportunityDetailsChangedEvent:
		o.applyDetails(e)
	case OpportunityReopenedEvent:
		o.enter(e.ToStage, e.ReopenedAt)
		o.closedAt, o.lostReason = nil, ""
	case ActivityLoggedEvent:
		o.activities++
	case OpportunityOverdueEvent:
		o.remindedFor = e.ExpectedCloseDate
	case OpportunityQuoteAcceptedEvent:
		o.amount, o.currency = e.Amount, e.Currency
		o.accepted = &AcceptedQuote{ID: e.QuoteID, Version: e.QuoteVersion}
	default:
		o.applyApproval(e)
	}
}

// enter moves the opportunity into stage at time at, remembering the last
// open stage for a reopen.
func (o *Opportunity) enter(stage string, at time.Time) {
	o.stage = stage
	if !IsClosedStage(stage) {
		o.lastOpen = stage
	}
	o.history = append(o.history, StageEntry{Stage: stage, EnteredAt: at})
}

// notFound is the error for a command on an opportunity never opened.
func (o *Opportunity) notFound() error {
	return &Error{Kind: NotFound, Code: "not_found", Message: "opportunity " + o.id + " not found"}
}

// open refuses commands on an opportunity that is missing or closed.
func (o *Opportunity) open() error {
	switch {
	case !o.exists:
		return o.notFound()
	case o.IsClosed():
		return refused("opportunity_closed", "opportunity %s is closed (%s); reopen it first", o.id, o.stage)
	}
	return nil
}

// Open validates c and returns the event that creates the opportunity.
// Errors: Refused opportunity_exists; Invalid account_id, name, amount,
// currency, expected_close_date, stage (unknown or closed), owner_id or
// lead_id.
func (o *Opportunity) Open(c OpenOpportunity, now time.Time) ([]Event, error) {
	if o.exists {
		return nil, refused("opportunity_exists", "opportunity %s already exists", o.id)
	}
	for _, f := range []struct{ name, v string }{{"account_id", c.AccountID}, {"name", c.Name}} {
		if err := required(f.name, f.v); err != nil {
			return nil, err
		}
	}
	for _, f := range []struct{ name, v string }{{"lead_id", c.LeadID}, {"owner_id", c.OwnerID}} {
		if err := optional(f.name, f.v, maxShortText); err != nil {
			return nil, err
		}
	}
	amount, currency, err := ValidateMoney("amount", "currency", c.Amount, c.Currency)
	if err != nil {
		return nil, err
	}
	date, err := ValidateDate("expected_close_date", c.ExpectedCloseDate)
	if err != nil {
		return nil, err
	}
	stage := c.Stage
	if stage == "" {
		stage = StageProspecting
	}
	if err := oneOf("stage", stage, OpenStages...); err != nil {
		return nil, err
	}
	return []Event{OpportunityOpenedEvent{
		OpportunityID: o.id, AccountID: c.AccountID, LeadID: c.LeadID, Name: c.Name, Amount: amount, Currency: currency,
		ExpectedCloseDate: date, OwnerID: c.OwnerID, Stage: stage, Probability: StageProbability(stage),
		ForecastCategory: ForecastCategory(stage), OpenedAt: utc(now),
	}}, nil
}

// ChangeStage moves an open opportunity to stage: any open stage, forward or
// back, or closed_won, or closed_lost with a reason (reason is ignored for
// other stages). Moving to the current stage changes nothing. Errors:
// NotFound; Refused opportunity_closed; Invalid stage, reason or note. The
// command's own values are checked before the opportunity's state.
func (o *Opportunity) ChangeStage(stage, note, reason string, now time.Time) ([]Event, error) {
	if err := oneOf("stage", stage, Stages...); err != nil {
		return nil, err
	}
	if err := optional("note", note, maxLongText); err != nil {
		return nil, err
	}
	if stage == StageClosedLost {
		if err := required("reason", reason); err != nil {
			return nil, err
		}
	} else {
		reason = ""
	}
	if err := o.open(); err != nil {
		return nil, err
	}
	if stage == o.stage {
		return nil, nil
	}
	if stage == StageClosedWon {
		if code, approvalID := o.blockingApproval(); code != "" {
			err := refused(code, "opportunity %s cannot be won before a manager approves approval %s", o.id, approvalID)
			err.ConflictID = approvalID
			return nil, err
		}
	}
	return []Event{OpportunityStageChangedEvent{OpportunityID: o.id, From: o.stage, To: stage,
		Probability: StageProbability(stage), ForecastCategory: ForecastCategory(stage), Note: note,
		Reason: reason, ChangedAt: utc(now)}}, nil
}

// ChangeAmount sets a new amount and currency (see ValidateMoney). An amount
// numerically equal to the current one in the same currency changes
// nothing. Errors: NotFound; Refused opportunity_closed; Invalid amount or
// currency.
func (o *Opportunity) ChangeAmount(amount, currency string) ([]Event, error) {
	if err := o.open(); err != nil {
		return nil, err
	}
	a, c, err := ValidateMoney("amount", "currency", amount, currency)
	if err != nil {
		return nil, err
	}
	if c == o.currency && sameAmount(a, o.amount) {
		return nil, nil
	}
	return []Event{OpportunityAmountChangedEvent{OpportunityID: o.id, FromAmount: o.amount, FromCurrency: o.currency,
		Amount: a, Currency: c}}, nil
}

// ChangeCloseDate sets a new expected close date (YYYY-MM-DD). The current
// date changes nothing. Errors: NotFound; Refused opportunity_closed;
// Invalid expected_close_date.
func (o *Opportunity) ChangeCloseDate(date string) ([]Event, error) {
	if err := o.open(); err != nil {
		return nil, err
	}
	d, err := ValidateDate("expected_close_date", date)
	if err != nil {
		return nil, err
	}
	if d == o.closeDate {
		return nil, nil
	}
	return []Event{OpportunityCloseDateChangedEvent{OpportunityID: o.id, From: o.closeDate, To: d}}, nil
}

// Reopen takes a won or lost opportunity back to the last open stage it was
// in before it closed. Errors: NotFound; Invalid reason; Refused
// opportunity_not_closed.
func (o *Opportunity) Reopen(reason string, now time.Time) ([]Event, error) {
	if !o.exists {
		return nil, o.notFound()
	}
	if err := required("reason", reason); err != nil {
		return nil, err
	}
	if !o.IsClosed() {
		return nil, refused("opportunity_not_closed", "opportunity %s is not closed (it is %s)", o.id, o.stage)
	}
	return []Event{OpportunityReopenedEvent{OpportunityID: o.id, Reason: reason, FromStage: o.stage, ToStage: o.lastOpen,
		ReopenedAt: utc(now)}}, nil
}

// LogActivity logs an activity on the opportunity; closed opportunities
// take activities too. Errors: NotFound; Invalid kind, subject or body.
func (o *Opportunity) LogActivity(c LogActivity, now time.Time) ([]Event, error) {
	if !o.exists {
		return nil, o.notFound()
	}
	return logActivity("opportunity", o.id, c, now)
}

// OpportunityView is an opportunity's current state as the API shows it.
type OpportunityView struct {
	ID                string       `json:"id"`
	AccountID         string       `json:"account_id"`
	LeadID            string       `json:"lead_id,omitempty"`
	Name              string       `json:"name"`
	Amount            string       `json:"amount"`
	Currency          string       `json:"currency"`
	ExpectedCloseDate string       `json:"expected_close_date"`
	OwnerID           string       `json:"owner_id,omitempty"`
	Stage             string       `json:"stage"`
	Probability       int          `json:"probability"`
	ForecastCategory  string       `json:"forecast_category"`
	IsClosed          bool         `json:"is_closed"`
	LostReason        string       `json:"lost_reason,omitempty"`
	StageHistory      []StageEntry `json:"stage_history"`
	Activities        int          `json:"activities"`
	OpenedAt          time.Time    `json:"opened_at"`
	ClosedAt          *time.Time   `json:"closed_at"`
	Approvals         []Approval   `json:"approvals"`
	// AcceptedQuote is the accepted quote the amount comes from, if any.
	AcceptedQuote *AcceptedQuote `json:"accepted_quote"`
}

// View returns the opportunity's current state. StageHistory is never nil.
func (o *Opportunity) View() OpportunityView {
	history := make([]StageEntry, len(o.history))
	copy(history, o.history)
	var closedAt *time.Time
	if o.closedAt != nil {
		at := *o.closedAt
		closedAt = &at
	}
	return OpportunityView{ID: o.id, AccountID: o.opened.AccountID, LeadID: o.opened.LeadID, Name: o.name,
		Amount: o.amount, Currency: o.currency, ExpectedCloseDate: o.closeDate, OwnerID: o.opened.OwnerID,
		Stage: o.stage, Probability: StageProbability(o.stage), ForecastCategory: ForecastCategory(o.stage),
		IsClosed: o.IsClosed(), LostReason: o.lostReason, StageHistory: history, Activities: o.activities,
		OpenedAt: o.opened.OpenedAt, ClosedAt: closedAt, Approvals: o.Approvals(), AcceptedQuote: o.acceptedQuote()}
}

func (o *Opportunity) acceptedQuote() *AcceptedQuote {
	if o.accepted == nil {
		return nil
	}
	a := *o.accepted
	return &a
}

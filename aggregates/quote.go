package aggregates

import (
	"fmt"
	"math/big"
	"regexp"
	"time"
)

// DefaultDiscountThreshold is the discount in percent above which a quote
// needs a manager's approval before it may be sent.
const DefaultDiscountThreshold = "20"

// quantityPattern is a positive quantity: up to 9 integer digits and 4
// decimals. percentPattern is a discount: 0 to 100 with up to 2 decimals.
var (
	quantityPattern = regexp.MustCompile(`^(0|[1-9][0-9]{0,8})(\.[0-9]{1,4})?$`)
	percentPattern  = regexp.MustCompile(`^(0|[1-9][0-9]?|100)(\.[0-9]{1,2})?$`)
)

// Payment plan kinds.
const (
	PlanSingle       = "single"
	PlanInstallments = "installments"
	PlanCustom       = "custom"
)

// maxLines and maxInstallments bound a quote.
const (
	maxLines        = 200
	maxInstallments = 120
)

// QuoteLine is one priced line of a quote version. ListAmount is quantity ×
// unit price and LineTotal that less the discount, each rounded half-even
// to the currency's minor unit.
type QuoteLine struct {
	ProductID       string `json:"product_id"`
	SKU             string `json:"sku"`
	Name            string `json:"name"`
	Quantity        string `json:"quantity"`
	UnitPrice       string `json:"unit_price"`
	DiscountPercent string `json:"discount_percent"`
	ListAmount      string `json:"list_amount"`
	LineTotal       string `json:"line_total"`
}

// PlannedInstallment is one installment of a custom payment plan.
type PlannedInstallment struct {
	DueDate string `json:"due_date"`
	Amount  string `json:"amount"`
}

// PaymentPlan is how a quote's total will be paid once the deal is won:
// one payment, Count equal installments IntervalMonths apart, or custom
// installments. The first (or only) payment is due on FirstDueDate when
// set, else NetDays (default 30) after the day the deal is won.
type PaymentPlan struct {
	Kind           string               `json:"kind"`
	Count          int                  `json:"count,omitempty"`
	IntervalMonths int                  `json:"interval_months,omitempty"`
	FirstDueDate   string               `json:"first_due_date,omitempty"`
	NetDays        int                  `json:"net_days,omitempty"`
	Installments   []PlannedInstallment `json:"installments,omitempty"`
}

// QuoteContent is one version of a quote: its priced lines, totals,
// validity and payment plan.
type QuoteContent struct {
	Version            int         `json:"version"`
	PriceBookID        string      `json:"price_book_id"`
	Currency           string      `json:"currency"`
	ValidUntil         string      `json:"valid_until"`
	Lines              []QuoteLine `json:"lines"`
	Subtotal           string      `json:"subtotal"`
	DiscountTotal      string      `json:"discount_total"`
	Total              string      `json:"total"`
	MaxDiscountPercent string      `json:"max_discount_percent"`
	PaymentPlan        PaymentPlan `json:"payment_plan"`
}

// QuoteDraftedEvent records a new quote on an opportunity: its version 1.
type QuoteDraftedEvent struct {
	QuoteID       string `json:"quote_id"`
	OpportunityID string `json:"opportunity_id"`
	QuoteContent
	DraftedAt time.Time `json:"drafted_at"`
}

// QuoteRevisedEvent records a new version of a quote; earlier versions
// stay as they were.
type QuoteRevisedEvent struct {
	QuoteID string `json:"quote_id"`
	QuoteContent
	RevisedAt time.Time `json:"revised_at"`
}

// QuoteApprovalRequestedEvent records that a quote version's discount
// needs a manager's approval before it may be sent.
type QuoteApprovalRequestedEvent struct {
	QuoteID          string    `json:"quote_id"`
	Version          int       `json:"version"`
	ApprovalID       string    `json:"approval_id"`
	Reason           string    `json:"reason"`
	DiscountPercent  string    `json:"discount_percent"`
	ThresholdPercent string    `json:"threshold_percent"`
	RequestedAt      time.Time `json:"requested_at"`
}

// QuoteApprovalGrantedEvent records a manager's approval of a quote
// version's discount.
type QuoteApprovalGrantedEvent struct {
	QuoteID    string    `json:"quote_id"`
	Version    int       `json:"version"`
	ApprovalID string    `json:"approval_id"`
	Note       string    `json:"note,omitempty"`
	DecidedAt  time.Time `json:"decided_at"`
}

// QuoteApprovalRejectedEvent records a manager's rejection of a quote
// version's discount; that version can never be sent.
type QuoteApprovalRejectedEvent struct {
	QuoteID    string    `json:"quote_id"`
	Version    int       `json:"version"`
	ApprovalID string    `json:"approval_id"`
	Reason     string    `json:"reason"`
	DecidedAt  time.Time `json:"decided_at"`
}

// QuoteSentEvent records that a quote version was sent to the customer.
type QuoteSentEvent struct {
	QuoteID string    `json:"quote_id"`
	Version int       `json:"version"`
	SentAt  time.Time `json:"sent_at"`
}

// QuoteAcceptedEvent records that the customer accepted a sent quote
// version; its total becomes the opportunity's amount.
type QuoteAcceptedEvent struct {
	QuoteID       string    `json:"quote_id"`
	OpportunityID string    `json:"opportunity_id"`
	Version       int       `json:"version"`
	Total         string    `json:"total"`
	Currency      string    `json:"currency"`
	AcceptedAt    time.Time `json:"accepted_at"`
}

// TypeName implements Event.
func (QuoteDraftedEvent) TypeName() string { return "quote.drafted" }

// TypeName implements Event.
func (QuoteRevisedEvent) TypeName() string { return "quote.revised" }

// TypeName implements Event.
func (QuoteApprovalRequestedEvent) TypeName() string { return "quote.approval_requested" }

// TypeName implements Event.
func (QuoteApprovalGrantedEvent) TypeName() string { return "quote.approval_granted" }

// TypeName implements Event.
func (QuoteApprovalRejectedEvent) TypeName() string { return "quote.approval_rejected" }

// TypeName implements Event.
func (QuoteSentEvent) TypeName() string { return "quote.sent" }

// TypeName implements Event.
func (QuoteAcceptedEvent) TypeName() string { return "quote.accepted" }

// SchemaVersion implements Event.
func (QuoteDraftedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (QuoteRevisedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (QuoteApprovalRequestedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (QuoteApprovalGrantedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (QuoteApprovalRejectedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (QuoteSentEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (QuoteAcceptedEvent) SchemaVersion() int { return 1 }

// QuoteEvents lists a sample of every quote event type, with the
// opportunity's record of an accepted quote.
func QuoteEvents() []Event {
	return []Event{QuoteDraftedEvent{}, QuoteRevisedEvent{}, QuoteApprovalRequestedEvent{}, QuoteApprovalGrantedEvent{},
		QuoteApprovalRejectedEvent{}, QuoteSentEvent{}, QuoteAcceptedEvent{}, OpportunityQuoteAcceptedEvent{}}
}

// QuoteLineInput is a line to price: the product (as the catalog knows
// it), the quantity, the price book's unit price and the discount.
type QuoteLineInput struct {
	ProductID, SKU, Name, Quantity, UnitPrice, DiscountPercent string
}

// QuoteDraft is the content of a new quote version before pricing.
type QuoteDraft struct {
	PriceBookID, Currency, ValidUntil string
	Lines                             []QuoteLineInput
	PaymentPlan                       PaymentPlan
}

// QuoteVersion is one version of a quote as the API shows it.
type QuoteVersion struct {
	QuoteContent
	Status   string     `json:"status"`
	Approval *Approval  `json:"approval"`
	SentAt   *time.Time `json:"sent_at"`
	At       time.Time  `json:"created_at"`
}

// Quote statuses of a version.
const (
	QuoteDrafted    = "draft"
	QuoteSent       = "sent"
	QuoteAccepted   = "accepted"
	QuoteSuperseded = "superseded"
)

// Quote is a priced offer on an opportunity, in versions.
type Quote struct {
	id            string
	exists        bool
	opportunityID string
	versions      []QuoteVersion
	accepted      int
}

// NewQuote returns an empty quote with the given id.
func NewQuote(id string) *Quote { return &Quote{id: id} }

// Exists reports whether the quote was drafted.
func (q *Quote) Exists() bool { return q.exists }

// OpportunityID is the opportunity the quote is for.
func (q *Quote) OpportunityID() string { return q.opportunityID }

// current is the latest version (nil before the quote is drafted).
func (q *Quote) current() *QuoteVersion {
	if len(q.versions) == 0 {
		return nil
	}
	return &q.versions[len(q.versions)-1]
}

// Apply folds one event into the quote.
func (q *Quote) Apply(e Event) {
	switch e := e.(type) {
	case QuoteDraftedEvent:
		q.exists, q.opportunityID = true, e.OpportunityID
		q.versions = append(q.versions, QuoteVersion{QuoteContent: e.QuoteContent, Status: QuoteDrafted, At: e.DraftedAt})
	case QuoteRevisedEvent:
		if c := q.current(); c != nil && c.Status != QuoteAccepted {
			c.Status = QuoteSuperseded
		}
		q.versions = append(q.versions, QuoteVersion{QuoteContent: e.QuoteContent, Status: QuoteDrafted, At: e.RevisedAt})
	case QuoteApprovalRequestedEvent:
		if v := q.version(e.Version); v != nil {
			v.Approval = &Approval{ID: e.ApprovalID, Status: ApprovalPending, Reason: e.Reason, Requested: e.RequestedAt}
		}
	case QuoteApprovalGrantedEvent:
		if v := q.version(e.Version); v != nil && v.Approval != nil {
			at := e.DecidedAt
			v.Approval.Status, v.Approval.Note, v.Approval.DecidedAt = ApprovalApproved, e.Note, &at
		}
	case QuoteApprovalRejectedEvent:
		if v := q.version(e.Version); v != nil && v.Approval != nil {
			at := e.DecidedAt
			v.Approval.Status, v.Approval.Note, v.Approval.DecidedAt = ApprovalRejected, e.Reason, &at
		}
	case QuoteSentEvent:
		if v := q.version(e.Version); v != nil {
			at := e.SentAt
			v.Status, v.SentAt = QuoteSent, &at
		}
	case QuoteAcceptedEvent:
		if v := q.version(e.Version); v != nil {
			v.Status = QuoteAccepted
		}
		q.accepted = e.Version
	}
}

func (q *Quote) version(n int) *QuoteVersion {
	if n < 1 || n > len(q.versions) {
		return nil
	}
	return &q.versions[n-1]
}

func (q *Quote) notFound() error {
	return &Error{Kind: NotFound, Code: "not_found", Message: "quote " + q.id + " not found"}
}

// price validates d and computes a version's content.
func price(d QuoteDraft, version int, today string) (QuoteContent, error) {
	if d.PriceBookID == "" {
		return QuoteContent{}, invalid("price_book_id", "is required")
	}
	_, currency, err := ValidateMoney("currency", "currency", "0", d.Currency)
	if err != nil {
		return QuoteContent{}, err
	}
	valid, err := ValidateDate("valid_until", d.ValidUntil)
	if err != nil {
		return QuoteContent{}, err
	}
	if valid < today {
		return QuoteContent{}, invalid("valid_until", "is in the past")
	}
	switch {
	case len(d.Lines) == 0:
		return QuoteContent{}, invalid("lines", "must have at least one line")
	case len(d.Lines) > maxLines:
		return QuoteContent{}, invalid("lines", "has more than %d lines", maxLines)
	}
	c := QuoteContent{Version: version, PriceBookID: d.PriceBookID, Currency: currency, ValidUntil: valid, Lines: make([]QuoteLine, len(d.Lines))}
	subtotal, total := new(big.Int), new(big.Int)
	maxDiscount := "0"
	for i, l := range d.Lines {
		field := fmt.Sprintf("lines[%d]", i)
		if !quantityPattern.MatchString(l.Quantity) || dec(l.Quantity).Sign() <= 0 {
			return QuoteContent{}, invalid(field+".quantity", "must be a positive decimal string such as \"10\" or \"2.5\"")
		}
		discount := l.DiscountPercent
		if discount == "" {
			discount = "0"
		}
		if !percentPattern.MatchString(discount) || dec(discount).Cmp(big.NewRat(100, 1)) > 0 {
			return QuoteContent{}, invalid(field+".discount_percent", "must be a decimal string from \"0\" to \"100\" with up to 2 decimals")
		}
		list := new(big.Rat).Mul(dec(l.Quantity), dec(l.UnitPrice))
		net := new(big.Rat).Mul(list, new(big.Rat).Sub(big.NewRat(1, 1), new(big.Rat).Quo(dec(discount), big.NewRat(100, 1))))
		listUnits, netUnits := toUnits(list, MinorUnits(currency)), toUnits(net, MinorUnits(currency))
		subtotal.Add(subtotal, listUnits)
		total.Add(total, netUnits)
		if CompareAmounts(discount, maxDiscount) > 0 {
			maxDiscount = discount
		}
		c.Lines[i] = QuoteLine{ProductID: l.ProductID, SKU: l.SKU, Name: l.Name, Quantity: l.Quantity, UnitPrice: l.UnitPrice,
			DiscountPercent: discount, ListAmount: formatMoney(listUnits, currency), LineTotal: formatMoney(netUnits, currency)}
	}
	c.Subtotal, c.Total = formatMoney(subtotal, currency), formatMoney(total, currency)
	if !amountPattern.MatchString(c.Subtotal) {
		return QuoteContent{}, invalid("lines", "the quote's subtotal %s has more than 15 integer digits", c.Subtotal)
	}
	c.DiscountTotal = formatMoney(new(big.Int).Sub(subtotal, total), currency)
	c.MaxDiscountPercent = maxDiscount
	plan, err := validatePlan(d.PaymentPlan, total, currency)
	if err != nil {
		return QuoteContent{}, err
	}
	c.PaymentPlan = plan
	return c, nil
}

// validatePlan checks a payment plan against the total (minor units) and
// returns it in canonical form.
func validatePlan(p PaymentPlan, total *big.Int, currency string) (PaymentPlan, error) {
	if p.Kind == "" {
		p.Kind = PlanSingle
	}
	if err := oneOf("payment_plan.kind", p.Kind, PlanSingle, PlanInstallments, PlanCustom); err != nil {
		return p, err
	}
	if p.NetDays < 0 || p.NetDays > 3650 {
		return p, invalid("payment_plan.net_days", "must be from 0 to 3650")
	}
	if p.FirstDueDate != "" {
		d, err := ValidateDate("payment_plan.first_due_date", p.FirstDueDate)
		if err != nil {
			return p, err
		}
		p.FirstDueDate = d
	}
	switch p.Kind {
	case PlanSingle:
		if p.Count != 0 || p.IntervalMonths != 0 || len(p.Installments) > 0 {
			return p, invalid("payment_plan", "a single payment takes only first_due_date or net_days")
		}
	case PlanInstallments:
		if p.Count < 2 || p.Count > maxInstallments {
			return p, invalid("payment_plan.count", "must be from 2 to %d", maxInstallments)
		}
		if p.IntervalMonths == 0 {
			p.IntervalMonths = 1
		}
		if p.IntervalMonths < 1 || p.IntervalMonths > 24 {
			return p, invalid("payment_plan.interval_months", "must be from 1 to 24")
		}
		if len(p.Installments) > 0 {
			return p, invalid("payment_plan.installments", "is only for a custom plan")
		}
		if total.Cmp(big.NewInt(int64(p.Count))) < 0 {
			return p, invalid("payment_plan.count", "is more installments than the total has minor units")
		}
	case PlanCustom:
		if p.Count != 0 || p.IntervalMonths != 0 || p.FirstDueDate != "" || p.NetDays != 0 {
			return p, invalid("payment_plan", "a custom plan takes only installments")
		}
		if len(p.Installments) == 0 || len(p.Installments) > maxInstallments {
			return p, invalid("payment_plan.installments", "must have 1 to %d installments", maxInstallments)
		}
		sum := new(big.Int)
		prev := ""
		for i, in := range p.Installments {
			field := fmt.Sprintf("payment_plan.installments[%d]", i)
			d, err := ValidateDate(field+".due_date", in.DueDate)
			if err != nil {
				return p, err
			}
			if d < prev {
				return p, invalid(field+".due_date", "must not be before the previous installment's")
			}
			prev = d
			a, _, err := ValidateMoney(field+".amount", "currency", in.Amount, currency)
			if err != nil {
				return p, err
			}
			if hasMoreDecimals(a, currency) || dec(a).Sign() <= 0 {
				return p, invalid(field+".amount", "must be positive with at most %d decimals", MinorUnits(currency))
			}
			p.Installments[i] = PlannedInstallment{DueDate: d, Amount: formatMoney(moneyUnits(a, currency), currency)}
			sum.Add(sum, moneyUnits(a, currency))
		}
		if sum.Cmp(total) != 0 {
			return p, invalid("payment_plan.installments", "sum to %s, not the quote's total %s %s", formatMoney(sum, currency), formatMoney(total, currency), currency)
		}
	}
	return p, nil
}

// approvalFor returns the approval request a version needs when its
// largest discount is above threshold (percent), or nil.
func (q *Quote) approvalFor(c QuoteContent, threshold, approvalID string, now time.Time) []Event {
	if CompareAmounts(c.MaxDiscountPercent, threshold) <= 0 {
		return nil
	}
	return []Event{QuoteApprovalRequestedEvent{QuoteID: q.id, Version: c.Version, ApprovalID: approvalID,
		Reason:          fmt.Sprintf("discount %s%% is above the approval threshold %s%%", c.MaxDiscountPercent, threshold),
		DiscountPercent: c.MaxDiscountPercent, ThresholdPercent: threshold, RequestedAt: utc(now)}}
}

// Draft prices d as the quote's version 1 for an opportunity (checked
// open by the caller). A discount above threshold (percent) requests an
// approval with approvalID. Errors: Refused quote_exists; Invalid
// price_book_id, currency, valid_until, lines[i].*, payment_plan.*.
func (q *Quote) Draft(opportunityID string, d QuoteDraft, threshold, approvalID string, now time.Time) ([]Event, error) {
	if q.exists {
		return nil, refused("quote_exists", "quote %s already exists", q.id)
	}
	c, err := price(d, 1, utc(now).Format(time.DateOnly))
	if err != nil {
		return nil, err
	}
	evs := []Event{QuoteDraftedEvent{QuoteID: q.id, OpportunityID: opportunityID, QuoteContent: c, DraftedAt: utc(now)}}
	return append(evs, q.approvalFor(c, threshold, approvalID, now)...), nil
}

// Revise prices d as the quote's next version; earlier versions stay
// readable. Errors: NotFound; Refused quote_accepted; Invalid as Draft.
func (q *Quote) Revise(d QuoteDraft, threshold, approvalID string, now time.Time) ([]Event, error) {
	if !q.exists {
		return nil, q.notFound()
	}
	if q.accepted != 0 {
		return nil, refused("quote_accepted", "quote %s was accepted (version %d); it cannot be revised", q.id, q.accepted)
	}
	c, err := price(d, len(q.versions)+1, utc(now).Format(time.DateOnly))
	if err != nil {
		return nil, err
	}
	evs := []Event{QuoteRevisedEvent{QuoteID: q.id, QuoteContent: c, RevisedAt: utc(now)}}
	return append(evs, q.approvalFor(c, threshold, approvalID, now)...), nil
}

// pendingApproval checks that approvalID is the current version's pending
// approval.
func (q *Quote) pendingApproval(approvalID string) (*QuoteVersion, error) {
	if !q.exists {
		return nil, q.notFound()
	}
	for i := range q.versions {
		v := &q.versions[i]
		if v.Approval != nil && v.Approval.ID == approvalID {
			if v.Approval.Status != ApprovalPending {
				return nil, refused("approval_not_pending", "approval %s is already %s", approvalID, v.Approval.Status)
			}
			if v.Version != len(q.versions) {
				return nil, refused("quote_version_superseded", "approval %s is for version %d, superseded by version %d", approvalID, v.Version, len(q.versions))
			}
			return v, nil
		}
	}
	return nil, &Error{Kind: NotFound, Code: "not_found", Message: "quote " + q.id + " has no approval " + approvalID}
}

// Approve grants the current version's pending discount approval.
// Errors: NotFound; Refused approval_not_pending, quote_version_superseded;
// Invalid note.
func (q *Quote) Approve(approvalID, note string, now time.Time) ([]Event, error) {
	v, err := q.pendingApproval(approvalID)
	if err != nil {
		return nil, err
	}
	if err := optional("note", note, maxLongText); err != nil {
		return nil, err
	}
	return []Event{QuoteApprovalGrantedEvent{QuoteID: q.id, Version: v.Version, ApprovalID: approvalID, Note: note, DecidedAt: utc(now)}}, nil
}

// Reject refuses the current version's pending discount approval; a
// revision may ask again. Errors as Approve; Invalid reason.
func (q *Quote) Reject(approvalID, reason string, now time.Time) ([]Event, error) {
	v, err := q.pendingApproval(approvalID)
	if err != nil {
		return nil, err
	}
	if err := requiredLong("reason", reason); err != nil {
		return nil, err
	}
	return []Event{QuoteApprovalRejectedEvent{QuoteID: q.id, Version: v.Version, ApprovalID: approvalID, Reason: reason, DecidedAt: utc(now)}}, nil
}

// Send sends the current version. A version already sent changes
// nothing. Errors: NotFound; Refused quote_accepted, quote_expired,
// quote_approval_pending or quote_approval_rejected (naming the approval).
func (q *Quote) Send(now time.Time) ([]Event, error) {
	if !q.exists {
		return nil, q.notFound()
	}
	v := q.current()
	switch {
	case q.accepted != 0:
		return nil, refused("quote_accepted", "quote %s was accepted (version %d)", q.id, q.accepted)
	case v.Status == QuoteSent:
		return nil, nil
	case v.ValidUntil < utc(now).Format(time.DateOnly):
		return nil, refused("quote_expired", "quote %s version %d was valid until %s", q.id, v.Version, v.ValidUntil)
	}
	if a := v.Approval; a != nil && a.Status != ApprovalApproved {
		code := "quote_approval_pending"
		msg := "quote %s version %d has a discount of %s%% that needs a manager's approval (%s) before it can be sent"
		if a.Status == ApprovalRejected {
			code, msg = "quote_approval_rejected", "quote %s version %d has a discount of %s%% whose approval %s was rejected; revise the quote"
		}
		err := refused(code, msg, q.id, v.Version, v.MaxDiscountPercent, a.ID)
		err.ConflictID = a.ID
		return nil, err
	}
	return []Event{QuoteSentEvent{QuoteID: q.id, Version: v.Version, SentAt: utc(now)}}, nil
}

// Accept records the customer's acceptance of the current, sent version.
// Errors: NotFound; Refused quote_accepted, quote_not_sent, quote_expired.
func (q *Quote) Accept(now time.Time) ([]Event, error) {
	if !q.exists {
		return nil, q.notFound()
	}
	v := q.current()
	switch {
	case q.accepted != 0:
		return nil, refused("quote_accepted", "quote %s was accepted already (version %d)", q.id, q.accepted)
	case v.Status != QuoteSent:
		return nil, refused("quote_not_sent", "quote %s version %d has not been sent", q.id, v.Version)
	case v.ValidUntil < utc(now).Format(time.DateOnly):
		return nil, refused("quote_expired", "quote %s version %d was valid until %s", q.id, v.Version, v.ValidUntil)
	}
	return []Event{QuoteAcceptedEvent{QuoteID: q.id, OpportunityID: q.opportunityID, Version: v.Version, Total: v.Total,
		Currency: v.Currency, AcceptedAt: utc(now)}}, nil
}

// Accepted returns the accepted version, if any.
func (q *Quote) Accepted() (QuoteContent, bool) {
	if v := q.version(q.accepted); v != nil {
		return v.QuoteContent, true
	}
	return QuoteContent{}, false
}

// QuoteView is a quote with every version, oldest first.
type QuoteView struct {
	ID              string         `json:"id"`
	OpportunityID   string         `json:"opportunity_id"`
	CurrentVersion  int            `json:"current_version"`
	AcceptedVersion *int           `json:"accepted_version"`
	Versions        []QuoteVersion `json:"versions"`
}

// View returns the quote's state.
func (q *Quote) View() QuoteView {
	vs := make([]QuoteVersion, len(q.versions))
	for i, v := range q.versions {
		if v.Approval != nil {
			a := *v.Approval
			v.Approval = &a
		}
		vs[i] = v
	}
	var acc *int
	if q.accepted != 0 {
		n := q.accepted
		acc = &n
	}
	return QuoteView{ID: q.id, OpportunityID: q.opportunityID, CurrentVersion: len(q.versions), AcceptedVersion: acc, Versions: vs}
}

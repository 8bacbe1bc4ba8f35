package aggregates

import (
	"math/big"
	"time"
)

// Collection defaults: an unpaid installment is reminded to the deal's
// owner this many days after its due date, and escalated to the owner's
// manager this many days after the reminder.
const (
	DefaultReminderDays   = 3
	DefaultEscalationDays = 7
)

// Installment is one due payment of an order's plan.
type Installment struct {
	Number  int    `json:"number"`
	DueDate string `json:"due_date"`
	Amount  string `json:"amount"`
}

// Allocation is the part of a payment that settles one installment.
type Allocation struct {
	Installment int    `json:"installment"`
	Amount      string `json:"amount"`
}

// OrderCreatedEvent records the order a won deal's accepted quote became,
// with its lines and its payment plan.
type OrderCreatedEvent struct {
	OrderID       string        `json:"order_id"`
	OpportunityID string        `json:"opportunity_id"`
	AccountID     string        `json:"account_id"`
	OwnerID       string        `json:"owner_id"`
	QuoteID       string        `json:"quote_id"`
	QuoteVersion  int           `json:"quote_version"`
	Currency      string        `json:"currency"`
	Lines         []QuoteLine   `json:"lines"`
	Total         string        `json:"total"`
	PlanKind      string        `json:"plan_kind"`
	Installments  []Installment `json:"installments"`
	CreatedAt     time.Time     `json:"created_at"`
}

// OrderPaymentRecordedEvent records a payment received and the
// installments it settles, oldest first.
type OrderPaymentRecordedEvent struct {
	OrderID     string       `json:"order_id"`
	PaymentID   string       `json:"payment_id"`
	Amount      string       `json:"amount"`
	Currency    string       `json:"currency"`
	PaidOn      string       `json:"paid_on"`
	Reference   string       `json:"reference,omitempty"`
	Allocations []Allocation `json:"allocations"`
	RecordedAt  time.Time    `json:"recorded_at"`
}

// OrderCancelledEvent records that an order was cancelled; it takes no
// more payments and is no longer collected.
type OrderCancelledEvent struct {
	OrderID     string    `json:"order_id"`
	Reason      string    `json:"reason"`
	Outstanding string    `json:"outstanding"`
	CancelledAt time.Time `json:"cancelled_at"`
}

// OrderCollectionRemindedEvent records a reminder to the deal's owner that
// an installment is overdue.
type OrderCollectionRemindedEvent struct {
	OrderID       string    `json:"order_id"`
	OpportunityID string    `json:"opportunity_id"`
	Installment   int       `json:"installment"`
	DueDate       string    `json:"due_date"`
	Outstanding   string    `json:"outstanding"`
	Currency      string    `json:"currency"`
	DaysOverdue   int       `json:"days_overdue"`
	OwnerID       string    `json:"owner_id"`
	RemindedAt    time.Time `json:"reminded_at"`
}

// OrderCollectionEscalatedEvent records that an overdue installment was
// escalated to the owner's manager (ManagerID empty when none is known).
type OrderCollectionEscalatedEvent struct {
	OrderID       string    `json:"order_id"`
	OpportunityID string    `json:"opportunity_id"`
	Installment   int       `json:"installment"`
	DueDate       string    `json:"due_date"`
	Outstanding   string    `json:"outstanding"`
	Currency      string    `json:"currency"`
	DaysOverdue   int       `json:"days_overdue"`
	OwnerID       string    `json:"owner_id"`
	ManagerID     string    `json:"manager_id"`
	EscalatedAt   time.Time `json:"escalated_at"`
}

// TypeName implements Event.
func (OrderCreatedEvent) TypeName() string { return "order.created" }

// TypeName implements Event.
func (OrderPaymentRecordedEvent) TypeName() string { return "order.payment_recorded" }

// TypeName implements Event.
func (OrderCancelledEvent) TypeName() string { return "order.cancelled" }

// TypeName implements Event.
func (OrderCollectionRemindedEvent) TypeName() string { return "order.collection_reminded" }

// TypeName implements Event.
func (OrderCollectionEscalatedEvent) TypeName() string { return "order.collection_escalated" }

// SchemaVersion implements Event.
func (OrderCreatedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (OrderPaymentRecordedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (OrderCancelledEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (OrderCollectionRemindedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (OrderCollectionEscalatedEvent) SchemaVersion() int { return 1 }

// OrderEvents lists a sample of every order event type.
func OrderEvents() []Event {
	return []Event{OrderCreatedEvent{}, OrderPaymentRecordedEvent{}, OrderCancelledEvent{}, OrderCollectionRemindedEvent{}, OrderCollectionEscalatedEvent{}}
}

// Schedule computes a plan's installments for total (in currency) for a
// deal won on wonOn (YYYY-MM-DD). Equal installments are total / count
// truncated to the minor unit, the remainder on the last one; due dates
// step by IntervalMonths, clamped to the month's last day (Jan 31 + 1
// month is Feb 28 or 29).
func Schedule(p PaymentPlan, total, currency, wonOn string) []Installment {
	first := p.FirstDueDate
	if first == "" {
		days := p.NetDays
		if days == 0 {
			days = 30
		}
		w, _ := time.Parse(time.DateOnly, wonOn)
		first = w.AddDate(0, 0, days).Format(time.DateOnly)
	}
	switch p.Kind {
	case PlanCustom:
		out := make([]Installment, len(p.Installments))
		for i, in := range p.Installments {
			out[i] = Installment{Number: i + 1, DueDate: in.DueDate, Amount: in.Amount}
		}
		return out
	case PlanInstallments:
		units := moneyUnits(total, currency)
		each := new(big.Int).Quo(units, big.NewInt(int64(p.Count)))
		last := new(big.Int).Sub(units, new(big.Int).Mul(each, big.NewInt(int64(p.Count-1))))
		start, _ := time.Parse(time.DateOnly, first)
		out := make([]Installment, p.Count)
		for i := range out {
			a := each
			if i == p.Count-1 {
				a = last
			}
			out[i] = Installment{Number: i + 1, DueDate: addMonths(start, i*p.IntervalMonths).Format(time.DateOnly), Amount: formatMoney(a, currency)}
		}
		return out
	}
	return []Installment{{Number: 1, DueDate: first, Amount: total}}
}

// addMonths adds n months to t, clamping the day to the target month's
// last day.
func addMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	firstOf := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	last := firstOf.AddDate(0, 1, -1).Day()
	return time.Date(firstOf.Year(), firstOf.Month(), min(d, last), 0, 0, 0, 0, time.UTC)
}

// installmentState is an installment with what has been paid on it and
// the collection steps taken.
type installmentState struct {
	Installment
	paid      *big.Int
	reminded  bool
	escalated bool
}

// Order is what a won deal's customer bought, and its collection.
type Order struct {
	id           string
	exists       bool
	created      OrderCreatedEvent
	installments []installmentState
	cancelled    bool
	cancelReason string
	payments     []OrderPaymentRecordedEvent
}

// NewOrder returns an empty order with the given id.
func NewOrder(id string) *Order { return &Order{id: id} }

// Exists reports whether the order was created.
func (o *Order) Exists() bool { return o.exists }

// Apply folds one event into the order.
func (o *Order) Apply(e Event) {
	switch e := e.(type) {
	case OrderCreatedEvent:
		o.exists, o.created = true, e
		o.installments = make([]installmentState, len(e.Installments))
		for i, in := range e.Installments {
			o.installments[i] = installmentState{Installment: in, paid: new(big.Int)}
		}
	case OrderPaymentRecordedEvent:
		o.payments = append(o.payments, e)
		for _, a := range e.Allocations {
			if in := o.installment(a.Installment); in != nil {
				in.paid.Add(in.paid, moneyUnits(a.Amount, o.created.Currency))
			}
		}
	case OrderCancelledEvent:
		o.cancelled, o.cancelReason = true, e.Reason
	case OrderCollectionRemindedEvent:
		if in := o.installment(e.Installment); in != nil {
			in.reminded = true
		}
	case OrderCollectionEscalatedEvent:
		if in := o.installment(e.Installment); in != nil {
			in.escalated = true
		}
	}
}

func (o *Order) installment(n int) *installmentState {
	if n < 1 || n > len(o.installments) {
		return nil
	}
	return &o.installments[n-1]
}

func (o *Order) notFound() error {
	return &Error{Kind: NotFound, Code: "not_found", Message: "order " + o.id + " not found"}
}

// outstanding is what is still owed, in minor units.
func (o *Order) outstanding() *big.Int {
	sum := new(big.Int)
	for _, in := range o.installments {
		sum.Add(sum, in.remaining(o.created.Currency))
	}
	return sum
}

func (in installmentState) remaining(currency string) *big.Int {
	return new(big.Int).Sub(moneyUnits(in.Amount, currency), in.paid)
}

// NewOrderInput is what an order is created from.
type NewOrderInput struct {
	OpportunityID, AccountID, OwnerID string
	QuoteID                           string
	Quote                             QuoteContent
	// WonOn is the day the deal was won (YYYY-MM-DD), from which a plan
	// without a first due date counts its net days.
	WonOn string
}

// Create creates the order from an accepted quote version. An order that
// exists already changes nothing (a won deal has exactly one order).
func (o *Order) Create(c NewOrderInput, now time.Time) ([]Event, error) {
	if o.exists {
		return nil, nil
	}
	q := c.Quote
	return []Event{OrderCreatedEvent{OrderID: o.id, OpportunityID: c.OpportunityID, AccountID: c.AccountID, OwnerID: c.OwnerID,
		QuoteID: c.QuoteID, QuoteVersion: q.Version, Currency: q.Currency, Lines: q.Lines, Total: q.Total, PlanKind: q.PaymentPlan.Kind,
		Installments: Schedule(q.PaymentPlan, q.Total, q.Currency, c.WonOn), CreatedAt: utc(now)}}, nil
}

// RecordPayment records a payment of amount in currency paid on paidOn,
// settling installments oldest first. Errors: NotFound; Refused
// order_cancelled, order_paid, overpayment; Invalid amount (zero, or more
// decimals than the currency has), currency (not the order's), paid_on or
// reference.
func (o *Order) RecordPayment(paymentID, amount, currency, paidOn, reference string, now time.Time) ([]Event, error) {
	if !o.exists {
		return nil, o.notFound()
	}
	a, c, err := ValidateMoney("amount", "currency", amount, currency)
	if err != nil {
		return nil, err
	}
	if c != o.created.Currency {
		return nil, invalid("currency", "must be the order's currency %s", o.created.Currency)
	}
	if dec(a).Sign() <= 0 {
		return nil, invalid("amount", "must be more than zero")
	}
	if hasMoreDecimals(a, c) {
		return nil, invalid("amount", "has more decimals than %s allows (%d)", c, MinorUnits(c))
	}
	day, err := ValidateDate("paid_on", paidOn)
	if err != nil {
		return nil, err
	}
	if err := optional("reference", reference, maxShortText); err != nil {
		return nil, err
	}
	units := moneyUnits(a, c)
	owed := o.outstanding()
	switch {
	case o.cancelled:
		return nil, refused("order_cancelled", "order %s is cancelled; it takes no payments", o.id)
	case owed.Sign() == 0:
		return nil, refused("order_paid", "order %s is paid in full", o.id)
	case units.Cmp(owed) > 0:
		return nil, refused("overpayment", "payment %s %s is more than the %s %s still owed on order %s", formatMoney(units, c), c, formatMoney(owed, c), c, o.id)
	}
	var allocs []Allocation
	left := new(big.Int).Set(units)
	for _, in := range o.installments {
		if left.Sign() == 0 {
			break
		}
		rem := in.remaining(c)
		if rem.Sign() <= 0 {
			continue
		}
		take := rem
		if left.Cmp(rem) < 0 {
			take = new(big.Int).Set(left)
		}
		left.Sub(left, take)
		allocs = append(allocs, Allocation{Installment: in.Number, Amount: formatMoney(take, c)})
	}
	return []Event{OrderPaymentRecordedEvent{OrderID: o.id, PaymentID: paymentID, Amount: formatMoney(units, c), Currency: c, PaidOn: day,
		Reference: reference, Allocations: allocs, RecordedAt: utc(now)}}, nil
}

// Cancel cancels the order. Errors: NotFound; Refused order_cancelled;
// Invalid reason.
func (o *Order) Cancel(reason string, now time.Time) ([]Event, error) {
	if !o.exists {
		return nil, o.notFound()
	}
	if err := required("reason", reason); err != nil {
		return nil, err
	}
	if o.cancelled {
		return nil, refused("order_cancelled", "order %s is cancelled already", o.id)
	}
	return []Event{OrderCancelledEvent{OrderID: o.id, Reason: reason, Outstanding: formatMoney(o.outstanding(), o.created.Currency), CancelledAt: utc(now)}}, nil
}

// daysOverdue is how many days after its due date today is.
func daysOverdue(due string, now time.Time) int {
	d, err := time.Parse(time.DateOnly, due)
	if err != nil {
		return 0
	}
	today, _ := time.Parse(time.DateOnly, utc(now).Format(time.DateOnly))
	return int(today.Sub(d) / (24 * time.Hour))
}

// overdue returns installment n when it is still owed, the order is not
// cancelled and it is at least minDays overdue.
func (o *Order) overdue(n, minDays int, now time.Time) (*installmentState, int, error) {
	if !o.exists {
		return nil, 0, o.notFound()
	}
	in := o.installment(n)
	if in == nil {
		return nil, 0, invalid("installment", "order %s has no installment %d", o.id, n)
	}
	days := daysOverdue(in.DueDate, now)
	if o.cancelled || in.remaining(o.created.Currency).Sign() <= 0 || days < minDays {
		return nil, 0, nil
	}
	return in, days, nil
}

// RemindCollection reminds the owner of installment n when it is unpaid
// and at least minDays overdue; once per installment. Otherwise it
// changes nothing. Errors: NotFound; Invalid installment.
func (o *Order) RemindCollection(n, minDays int, now time.Time) ([]Event, error) {
	in, days, err := o.overdue(n, minDays, now)
	if err != nil || in == nil || in.reminded {
		return nil, err
	}
	return []Event{OrderCollectionRemindedEvent{OrderID: o.id, OpportunityID: o.created.OpportunityID, Installment: n, DueDate: in.DueDate,
		Outstanding: formatMoney(in.remaining(o.created.Currency), o.created.Currency), Currency: o.created.Currency, DaysOverdue: days,
		OwnerID: o.created.OwnerID, RemindedAt: utc(now)}}, nil
}

// EscalateCollection escalates installment n to managerID when it is
// unpaid and at least minDays overdue; once per installment. Errors as
// RemindCollection.
func (o *Order) EscalateCollection(n, minDays int, managerID string, now time.Time) ([]Event, error) {
	in, days, err := o.overdue(n, minDays, now)
	if err != nil || in == nil || in.escalated {
		return nil, err
	}
	return []Event{OrderCollectionEscalatedEvent{OrderID: o.id, OpportunityID: o.created.OpportunityID, Installment: n, DueDate: in.DueDate,
		Outstanding: formatMoney(in.remaining(o.created.Currency), o.created.Currency), Currency: o.created.Currency, DaysOverdue: days,
		OwnerID: o.created.OwnerID, ManagerID: managerID, EscalatedAt: utc(now)}}, nil
}

// Installments returns the plan's installments.
func (o *Order) Installments() []Installment {
	out := make([]Installment, len(o.installments))
	for i, in := range o.installments {
		out[i] = in.Installment
	}
	return out
}

// OwnerID is the owner of the deal the order came from.
func (o *Order) OwnerID() string { return o.created.OwnerID }

// InstallmentView is an installment with what is paid and owed.
type InstallmentView struct {
	Installment
	Paid        string `json:"paid"`
	Outstanding string `json:"outstanding"`
	Status      string `json:"status"`
	Reminded    bool   `json:"reminded"`
	Escalated   bool   `json:"escalated"`
}

// PaymentView is a recorded payment.
type PaymentView struct {
	ID          string       `json:"id"`
	Amount      string       `json:"amount"`
	PaidOn      string       `json:"paid_on"`
	Reference   string       `json:"reference"`
	Allocations []Allocation `json:"allocations"`
	RecordedAt  time.Time    `json:"recorded_at"`
}

// OrderView is an order as the API shows it.
type OrderView struct {
	ID            string            `json:"id"`
	OpportunityID string            `json:"opportunity_id"`
	AccountID     string            `json:"account_id"`
	OwnerID       string            `json:"owner_id"`
	QuoteID       string            `json:"quote_id"`
	QuoteVersion  int               `json:"quote_version"`
	Status        string            `json:"status"`
	Currency      string            `json:"currency"`
	Lines         []QuoteLine       `json:"lines"`
	Total         string            `json:"total"`
	Paid          string            `json:"paid"`
	Outstanding   string            `json:"outstanding"`
	PlanKind      string            `json:"plan_kind"`
	Installments  []InstallmentView `json:"installments"`
	Payments      []PaymentView     `json:"payments"`
	CancelReason  string            `json:"cancel_reason,omitempty"`
	CreatedAt     time.Time         `json:"created_at"`
}

// Order statuses.
const (
	OrderOpen      = "open"
	OrderPaid      = "paid"
	OrderCancelled = "cancelled"
)

// View returns the order's state.
func (o *Order) View() OrderView {
	c := o.created.Currency
	v := OrderView{ID: o.id, OpportunityID: o.created.OpportunityID, AccountID: o.created.AccountID, OwnerID: o.created.OwnerID,
		QuoteID: o.created.QuoteID, QuoteVersion: o.created.QuoteVersion, Currency: c, Lines: o.created.Lines, Total: o.created.Total,
		PlanKind: o.created.PlanKind, Installments: make([]InstallmentView, len(o.installments)), Payments: make([]PaymentView, len(o.payments)),
		CancelReason: o.cancelReason, CreatedAt: o.created.CreatedAt}
	if v.Lines == nil {
		v.Lines = []QuoteLine{}
	}
	paid := new(big.Int)
	for i, in := range o.installments {
		paid.Add(paid, in.paid)
		status := "due"
		if in.remaining(c).Sign() == 0 {
			status = "paid"
		} else if in.paid.Sign() > 0 {
			status = "partly_paid"
		}
		v.Installments[i] = InstallmentView{Installment: in.Installment, Paid: formatMoney(in.paid, c), Outstanding: formatMoney(in.remaining(c), c),
			Status: status, Reminded: in.reminded, Escalated: in.escalated}
	}
	for i, p := range o.payments {
		v.Payments[i] = PaymentView{ID: p.PaymentID, Amount: p.Amount, PaidOn: p.PaidOn, Reference: p.Reference, Allocations: p.Allocations, RecordedAt: p.RecordedAt}
	}
	v.Paid, v.Outstanding = formatMoney(paid, c), formatMoney(o.outstanding(), c)
	switch {
	case o.cancelled:
		v.Status = OrderCancelled
	case o.outstanding().Sign() == 0:
		v.Status = OrderPaid
	default:
		v.Status = OrderOpen
	}
	return v
}

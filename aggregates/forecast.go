package aggregates

import (
	"regexp"
	"time"
)

// periodPattern is a sales period: a month (2027-03) or a quarter
// (2027-Q1).
var periodPattern = regexp.MustCompile(`^(20[0-9]{2})-(0[1-9]|1[0-2]|Q[1-4])$`)

// ValidatePeriod validates a sales period, a month "2027-03" or a quarter
// "2027-Q1", and returns its first day and the first day after it. A bad
// period is an Invalid *Error naming field.
func ValidatePeriod(field, p string) (from, to time.Time, err error) {
	m := periodPattern.FindStringSubmatch(p)
	if m == nil {
		return from, to, invalid(field, "must be a month such as \"2027-03\" or a quarter such as \"2027-Q1\"")
	}
	year := int(m[1][0]-'0')*1000 + int(m[1][1]-'0')*100 + int(m[1][2]-'0')*10 + int(m[1][3]-'0')
	if m[2][0] == 'Q' {
		q := int(m[2][1] - '0')
		from = time.Date(year, time.Month(3*q-2), 1, 0, 0, 0, 0, time.UTC)
		return from, from.AddDate(0, 3, 0), nil
	}
	month := int(m[2][0]-'0')*10 + int(m[2][1]-'0')
	from = time.Date(year, time.Month(month), 1, 0, 0, 0, 0, time.UTC)
	return from, from.AddDate(0, 1, 0), nil
}

// SalesTargetSetEvent records an owner's sales target for a period; the
// target it replaces, if any, is in FromAmount and FromCurrency.
type SalesTargetSetEvent struct {
	OwnerID      string    `json:"owner_id"`
	Period       string    `json:"period"`
	Amount       string    `json:"amount"`
	Currency     string    `json:"currency"`
	FromAmount   string    `json:"from_amount,omitempty"`
	FromCurrency string    `json:"from_currency,omitempty"`
	SetAt        time.Time `json:"set_at"`
}

// ForecastAdjustedEvent records a manager's adjustment of an owner's
// forecast for a period: the amount the manager expects to close, and
// why.
type ForecastAdjustedEvent struct {
	OwnerID    string    `json:"owner_id"`
	Period     string    `json:"period"`
	Amount     string    `json:"amount"`
	Currency   string    `json:"currency"`
	FromAmount string    `json:"from_amount,omitempty"`
	Reason     string    `json:"reason"`
	AdjustedAt time.Time `json:"adjusted_at"`
}

// TypeName implements Event.
func (SalesTargetSetEvent) TypeName() string { return "sales_target.set" }

// TypeName implements Event.
func (ForecastAdjustedEvent) TypeName() string { return "forecast.adjusted" }

// SchemaVersion implements Event.
func (SalesTargetSetEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (ForecastAdjustedEvent) SchemaVersion() int { return 1 }

// ForecastEvents lists a sample of every target and forecast event type.
func ForecastEvents() []Event { return []Event{SalesTargetSetEvent{}, ForecastAdjustedEvent{}} }

// Forecast is one owner's target and forecast adjustments for one period.
type Forecast struct {
	id                         string
	exists                     bool
	owner, period              string
	target, currency, adjusted string
}

// NewForecast returns an empty forecast with the given id.
func NewForecast(id string) *Forecast { return &Forecast{id: id} }

// Exists reports whether a target or an adjustment was recorded.
func (f *Forecast) Exists() bool { return f.exists }

// Apply folds one event into the forecast.
func (f *Forecast) Apply(e Event) {
	switch e := e.(type) {
	case SalesTargetSetEvent:
		f.exists, f.owner, f.period, f.target, f.currency = true, e.OwnerID, e.Period, e.Amount, e.Currency
	case ForecastAdjustedEvent:
		f.exists, f.owner, f.period, f.adjusted = true, e.OwnerID, e.Period, e.Amount
		if f.currency == "" {
			f.currency = e.Currency
		}
	}
}

func validOwnerPeriod(owner, period string) error {
	if err := required("owner_id", owner); err != nil {
		return err
	}
	_, _, err := ValidatePeriod("period", period)
	return err
}

// SetTarget sets the owner's target for the period; the same target
// changes nothing. Errors: Invalid owner_id, period, amount, currency.
func (f *Forecast) SetTarget(owner, period, amount, currency string, now time.Time) ([]Event, error) {
	if err := validOwnerPeriod(owner, period); err != nil {
		return nil, err
	}
	a, c, err := ValidateMoney("amount", "currency", amount, currency)
	if err != nil {
		return nil, err
	}
	if c == f.currency && f.target != "" && sameAmount(a, f.target) {
		return nil, nil
	}
	return []Event{SalesTargetSetEvent{OwnerID: owner, Period: period, Amount: a, Currency: c, FromAmount: f.target,
		FromCurrency: fromCurrency(f.target, f.currency), SetAt: utc(now)}}, nil
}

func fromCurrency(amount, currency string) string {
	if amount == "" {
		return ""
	}
	return currency
}

// Adjust records a manager's forecast for the owner and period with a
// reason. When a target is set, the adjustment is in its currency.
// Errors: Invalid owner_id, period, amount, currency, reason.
func (f *Forecast) Adjust(owner, period, amount, currency, reason string, now time.Time) ([]Event, error) {
	if err := validOwnerPeriod(owner, period); err != nil {
		return nil, err
	}
	a, c, err := ValidateMoney("amount", "currency", amount, currency)
	if err != nil {
		return nil, err
	}
	if f.target != "" && c != f.currency {
		return nil, invalid("currency", "must be the target's currency %s", f.currency)
	}
	if err := requiredLong("reason", reason); err != nil {
		return nil, err
	}
	return []Event{ForecastAdjustedEvent{OwnerID: owner, Period: period, Amount: a, Currency: c, FromAmount: f.adjusted, Reason: reason, AdjustedAt: utc(now)}}, nil
}

package aggregates

import (
	"math/big"
	"reflect"
	"testing"
)

func TestRoundHalfEvenToMinorUnit(t *testing.T) {
	for _, c := range []struct{ in, currency, want string }{
		{"28.3305", "EUR", "28.33"},
		{"0.125", "EUR", "0.12"}, // half to even: down
		{"0.135", "EUR", "0.14"}, // half to even: up
		{"0.1351", "EUR", "0.14"},
		{"2.5", "JPY", "2"},
		{"3.5", "JPY", "4"},
		{"1.0005", "BHD", "1.000"},
		{"1.0015", "BHD", "1.002"},
		{"100", "EUR", "100.00"},
	} {
		if got := roundMoney(dec(c.in), c.currency); got != c.want {
			t.Errorf("round %s %s = %s, want %s", c.in, c.currency, got, c.want)
		}
	}
}

func TestScheduleSumsExactly(t *testing.T) {
	for _, c := range []struct {
		plan       PaymentPlan
		total, cur string
		want       []Installment
	}{
		{PaymentPlan{Kind: PlanInstallments, Count: 3, IntervalMonths: 1, FirstDueDate: "2027-01-31"}, "8500.00", "EUR", []Installment{
			{1, "2027-01-31", "2833.33"}, {2, "2027-02-28", "2833.33"}, {3, "2027-03-31", "2833.34"}}},
		{PaymentPlan{Kind: PlanInstallments, Count: 4, IntervalMonths: 3, FirstDueDate: "2028-02-29"}, "100", "JPY", []Installment{
			{1, "2028-02-29", "25"}, {2, "2028-05-29", "25"}, {3, "2028-08-29", "25"}, {4, "2028-11-29", "25"}}},
		{PaymentPlan{Kind: PlanInstallments, Count: 3, IntervalMonths: 1, FirstDueDate: "2027-01-15"}, "0.05", "EUR", []Installment{
			{1, "2027-01-15", "0.01"}, {2, "2027-02-15", "0.01"}, {3, "2027-03-15", "0.03"}}},
		{PaymentPlan{Kind: PlanSingle}, "10.00", "EUR", []Installment{{1, "2027-02-14", "10.00"}}},
		{PaymentPlan{Kind: PlanSingle, NetDays: 10}, "10.00", "EUR", []Installment{{1, "2027-01-25", "10.00"}}},
	} {
		got := Schedule(c.plan, c.total, c.cur, "2027-01-15")
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%+v: got %v, want %v", c.plan, got, c.want)
		}
		sum := new(big.Int)
		for _, in := range got {
			sum.Add(sum, moneyUnits(in.Amount, c.cur))
		}
		if sum.Cmp(moneyUnits(c.total, c.cur)) != 0 {
			t.Errorf("%+v: installments sum to %s, not %s", c.plan, formatMoney(sum, c.cur), c.total)
		}
	}
}

// quoteDraft is a draft of one line at unit price 1000.00 EUR.
func quoteDraft(discount string) QuoteDraft {
	return QuoteDraft{PriceBookID: "pb", Currency: "EUR", ValidUntil: "2026-04-30",
		Lines: []QuoteLineInput{{ProductID: "p1", SKU: "LIC-1", Name: "Licence", Quantity: "3", UnitPrice: "1000.00", DiscountPercent: discount}}}
}

func draftedQuote(discount string) QuoteDraftedEvent {
	c, err := price(quoteDraft(discount), 1, "2026-03-02")
	if err != nil {
		panic(err)
	}
	return QuoteDraftedEvent{QuoteID: "q1", OpportunityID: "o1", QuoteContent: c, DraftedAt: t0}
}

func TestQuote(t *testing.T) {
	drafted := draftedQuote("25")
	askApproval := QuoteApprovalRequestedEvent{QuoteID: "q1", Version: 1, ApprovalID: "a1", Reason: "discount 25% is above the approval threshold 20%",
		DiscountPercent: "25", ThresholdPercent: "20", RequestedAt: t0}
	approved := QuoteApprovalGrantedEvent{QuoteID: "q1", Version: 1, ApprovalID: "a1", DecidedAt: t0}
	rejected := QuoteApprovalRejectedEvent{QuoteID: "q1", Version: 1, ApprovalID: "a1", Reason: "too much", DecidedAt: t0}
	sent := QuoteSentEvent{QuoteID: "q1", Version: 1, SentAt: t0}
	accepted := QuoteAcceptedEvent{QuoteID: "q1", OpportunityID: "o1", Version: 1, Total: "2250.00", Currency: "EUR", AcceptedAt: t0}
	if drafted.Total != "2250.00" || drafted.Subtotal != "3000.00" || drafted.DiscountTotal != "750.00" || drafted.Lines[0].LineTotal != "2250.00" {
		t.Fatalf("priced %+v", drafted.QuoteContent)
	}
	for _, c := range []struct {
		name  string
		given []Event
		when  func(q *Quote) ([]Event, error)
		then  outcome
	}{
		{"a discount above the threshold asks for approval", nil,
			func(q *Quote) ([]Event, error) { return q.Draft("o1", quoteDraft("25"), "20", "a1", t0) }, expectEvents(drafted, askApproval)},
		{"a discount at the threshold does not", nil,
			func(q *Quote) ([]Event, error) { return q.Draft("o1", quoteDraft("20"), "20", "a1", t0) }, expectEvents(draftedQuote("20"))},
		{"a quantity must be positive", nil, func(q *Quote) ([]Event, error) {
			d := quoteDraft("0")
			d.Lines[0].Quantity = "0"
			return q.Draft("o1", d, "20", "a1", t0)
		}, expectInvalid("lines[0].quantity")},
		{"a total beyond 15 digits is invalid", nil, func(q *Quote) ([]Event, error) {
			d := quoteDraft("0")
			d.Lines[0].Quantity, d.Lines[0].UnitPrice = "999999999", "999999999999999.99"
			return q.Draft("o1", d, "20", "a1", t0)
		}, expectInvalid("lines")},
		{"a discount above 100 is invalid", nil,
			func(q *Quote) ([]Event, error) { return q.Draft("o1", quoteDraft("100.5"), "20", "a1", t0) }, expectInvalid("lines[0].discount_percent")},
		{"a custom plan must sum to the total", nil, func(q *Quote) ([]Event, error) {
			d := quoteDraft("0")
			d.PaymentPlan = PaymentPlan{Kind: PlanCustom, Installments: []PlannedInstallment{{"2026-04-01", "1000.00"}, {"2026-05-01", "1999.99"}}}
			return q.Draft("o1", d, "20", "a1", t0)
		}, expectInvalid("payment_plan.installments")},
		{"sending waits for the approval", []Event{drafted, askApproval},
			func(q *Quote) ([]Event, error) { return q.Send(t0) }, expectRefused("quote_approval_pending")},
		{"a rejected discount cannot be sent", []Event{drafted, askApproval, rejected},
			func(q *Quote) ([]Event, error) { return q.Send(t0) }, expectRefused("quote_approval_rejected")},
		{"an approved discount is sent", []Event{drafted, askApproval, approved},
			func(q *Quote) ([]Event, error) { return q.Send(t0) }, expectEvents(sent)},
		{"sending twice changes nothing", []Event{drafted, askApproval, approved, sent},
			func(q *Quote) ([]Event, error) { return q.Send(t0) }, expectEvents()},
		{"an unsent quote cannot be accepted", []Event{drafted, askApproval, approved},
			func(q *Quote) ([]Event, error) { return q.Accept(t0) }, expectRefused("quote_not_sent")},
		{"a sent quote is accepted", []Event{drafted, askApproval, approved, sent},
			func(q *Quote) ([]Event, error) { return q.Accept(t0) }, expectEvents(accepted)},
		{"an expired quote is not accepted", []Event{drafted, askApproval, approved, sent},
			func(q *Quote) ([]Event, error) { return q.Accept(t0.AddDate(0, 2, 0)) }, expectRefused("quote_expired")},
		{"an accepted quote is not revised", []Event{drafted, askApproval, approved, sent, accepted},
			func(q *Quote) ([]Event, error) { return q.Revise(quoteDraft("0"), "20", "a2", t0) }, expectRefused("quote_accepted")},
		{"approving twice is refused", []Event{drafted, askApproval, approved},
			func(q *Quote) ([]Event, error) { return q.Approve("a1", "", t0) }, expectRefused("approval_not_pending")},
		{"a missing quote", nil, func(q *Quote) ([]Event, error) { return q.Send(t0) }, expectNotFound()},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.when(given(NewQuote("q1"), c.given...))
			check(t, got, err, c.then)
		})
	}
	// A revision is version 2; version 1 stays readable.
	q := given(NewQuote("q1"), drafted, askApproval, rejected)
	evs, err := q.Revise(quoteDraft("10"), "20", "a2", t0)
	if err != nil || len(evs) != 1 || evs[0].(QuoteRevisedEvent).Version != 2 {
		t.Fatalf("revise: %v %#v", err, evs)
	}
	q.Apply(evs[0])
	v := q.View()
	if len(v.Versions) != 2 || v.Versions[0].Status != QuoteSuperseded || v.Versions[0].Total != "2250.00" || v.Versions[1].Total != "2700.00" {
		t.Fatalf("versions: %+v", v.Versions)
	}
	if evs, err := q.Send(t0); err != nil || len(evs) != 1 {
		t.Fatalf("the revision without a large discount is sent: %v %v", evs, err)
	}
}

func TestOrderPayments(t *testing.T) {
	created := OrderCreatedEvent{OrderID: "x", OpportunityID: "o1", OwnerID: "u1", Currency: "EUR", Total: "100.00", PlanKind: PlanInstallments,
		Installments: []Installment{{1, "2026-03-01", "33.33"}, {2, "2026-04-01", "33.33"}, {3, "2026-05-01", "33.34"}}, CreatedAt: t0}
	paid := OrderPaymentRecordedEvent{OrderID: "x", PaymentID: "p1", Amount: "40.00", Currency: "EUR", PaidOn: "2026-03-02",
		Allocations: []Allocation{{1, "33.33"}, {2, "6.67"}}, RecordedAt: t0}
	cancelled := OrderCancelledEvent{OrderID: "x", Reason: "customer left", Outstanding: "60.00", CancelledAt: t0}
	for _, c := range []struct {
		name  string
		given []Event
		when  func(o *Order) ([]Event, error)
		then  outcome
	}{
		{"a payment settles installments oldest first", []Event{created},
			func(o *Order) ([]Event, error) { return o.RecordPayment("p1", "40", "EUR", "2026-03-02", "", t0) }, expectEvents(paid)},
		{"an overpayment is refused", []Event{created, paid},
			func(o *Order) ([]Event, error) { return o.RecordPayment("p2", "60.01", "EUR", "2026-03-02", "", t0) }, expectRefused("overpayment")},
		{"a payment on a cancelled order is refused", []Event{created, paid, cancelled},
			func(o *Order) ([]Event, error) { return o.RecordPayment("p2", "1.00", "EUR", "2026-03-02", "", t0) }, expectRefused("order_cancelled")},
		{"a payment in another currency is invalid", []Event{created},
			func(o *Order) ([]Event, error) { return o.RecordPayment("p2", "1.00", "USD", "2026-03-02", "", t0) }, expectInvalid("currency")},
		{"a payment below the minor unit is invalid", []Event{created},
			func(o *Order) ([]Event, error) { return o.RecordPayment("p2", "1.005", "EUR", "2026-03-02", "", t0) }, expectInvalid("amount")},
		{"a zero payment is invalid", []Event{created},
			func(o *Order) ([]Event, error) { return o.RecordPayment("p2", "0", "EUR", "2026-03-02", "", t0) }, expectInvalid("amount")},
		{"not overdue enough: no reminder", []Event{created},
			func(o *Order) ([]Event, error) { return o.RemindCollection(1, 3, t0) }, expectEvents()},
		{"overdue by 3 days: a reminder to the owner", []Event{created},
			func(o *Order) ([]Event, error) { return o.RemindCollection(1, 3, t0.AddDate(0, 0, 2)) }, expectEvents(OrderCollectionRemindedEvent{OrderID: "x", OpportunityID: "o1",
				Installment: 1, DueDate: "2026-03-01", Outstanding: "33.33", Currency: "EUR", DaysOverdue: 3, OwnerID: "u1", RemindedAt: t0.AddDate(0, 0, 2)})},
		{"a paid installment is not reminded", []Event{created, paid},
			func(o *Order) ([]Event, error) { return o.RemindCollection(1, 3, t0.AddDate(0, 0, 2)) }, expectEvents()},
		{"a cancelled order is not escalated", []Event{created, cancelled},
			func(o *Order) ([]Event, error) { return o.EscalateCollection(1, 10, "m1", t0.AddDate(0, 1, 0)) }, expectEvents()},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.when(given(NewOrder("x"), c.given...))
			check(t, got, err, c.then)
		})
	}
	v := given(NewOrder("x"), created, paid).View()
	if v.Paid != "40.00" || v.Outstanding != "60.00" || v.Installments[1].Status != "partly_paid" || v.Installments[1].Outstanding != "26.66" {
		t.Fatalf("view %+v", v)
	}
}

func TestForecastPeriods(t *testing.T) {
	for _, p := range []string{"2027-Q1", "2027-03", "2027-12"} {
		if _, _, err := ValidatePeriod("period", p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	for _, p := range []string{"2027-Q5", "2027-13", "2027", "27-Q1", "2027-q1"} {
		if _, _, err := ValidatePeriod("period", p); err == nil {
			t.Errorf("%s accepted", p)
		}
	}
	f := NewForecast("f")
	evs, err := f.Adjust("u1", "2027-Q1", "10.00", "EUR", "", t0)
	check(t, evs, err, expectInvalid("reason"))
}

func TestCatalog(t *testing.T) {
	created := ProductCreatedEvent{ProductID: "p1", SKU: "LIC-1", Name: "Licence", Unit: "each", Active: true, CreatedAt: t0}
	book := PriceBookCreatedEvent{PriceBookID: "b1", Name: "Standard", CreatedAt: t0}
	price := PriceBookPriceSetEvent{PriceBookID: "b1", ProductID: "p1", Currency: "EUR", Price: "10.00", SetAt: t0}
	for _, c := range []struct {
		name string
		got  func() ([]Event, error)
		then outcome
	}{
		{"a product", func() ([]Event, error) {
			return NewProduct("p1").Create(CreateProduct{SKU: "LIC-1", Name: "Licence"}, t0)
		}, expectEvents(created)},
		{"a SKU with spaces", func() ([]Event, error) {
			return NewProduct("p1").Create(CreateProduct{SKU: "LIC 1", Name: "Licence"}, t0)
		}, expectInvalid("sku")},
		{"a product twice", func() ([]Event, error) {
			return given(NewProduct("p1"), created).Create(CreateProduct{SKU: "X", Name: "X"}, t0)
		}, expectRefused("product_exists")},
		{"deactivating", func() ([]Event, error) { return given(NewProduct("p1"), created).SetActive(false) },
			expectEvents(ProductActivationChangedEvent{ProductID: "p1", From: true, Active: false})},
		{"a first price", func() ([]Event, error) { return given(NewPriceBook("b1"), book).SetPrice("p1", "10.00", "EUR", t0) }, expectEvents(price)},
		{"a new price names the old one", func() ([]Event, error) {
			return given(NewPriceBook("b1"), book, price).SetPrice("p1", "12.50", "EUR", t0)
		},
			expectEvents(PriceBookPriceSetEvent{PriceBookID: "b1", ProductID: "p1", Currency: "EUR", FromPrice: "10.00", Price: "12.50", SetAt: t0})},
		{"the same price changes nothing", func() ([]Event, error) {
			return given(NewPriceBook("b1"), book, price).SetPrice("p1", "10.0", "EUR", t0)
		}, expectEvents()},
		{"yen have no decimals", func() ([]Event, error) { return given(NewPriceBook("b1"), book).SetPrice("p1", "10.5", "JPY", t0) }, expectInvalid("price")},
		{"a missing price book", func() ([]Event, error) { return NewPriceBook("b1").SetPrice("p1", "10", "EUR", t0) }, expectNotFound()},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.got()
			check(t, got, err, c.then)
		})
	}
}

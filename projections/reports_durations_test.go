package projections

import (
	"context"
	"testing"
	"time"

	"crm/aggregates"
	"crm/readmodels"
)

// TestSubSecondDurationsKeepTheirFractions: a first response 250 ms after
// the ticket opened and another after 1.5 s average 0.875 s, not 0 or 1.
func TestSubSecondDurationsKeepTheirFractions(t *testing.T) {
	pool := newTestPool(t)
	seq := newEventSeq(t)
	t0 := time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)
	var events []Event
	for i, after := range []time.Duration{250 * time.Millisecond, 1500 * time.Millisecond} {
		id := []string{"tk-a", "tk-b"}[i]
		events = append(events,
			seq.ev(id, 1, t0, "support", aggregates.TicketOpenedEvent{TicketID: id, Subject: "s", Priority: "normal", Channel: "email",
				FirstResponseDue: t0.Add(time.Hour), ResolutionDue: t0.Add(24 * time.Hour), OpenedAt: t0}),
			seq.ev(id, 2, t0.Add(after), "support", aggregates.TicketRespondedEvent{TicketID: id, Body: "b", First: true, WithinSLA: true,
				RespondedAt: t0.Add(after)}))
	}
	project(t, pool, NewReports(), events...)
	project(t, pool, NewEngagement()) // the dashboard also reads its tables
	project(t, pool, NewCash())
	d, err := readmodels.New(pool).Dashboard(context.Background(), readmodels.DashboardFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Service.AverageFirstResponseSeconds; got == nil || *got != 0.875 {
		t.Fatalf("average first response %v, want 0.875 s", got)
	}
}

// TestDurationsDoNotDependOnBatching: a ticket opened and answered at
// times finer than a microsecond gets the same response time whether both
// events are folded in one batch or the opening is read back from its row.
func TestDurationsDoNotDependOnBatching(t *testing.T) {
	seq := newEventSeq(t)
	t0 := time.Date(2027, 1, 4, 9, 0, 0, 600, time.UTC) // 600 ns past the microsecond
	at := t0.Add(193161*time.Microsecond + 200*time.Nanosecond)
	events := []Event{
		seq.ev("tk-a", 1, t0, "support", aggregates.TicketOpenedEvent{TicketID: "tk-a", Subject: "s", Priority: "normal", Channel: "email",
			FirstResponseDue: t0.Add(time.Hour), ResolutionDue: t0.Add(24 * time.Hour), OpenedAt: t0}),
		seq.ev("tk-a", 2, at, "support", aggregates.TicketRespondedEvent{TicketID: "tk-a", Body: "b", First: true, WithinSLA: true, RespondedAt: at}),
	}
	read := func(batches ...[]Event) string {
		pool := newTestPool(t)
		for _, b := range batches {
			project(t, pool, NewReports(), b...)
		}
		var s string
		if err := pool.QueryRow(context.Background(), `SELECT first_response_secs::text FROM rm_reports.report_tickets`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	one, two := read(events), read(events[:1], events[1:])
	if one != two || one != "0.193161" {
		t.Fatalf("first response %s in one batch, %s in two; want 0.193161 both", one, two)
	}
}

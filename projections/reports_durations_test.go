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
	d, err := readmodels.New(pool).Dashboard(context.Background(), readmodels.DashboardFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Service.AverageFirstResponseSeconds; got == nil || *got != 0.875 {
		t.Fatalf("average first response %v, want 0.875 s", got)
	}
}

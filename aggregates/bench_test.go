package aggregates

import (
	"testing"
	"time"
)

// BenchmarkLeadFold measures folding a lead's history of 10,000 events
// (a capture and contact attempts) into its state, as a command does
// before deciding.
func BenchmarkLeadFold(b *testing.B) {
	const n = 10000
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	events := make([]Event, 0, n)
	events = append(events, LeadCapturedEvent{LeadID: "lead-1", Name: "Ada", Company: "Engines", Email: "ada@example.com",
		Source: "web", CapturedAt: at})
	for i := 1; i < n; i++ {
		events = append(events, LeadContactAttemptedEvent{LeadID: "lead-1", Channel: "call", Outcome: "no_answer",
			AttemptedAt: at.Add(time.Duration(i) * time.Minute), AttemptNumber: i})
	}
	b.ReportAllocs()
	for b.Loop() {
		l := NewLead("lead-1")
		for _, e := range events {
			l.Apply(e)
		}
		if l.Status() == "" {
			b.Fatal("no status")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
}

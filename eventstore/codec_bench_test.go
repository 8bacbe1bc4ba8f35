package eventstore_test

import (
	"testing"
	"time"

	"crm/aggregates"
	"crm/eventstore"
)

// BenchmarkCodecRoundTrip measures encoding a domain event to its stored
// form and decoding it back, as every append and every load does.
func BenchmarkCodecRoundTrip(b *testing.B) {
	codec, err := eventstore.DomainRegistry()
	if err != nil {
		b.Fatal(err)
	}
	e := aggregates.LeadCapturedEvent{LeadID: "0198a000-0000-7000-8000-000000000001", Name: "Ada Lovelace",
		Company: "Engines Ltd", Email: "ada@example.com", Source: "webinar", Campaign: "q1", Region: "EMEA",
		Industry: "manufacturing", CompanySize: "51-200", CapturedAt: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)}
	b.ReportAllocs()
	for b.Loop() {
		enc, err := codec.Encode(e)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := codec.Decode(enc.Type, enc.Data); err != nil {
			b.Fatal(err)
		}
	}
}

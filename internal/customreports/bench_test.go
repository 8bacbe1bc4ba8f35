package customreports_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"crm/eventstore"
	"crm/internal/customreports"
)

// BenchmarkReplay replays a log of CRM_BENCH_EVENTS lead captures (default
// 20,000) into a grouping report and reports events/s.
func BenchmarkReplay(b *testing.B) {
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("CRM_BENCH_EVENTS")); err == nil && v > 0 {
		n = v
	}
	e := newEnvWith(b, func(o *customreports.Options) { o.BatchSize = 1000 })
	ctx := context.Background()
	var batch []eventstore.StreamEvents
	for i := range n {
		d, _ := json.Marshal(map[string]any{"source": fmt.Sprintf("s%d", i%50), "lead_id": fmt.Sprintf("l%d", i)})
		batch = append(batch, eventstore.StreamEvents{StreamID: fmt.Sprintf("lead-b%d", i), Expected: eventstore.NoStream,
			Events: []eventstore.EventData{{Type: "lead.captured.v1", SchemaVersion: 1, Data: d, Metadata: eventstore.Metadata{Actor: "key:bench"}}}})
		if len(batch) == 1000 || i == n-1 {
			if _, err := e.store.Append(ctx, batch...); err != nil {
				b.Fatal(err)
			}
			batch = nil
		}
	}
	b.ResetTimer()
	for i := range b.N {
		d := bySource
		d.Name = fmt.Sprintf("bench_%d", i)
		start := time.Now()
		if _, err := e.svc.Create(ctx, d, "key:bench"); err != nil {
			b.Fatal(err)
		}
		for {
			st, err := e.svc.Get(ctx, d.Name)
			if err != nil {
				b.Fatal(err)
			}
			if st.State != "running" {
				b.Fatalf("%+v", st.Error)
			}
			if st.Progress.EventsSeen == int64(n) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "events/s")
		if err := e.svc.Drop(ctx, d.Name); err != nil {
			b.Fatal(err)
		}
	}
}

package api_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"crm/internal/bench"
)

// BenchmarkLongStreamCommand compares a command on a lead with 10,000
// events against the same command on a fresh lead, over HTTP, alternating
// the two; it reports both medians and their ratio.
//
//	go test -run '^$' -bench LongStreamCommand -benchtime 200x ./api
func BenchmarkLongStreamCommand(b *testing.B) {
	e := newEnv(b)
	long := e.must(201, e.do("sales", "POST", "/v1/leads", leadWith("email", "long@example.com"))).str("id")
	if err := bench.GrowStream(context.Background(), e.pool, long, bench.LongStreamEvents-1); err != nil {
		b.Fatal(err)
	}
	fresh := make([]string, b.N)
	for i := range fresh {
		fresh[i] = e.must(201, e.do("sales", "POST", "/v1/leads", leadWith("email", fmt.Sprintf("fresh%d@example.com", i)))).str("id")
	}
	attempt := func(id string) time.Duration {
		start := time.Now()
		e.must(200, e.do("sales", "POST", "/v1/leads/"+id+"/contact-attempts", `{"channel":"call","outcome":"reached"}`))
		return time.Since(start)
	}
	b.ResetTimer()
	var onLong, onFresh []time.Duration
	for i := 0; i < b.N; i++ {
		onFresh = append(onFresh, attempt(fresh[i]))
		onLong = append(onLong, attempt(long))
	}
	b.StopTimer()
	slices.Sort(onLong)
	slices.Sort(onFresh)
	ml, mf := onLong[len(onLong)/2], onFresh[len(onFresh)/2]
	b.ReportMetric(float64(mf.Microseconds())/1000, "fresh_ms")
	b.ReportMetric(float64(ml.Microseconds())/1000, "long_ms")
	b.ReportMetric(float64(ml)/float64(mf), "long_stream_ratio")
}

package api_test

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkPersonalDataCommand measures what encryption adds to a
// command, over HTTP: a contact attempt with a note (encrypted under the
// lead's person's key, plus the statement recording that key's use)
// against one without, alternating on the same leads, and the capture of
// a new person (a new key). It reports the medians.
//
//	go test -run '^$' -bench PersonalDataCommand -benchtime 300x ./api
func BenchmarkPersonalDataCommand(b *testing.B) {
	e := newEnv(b)
	ids := make([]string, b.N)
	captures := make([]time.Duration, b.N)
	for i := range ids {
		start := time.Now()
		ids[i] = e.must(201, e.do("sales", "POST", "/v1/leads", leadWith("email", fmt.Sprintf("bench%d@example.com", i),
			"phone", "+1 555 0100"))).str("id")
		captures[i] = time.Since(start)
	}
	attempt := func(id, body string) time.Duration {
		start := time.Now()
		e.must(200, e.do("sales", "POST", "/v1/leads/"+id+"/contact-attempts", body))
		return time.Since(start)
	}
	b.ResetTimer()
	var noted, plain []time.Duration
	for i := 0; i < b.N; i++ {
		plain = append(plain, attempt(ids[i], `{"channel":"call","outcome":"no_answer"}`))
		noted = append(noted, attempt(ids[i], `{"channel":"call","outcome":"reached","note":"asked for a callback on Friday"}`))
	}
	b.StopTimer()
	median := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2].Microseconds()) / 1000
	}
	b.ReportMetric(median(captures), "capture_ms")
	b.ReportMetric(median(plain), "plain_ms")
	b.ReportMetric(median(noted), "note_ms")
}

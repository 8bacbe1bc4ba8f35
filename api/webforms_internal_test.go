package api

import (
	"strconv"
	"testing"
	"time"
)

// TestWebFormLimiterPrunesRefilledBuckets: buckets of addresses that have
// refilled are dropped, so addresses seen once do not pile up; a bucket
// still draining is kept.
func TestWebFormLimiterPrunesRefilledBuckets(t *testing.T) {
	now := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	f := newWebForms(WebFormLimits{PerIP: RateLimit{PerSecond: 1, Burst: 2}}, func() time.Time { return now })
	for i := range 100 {
		f.perIP.take(strconv.Itoa(i))
	}
	now = now.Add(time.Second)
	f.perIP.take("busy")
	f.perIP.take("busy")
	now = now.Add(time.Second)
	f.perIP.prune()
	if n := len(f.perIP.buckets); n != 1 {
		t.Fatalf("%d buckets after pruning, want the busy one", n)
	}
	if ok, _ := f.perIP.take("busy"); !ok {
		t.Fatal("the kept bucket did not refill")
	}
}

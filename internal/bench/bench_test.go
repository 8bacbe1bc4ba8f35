package bench

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestPercentileNearestRank(t *testing.T) {
	s := Sample{}
	for i := 1; i <= 100; i++ {
		s.Latencies = append(s.Latencies, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{0, time.Millisecond}, {0.5, 50 * time.Millisecond}, {0.95, 95 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}} {
		if got := s.Percentile(tc.p); got != tc.want {
			t.Errorf("p%.2f = %v, want %v", tc.p, got, tc.want)
		}
	}
	if got := (Sample{}).Percentile(0.99); got != 0 {
		t.Errorf("empty sample p99 = %v, want 0", got)
	}
}

func TestLoadCountsAndStopsOnError(t *testing.T) {
	s, err := Load(context.Background(), 4, 100, 0, func(context.Context, int, int64) error { return nil }, nil)
	if err != nil || s.Ops != 100 || len(s.Latencies) != 100 {
		t.Fatalf("Load 100 ops: %d ops, %d latencies, %v", s.Ops, len(s.Latencies), err)
	}
	boom := errors.New("boom")
	_, err = Load(context.Background(), 4, 0, time.Minute, func(_ context.Context, _ int, i int64) error {
		if i == 10 {
			return boom
		}
		return nil
	}, nil)
	if !errors.Is(err, boom) {
		t.Fatalf("Load with a failing op: %v, want boom", err)
	}
}

func TestChecksPassAndMiss(t *testing.T) {
	r := Result{AppendVsPeer: 0.9, CommandRatio: 0.45, CommandP99ms: 20, BaselineP99ms: 10, RebuildRatio: 0.4, LagP99ms: 60,
		CommandServerCPUms: 0.25, LongStreamRatio: 1.5, ServeRSSMiB: 100, RebuildRSSMiB: 600}
	want := []bool{false, true, true, false, false, true, true, true, false}
	checks := r.Checks()
	if len(checks) != len(want) {
		t.Fatalf("%d checks, want %d", len(checks), len(want))
	}
	for i, c := range checks {
		if c.Pass != want[i] {
			t.Errorf("%s: pass %v (ratio %.2f), want %v", c.Figure, c.Pass, c.Ratio, want[i])
		}
	}
}

func TestKindFiguresMergeWorkersByKind(t *testing.T) {
	a, b := &mix{}, &mix{}
	for i := 1; i <= 50; i++ {
		a.lat[0] = append(a.lat[0], time.Duration(i)*time.Millisecond)
		b.lat[0] = append(b.lat[0], time.Duration(50+i)*time.Millisecond)
	}
	b.lat[3] = []time.Duration{7 * time.Millisecond}
	got := kindFigures([]*mix{a, b})
	if len(got) != 2 {
		t.Fatalf("%d kinds, want the 2 that ran: %+v", len(got), got)
	}
	if k := got[0]; k.Kind != mixKinds[0] || k.Commands != 100 || k.P50ms != 50 || k.P99ms != 99 {
		t.Errorf("first kind %+v, want %s: 100 commands, p50 50, p99 99", k, mixKinds[0])
	}
	if k := got[1]; k.Kind != mixKinds[3] || k.Commands != 1 || k.P99ms != 7 {
		t.Errorf("second kind %+v, want %s: 1 command, p99 7", k, mixKinds[3])
	}
	resetLatencies([]*mix{a, b})
	if got := kindFigures([]*mix{a, b}); len(got) != 0 {
		t.Errorf("after reset: %+v", got)
	}
}

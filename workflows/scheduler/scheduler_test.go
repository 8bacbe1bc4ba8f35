package scheduler_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"crm/internal/pgmigrate"
	"crm/internal/testdb"
	"crm/workflows/scheduler"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// manualClock is a clock the test moves.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *manualClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), testdb.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := pgmigrate.Migrate(context.Background(), pool, scheduler.Migrations); err != nil {
		t.Fatal(err)
	}
	return pool
}

func TestDeadlinesFireOnceWhenDueAcrossProcesses(t *testing.T) {
	pool := newPool(t)
	ctx := context.Background()
	clock := &manualClock{now: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}
	var mu sync.Mutex
	fired := map[string]int{}
	handler := func(_ context.Context, d scheduler.Deadline) error {
		mu.Lock()
		defer mu.Unlock()
		fired[d.ID]++
		return nil
	}
	// Four schedulers over one table stand for four processes.
	var ss []*scheduler.Scheduler
	for i := range 4 {
		s := scheduler.New(pool, clock, scheduler.Options{Owner: fmt.Sprintf("p%d", i)})
		s.Handle("k", handler)
		ss = append(ss, s)
	}
	const n = 200
	for i := range n {
		d := scheduler.Deadline{ID: fmt.Sprintf("d%03d", i), Kind: "k", DueAt: clock.Now().Add(time.Duration(i%3+1) * time.Hour)}
		if err := ss[i%4].Schedule(ctx, d); err != nil {
			t.Fatal(err)
		}
		// Scheduling the same id again changes nothing.
		d.DueAt = clock.Now()
		if err := ss[0].Schedule(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := ss[0].FireDue(ctx); got != 0 {
		t.Fatalf("%d fired before any was due", got)
	}
	clock.Add(90 * time.Minute)
	var total atomic.Int64
	fireAll := func() {
		var wg sync.WaitGroup
		for _, s := range ss {
			wg.Add(1)
			go func() {
				defer wg.Done()
				k, err := s.FireDue(ctx)
				if err != nil {
					t.Error(err)
				}
				total.Add(int64(k))
			}()
		}
		wg.Wait()
	}
	fireAll()
	if got := total.Load(); got != n/3+1 {
		t.Fatalf("%d fired after 90 min, want %d", got, n/3+1)
	}
	clock.Add(3 * time.Hour)
	fireAll()
	if total.Load() != n {
		t.Fatalf("%d fired in all, want %d", total.Load(), n)
	}
	for id, k := range fired {
		if k != 1 {
			t.Fatalf("%s fired %d times", id, k)
		}
	}
	if len(fired) != n {
		t.Fatalf("%d distinct deadlines fired, want %d", len(fired), n)
	}
	if p, _ := ss[0].Pending(ctx); p != 0 {
		t.Fatalf("%d pending", p)
	}
}

func TestFailedDeadlineFiresAgainAfterBackoff(t *testing.T) {
	pool := newPool(t)
	ctx := context.Background()
	clock := &manualClock{now: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := scheduler.New(pool, clock, scheduler.Options{})
	calls := 0
	s.Handle("k", func(context.Context, scheduler.Deadline) error {
		calls++
		if calls == 1 {
			return errors.New("downstream unavailable")
		}
		return nil
	})
	if err := s.Schedule(ctx, scheduler.Deadline{ID: "x", Kind: "k", DueAt: clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if k, err := s.FireDue(ctx); err != nil || k != 0 || calls != 1 {
		t.Fatalf("first round: fired %d, calls %d, err %v", k, calls, err)
	}
	// Not again before the backoff has passed.
	if k, _ := s.FireDue(ctx); k != 0 || calls != 1 {
		t.Fatalf("retried before the backoff: fired %d, calls %d", k, calls)
	}
	clock.Add(2 * time.Second)
	if k, err := s.FireDue(ctx); err != nil || k != 1 || calls != 2 {
		t.Fatalf("after the backoff: fired %d, calls %d, err %v", k, calls, err)
	}
	var lastErr string
	var attempts int
	if err := pool.QueryRow(ctx, `SELECT attempts, last_error FROM crm_deadlines WHERE id = 'x'`).Scan(&attempts, &lastErr); err != nil {
		t.Fatal(err)
	}
	if attempts != 1 || lastErr != "downstream unavailable" {
		t.Fatalf("attempts %d, last error %q", attempts, lastErr)
	}
}

func TestScheduleRefusesIncompleteDeadlines(t *testing.T) {
	s := scheduler.New(newPool(t), nil, scheduler.Options{})
	for _, d := range []scheduler.Deadline{{Kind: "k", DueAt: time.Now()}, {ID: "a", DueAt: time.Now()}, {ID: "a", Kind: "k"}} {
		if err := s.Schedule(context.Background(), d); !errors.Is(err, scheduler.ErrInvalid) {
			t.Fatalf("%+v: err %v", d, err)
		}
	}
}

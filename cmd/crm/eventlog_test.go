package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"crm/eventstore"
	"crm/eventstore/postgres"
	"crm/internal/app"
	"crm/internal/testdb"
)

// TestServeEventStoreUnreachable: nothing listens at the EventStoreDB URL;
// the process exits 1 within seconds with one line naming the URL and the
// cause, before any database is started.
func TestServeEventStoreUnreachable(t *testing.T) {
	bin := crmBinary(t)
	url := "esdb://127.0.0.1:1?tls=false"
	start := time.Now()
	p := startCRM(t, bin, nil, "serve", "--event-store", url, "--data-dir", t.TempDir(), "--addr", "127.0.0.1:0")
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("crm serve still running after 20s; stderr:\n%s", p.stderr.String())
	}
	elapsed := time.Since(start)
	if p.cmd.ProcessState.ExitCode() != 1 {
		t.Errorf("exit code %d, want 1", p.cmd.ProcessState.ExitCode())
	}
	if elapsed > 10*time.Second {
		t.Errorf("took %v to fail, want a few seconds", elapsed)
	}
	msg := strings.TrimSpace(p.stderr.String())
	if strings.Contains(msg, "\n") || strings.Contains(msg, "panic") {
		t.Fatalf("stderr is not one line:\n%s", msg)
	}
	if !strings.HasPrefix(msg, "crm serve: event store "+url+": ") || !strings.Contains(msg, "connection refused") {
		t.Errorf("stderr %q does not name the URL and the cause", msg)
	}
}

// seedEventLog appends n events over several streams (some appends spanning
// streams, with several events) at distinct recorded times.
func seedEventLog(t *testing.T, url string, n int) {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := postgres.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 6, 1, 8, 0, 0, 123456000, time.UTC)
	store := postgres.New(pool, postgres.Options{Clock: func() time.Time { return now }})
	defer store.Close()
	versions := map[string]int64{}
	ev := func(i, k int) eventstore.EventData {
		return eventstore.EventData{Type: fmt.Sprintf("test.step%d.v1", k%3+1), SchemaVersion: 1 + k%2,
			Data:     json.RawMessage(fmt.Sprintf(`{"i":%d,"k":%d,"big":12345678901234567890,"z":"last","a":[1,{"b":null}]}`, i, k)),
			Metadata: eventstore.Metadata{Actor: "user:seed", CommandID: uuid.NewString(), CorrelationID: fmt.Sprintf("corr-%d", i), CausationID: fmt.Sprintf("cause-%d", i)}}
	}
	for written, i := 0, 0; written < n; i++ {
		streams := []string{fmt.Sprintf("lead-%d", i%37)}
		if i%7 == 0 {
			streams = append(streams, fmt.Sprintf("account-%d", i%11))
		}
		var appends []eventstore.StreamEvents
		for _, s := range streams {
			se := eventstore.StreamEvents{StreamID: s, Expected: eventstore.Exact(versions[s])}
			for k := 0; k < 1+i%3 && written < n; k++ {
				se.Events = append(se.Events, ev(i, k))
				written++
			}
			if len(se.Events) > 0 {
				appends = append(appends, se)
			}
		}
		res, err := store.Append(ctx, appends...)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range streams {
			if v := res.Version(s); v > 0 {
				versions[s] = v
			}
		}
		now = now.Add(time.Duration(1+i%5) * time.Second)
	}
}

func readLog(t *testing.T, url string) []eventstore.Event {
	t.Helper()
	ctx := context.Background()
	s, err := app.OpenStore(ctx, url, nil, false, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	var all []eventstore.Event
	var cur eventstore.Cursor
	for {
		evs, err := s.ReadAll(ctx, cur, 500)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			return all
		}
		all = append(all, evs...)
		cur = evs[len(evs)-1].Cursor
	}
}

var copiedLine = regexp.MustCompile(`copied (\d+) events \((\d+) already present\)`)

// TestEventsCopy copies a PostgreSQL log to another database: interrupted
// part way, resumed, re-run, and checked event by event and by hash.
func TestEventsCopy(t *testing.T) {
	const total = 2500
	src, dst := testdb.NewDatabase(t), testdb.NewDatabase(t)
	seedEventLog(t, src, total)

	// Interrupt a copy part way.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.DiscardHandler)
	from, err := app.OpenStore(ctx, src, nil, false, log)
	if err != nil {
		t.Fatal(err)
	}
	clock := &replayClock{}
	to, err := app.OpenStore(ctx, dst, clock.now, true, log)
	if err != nil {
		t.Fatal(err)
	}
	res, err := copyLog(ctx, from, to, clock, copyOptions{Batch: 200, Progress: func(done int64) {
		if done >= 700 {
			cancel()
		}
	}})
	_ = from.Close()
	_ = to.Close()
	if !errors.Is(err, context.Canceled) || res.Copied < 700 || res.Copied >= total {
		t.Fatalf("interrupted copy: %d copied, err %v", res.Copied, err)
	}
	partial := len(readLog(t, dst))
	if int64(partial) != res.Copied {
		t.Fatalf("destination holds %d events after copying %d", partial, res.Copied)
	}

	// Resume through the command.
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"events", "copy", "--from", src, "--to", dst, "--batch", "300"}, &stdout, &stderr); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, stderr.String())
	}
	m := copiedLine.FindStringSubmatch(stdout.String())
	if m == nil || m[1] != fmt.Sprint(total-partial) || m[2] != fmt.Sprint(partial) {
		t.Fatalf("resume output:\n%s\nwant %d copied, %d present", stdout.String(), total-partial, partial)
	}
	if !strings.Contains(stdout.String(), "logs match") || !strings.Contains(stderr.String(), "events/s") {
		t.Errorf("no match line or progress bar:\nstdout %s\nstderr %s", stdout.String(), stderr.String())
	}
	hashes := regexp.MustCompile(`(?m)^(source|destination): +(\d+) events, sha256 ([0-9a-f]{64})$`).FindAllStringSubmatch(stdout.String(), -1)
	if len(hashes) != 2 || hashes[0][2] != fmt.Sprint(total) || hashes[0][2] != hashes[1][2] || hashes[0][3] != hashes[1][3] {
		t.Errorf("count and hash lines: %q", hashes)
	}

	// Re-running copies nothing.
	stdout.Reset()
	if code := run(context.Background(), []string{"events", "copy", "--from", src, "--to", dst}, &stdout, &stderr); code != 0 {
		t.Fatalf("re-run: exit %d: %s", code, stderr.String())
	}
	if m := copiedLine.FindStringSubmatch(stdout.String()); m == nil || m[1] != "0" || m[2] != fmt.Sprint(total) {
		t.Errorf("re-run output:\n%s", stdout.String())
	}

	// The copy is the source, event by event.
	a, b := readLog(t, src), readLog(t, dst)
	if len(a) != total || len(b) != total {
		t.Fatalf("source %d events, destination %d, want %d", len(a), len(b), total)
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.ID != y.ID || x.StreamID != y.StreamID || x.Version != y.Version || x.Type != y.Type || x.SchemaVersion != y.SchemaVersion ||
			string(x.Data) != string(y.Data) || x.Metadata != y.Metadata || !x.RecordedAt.Equal(y.RecordedAt) {
			t.Fatalf("event %d differs:\n%+v\n%+v", i, x, y)
		}
	}
}

// TestEventsCopyRefusesForeignDestination: a destination that is not a
// prefix of the source is reported, and nothing is appended to it.
func TestEventsCopyRefusesForeignDestination(t *testing.T) {
	src, dst := testdb.NewDatabase(t), testdb.NewDatabase(t)
	seedEventLog(t, src, 50)
	seedEventLog(t, dst, 3) // same streams and versions, other event ids
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"events", "copy", "--from", src, "--to", dst}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "not a copy of the source") {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	if n := len(readLog(t, dst)); n != 3 {
		t.Errorf("destination has %d events, want its 3", n)
	}
}

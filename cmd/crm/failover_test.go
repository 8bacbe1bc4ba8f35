package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestProjectorFailover runs two "crm serve" processes on one database and
// posts commands to both; it kills the process that holds the projectors
// and keeps posting to the other. The survivor must take over every
// projector within seconds and catch up, with every event applied once:
// the read models equal a clean rebuild and each lead lists exactly the
// contact attempts posted for it.
func TestProjectorFailover(t *testing.T) {
	bin := crmBinary(t)
	db := openTestDB(t)
	first := startServer(t, bin, db.url)
	second := startServer(t, bin, db.url)
	servers := []*crmServer{first, second}

	// Entities to work on, created through both servers.
	w := &workload{servers: servers, attempts: map[string]int{}, alive: make([]atomic.Bool, len(servers))}
	for i := range w.alive {
		w.alive[i].Store(true)
	}
	for i := range 12 {
		api := servers[i%2].api
		w.leads = append(w.leads, api.mustDo(t, 201, "POST", "/v1/leads", map[string]any{"name": fmt.Sprintf("Failover lead %d", i),
			"company": "Acme", "email": fmt.Sprintf("failover-%d@example.com", i), "source": "referral"}).commandID(t))
		if i%3 == 0 {
			acc := api.mustDo(t, 201, "POST", "/v1/accounts", map[string]any{"name": fmt.Sprintf("Failover account %d", i)}).commandID(t)
			w.opps = append(w.opps, api.mustDo(t, 201, "POST", "/v1/opportunities", map[string]any{"account_id": acc,
				"name": fmt.Sprintf("Failover deal %d", i), "amount": "1000.00", "currency": "EUR", "expected_close_date": "2031-01-31"}).commandID(t))
			w.tickets = append(w.tickets, api.mustDo(t, 201, "POST", "/v1/tickets", map[string]any{"subject": fmt.Sprintf("Failover issue %d", i),
				"account_id": acc, "priority": "normal", "channel": "email"}).commandID(t))
		}
	}
	rows := waitCaughtUp(t, db, time.Minute)
	var victim, survivor *crmServer
	for _, name := range projectorNames() {
		r := rows[name]
		if r.owner == nil || (*r.owner != first.owner && *r.owner != second.owner) {
			t.Fatalf("projector %s is not held by either server (%s, %s): %v", name, first.owner, second.owner, r)
		}
		if victim == nil {
			victim, survivor = first, second
			if *r.owner == second.owner {
				victim, survivor = second, first
			}
		}
	}
	victimIdx := slices.Index(servers, victim)

	// Post commands to both while the holder is killed.
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() { w.run(t, uint64(i)) })
	}
	waitFor(t, 30*time.Second, "commands before the kill", func() bool { return w.done.Load() >= 150 || w.failed.Load() })
	if w.failed.Load() {
		w.stop.Store(true)
		wg.Wait()
		t.FailNow()
	}
	w.alive[victimIdx].Store(false)
	victim.kill(t)
	killed := time.Now()
	t.Logf("killed %s (held %v) after %d commands", victim.owner, projectorNames(), w.done.Load())

	// The survivor takes every projector over.
	takeover := time.Duration(0)
	waitFor(t, 20*time.Second, "the survivor to hold every projector", func() bool {
		rows, err := db.projections(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range projectorNames() {
			if r := rows[name]; r.owner == nil || *r.owner != survivor.owner {
				return false
			}
		}
		takeover = time.Since(killed)
		return true
	})
	atTakeover := w.done.Load()
	waitFor(t, 30*time.Second, "commands after the takeover", func() bool { return w.done.Load() >= atTakeover+150 || w.failed.Load() })
	w.stop.Store(true)
	wg.Wait()
	if w.failed.Load() {
		t.FailNow()
	}
	rows = waitCaughtUp(t, db, 30*time.Second)
	t.Logf("takeover %v after the kill; caught up %v after it; %d commands posted", takeover.Round(time.Millisecond),
		time.Since(killed).Round(time.Millisecond), w.done.Load())
	checkAppliedOnce(t, db, rows)

	// As the survivor reports it.
	var status struct {
		Items []struct {
			Name       string  `json:"name"`
			Checkpoint string  `json:"checkpoint"`
			Head       string  `json:"head"`
			CaughtUp   bool    `json:"caught_up"`
			State      string  `json:"state"`
			Owner      *string `json:"owner"`
		} `json:"items"`
	}
	survivor.api.mustDo(t, 200, "GET", "/v1/projections", nil).decode(t, &status)
	if len(status.Items) != len(projectorNames()) {
		t.Errorf("GET /v1/projections lists %d projectors, want %v", len(status.Items), projectorNames())
	}
	for _, it := range status.Items {
		if it.Owner == nil || *it.Owner != survivor.owner || !it.CaughtUp || it.Checkpoint != it.Head || it.State != "running" {
			t.Errorf("GET /v1/projections after failover: %+v (owner %v), want owner %s, caught up", it, deref(it.Owner), survivor.owner)
		}
	}

	// Each lead lists exactly the attempts posted for it, and so does its
	// own history.
	listed := listLeadAttempts(t, survivor.api)
	if len(listed) != len(w.leads) {
		t.Errorf("GET /v1/leads lists %d leads, want %d", len(listed), len(w.leads))
	}
	total := 0
	for _, id := range w.leads {
		want := w.attempts[id]
		total += want
		var byID struct {
			ContactAttempts int `json:"contact_attempts"`
		}
		survivor.api.mustDo(t, 200, "GET", "/v1/leads/"+id, nil).decode(t, &byID)
		if listed[id] != want || byID.ContactAttempts != want {
			t.Errorf("lead %s: %d contact attempts posted, GET /v1/leads says %d, GET /v1/leads/{id} says %d", id, want, listed[id], byID.ContactAttempts)
		}
	}
	if total == 0 {
		t.Error("no contact attempt was posted")
	}
	checkCleanRebuild(t, bin, db)
}

// workload posts commands to the servers that are alive, each with an
// Idempotency-Key; a request whose outcome is unknown (no response) is sent
// again with the same key to another server, so each command takes effect
// once.
type workload struct {
	servers []*crmServer
	alive   []atomic.Bool
	leads   []string
	opps    []string
	tickets []string

	mu       sync.Mutex
	attempts map[string]int // lead id -> contact attempts accepted

	done   atomic.Int64
	stop   atomic.Bool
	failed atomic.Bool
}

// run posts commands until stop; it reports failures with t.Errorf.
func (w *workload) run(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 42))
	for !w.stop.Load() && !w.failed.Load() {
		var path string
		var body map[string]any
		lead := ""
		switch k := rng.IntN(10); {
		case k < 6:
			lead = w.leads[rng.IntN(len(w.leads))]
			path, body = "/v1/leads/"+lead+"/contact-attempts", map[string]any{"channel": "call", "outcome": "no_answer"}
		case k < 7:
			path, body = "/v1/leads/"+w.leads[rng.IntN(len(w.leads))]+"/activities", map[string]any{"kind": "note", "subject": "Called"}
		case k < 8:
			path, body = "/v1/opportunities/"+w.opps[rng.IntN(len(w.opps))]+"/amount",
				map[string]any{"amount": fmt.Sprintf("%d.00", 1000+rng.IntN(9000)), "currency": "EUR"}
		case k < 9:
			path, body = "/v1/tickets/"+w.tickets[rng.IntN(len(w.tickets))]+"/responses", map[string]any{"body": "On it"}
		default:
			path, body = "/v1/tickets/"+w.tickets[rng.IntN(len(w.tickets))]+"/escalate", map[string]any{"reason": "Customer waiting"}
		}
		if err := w.post(rng, path, body); err != nil {
			t.Error(err)
			w.failed.Store(true)
			return
		}
		if lead != "" {
			w.mu.Lock()
			w.attempts[lead]++
			w.mu.Unlock()
		}
		w.done.Add(1)
	}
}

// post sends one command until some server answers it.
func (w *workload) post(rng *rand.Rand, path string, body map[string]any) error {
	key := uuid.NewString()
	i := rng.IntN(len(w.servers))
	var errs []string
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if !w.alive[i].Load() {
			i = (i + 1) % len(w.servers)
			continue
		}
		r, err := w.servers[i].api.do("POST", path, body, key)
		switch {
		case err != nil:
			errs = append(errs, err.Error())
			i = (i + 1) % len(w.servers)
			time.Sleep(10 * time.Millisecond)
		case r.status == 200 || r.status == 201:
			return nil
		default:
			return fmt.Errorf("POST %s (Idempotency-Key %s, after %d unanswered tries: %s): status %d: %s", path, key, len(errs),
				strings.Join(errs, "; "), r.status, r.body)
		}
	}
	return fmt.Errorf("POST %s: no answer in 30s: %s", path, strings.Join(errs, "; "))
}

// waitFor polls cond until it holds, failing t after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

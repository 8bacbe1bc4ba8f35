package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestAutomationsSurviveKillAndRestart kills crm serve with SIGKILL while
// the automations work through a burst of won deals and while SLA
// deadlines are pending, restarts it, and checks that every deal got
// exactly one onboarding ticket and that the deadlines fired after the
// restart.
func TestAutomationsSurviveKillAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts crm serve several times")
	}
	bin := crmBinary(t)
	db := openTestDB(t)
	srv := startAutomations(t, bin, db.url)
	api := srv.api
	api.mustDo(t, http.StatusOK, "PUT", "/v1/automation/sla", map[string]any{"urgent": map[string]any{"first_response_seconds": 8, "resolution_seconds": 3600}})
	var tickets []string
	for range 3 {
		r := api.mustDo(t, http.StatusCreated, "POST", "/v1/tickets", map[string]any{"subject": "Down", "priority": "urgent", "channel": "phone"})
		tickets = append(tickets, r.commandID(t))
	}
	var acc struct{ ID string }
	api.mustDo(t, http.StatusCreated, "POST", "/v1/accounts", map[string]any{"name": "Acme"}).decode(t, &acc)
	const deals = 40
	var opps []string
	for i := range deals {
		r := api.mustDo(t, http.StatusCreated, "POST", "/v1/opportunities", map[string]any{"account_id": acc.ID, "name": fmt.Sprintf("Deal %d", i),
			"amount": "1000.00", "currency": "EUR", "expected_close_date": "2030-01-31"})
		opps = append(opps, r.commandID(t))
	}
	// Win them all at once, then kill the server while the automations
	// work through the burst.
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < deals; i += 8 {
				if _, err := api.do("POST", "/v1/opportunities/"+opps[i]+"/stage", map[string]any{"stage": "closed_won"}, ""); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	ctx := context.Background()
	count := func(q string) int {
		var n int
		if err := db.pool.QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	onboarded := `SELECT count(*) FROM crm_events WHERE type = 'ticket.opened.v1' AND actor = 'automation:onboarding'`
	srv.proc.kill(t)
	before := count(onboarded)
	breachedBefore := count(`SELECT count(*) FROM crm_events WHERE type = 'ticket.sla_breached.v1'`)
	t.Logf("killed with %d of %d onboarding tickets opened and %d breaches", before, deals, breachedBefore)
	if breachedBefore != 0 {
		t.Fatalf("%d breaches before the kill: the deadlines would not be tested across the restart", breachedBefore)
	}
	// The first-response targets pass while nothing runs.
	time.Sleep(9 * time.Second)
	srv = startAutomations(t, bin, db.url)
	waitFor(t, 60*time.Second, "every deal onboarded", func() bool { return count(onboarded) >= deals })
	waitFor(t, 60*time.Second, "every SLA breach", func() bool {
		return count(`SELECT count(*) FROM crm_events WHERE type = 'ticket.sla_breached.v1' AND actor = 'automation:sla'`) == len(tickets)
	})
	// Once the forwarder has passed the whole log, every redelivery is
	// done: a duplicate would show now.
	waitFor(t, 30*time.Second, "forwarder at the head", func() bool {
		head, err := db.store.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var pos string
		if err := db.pool.QueryRow(ctx, `SELECT position FROM crm_workflow_checkpoints WHERE name = 'forwarder'`).Scan(&pos); err != nil {
			return false
		}
		return pos == head.String()
	})
	time.Sleep(time.Second)
	if n := count(onboarded); n != deals {
		t.Fatalf("%d onboarding tickets for %d won deals", n, deals)
	}
	if n := count(`SELECT count(DISTINCT stream_id) FROM crm_events WHERE type = 'ticket.opened.v1' AND actor = 'automation:onboarding'`); n != deals {
		t.Fatalf("%d distinct onboarding tickets", n)
	}
	if n := count(`SELECT count(*) FROM crm_events WHERE type = 'ticket.escalated.v1' AND actor = 'automation:sla'`); n != len(tickets) {
		t.Fatalf("%d SLA escalations for %d tickets", n, len(tickets))
	}
	for _, id := range tickets {
		var v struct {
			Breached bool `json:"first_response_breached"`
		}
		srv.api.mustDo(t, http.StatusOK, "GET", "/v1/tickets/"+id, nil).decode(t, &v)
		if !v.Breached {
			t.Fatalf("ticket %s not breached", id)
		}
	}
}

// startAutomations runs "crm serve" with its automations on the database
// at url and waits until it serves HTTP.
func startAutomations(t *testing.T, bin, url string) *crmServer {
	t.Helper()
	p := startCRM(t, bin, nil, "serve", "--database-url", url, "--addr", "127.0.0.1:0",
		"--bootstrap-admin-key", testAdminKey, "--shutdown-timeout", "5s")
	addr := waitServing(t, p.stderr, p.exited)
	return &crmServer{proc: p, addr: addr, api: newAPIClient(addr)}
}

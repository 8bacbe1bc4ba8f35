package api_test

import (
	"fmt"
	"sort"
	"sync"
	"testing"
)

// TestConcurrentCommandsOnOneStream: without If-Match, racing commands on
// one stream are retried internally and all land, with consecutive
// versions; with the same If-Match exactly one wins and the rest get 412.
func TestConcurrentCommandsOnOneStream(t *testing.T) {
	e := newEnv(t)
	id := e.must(201, e.do("sales", "POST", "/v1/leads", leadBody)).str("id")

	const n = 20
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.do("sales", "POST", "/v1/leads/"+id+"/activities", fmt.Sprintf(`{"kind":"note","subject":"note %d"}`, i))
			statuses[i] = r.status
		}()
	}
	wg.Wait()
	for i, s := range statuses {
		if s != 200 {
			t.Fatalf("command %d answered %d", i, s)
		}
	}
	rows, err := e.pool.Query(t.Context(), `SELECT version FROM crm_events WHERE stream_id = $1 ORDER BY transaction_id, position`, "lead-"+id)
	if err != nil {
		t.Fatal(err)
	}
	var versions []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		versions = append(versions, v)
	}
	if len(versions) != n+1 {
		t.Fatalf("%d events, want %d", len(versions), n+1)
	}
	for i, v := range versions {
		if v != int64(i+1) {
			t.Fatalf("versions in log order %v are not consecutive", versions)
		}
	}

	const m = 10
	statuses = make([]int, m)
	for i := range m {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.do("sales", "POST", "/v1/leads/"+id+"/activities", fmt.Sprintf(`{"kind":"call","subject":"call %d"}`, i),
				"If-Match", fmt.Sprintf(`"%d"`, n+1))
			statuses[i] = r.status
		}()
	}
	wg.Wait()
	sort.Ints(statuses)
	want := append([]int{200}, repeat(412, m-1)...)
	if fmt.Sprint(statuses) != fmt.Sprint(want) {
		t.Fatalf("statuses %v, want one 200 and nine 412", statuses)
	}
	if got := e.streamCount("lead-" + id); got != n+2 {
		t.Fatalf("stream has %d events, want %d", got, n+2)
	}
}

func repeat(v, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// TestEmailUniquenessUnderRace: ten concurrent captures with one email
// give exactly one 201 and nine 409 naming the winner.
func TestEmailUniquenessUnderRace(t *testing.T) {
	e := newEnv(t)
	const n = 10
	var wg sync.WaitGroup
	res := make([]response, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i] = e.do("sales", "POST", "/v1/leads", leadWith("name", fmt.Sprintf("Racer %d", i), "email", "Race@Example.com"))
		}()
	}
	wg.Wait()
	var winner string
	var conflicts []response
	for _, r := range res {
		switch r.status {
		case 201:
			if winner != "" {
				t.Fatal("two captures won")
			}
			winner = r.str("id")
		case 409:
			conflicts = append(conflicts, r)
		default:
			t.Fatalf("status %d: %s", r.status, r.raw)
		}
	}
	if winner == "" || len(conflicts) != n-1 {
		t.Fatalf("winner %q, %d conflicts", winner, len(conflicts))
	}
	for _, c := range conflicts {
		if c.str("code") != "duplicate_email" || c.str("conflicting_id") != winner {
			t.Errorf("conflict %s does not name the winner %s", c.raw, winner)
		}
	}
	if got := e.eventCount(); got != 1 {
		t.Errorf("%d events stored, want 1", got)
	}
}

package repository_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"crm/aggregates"
	"crm/commands"
	"crm/eventstore"
	"crm/internal/repository"
)

// TestCurrentHoldsWhatWasSaved: after a save, the stream comes from memory
// and is exactly the stream read whole, personal data included.
func TestCurrentHoldsWhatWasSaved(t *testing.T) {
	ctx := context.Background()
	pool, store, _ := setup(t)
	codec, err := eventstore.DomainRegistry()
	if err != nil {
		t.Fatal(err)
	}
	repo := repository.New(pool, store, codec, testVault(t, pool), repository.Options{InTx: store})
	lead := "0198a000-0000-7000-8000-0000000000c1"
	if _, err := repo.Save(ctx, capture(lead, "current@example.com")); err != nil {
		t.Fatal(err)
	}
	attempts(t, repo, lead, 1, 3)
	got, cached, err := repo.Current(ctx, "lead-"+lead)
	if err != nil {
		t.Fatal(err)
	}
	whole, err := repository.New(pool, store, codec, testVault(t, pool), repository.Options{InTx: store}).Load(ctx, "lead-"+lead, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if !cached || len(got) != 4 || !reflect.DeepEqual(got, whole) {
		t.Fatalf("current: cached %v, %d records, equal to a whole read %v\ngot  %+v\nwant %+v", cached, len(got), reflect.DeepEqual(got, whole), got, whole)
	}
	if c, ok := got[0].Event.(aggregates.LeadCapturedEvent); !ok || c.Email != "current@example.com" {
		t.Fatalf("first event %#v, want the capture with its email in plaintext", got[0].Event)
	}

	// A stream this repository never wrote is read, then held.
	other := repository.New(pool, store, codec, testVault(t, pool), repository.Options{InTx: store})
	if _, cached, err := other.Current(ctx, "lead-"+lead); err != nil || cached {
		t.Fatalf("first current on another repository: cached %v, err %v; want a read", cached, err)
	}
	if recs, cached, err := other.Current(ctx, "lead-"+lead); err != nil || !cached || len(recs) != 4 {
		t.Fatalf("second current: cached %v, %d records, err %v; want 4 from memory", cached, len(recs), err)
	}
}

// TestDecisionsOnAStaleCache: two nodes over one database. Node A holds a
// lead in its cache; node B changes the lead. Every command on node A
// then decides on the lead as it is: a command valid only on the new
// state succeeds, a refusal, an If-Match and a command that changes
// nothing report the state as it is, and nothing is lost or duplicated.
func TestDecisionsOnAStaleCache(t *testing.T) {
	ctx := context.Background()
	pool, store, _ := setup(t)
	codec, err := eventstore.DomainRegistry()
	if err != nil {
		t.Fatal(err)
	}
	node := func() *commands.Handler {
		return commands.New(repository.New(pool, store, codec, testVault(t, pool), repository.Options{InTx: store}), commands.Options{})
	}
	a, b := node(), node()
	meta := commands.Metadata{Actor: "user:test", CommandID: "c"}
	// Owners must be users of the directory.
	reps := make([]string, 3)
	for i := range reps {
		r := &commands.RegisterUser{Envelope: commands.Envelope{Metadata: meta},
			RegisterUser: aggregates.RegisterUser{Name: fmt.Sprintf("Rep %d", i), Email: fmt.Sprintf("rep%d@staff.example.com", i)}}
		if err := a.RegisterUser(ctx, r); err != nil {
			t.Fatal(err)
		}
		reps[i] = r.Result.ID
	}
	capture := &commands.CaptureLead{Envelope: commands.Envelope{Metadata: meta},
		CaptureLead: aggregates.CaptureLead{Name: "Grace", Company: "Navy", Email: "grace@example.com", Source: "referral"}}
	if err := a.CaptureLead(ctx, capture); err != nil {
		t.Fatal(err)
	}
	id := capture.Result.ID
	version := func() int64 {
		t.Helper()
		_, v, err := node().Lead(ctx, id, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// Node A has the lead cached at version 1; node B qualifies it.
	if err := b.QualifyLead(ctx, &commands.QualifyLead{Envelope: commands.Envelope{Metadata: meta}, LeadID: id}); err != nil {
		t.Fatal(err)
	}
	// Qualifying again on node A is refused because the lead is qualified
	// (not decided on the cached, unqualified lead).
	err = a.QualifyLead(ctx, &commands.QualifyLead{Envelope: commands.Envelope{Metadata: meta}, LeadID: id})
	var de *aggregates.Error
	if !errors.As(err, &de) || de.Code != "lead_already_qualified" {
		t.Fatalf("qualify again on the stale node: %v, want lead_already_qualified", err)
	}
	// An assignment with If-Match of the true version succeeds.
	v := version()
	assign := &commands.AssignLead{Envelope: commands.Envelope{Metadata: meta, IfMatch: &v}, LeadID: id, OwnerID: reps[1]}
	if err := b.AssignLead(ctx, &commands.AssignLead{Envelope: commands.Envelope{Metadata: meta}, LeadID: id, OwnerID: reps[0]}); err != nil {
		t.Fatal(err)
	}
	v = version()
	if err := a.AssignLead(ctx, assign); err != nil {
		t.Fatalf("assign with If-Match %d on the stale node: %v", v, err)
	}
	if assign.Result.Version != v+1 {
		t.Fatalf("assign: version %d, want %d", assign.Result.Version, v+1)
	}
	// B assigns again; the same owner assigned on A changes nothing and
	// reports the true version.
	if err := b.AssignLead(ctx, &commands.AssignLead{Envelope: commands.Envelope{Metadata: meta}, LeadID: id, OwnerID: reps[2]}); err != nil {
		t.Fatal(err)
	}
	same := &commands.AssignLead{Envelope: commands.Envelope{Metadata: meta}, LeadID: id, OwnerID: reps[2]}
	if err := a.AssignLead(ctx, same); err != nil {
		t.Fatal(err)
	}
	if want := version(); same.Result.Version != want || len(same.Result.Events) != 0 {
		t.Fatalf("no-op assign on the stale node: version %d with %d events, want %d with none", same.Result.Version, len(same.Result.Events), want)
	}

	// Both nodes log contact attempts concurrently: every attempt is
	// stored once, numbered 1..n without a gap.
	const each = 10
	var wg sync.WaitGroup
	errs := make(chan error, 2*each)
	for _, h := range []*commands.Handler{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				errs <- h.LogContactAttempt(ctx, &commands.LogContactAttempt{Envelope: commands.Envelope{Metadata: meta},
					LeadID: id, Channel: "call", Outcome: "reached"})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	recs, err := node().History(ctx, commands.TypeLead, id)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range recs {
		if e, ok := r.Event.(aggregates.LeadContactAttemptedEvent); ok {
			n++
			if e.AttemptNumber != n {
				t.Fatalf("contact attempt %d numbered %d: decided on a stale state", n, e.AttemptNumber)
			}
		}
	}
	if n != 2*each {
		t.Fatalf("%d contact attempts stored, want %d", n, 2*each)
	}
}

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

// attempts appends n contact attempts to lead's stream, which is at
// version from.
func attempts(t *testing.T, r *repository.Repository, lead string, from int64, n int) {
	t.Helper()
	evs := make([]aggregates.Event, n)
	for i := range evs {
		evs[i] = aggregates.LeadContactAttemptedEvent{LeadID: lead, Channel: "call", Outcome: "no_answer",
			AttemptNumber: int(from) + i, AttemptedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	}
	if _, err := r.Save(context.Background(), commands.Batch{Changes: []commands.Change{{Stream: "lead-" + lead, Expected: from,
		Events: evs}}, Metadata: commands.Metadata{Actor: "user:test", CommandID: fmt.Sprint("cmd-", from)}}); err != nil {
		t.Fatal(err)
	}
}

// TestLoadFromTheStreamCache: a long stream loaded through the cache is
// exactly the stream read whole, after more appends, from another
// repository (another process) too, and under concurrent loads.
func TestLoadFromTheStreamCache(t *testing.T) {
	ctx := context.Background()
	pool, store, cached := setup(t)
	codec, err := eventstore.DomainRegistry()
	if err != nil {
		t.Fatal(err)
	}
	other := repository.New(pool, store, codec, testVault(t, pool), repository.Options{InTx: store}) // a second process's repository
	lead := "0198a000-0000-7000-8000-0000000000aa"
	if _, err := cached.Save(ctx, capture(lead, "cache@example.com")); err != nil {
		t.Fatal(err)
	}
	attempts(t, cached, lead, 1, 299)
	whole := func() []commands.Recorded {
		t.Helper()
		recs, err := repository.New(pool, store, codec, testVault(t, pool), repository.Options{InTx: store}).Load(ctx, "lead-"+lead, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		return recs
	}
	check := func(what string, r *repository.Repository, want int) {
		t.Helper()
		got, err := r.Load(ctx, "lead-"+lead, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != want || !reflect.DeepEqual(got, whole()) {
			t.Fatalf("%s: %d records, want %d, equal to a whole read: %v", what, len(got), want, reflect.DeepEqual(got, whole()))
		}
	}
	check("first load", cached, 300)
	if n := repository.CachedEvents(cached); n != 300 {
		t.Fatalf("%d events cached, want 300", n)
	}
	attempts(t, other, lead, 300, 5) // appended elsewhere: the cache reads the tail
	check("after appends by another process", cached, 305)
	check("again", cached, 305)

	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				if _, err := cached.Load(ctx, "lead-"+lead, time.Time{}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	attempts(t, other, lead, 305, 10)
	wg.Wait()
	check("after concurrent loads and appends", cached, 315)

	// As of a past time bypasses the cache.
	past, err := cached.Load(ctx, "lead-"+lead, time.Now().Add(-time.Hour))
	if err != nil || len(past) != 0 {
		t.Fatalf("as of an hour ago: %d records, %v", len(past), err)
	}
}

// TestStreamsNotNumberedFromOneAreNotCached: a stream whose first stored
// version is not 1 (a store that truncates streams) is read whole every
// time, never folded twice.
func TestStreamsNotNumberedFromOneAreNotCached(t *testing.T) {
	ctx := context.Background()
	pool, _, r := setup(t)
	if _, err := pool.Exec(ctx, `INSERT INTO crm_events (event_id, stream_id, version, type, schema_version, data, actor, recorded_at)
		SELECT gen_random_uuid(), 'lead-truncated', v, 'lead.contact_attempted.v1', 1,
		       jsonb_build_object('lead_id', 'truncated', 'channel', 'call', 'outcome', 'reached', 'attempted_at', now(), 'attempt_number', v),
		       'user:test', now()
		FROM generate_series(5, 154) AS v ORDER BY v`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO crm_streams (stream_id, version) VALUES ('lead-truncated', 154)`); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		recs, err := r.Load(ctx, "lead-truncated", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 150 || recs[0].Version != 5 || recs[149].Version != 154 {
			t.Fatalf("load %d: %d records, versions %d..%d", i, len(recs), recs[0].Version, recs[len(recs)-1].Version)
		}
	}
	if n := repository.CachedEvents(r); n != 0 {
		t.Errorf("%d events cached of a stream not numbered from 1", n)
	}
}

// TestErasureDropsCachedStream: a long stream in the cache shows its
// person's values as erased as soon as this process erased them, and so
// do streams read whole.
func TestErasureDropsCachedStream(t *testing.T) {
	ctx := context.Background()
	_, _, repo := setup(t)
	lead := "0198a000-0000-7000-8000-0000000000bb"
	if _, err := repo.Save(ctx, capture(lead, "long.stream@example.com")); err != nil {
		t.Fatal(err)
	}
	attempts(t, repo, lead, 1, 150)
	recs, err := repo.Load(ctx, "lead-"+lead, time.Time{})
	if err != nil || len(recs) != 151 || recs[0].Event.(aggregates.LeadCapturedEvent).Email != "long.stream@example.com" {
		t.Fatalf("before erasure: %d events, %v", len(recs), err)
	}
	if repository.CachedEvents(repo) != 151 {
		t.Fatalf("the stream is not cached: %d events", repository.CachedEvents(repo))
	}
	s, ok, err := repo.Subject(ctx, "long.stream@example.com")
	if err != nil || !ok || len(s.Entities) != 1 {
		t.Fatalf("subject: %+v %v %v", s, ok, err)
	}
	if _, err := repo.Save(ctx, commands.Batch{Changes: []commands.Change{{Stream: "subject-" + s.ID, Expected: 0,
		Events: []aggregates.Event{aggregates.SubjectErasedEvent{SubjectID: s.ID, Entities: s.Entities}}}},
		Erase: []commands.DataSubject{s}, Metadata: commands.Metadata{Actor: "user:test", CommandID: "erase"}}); err != nil {
		t.Fatal(err)
	}
	for _, asOf := range []time.Time{{}, time.Now().Add(time.Hour)} {
		recs, err = repo.Load(ctx, "lead-"+lead, asOf)
		if err != nil || len(recs) != 151 {
			t.Fatalf("after erasure: %d events, %v", len(recs), err)
		}
		if c := recs[0].Event.(aggregates.LeadCapturedEvent); c.Email != aggregates.ErasedValue || c.Name != aggregates.ErasedValue {
			t.Errorf("after erasure (as of %v): %+v", asOf, c)
		}
	}
	if _, ok, _ := repo.Subject(ctx, "long.stream@example.com"); ok {
		t.Error("the subject is still found")
	}
}

// TestErasureNamesEveryEntity: an erasure decided on a stale list of the
// person's leads and contacts (a conversion added a contact since it was
// read) is a version conflict that stores nothing; decided again on the
// current list it goes through.
func TestErasureNamesEveryEntity(t *testing.T) {
	ctx := context.Background()
	pool, _, repo := setup(t)
	lead := "0198a000-0000-7000-8000-0000000000cc"
	if _, err := repo.Save(ctx, capture(lead, "stale.list@example.com")); err != nil {
		t.Fatal(err)
	}
	s, ok, err := repo.Subject(ctx, "stale.list@example.com")
	if err != nil || !ok || len(s.Entities) != 1 {
		t.Fatalf("subject: %+v %v %v", s, ok, err)
	}
	erase := func(s commands.DataSubject) error {
		_, err := repo.Save(ctx, commands.Batch{Changes: []commands.Change{{Stream: "subject-" + s.ID, Expected: 0,
			Events: []aggregates.Event{aggregates.SubjectErasedEvent{SubjectID: s.ID, Entities: s.Entities}}}},
			Erase: []commands.DataSubject{s}, Metadata: commands.Metadata{Actor: "user:test", CommandID: "erase"}})
		return err
	}
	// A contact added under the same key after the list was read.
	if _, err := pool.Exec(ctx, `INSERT INTO crm_privacy_entities (subject_id, entity_type, entity_id) VALUES ($1, 'contact', 'c-1')`, s.ID); err != nil {
		t.Fatal(err)
	}
	if err := erase(s); !errors.Is(err, commands.ErrVersionConflict) {
		t.Fatalf("erasure on a stale list: %v, want a version conflict", err)
	}
	var keys, events int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM crm_privacy_keys WHERE subject_id = $1),
  (SELECT count(*) FROM crm_events WHERE stream_id = 'subject-' || $1::text)`, s.ID).Scan(&keys, &events); err != nil || keys != 1 || events != 0 {
		t.Fatalf("the refused erasure left %d keys and %d events (%v), want 1 and 0", keys, events, err)
	}
	s, ok, err = repo.Subject(ctx, "stale.list@example.com")
	if err != nil || !ok || len(s.Entities) != 2 {
		t.Fatalf("subject read again: %+v %v %v", s, ok, err)
	}
	if err := erase(s); err != nil {
		t.Fatal(err)
	}
}

package main

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"crm/aggregates"
	"crm/commands"
	"crm/eventstore"
)

// seedUnits is how many customers seedLog appends: about 30,000 events, a
// few batches of every projector's bulk replay.
const seedUnits = 2200

// seeded is the history seedLog appends.
type seeded struct {
	// chunks are the streams to append, a few hundred per append.
	chunks [][]eventstore.StreamEvents
	events int
	// attempts is each seeded lead's number of contact attempts.
	attempts map[string]int
}

// seedHistory is built once per test binary and appended to each test's
// database.
var seedHistory struct {
	once sync.Once
	s    seeded
	err  error
}

// seedLog appends the histories of seedUnits customers straight to the
// event store of db (see buildSeed) and returns them.
func seedLog(t *testing.T, db *testDB) seeded {
	t.Helper()
	seedHistory.once.Do(func() { seedHistory.s, seedHistory.err = buildSeed(seedUnits) })
	if seedHistory.err != nil {
		t.Fatal(seedHistory.err)
	}
	s := seedHistory.s
	work := make(chan []eventstore.StreamEvents)
	errs := make(chan error, len(s.chunks))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for c := range work {
				if _, err := db.store.Append(context.Background(), c...); err != nil {
					errs <- err
				}
			}
		})
	}
	for _, c := range s.chunks {
		work <- c
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("seed append: %v", err)
	}
	return s
}

// seedStream is one new stream's events, decided by its aggregate.
type seedStream struct {
	id     string
	events []aggregates.Event
	err    error
}

// decide adds a decision's events to the stream, applying them to the
// aggregate first: s.decide(agg.Apply)(agg.Command(...)).
func (s *seedStream) decide(apply func(aggregates.Event)) func([]aggregates.Event, error) {
	return func(evs []aggregates.Event, err error) {
		if err != nil && s.err == nil {
			s.err = fmt.Errorf("seed %s: %w", s.id, err)
		}
		for _, e := range evs {
			apply(e)
		}
		s.events = append(s.events, evs...)
	}
}

// buildSeed decides the histories of units customers, about 14 events
// each: an account with tags and a contact, a lead contacted one to three
// times then qualified or disqualified, an opportunity moved through
// stages, a ticket assigned, answered and sometimes resolved. The
// aggregates decide every event, so the histories are ones the commands
// could have produced. Times are around now, with deadlines hours ahead
// and no deal won or in negotiation, so no automation acts on them while
// the tests run.
func buildSeed(units int) (seeded, error) {
	codec, err := eventstore.DomainRegistry()
	if err != nil {
		return seeded{}, err
	}
	base := time.Now().UTC().Truncate(time.Millisecond)
	out := seeded{attempts: map[string]int{}}
	var (
		sources    = []string{"webinar", "referral", "ads", "event"}
		regions    = []string{"EMEA", "AMER", "APAC"}
		industries = []string{"manufacturing", "retail", "software", "finance"}
		priorities = []string{"low", "normal", "high", "urgent"}
		chunk      []eventstore.StreamEvents
	)
	for i := range units {
		now := base.Add(time.Duration(i) * time.Millisecond)
		rep := fmt.Sprintf("rep-%d", i%20)

		accountID := uuid.Must(uuid.NewV7()).String()
		acc := aggregates.NewAccount(accountID)
		as := &seedStream{id: commands.StreamID(commands.TypeAccount, accountID)}
		tier := "standard"
		if i%10 == 0 {
			tier = "vip"
		}
		as.decide(acc.Apply)(acc.Open(aggregates.OpenAccount{Name: fmt.Sprintf("Seed account %d", i), Industry: industries[i%4],
			Size: "51-200", Region: regions[i%3], Tier: tier, OwnerID: rep}, now))
		as.decide(acc.Apply)(acc.ChangeTags([]string{"seed", fmt.Sprintf("cohort-%d", i%7)}, nil))
		as.decide(acc.Apply)(acc.AddContact(aggregates.AddContact{ContactID: uuid.Must(uuid.NewV7()).String(),
			Name: fmt.Sprintf("Contact %d", i), Email: fmt.Sprintf("contact-%d@seed.example", i), Role: "decision_maker"}, now))

		leadID := uuid.Must(uuid.NewV7()).String()
		lead := aggregates.NewLead(leadID)
		ls := &seedStream{id: commands.StreamID(commands.TypeLead, leadID)}
		ls.decide(lead.Apply)(lead.Capture(aggregates.CaptureLead{Name: fmt.Sprintf("Lead %d", i), Company: fmt.Sprintf("Company %d", i%997),
			Email: fmt.Sprintf("lead-%d@seed.example", i), Source: sources[i%4], Campaign: fmt.Sprintf("c%d", i%13),
			Region: regions[i%3], Industry: industries[i%4], CompanySize: "51-200"}, now))
		ls.decide(lead.Apply)(lead.Assign(rep))
		n := 1 + i%3
		for a := range n {
			ls.decide(lead.Apply)(lead.LogContactAttempt(aggregates.LeadContactChannels[a%4], aggregates.LeadContactOutcomes[a%4], "", now))
		}
		out.attempts[leadID] = n
		switch {
		case i%5 == 0:
			ls.decide(lead.Apply)(lead.Disqualify("no budget"))
		case i%2 == 0:
			ls.decide(lead.Apply)(lead.Qualify("fits"))
		}
		ls.decide(lead.Apply)(lead.LogActivity(aggregates.LogActivity{ActivityID: uuid.Must(uuid.NewV7()).String(), Kind: "note",
			Subject: "Seed note"}, now))

		oppID := uuid.Must(uuid.NewV7()).String()
		opp := aggregates.NewOpportunity(oppID)
		ops := &seedStream{id: commands.StreamID(commands.TypeOpportunity, oppID)}
		ops.decide(opp.Apply)(opp.Open(aggregates.OpenOpportunity{AccountID: accountID, Name: fmt.Sprintf("Deal %d", i),
			Amount: fmt.Sprintf("%d.00", 1000+(i%50)*100), Currency: "EUR", ExpectedCloseDate: "2031-06-30", OwnerID: rep}, now))
		ops.decide(opp.Apply)(opp.ChangeStage("qualification", "", "", now))
		if i%3 == 0 {
			ops.decide(opp.Apply)(opp.ChangeStage("proposal", "", "", now))
		}
		if i%11 == 0 {
			ops.decide(opp.Apply)(opp.ChangeStage("closed_lost", "", "went elsewhere", now))
		}

		ticketID := uuid.Must(uuid.NewV7()).String()
		tk := aggregates.NewTicket(ticketID)
		ts := &seedStream{id: commands.StreamID(commands.TypeTicket, ticketID)}
		ts.decide(tk.Apply)(tk.Open(aggregates.OpenTicket{Subject: fmt.Sprintf("Issue %d", i), AccountID: accountID,
			Priority: priorities[i%4], Channel: "email"}, aggregates.DefaultSLA(), now))
		ts.decide(tk.Apply)(tk.Assign(fmt.Sprintf("agent-%d", i%5)))
		if i%2 == 0 {
			ts.decide(tk.Apply)(tk.Respond("Looking into it", now))
		}
		if i%4 == 0 {
			ts.decide(tk.Apply)(tk.Resolve("Fixed", now))
		}

		for _, s := range []*seedStream{as, ls, ops, ts} {
			if s.err != nil {
				return seeded{}, s.err
			}
			se := eventstore.StreamEvents{StreamID: s.id, Expected: eventstore.NoStream}
			for k, e := range s.events {
				enc, err := codec.Encode(e)
				if err != nil {
					return seeded{}, err
				}
				cmd := fmt.Sprintf("seed-%d-%d", i, k)
				se.Events = append(se.Events, eventstore.EventData{ID: uuid.Must(uuid.NewV7()), Type: enc.Type,
					SchemaVersion: enc.SchemaVersion, Data: enc.Data, Metadata: eventstore.Metadata{Actor: "key:seed",
						CommandID: cmd, CorrelationID: "seed", CausationID: cmd}})
			}
			out.events += len(se.Events)
			chunk = append(chunk, se)
		}
		if len(chunk) >= 400 {
			out.chunks, chunk = append(out.chunks, chunk), nil
		}
	}
	if len(chunk) > 0 {
		out.chunks = append(out.chunks, chunk)
	}
	return out, nil
}

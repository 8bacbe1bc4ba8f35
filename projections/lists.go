package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"crm/aggregates"
	"crm/readmodels"
)

// Lists projects the entity lists (leads, accounts, contacts,
// opportunities, tickets) of readmodels.ListsSchema.
//
// Apply is set-based: it loads the rows a batch touches in one round trip,
// folds the batch's events into them in memory, and writes every changed
// row back with one upsert per table in a second round trip, so a rebuild
// costs two round trips per batch whatever its size.
type Lists struct{}

// NewLists returns the lists projector.
func NewLists() *Lists { return &Lists{} }

// Name implements Projector: "lists".
func (*Lists) Name() string { return readmodels.ListsProjector }

// Setup implements Projector: it creates the list tables.
func (*Lists) Setup(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, readmodels.ListsSchema); err != nil {
		return fmt.Errorf("create list tables: %w", err)
	}
	var opclassSchema *string
	if err := tx.QueryRow(ctx, `SELECT n.nspname::text FROM pg_opclass c JOIN pg_namespace n ON n.oid = c.opcnamespace
		JOIN pg_am a ON a.oid = c.opcmethod WHERE c.opcname = 'gin_trgm_ops' AND a.amname = 'gin' LIMIT 1`).Scan(&opclassSchema); err != nil &&
		!errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("look up pg_trgm: %w", err)
	}
	if opclassSchema == nil {
		return nil
	}
	if _, err := tx.Exec(ctx, readmodels.ListsSearchIndexes(*opclassSchema)); err != nil {
		return fmt.Errorf("create list search indexes: %w", err)
	}
	return nil
}

// Apply implements Projector. Events whose Domain is nil, events of other
// kinds (activities, approvals) and events about an entity whose creation
// the lists never saw are skipped.
func (*Lists) Apply(ctx context.Context, tx pgx.Tx, events []Event) error {
	b := newListsBatch()
	for _, e := range events {
		b.touch(e.Domain)
	}
	if err := b.load(ctx, tx); err != nil {
		return fmt.Errorf("lists: load rows: %w", err)
	}
	for _, e := range events {
		b.apply(e)
		b.stamp(e)
	}
	if err := b.write(ctx, tx); err != nil {
		return fmt.Errorf("lists: write rows: %w", err)
	}
	// Erasures last: the batch's events were read after any erasure in
	// it committed, so they reveal nothing of the erased; rows written
	// from earlier batches still hold plaintext.
	var leads, contacts []string
	for _, e := range events {
		if er, ok := e.Domain.(aggregates.SubjectErasedEvent); ok {
			for _, ent := range er.Entities {
				switch ent.EntityType {
				case readmodels.AuditLead:
					leads = append(leads, ent.EntityID)
				case readmodels.AuditContact:
					contacts = append(contacts, ent.EntityID)
				}
			}
		}
	}
	if len(leads)+len(contacts) > 0 {
		if err := listsErase(ctx, tx, leads, contacts); err != nil {
			return fmt.Errorf("lists: erase personal data: %w", err)
		}
	}
	return nil
}

// Scrubbed implements Scrubber: the lead and contact lists an erasure
// among events overwrote.
func (*Lists) Scrubbed(events []Event) []string {
	var leads, contacts bool
	for _, e := range events {
		if er, ok := e.Domain.(aggregates.SubjectErasedEvent); ok {
			for _, ent := range er.Entities {
				leads = leads || ent.EntityType == readmodels.AuditLead
				contacts = contacts || ent.EntityType == readmodels.AuditContact
			}
		}
	}
	var out []string
	if leads {
		out = append(out, "leads")
	}
	if contacts {
		out = append(out, "contacts")
	}
	return out
}

// listsErase replaces the personal values of erased leads and contacts by
// aggregates.ErasedValue, as a rebuild from their events would show them
// (an empty phone stays empty).
func listsErase(ctx context.Context, tx pgx.Tx, leads, contacts []string) error {
	const set = `SET name = $2, email = $2, phone = CASE WHEN phone = '' THEN '' ELSE $2 END WHERE id = ANY($1)`
	batch := &pgx.Batch{}
	batch.Queue(`UPDATE leads `+set, leads, aggregates.ErasedValue)
	batch.Queue(`UPDATE contacts `+set, contacts, aggregates.ErasedValue)
	return tx.SendBatch(ctx, batch).Close()
}

// listsBatch is the state of the rows one Apply touches: loaded from the
// tables, folded in memory, written back when dirty.
type listsBatch struct {
	leads    map[string]*readmodels.LeadRow
	accounts map[string]*readmodels.AccountRow
	contacts map[string]*readmodels.ContactRow
	opps     map[string]*readmodels.OpportunityRow
	tickets  map[string]*readmodels.TicketRow

	// ids to load, per table.
	loadLeads, loadAccounts, loadContacts, loadOpps, loadTickets map[string]bool
	// ids created by the batch so far, per table.
	newLeads, newAccounts, newContacts, newOpps, newTickets map[string]bool
	// dirty rows, per table.
	dirtyLeads, dirtyAccounts, dirtyContacts, dirtyOpps, dirtyTickets map[string]bool
	// touched holds, per table, the rows an event of the batch is about
	// that the batch does not hold, with the time of the last such event:
	// their updated_at alone changes.
	touched map[string]map[string]time.Time
}

func newListsBatch() *listsBatch {
	return &listsBatch{
		leads: map[string]*readmodels.LeadRow{}, accounts: map[string]*readmodels.AccountRow{},
		contacts: map[string]*readmodels.ContactRow{}, opps: map[string]*readmodels.OpportunityRow{},
		tickets:   map[string]*readmodels.TicketRow{},
		loadLeads: map[string]bool{}, loadAccounts: map[string]bool{}, loadContacts: map[string]bool{}, loadOpps: map[string]bool{}, loadTickets: map[string]bool{},
		newLeads: map[string]bool{}, newAccounts: map[string]bool{}, newContacts: map[string]bool{}, newOpps: map[string]bool{}, newTickets: map[string]bool{},
		dirtyLeads: map[string]bool{}, dirtyAccounts: map[string]bool{}, dirtyContacts: map[string]bool{},
		dirtyOpps: map[string]bool{}, dirtyTickets: map[string]bool{},
		touched: map[string]map[string]time.Time{},
	}
}

// stamp sets updated_at of the record whose stream ev is on (a lead, an
// account, an opportunity or a ticket) to the time ev was recorded: a
// record's updated_at is when the last event about it was recorded,
// whether or not the event changed what the list shows.
func (b *listsBatch) stamp(ev Event) {
	kind, id, ok := strings.Cut(ev.StreamID, "-")
	if !ok || ev.Domain == nil {
		return
	}
	at := ev.RecordedAt
	var table string
	switch kind {
	case "lead":
		if l, ok := b.leads[id]; ok {
			l.UpdatedAt, b.dirtyLeads[id] = at, true
			return
		}
		table = "leads"
	case "account":
		if a, ok := b.accounts[id]; ok {
			a.UpdatedAt, b.dirtyAccounts[id] = at, true
			return
		}
		table = "accounts"
	case "opportunity":
		if o, ok := b.opps[id]; ok {
			o.UpdatedAt, b.dirtyOpps[id] = at, true
			return
		}
		table = "opportunities"
	case "ticket":
		if t, ok := b.tickets[id]; ok {
			t.UpdatedAt, b.dirtyTickets[id] = at, true
			return
		}
		table = "tickets"
	default:
		return
	}
	if b.touched[table] == nil {
		b.touched[table] = map[string]time.Time{}
	}
	b.touched[table][id] = at
}

// touch notes the row an event changes, to load it before folding.
// Creation events need nothing loaded, and neither does a row created
// earlier in the batch: folding its creation replaces whatever a load
// would have found.
func (b *listsBatch) touch(d aggregates.Event) {
	switch e := d.(type) {
	case aggregates.LeadCapturedEvent:
		b.newLeads[e.LeadID] = true
	case aggregates.AccountOpenedEvent:
		b.newAccounts[e.AccountID] = true
	case aggregates.OpportunityOpenedEvent:
		b.newOpps[e.OpportunityID] = true
	case aggregates.TicketOpenedEvent:
		b.newTickets[e.TicketID] = true
	case aggregates.ContactAddedEvent:
		b.newContacts[e.ContactID] = true
	case aggregates.LeadDetailsChangedEvent:
		listsNeed(b.loadLeads, b.newLeads, e.LeadID)
	case aggregates.ContactDetailsChangedEvent:
		listsNeed(b.loadContacts, b.newContacts, e.ContactID)
	case aggregates.OpportunityDetailsChangedEvent:
		listsNeed(b.loadOpps, b.newOpps, e.OpportunityID)
	case aggregates.TicketDetailsChangedEvent:
		listsNeed(b.loadTickets, b.newTickets, e.TicketID)
	case aggregates.LeadAssignedEvent:
		listsNeed(b.loadLeads, b.newLeads, e.LeadID)
	case aggregates.LeadScoredEvent:
		listsNeed(b.loadLeads, b.newLeads, e.LeadID)
	case aggregates.LeadContactAttemptedEvent:
		listsNeed(b.loadLeads, b.newLeads, e.LeadID)
	case aggregates.LeadQualifiedEvent:
		listsNeed(b.loadLeads, b.newLeads, e.LeadID)
	case aggregates.LeadDisqualifiedEvent:
		listsNeed(b.loadLeads, b.newLeads, e.LeadID)
	case aggregates.LeadConvertedEvent:
		listsNeed(b.loadLeads, b.newLeads, e.LeadID)
	case aggregates.AccountDetailsChangedEvent:
		listsNeed(b.loadAccounts, b.newAccounts, e.AccountID)
	case aggregates.AccountTaggedEvent:
		listsNeed(b.loadAccounts, b.newAccounts, e.AccountID)
	case aggregates.AccountUntaggedEvent:
		listsNeed(b.loadAccounts, b.newAccounts, e.AccountID)
	case aggregates.OpportunityStageChangedEvent:
		listsNeed(b.loadOpps, b.newOpps, e.OpportunityID)
	case aggregates.OpportunityAmountChangedEvent:
		listsNeed(b.loadOpps, b.newOpps, e.OpportunityID)
	case aggregates.OpportunityCloseDateChangedEvent:
		listsNeed(b.loadOpps, b.newOpps, e.OpportunityID)
	case aggregates.OpportunityReopenedEvent:
		listsNeed(b.loadOpps, b.newOpps, e.OpportunityID)
	case aggregates.TicketAssignedEvent:
		listsNeed(b.loadTickets, b.newTickets, e.TicketID)
	case aggregates.TicketRespondedEvent:
		listsNeed(b.loadTickets, b.newTickets, e.TicketID)
	case aggregates.TicketPriorityChangedEvent:
		listsNeed(b.loadTickets, b.newTickets, e.TicketID)
	case aggregates.TicketEscalatedEvent:
		listsNeed(b.loadTickets, b.newTickets, e.TicketID)
	case aggregates.TicketResolvedEvent:
		listsNeed(b.loadTickets, b.newTickets, e.TicketID)
	case aggregates.TicketClosedEvent:
		listsNeed(b.loadTickets, b.newTickets, e.TicketID)
	case aggregates.TicketReopenedEvent:
		listsNeed(b.loadTickets, b.newTickets, e.TicketID)
	case aggregates.TicketSatisfactionRecordedEvent:
		listsNeed(b.loadTickets, b.newTickets, e.TicketID)
	}
}

// listsNeed adds id to load unless the batch created it.
func listsNeed(load, created map[string]bool, id string) {
	if !created[id] {
		load[id] = true
	}
}

// keys returns the set's members, sorted.
func listsKeys(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// load reads the touched rows, in one round trip.
func (b *listsBatch) load(ctx context.Context, tx pgx.Tx) error {
	batch := &pgx.Batch{}
	if len(b.loadLeads) > 0 {
		batch.Queue(`SELECT id, status, name, company, email, phone, source, campaign, region, industry, company_size,
			owner_id, contact_attempts, disqualification_reason, account_id, contact_id, opportunity_id, captured_at,
			converted_at, updated_at, score FROM leads WHERE id = ANY($1)`, listsKeys(b.loadLeads)).Query(func(rows pgx.Rows) error {
			return listsForEach(rows, func() error {
				var l readmodels.LeadRow
				if err := rows.Scan(&l.ID, &l.Status, &l.Name, &l.Company, &l.Email, &l.Phone, &l.Source, &l.Campaign,
					&l.Region, &l.Industry, &l.CompanySize, &l.OwnerID, &l.ContactAttempts, &l.DisqualificationReason,
					&l.AccountID, &l.ContactID, &l.OpportunityID, &l.CapturedAt, &l.ConvertedAt, &l.UpdatedAt, &l.Score); err != nil {
					return err
				}
				b.leads[l.ID] = &l
				return nil
			})
		})
	}
	if len(b.loadAccounts) > 0 {
		batch.Queue(`SELECT id, name, industry, size, region, tier, owner_id, tags, opened_at, updated_at FROM accounts WHERE id = ANY($1)`,
			listsKeys(b.loadAccounts)).Query(func(rows pgx.Rows) error {
			return listsForEach(rows, func() error {
				var a readmodels.AccountRow
				if err := rows.Scan(&a.ID, &a.Name, &a.Industry, &a.Size, &a.Region, &a.Tier, &a.OwnerID, &a.Tags, &a.OpenedAt, &a.UpdatedAt); err != nil {
					return err
				}
				b.accounts[a.ID] = &a
				return nil
			})
		})
	}
	if len(b.loadContacts) > 0 {
		batch.Queue(`SELECT id, account_id, name, email, phone, title, role, added_at FROM contacts WHERE id = ANY($1)`,
			listsKeys(b.loadContacts)).Query(func(rows pgx.Rows) error {
			return listsForEach(rows, func() error {
				var c readmodels.ContactRow
				if err := rows.Scan(&c.ID, &c.AccountID, &c.Name, &c.Email, &c.Phone, &c.Title, &c.Role, &c.AddedAt); err != nil {
					return err
				}
				b.contacts[c.ID] = &c
				return nil
			})
		})
	}
	if len(b.loadOpps) > 0 {
		batch.Queue(`SELECT id, account_id, lead_id, name, amount::text, currency, to_char(expected_close_date, 'YYYY-MM-DD'),
			owner_id, stage, probability, forecast_category, lost_reason, opened_at, closed_at, updated_at
			FROM opportunities WHERE id = ANY($1)`, listsKeys(b.loadOpps)).Query(func(rows pgx.Rows) error {
			return listsForEach(rows, func() error {
				var o readmodels.OpportunityRow
				if err := rows.Scan(&o.ID, &o.AccountID, &o.LeadID, &o.Name, &o.Amount, &o.Currency, &o.ExpectedCloseDate,
					&o.OwnerID, &o.Stage, &o.Probability, &o.ForecastCategory, &o.LostReason, &o.OpenedAt, &o.ClosedAt, &o.UpdatedAt); err != nil {
					return err
				}
				b.opps[o.ID] = &o
				return nil
			})
		})
	}
	if len(b.loadTickets) > 0 {
		batch.Queue(`SELECT id, subject, account_id, contact_id, priority, channel, status, assignee_id, escalation_level,
			first_response_due, resolution_due, first_response_at, first_response_late, resolved_at, resolution_late,
			closed_at, satisfaction, opened_at, updated_at FROM tickets WHERE id = ANY($1)`, listsKeys(b.loadTickets)).Query(func(rows pgx.Rows) error {
			return listsForEach(rows, func() error {
				var t readmodels.TicketRow
				if err := rows.Scan(&t.ID, &t.Subject, &t.AccountID, &t.ContactID, &t.Priority, &t.Channel, &t.Status,
					&t.AssigneeID, &t.EscalationLevel, &t.FirstResponseDue, &t.ResolutionDue, &t.FirstResponseAt,
					&t.FirstResponseBreached, &t.ResolvedAt, &t.ResolutionBreached, &t.ClosedAt, &t.Satisfaction, &t.OpenedAt,
					&t.UpdatedAt); err != nil {
					return err
				}
				b.tickets[t.ID] = &t
				return nil
			})
		})
	}
	if batch.Len() == 0 {
		return nil
	}
	return tx.SendBatch(ctx, batch).Close()
}

// forEach calls scan for every row of rows.
func listsForEach(rows pgx.Rows, scan func() error) error {
	defer rows.Close()
	for rows.Next() {
		if err := scan(); err != nil {
			return err
		}
	}
	return rows.Err()
}

// at is a domain event's own time, or the time the event was recorded when
// the domain time is missing.
func listsAt(t time.Time, e Event) time.Time {
	if t.IsZero() {
		return e.RecordedAt
	}
	return t
}

// apply folds one event into the batch's rows: each entity's events are
// folded by their own method; other events leave the lists unchanged.
func (b *listsBatch) apply(ev Event) {
	_ = b.applyLead(ev) || b.applyAccount(ev) || b.applyOpportunity(ev) || b.applyTicket(ev)
}

// applyLead folds a lead event into its row; it reports whether ev is one.
func (b *listsBatch) applyLead(ev Event) bool {
	switch e := ev.Domain.(type) {
	case aggregates.LeadCapturedEvent:
		b.leads[e.LeadID] = &readmodels.LeadRow{ID: e.LeadID, Status: aggregates.LeadCaptured, Name: e.Name,
			Company: e.Company, Email: e.Email, Phone: e.Phone, Source: e.Source, Campaign: e.Campaign, Region: e.Region,
			Industry: e.Industry, CompanySize: e.CompanySize, OwnerID: e.OwnerID, CapturedAt: listsAt(e.CapturedAt, ev)}
		b.dirtyLeads[e.LeadID] = true
	case aggregates.LeadDetailsChangedEvent:
		b.lead(e.LeadID, func(l *readmodels.LeadRow) {
			for _, c := range e.Changes {
				if f := map[string]*string{"name": &l.Name, "company": &l.Company, "email": &l.Email, "phone": &l.Phone,
					"source": &l.Source, "campaign": &l.Campaign, "region": &l.Region, "industry": &l.Industry,
					"company_size": &l.CompanySize}[c.Field]; f != nil {
					*f = c.To
				}
			}
		})
	case aggregates.LeadAssignedEvent:
		b.lead(e.LeadID, func(l *readmodels.LeadRow) { l.OwnerID = e.OwnerID })
	case aggregates.LeadScoredEvent:
		// On the lead's score stream; the row is the lead's.
		b.lead(e.LeadID, func(l *readmodels.LeadRow) { l.Score = e.Score })
	case aggregates.LeadContactAttemptedEvent:
		b.lead(e.LeadID, func(l *readmodels.LeadRow) {
			l.ContactAttempts = e.AttemptNumber
			if l.Status == aggregates.LeadCaptured {
				l.Status = aggregates.LeadContacted
			}
		})
	case aggregates.LeadQualifiedEvent:
		b.lead(e.LeadID, func(l *readmodels.LeadRow) { l.Status = aggregates.LeadQualified })
	case aggregates.LeadDisqualifiedEvent:
		b.lead(e.LeadID, func(l *readmodels.LeadRow) {
			l.Status, l.DisqualificationReason = aggregates.LeadDisqualified, e.Reason
		})
	case aggregates.LeadConvertedEvent:
		b.lead(e.LeadID, func(l *readmodels.LeadRow) {
			t := listsAt(e.ConvertedAt, ev)
			l.Status, l.AccountID, l.ContactID, l.OpportunityID, l.ConvertedAt = aggregates.LeadConverted, e.AccountID,
				e.ContactID, e.OpportunityID, &t
		})
	default:
		return false
	}
	return true
}

// applyAccount folds an account or contact event into its row; it reports whether ev is one.
func (b *listsBatch) applyAccount(ev Event) bool {
	switch e := ev.Domain.(type) {
	case aggregates.AccountOpenedEvent:
		b.accounts[e.AccountID] = &readmodels.AccountRow{ID: e.AccountID, Name: e.Name, Industry: e.Industry, Size: e.Size,
			Region: e.Region, Tier: e.Tier, OwnerID: e.OwnerID, Tags: []string{}, OpenedAt: listsAt(e.OpenedAt, ev)}
		b.dirtyAccounts[e.AccountID] = true
	case aggregates.AccountDetailsChangedEvent:
		b.account(e.AccountID, func(a *readmodels.AccountRow) {
			for _, c := range e.Changes {
				switch c.Field {
				case "name":
					a.Name = c.To
				case "industry":
					a.Industry = c.To
				case "size":
					a.Size = c.To
				case "region":
					a.Region = c.To
				case "tier":
					a.Tier = c.To
				case "owner_id":
					a.OwnerID = c.To
				}
			}
		})
	case aggregates.AccountTaggedEvent:
		b.account(e.AccountID, func(a *readmodels.AccountRow) {
			a.Tags = append(a.Tags, e.Tags...)
			slices.Sort(a.Tags)
			a.Tags = slices.Compact(a.Tags)
		})
	case aggregates.AccountUntaggedEvent:
		b.account(e.AccountID, func(a *readmodels.AccountRow) {
			a.Tags = slices.DeleteFunc(a.Tags, func(t string) bool { return slices.Contains(e.Tags, t) })
		})
	case aggregates.ContactAddedEvent:
		b.contacts[e.ContactID] = &readmodels.ContactRow{ID: e.ContactID, AccountID: e.AccountID, Name: e.Name,
			Email: e.Email, Phone: e.Phone, Title: e.Title, Role: e.Role, AddedAt: listsAt(e.AddedAt, ev)}
		b.dirtyContacts[e.ContactID] = true
	case aggregates.ContactDetailsChangedEvent:
		if c, ok := b.contacts[e.ContactID]; ok {
			for _, ch := range e.Changes {
				if f := map[string]*string{"name": &c.Name, "email": &c.Email, "phone": &c.Phone, "title": &c.Title,
					"role": &c.Role}[ch.Field]; f != nil {
					*f = ch.To
				}
			}
			b.dirtyContacts[e.ContactID] = true
		}
	default:
		return false
	}
	return true
}

// applyOpportunity folds an opportunity event into its row; it reports whether ev is one.
func (b *listsBatch) applyOpportunity(ev Event) bool {
	switch e := ev.Domain.(type) {
	case aggregates.OpportunityOpenedEvent:
		b.opps[e.OpportunityID] = &readmodels.OpportunityRow{ID: e.OpportunityID, AccountID: e.AccountID, LeadID: e.LeadID,
			Name: e.Name, Amount: e.Amount, Currency: e.Currency, ExpectedCloseDate: e.ExpectedCloseDate, OwnerID: e.OwnerID,
			Stage: e.Stage, Probability: aggregates.StageProbability(e.Stage),
			ForecastCategory: aggregates.ForecastCategory(e.Stage), OpenedAt: listsAt(e.OpenedAt, ev)}
		b.dirtyOpps[e.OpportunityID] = true
	case aggregates.OpportunityDetailsChangedEvent:
		b.opp(e.OpportunityID, func(o *readmodels.OpportunityRow) {
			for _, c := range e.Changes {
				switch c.Field {
				case "name":
					o.Name = c.To
				case "owner_id":
					o.OwnerID = c.To
				}
			}
		})
	case aggregates.OpportunityStageChangedEvent:
		b.opp(e.OpportunityID, func(o *readmodels.OpportunityRow) {
			listsEnterStage(o, e.To)
			if aggregates.IsClosedStage(e.To) {
				t := listsAt(e.ChangedAt, ev)
				o.ClosedAt, o.LostReason = &t, e.Reason
			}
		})
	case aggregates.OpportunityAmountChangedEvent:
		b.opp(e.OpportunityID, func(o *readmodels.OpportunityRow) { o.Amount, o.Currency = e.Amount, e.Currency })
	case aggregates.OpportunityCloseDateChangedEvent:
		b.opp(e.OpportunityID, func(o *readmodels.OpportunityRow) { o.ExpectedCloseDate = e.To })
	case aggregates.OpportunityReopenedEvent:
		b.opp(e.OpportunityID, func(o *readmodels.OpportunityRow) {
			listsEnterStage(o, e.ToStage)
			o.ClosedAt, o.LostReason = nil, ""
		})
	default:
		return false
	}
	return true
}

// applyTicket folds a ticket event into its row; it reports whether ev is one.
func (b *listsBatch) applyTicket(ev Event) bool {
	switch e := ev.Domain.(type) {
	case aggregates.TicketOpenedEvent:
		b.tickets[e.TicketID] = &readmodels.TicketRow{ID: e.TicketID, Subject: e.Subject, AccountID: e.AccountID,
			ContactID: e.ContactID, Priority: e.Priority, Channel: e.Channel, Status: aggregates.TicketOpen,
			FirstResponseDue: e.FirstResponseDue, ResolutionDue: e.ResolutionDue, OpenedAt: listsAt(e.OpenedAt, ev)}
		b.dirtyTickets[e.TicketID] = true
	case aggregates.TicketDetailsChangedEvent:
		b.ticket(e.TicketID, func(t *readmodels.TicketRow) {
			for _, c := range e.Changes {
				switch c.Field {
				case "subject":
					t.Subject = c.To
				case "channel":
					t.Channel = c.To
				}
			}
		})
	case aggregates.TicketAssignedEvent:
		b.ticket(e.TicketID, func(t *readmodels.TicketRow) { t.AssigneeID = e.AssigneeID })
	case aggregates.TicketRespondedEvent:
		if e.First {
			b.ticket(e.TicketID, func(t *readmodels.TicketRow) {
				r := listsAt(e.RespondedAt, ev)
				t.FirstResponseAt, t.FirstResponseBreached = &r, !e.WithinSLA
			})
		}
	case aggregates.TicketPriorityChangedEvent:
		b.ticket(e.TicketID, func(t *readmodels.TicketRow) {
			t.Priority, t.FirstResponseDue, t.ResolutionDue = e.To, e.FirstResponseDue, e.ResolutionDue
		})
	case aggregates.TicketEscalatedEvent:
		b.ticket(e.TicketID, func(t *readmodels.TicketRow) { t.EscalationLevel = e.Level })
	case aggregates.TicketResolvedEvent:
		b.ticket(e.TicketID, func(t *readmodels.TicketRow) {
			r := listsAt(e.ResolvedAt, ev)
			t.Status, t.ResolvedAt, t.ResolutionBreached = aggregates.TicketResolved, &r, !e.WithinSLA
		})
	case aggregates.TicketClosedEvent:
		b.ticket(e.TicketID, func(t *readmodels.TicketRow) {
			c := listsAt(e.ClosedAt, ev)
			t.Status, t.ClosedAt = aggregates.TicketClosed, &c
		})
	case aggregates.TicketReopenedEvent:
		// As the ticket's own view: a reopened ticket is unresolved again
		// and its satisfaction no longer counts, but a late resolution stays
		// a recorded breach (until a later resolution records its own).
		b.ticket(e.TicketID, func(t *readmodels.TicketRow) {
			t.Status, t.ResolvedAt, t.ClosedAt, t.Satisfaction = aggregates.TicketOpen, nil, nil, nil
		})
	case aggregates.TicketSatisfactionRecordedEvent:
		b.ticket(e.TicketID, func(t *readmodels.TicketRow) {
			s := e.Score
			t.Satisfaction = &s
		})
	default:
		return false
	}
	return true
}

// enterStage moves o into stage, with the stage's probability and
// forecast category.
func listsEnterStage(o *readmodels.OpportunityRow, stage string) {
	o.Stage, o.Probability, o.ForecastCategory = stage, aggregates.StageProbability(stage), aggregates.ForecastCategory(stage)
}

// lead applies f to a known lead and marks it dirty.
func (b *listsBatch) lead(id string, f func(*readmodels.LeadRow)) {
	if l, ok := b.leads[id]; ok {
		f(l)
		b.dirtyLeads[id] = true
	}
}

// account applies f to a known account and marks it dirty.
func (b *listsBatch) account(id string, f func(*readmodels.AccountRow)) {
	if a, ok := b.accounts[id]; ok {
		f(a)
		b.dirtyAccounts[id] = true
	}
}

// opp applies f to a known opportunity and marks it dirty.
func (b *listsBatch) opp(id string, f func(*readmodels.OpportunityRow)) {
	if o, ok := b.opps[id]; ok {
		f(o)
		b.dirtyOpps[id] = true
	}
}

// ticket applies f to a known ticket and marks it dirty.
func (b *listsBatch) ticket(id string, f func(*readmodels.TicketRow)) {
	if t, ok := b.tickets[id]; ok {
		f(t)
		b.dirtyTickets[id] = true
	}
}

// column is one column of an upsert: its name, the SQL type of the array
// that carries it, and optionally the expression (over u.<name>) that
// turns the array element into the column's value.
type listsColumn struct {
	name, array, expr string
}

// upsertSQL is an INSERT ... SELECT FROM unnest(arrays) ON CONFLICT (id)
// DO UPDATE of table with columns, the first of which is id.
func listsUpsertSQL(table string, cols []listsColumn) string {
	names, arrays, exprs, sets := make([]string, len(cols)), make([]string, len(cols)), make([]string, len(cols)), []string{}
	for i, c := range cols {
		names[i] = c.name
		arrays[i] = fmt.Sprintf("$%d::%s", i+1, c.array)
		exprs[i] = "u." + c.name
		if c.expr != "" {
			exprs[i] = c.expr
		}
		if c.name != "id" {
			sets = append(sets, c.name+" = EXCLUDED."+c.name)
		}
	}
	return "INSERT INTO " + table + " (" + strings.Join(names, ", ") + ")\nSELECT " + strings.Join(exprs, ", ") +
		"\nFROM unnest(" + strings.Join(arrays, ", ") + ") AS u(" + strings.Join(names, ", ") + ")" +
		"\nON CONFLICT (id) DO UPDATE SET " + strings.Join(sets, ", ")
}

func listsTextCols(names ...string) []listsColumn {
	out := make([]listsColumn, len(names))
	for i, n := range names {
		out[i] = listsColumn{name: n, array: "text[]"}
	}
	return out
}

var (
	listsUpsertLeads = listsUpsertSQL("leads", append(listsTextCols("id", "status", "name", "company", "email", "phone", "source",
		"campaign", "region", "industry", "company_size", "owner_id"),
		listsColumn{name: "contact_attempts", array: "int4[]"},
		listsColumn{name: "disqualification_reason", array: "text[]"},
		listsColumn{name: "account_id", array: "text[]"}, listsColumn{name: "contact_id", array: "text[]"},
		listsColumn{name: "opportunity_id", array: "text[]"},
		listsColumn{name: "captured_at", array: "timestamptz[]"}, listsColumn{name: "converted_at", array: "timestamptz[]"},
		listsColumn{name: "updated_at", array: "timestamptz[]"},
		listsColumn{name: "score", array: "int4[]"}))

	listsUpsertAccounts = listsUpsertSQL("accounts", append(listsTextCols("id", "name", "industry", "size", "region", "tier", "owner_id"),
		listsColumn{name: "tags", array: "text[]",
			expr: "ARRAY(SELECT x.t FROM jsonb_array_elements_text(u.tags::jsonb) WITH ORDINALITY AS x(t, n) ORDER BY x.n)"},
		listsColumn{name: "opened_at", array: "timestamptz[]"}, listsColumn{name: "updated_at", array: "timestamptz[]"}))

	listsUpsertContacts = listsUpsertSQL("contacts", append(listsTextCols("id", "account_id", "name", "email", "phone", "title", "role"),
		listsColumn{name: "added_at", array: "timestamptz[]"}))

	listsUpsertOpps = listsUpsertSQL("opportunities", append(listsTextCols("id", "account_id", "lead_id", "name"),
		listsColumn{name: "amount", array: "text[]", expr: "u.amount::numeric"},
		listsColumn{name: "currency", array: "text[]"},
		listsColumn{name: "expected_close_date", array: "text[]", expr: "u.expected_close_date::date"},
		listsColumn{name: "owner_id", array: "text[]"}, listsColumn{name: "stage", array: "text[]"},
		listsColumn{name: "probability", array: "int4[]"}, listsColumn{name: "forecast_category", array: "text[]"},
		listsColumn{name: "lost_reason", array: "text[]"},
		listsColumn{name: "opened_at", array: "timestamptz[]"}, listsColumn{name: "closed_at", array: "timestamptz[]"},
		listsColumn{name: "updated_at", array: "timestamptz[]"}))

	listsUpsertTickets = listsUpsertSQL("tickets", append(listsTextCols("id", "subject", "account_id", "contact_id", "priority",
		"channel", "status", "assignee_id"),
		listsColumn{name: "escalation_level", array: "int4[]"},
		listsColumn{name: "first_response_due", array: "timestamptz[]"}, listsColumn{name: "resolution_due", array: "timestamptz[]"},
		listsColumn{name: "first_response_at", array: "timestamptz[]"}, listsColumn{name: "first_response_late", array: "bool[]"},
		listsColumn{name: "resolved_at", array: "timestamptz[]"}, listsColumn{name: "resolution_late", array: "bool[]"},
		listsColumn{name: "closed_at", array: "timestamptz[]"}, listsColumn{name: "satisfaction", array: "int4[]"},
		listsColumn{name: "opened_at", array: "timestamptz[]"}, listsColumn{name: "updated_at", array: "timestamptz[]"}))
)

// ts is t as a timestamptz parameter.
func listsTS(t time.Time) pgtype.Timestamptz { return pgtype.Timestamptz{Time: t, Valid: true} }

// tsPtr is t as a nullable timestamptz parameter.
func listsTSPtr(t *time.Time) pgtype.Timestamptz {
	if t == nil {
		return pgtype.Timestamptz{}
	}
	return listsTS(*t)
}

// write upserts the dirty rows, one statement per table, in one round
// trip.
func (b *listsBatch) write(ctx context.Context, tx pgx.Tx) error {
	batch := &pgx.Batch{}
	if ids := listsKeys(b.dirtyLeads); len(ids) > 0 {
		cols := newListsColumns(21, len(ids))
		for _, id := range ids {
			l := b.leads[id]
			cols.add(l.ID, l.Status, l.Name, l.Company, l.Email, l.Phone, l.Source, l.Campaign, l.Region, l.Industry,
				l.CompanySize, l.OwnerID, int32(l.ContactAttempts), l.DisqualificationReason, l.AccountID, l.ContactID,
				l.OpportunityID, listsTS(l.CapturedAt), listsTSPtr(l.ConvertedAt), listsTS(l.UpdatedAt), int32(l.Score))
		}
		batch.Queue(listsUpsertLeads, cols.args()...)
	}
	if ids := listsKeys(b.dirtyAccounts); len(ids) > 0 {
		cols := newListsColumns(10, len(ids))
		for _, id := range ids {
			a := b.accounts[id]
			tags := a.Tags
			if tags == nil {
				tags = []string{}
			}
			j, err := json.Marshal(tags)
			if err != nil {
				return err
			}
			cols.add(a.ID, a.Name, a.Industry, a.Size, a.Region, a.Tier, a.OwnerID, string(j), listsTS(a.OpenedAt), listsTS(a.UpdatedAt))
		}
		batch.Queue(listsUpsertAccounts, cols.args()...)
	}
	if ids := listsKeys(b.dirtyContacts); len(ids) > 0 {
		cols := newListsColumns(8, len(ids))
		for _, id := range ids {
			c := b.contacts[id]
			cols.add(c.ID, c.AccountID, c.Name, c.Email, c.Phone, c.Title, c.Role, listsTS(c.AddedAt))
		}
		batch.Queue(listsUpsertContacts, cols.args()...)
	}
	if ids := listsKeys(b.dirtyOpps); len(ids) > 0 {
		cols := newListsColumns(15, len(ids))
		for _, id := range ids {
			o := b.opps[id]
			cols.add(o.ID, o.AccountID, o.LeadID, o.Name, o.Amount, o.Currency, o.ExpectedCloseDate, o.OwnerID, o.Stage,
				int32(o.Probability), o.ForecastCategory, o.LostReason, listsTS(o.OpenedAt), listsTSPtr(o.ClosedAt), listsTS(o.UpdatedAt))
		}
		batch.Queue(listsUpsertOpps, cols.args()...)
	}
	if ids := listsKeys(b.dirtyTickets); len(ids) > 0 {
		cols := newListsColumns(19, len(ids))
		for _, id := range ids {
			t := b.tickets[id]
			sat := pgtype.Int4{}
			if t.Satisfaction != nil {
				sat = pgtype.Int4{Int32: int32(*t.Satisfaction), Valid: true}
			}
			cols.add(t.ID, t.Subject, t.AccountID, t.ContactID, t.Priority, t.Channel, t.Status, t.AssigneeID,
				int32(t.EscalationLevel), listsTS(t.FirstResponseDue), listsTS(t.ResolutionDue), listsTSPtr(t.FirstResponseAt),
				t.FirstResponseBreached, listsTSPtr(t.ResolvedAt), t.ResolutionBreached, listsTSPtr(t.ClosedAt), sat, listsTS(t.OpenedAt),
				listsTS(t.UpdatedAt))
		}
		batch.Queue(listsUpsertTickets, cols.args()...)
	}
	for _, table := range []string{"leads", "accounts", "opportunities", "tickets"} {
		touched := b.touched[table]
		if len(touched) == 0 {
			continue
		}
		ids := slices.Sorted(maps.Keys(touched))
		ats := make([]time.Time, len(ids))
		for i, id := range ids {
			ats[i] = touched[id]
		}
		batch.Queue(`UPDATE `+table+` AS r SET updated_at = u.at FROM unnest($1::text[], $2::timestamptz[]) AS u(id, at)
			WHERE r.id = u.id`, ids, ats)
	}
	if batch.Len() == 0 {
		return nil
	}
	return tx.SendBatch(ctx, batch).Close()
}

// listsColumnar gathers the rows of an upsert column by column.
type listsColumnar struct{ cols [][]any }

func newListsColumns(n, rows int) *listsColumnar {
	c := &listsColumnar{cols: make([][]any, n)}
	for i := range c.cols {
		c.cols[i] = make([]any, 0, rows)
	}
	return c
}

// add appends one row: one value per column.
func (c *listsColumnar) add(vals ...any) {
	if len(vals) != len(c.cols) {
		panic(fmt.Sprintf("lists: %d values for %d columns", len(vals), len(c.cols)))
	}
	for i, v := range vals {
		c.cols[i] = append(c.cols[i], v)
	}
}

// args returns each column as a typed slice, the array parameters of the
// upsert.
func (c *listsColumnar) args() []any {
	out := make([]any, len(c.cols))
	for i, col := range c.cols {
		switch col[0].(type) {
		case string:
			out[i] = listsTyped[string](col)
		case int32:
			out[i] = listsTyped[int32](col)
		case bool:
			out[i] = listsTyped[bool](col)
		case pgtype.Timestamptz:
			out[i] = listsTyped[pgtype.Timestamptz](col)
		case pgtype.Int4:
			out[i] = listsTyped[pgtype.Int4](col)
		default:
			panic(fmt.Sprintf("lists: no array of %T", col[0]))
		}
	}
	return out
}

func listsTyped[T any](col []any) []T {
	out := make([]T, len(col))
	for i, v := range col {
		out[i] = v.(T)
	}
	return out
}

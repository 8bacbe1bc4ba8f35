package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"crm/aggregates"
	"crm/readmodels"
)

// Audit projects the audit timeline of readmodels.AuditSchema: one entry
// per event of the log, with who recorded it when and why (the event's
// metadata), the entity it is about, a human summary and the fields it
// changed.
//
// Apply is set-based: it describes the batch's events in memory and
// writes them with one COPY, so a rebuild costs one round trip per batch
// (plus the COPY's column lookup) whatever its size. Events whose Domain
// is nil still get an entry, with a generic summary and no changes.
type Audit struct{}

// NewAudit returns the audit projector.
func NewAudit() *Audit { return &Audit{} }

// Name implements Projector: "audit".
func (*Audit) Name() string { return readmodels.AuditProjector }

// Setup implements Projector: it creates the timeline table.
func (*Audit) Setup(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, readmodels.AuditSchema); err != nil {
		return fmt.Errorf("create audit tables: %w", err)
	}
	return nil
}

// auditCopyColumns are the columns Apply copies, in row order.
var auditCopyColumns = []string{"position", "recorded_at", "actor", "entity_type", "entity_id", "event_type", "summary",
	"changes", "command_id", "correlation_id", "causation_id"}

// Apply implements Projector.
func (*Audit) Apply(ctx context.Context, tx pgx.Tx, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	rows := make([][]any, len(events))
	for i, ev := range events {
		d := describeAudit(ev)
		changes, err := json.Marshal(d.changes)
		if err != nil {
			return fmt.Errorf("audit: changes of %s: %w", ev.Cursor, err)
		}
		rows[i] = []any{ev.Cursor.String(), ev.RecordedAt.UTC(), ev.Metadata.Actor, d.entityType, d.entityID, ev.Type,
			d.summary, string(changes), ev.Metadata.CommandID, ev.Metadata.CorrelationID, ev.Metadata.CausationID}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"entries"}, auditCopyColumns, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("audit: write entries: %w", err)
	}
	var erased []string
	for _, ev := range events {
		if e, ok := ev.Domain.(aggregates.SubjectErasedEvent); ok {
			for _, ent := range e.Entities {
				erased = append(erased, ent.EntityID)
			}
		}
	}
	if len(erased) > 0 {
		if err := auditErase(ctx, tx, erased); err != nil {
			return fmt.Errorf("audit: erase personal data: %w", err)
		}
	}
	return nil
}

// auditPersonalTypes are the event types whose entries hold personal
// values, and the change fields that do.
var auditPersonalTypes = map[string][]string{
	"lead.captured.v1":          {"name", "email", "phone"},
	"account.contact_added.v1":  {"name", "email", "phone"},
	"lead.contact_attempted.v1": nil,
	"lead.qualified.v1":         nil,
	"activity.logged.v1":        {"subject", "body"},
}

// Scrubbed implements Scrubber: the timeline's entries, when an erasure
// among events rewrote some.
func (*Audit) Scrubbed(events []Event) []string {
	for _, e := range events {
		if er, ok := e.Domain.(aggregates.SubjectErasedEvent); ok && len(er.Entities) > 0 {
			return []string{"entries"}
		}
	}
	return nil
}

// auditErase rewrites the entries of erased leads and contacts as the
// timeline describes their events once their personal values read
// aggregates.ErasedValue, so the live timeline and a rebuild agree.
func auditErase(ctx context.Context, tx pgx.Tx, entityIDs []string) error {
	types := make([]string, 0, len(auditPersonalTypes))
	for t := range auditPersonalTypes {
		types = append(types, t)
	}
	rows, err := tx.Query(ctx, `SELECT position, event_type, summary, changes FROM entries
WHERE entity_id = ANY($1) AND event_type = ANY($2) AND entity_type IN ('lead', 'contact')`, entityIDs, types)
	if err != nil {
		return err
	}
	type entry struct {
		position, typ, summary string
		changes                []readmodels.AuditChange
	}
	var entries []entry
	for rows.Next() {
		var e entry
		if err := rows.Scan(&e.position, &e.typ, &e.summary, &e.changes); err != nil {
			rows.Close()
			return err
		}
		entries = append(entries, e)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	batch := &pgx.Batch{}
	for _, e := range entries {
		summary, changes := auditErased(e.typ, e.summary, e.changes)
		b, err := json.Marshal(changes)
		if err != nil {
			return err
		}
		batch.Queue(`UPDATE entries SET summary = $2, changes = $3 WHERE position = $1`, e.position, summary, string(b))
	}
	if batch.Len() == 0 {
		return nil
	}
	return tx.SendBatch(ctx, batch).Close()
}

// auditErased is an entry's summary and changes with its personal values
// erased: what describeAudit says of the event revealed after erasure.
// Values stored unencrypted (empty, or blank free text) stay.
func auditErased(typ, summary string, changes []readmodels.AuditChange) (string, []readmodels.AuditChange) {
	text := func(field string) string {
		for _, c := range changes {
			var s string
			if c.Field == field && json.Unmarshal(c.To, &s) == nil {
				return s
			}
		}
		return ""
	}
	erasedJSON, _ := json.Marshal(aggregates.ErasedValue)
	for i, c := range changes {
		if !slices.Contains(auditPersonalTypes[typ], c.Field) {
			continue
		}
		var s string
		if json.Unmarshal(c.To, &s) != nil || s == "" {
			continue
		}
		freeText := c.Field == "subject" || c.Field == "body"
		if !freeText || strings.TrimSpace(s) != "" {
			changes[i].To = erasedJSON
		}
	}
	switch typ {
	case "lead.captured.v1":
		summary = auditSummary("Lead captured: %s (%s)", aggregates.ErasedValue, text("company"))
	case "account.contact_added.v1":
		summary = auditSummary("Contact added to account %s: %s", text("account_id"), aggregates.ErasedValue)
	case "lead.contact_attempted.v1":
		// "Lead contact attempt N by CHANNEL: OUTCOME[: note]"
		if i := strings.Index(summary, ": "); i >= 0 {
			if j := strings.Index(summary[i+2:], ": "); j >= 0 {
				summary = summary[:i+2+j] + ": " + aggregates.ErasedValue
			}
		}
	case "lead.qualified.v1":
		if strings.HasPrefix(summary, "Lead qualified: ") {
			summary = "Lead qualified: " + aggregates.ErasedValue
		}
	case "activity.logged.v1":
		// "Kind logged on lead: subject"
		if i := strings.Index(summary, ": "); i >= 0 {
			summary = summary[:i] + ": " + aggregates.ErasedValue
		}
	}
	return summary, changes
}

// auditDescription is what the timeline says about one event.
type auditDescription struct {
	entityType, entityID, summary string
	changes                       auditChanges
}

// auditChanges collects the field changes of one event.
type auditChanges []readmodels.AuditChange

// auditValue is v as a JSON value: nil (null) for nil and the empty
// string.
func auditValue(v any) json.RawMessage {
	if v == nil || v == "" {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		// Only strings, numbers, booleans and times reach here; a time
		// JSON cannot hold (a year past 9999) is kept as its text.
		b, _ = json.Marshal(fmt.Sprint(v))
	}
	return b
}

// set records a field a creation set: from null to v, unless v is empty.
func (c *auditChanges) set(field string, v any) {
	if to := auditValue(v); to != nil {
		*c = append(*c, readmodels.AuditChange{Field: field, To: to})
	}
}

// change records a field that went from one value to another (an empty
// string reads as null).
func (c *auditChanges) change(field string, from, to any) {
	*c = append(*c, readmodels.AuditChange{Field: field, From: auditValue(from), To: auditValue(to)})
}

// maxAuditSummary is the longest summary, in runes; longer ones are cut
// (the changes keep the full values).
const maxAuditSummary = 300

// auditSummary formats a summary and cuts it to maxAuditSummary runes.
func auditSummary(format string, args ...any) string {
	s := fmt.Sprintf(format, args...)
	if utf8.RuneCountInString(s) <= maxAuditSummary {
		return s
	}
	r := []rune(s)
	return string(r[:maxAuditSummary-1]) + "…"
}

// withText appends ": text" to s when text is not blank.
func withText(s, text string) string {
	if strings.TrimSpace(text) == "" {
		return s
	}
	return s + ": " + text
}

// slaText tells whether a target was met.
func slaText(within bool) string {
	if within {
		return "within SLA"
	}
	return "SLA missed"
}

// describeAudit says what an event means for the timeline: each family
// of events is described by its own function; a type none describes gets
// an entry naming the event and its stream.
func describeAudit(ev Event) auditDescription {
	d := auditDescription{changes: auditChanges{}}
	for _, describe := range []func(Event, *auditDescription) bool{
		describeLeadAudit, describeAccountAudit, describeOpportunityAudit,
		describeTicketAudit, describeActivityAudit, describeAutomationAudit, describeCashAudit, describeEngagementAudit,
	} {
		if describe(ev, &d) {
			return d
		}
	}
	// A type this build does not know (or does not describe): the entry
	// names the event and its stream.
	d.entityType, d.entityID = auditStreamEntity(ev.StreamID)
	d.summary = auditSummary("Event %s recorded on %s", ev.Type, ev.StreamID)
	return d
}

// describeLeadAudit describes a lead event into d; it reports whether ev is one.
func describeLeadAudit(ev Event, d *auditDescription) bool {
	c := &d.changes
	switch e := ev.Domain.(type) {
	case aggregates.LeadCapturedEvent:
		d.entityType, d.entityID = readmodels.AuditLead, e.LeadID
		d.summary = auditSummary("Lead captured: %s (%s)", e.Name, e.Company)
		c.set("name", e.Name)
		c.set("company", e.Company)
		c.set("email", e.Email)
		c.set("phone", e.Phone)
		c.set("source", e.Source)
		c.set("campaign", e.Campaign)
		c.set("region", e.Region)
		c.set("industry", e.Industry)
		c.set("company_size", e.CompanySize)
		c.set("owner_id", e.OwnerID)
		c.set("status", aggregates.LeadCaptured)
	case aggregates.LeadAssignedEvent:
		d.entityType, d.entityID = readmodels.AuditLead, e.LeadID
		d.summary = auditSummary("Lead assigned to %s", e.OwnerID)
		c.change("owner_id", e.PreviousOwnerID, e.OwnerID)
	case aggregates.LeadContactAttemptedEvent:
		d.entityType, d.entityID = readmodels.AuditLead, e.LeadID
		d.summary = auditSummary("%s", withText(fmt.Sprintf("Lead contact attempt %d by %s: %s", e.AttemptNumber, e.Channel, e.Outcome), e.Note))
		c.change("contact_attempts", e.AttemptNumber-1, e.AttemptNumber)
	case aggregates.LeadQualifiedEvent:
		d.entityType, d.entityID = readmodels.AuditLead, e.LeadID
		d.summary = auditSummary("%s", withText("Lead qualified", e.Note))
		c.change("status", e.PreviousStatus, aggregates.LeadQualified)
	case aggregates.LeadDisqualifiedEvent:
		d.entityType, d.entityID = readmodels.AuditLead, e.LeadID
		d.summary = auditSummary("Lead disqualified: %s", e.Reason)
		c.change("status", e.PreviousStatus, aggregates.LeadDisqualified)
		c.set("disqualification_reason", e.Reason)
	case aggregates.LeadConvertedEvent:
		d.entityType, d.entityID = readmodels.AuditLead, e.LeadID
		account := "existing account"
		if e.NewAccount {
			account = "new account"
		}
		if e.OpportunityID != "" {
			d.summary = auditSummary("Lead converted into %s %s, contact %s and opportunity %s", account, e.AccountID,
				e.ContactID, e.OpportunityID)
		} else {
			d.summary = auditSummary("Lead converted into %s %s and contact %s", account, e.AccountID, e.ContactID)
		}
		c.change("status", aggregates.LeadQualified, aggregates.LeadConverted)
		c.set("account_id", e.AccountID)
		c.set("contact_id", e.ContactID)
		c.set("opportunity_id", e.OpportunityID)
	default:
		return false
	}
	return true
}

// describeAccountAudit describes an account or contact event into d; it reports whether ev is one.
func describeAccountAudit(ev Event, d *auditDescription) bool {
	c := &d.changes
	switch e := ev.Domain.(type) {
	case aggregates.AccountOpenedEvent:
		d.entityType, d.entityID = readmodels.AuditAccount, e.AccountID
		d.summary = auditSummary("Account opened: %s", e.Name)
		c.set("name", e.Name)
		c.set("industry", e.Industry)
		c.set("size", e.Size)
		c.set("region", e.Region)
		c.set("tier", e.Tier)
		c.set("owner_id", e.OwnerID)
	case aggregates.AccountDetailsChangedEvent:
		d.entityType, d.entityID = readmodels.AuditAccount, e.AccountID
		fields := make([]string, len(e.Changes))
		for i, fc := range e.Changes {
			fields[i] = fc.Field
			c.change(fc.Field, fc.From, fc.To)
		}
		d.summary = auditSummary("Account details changed: %s", strings.Join(fields, ", "))
	case aggregates.UserRegisteredEvent:
		d.entityType, d.entityID = readmodels.AuditUser, e.UserID
		d.summary = auditSummary("User registered: %s", e.Name)
		c.set("name", e.Name)
		c.set("email", e.Email)
		for _, f := range []struct{ name, v string }{{"title", e.Title}, {"team", e.Team}, {"manager_id", e.ManagerID}} {
			if f.v != "" {
				c.set(f.name, f.v)
			}
		}
	case aggregates.UserDetailsChangedEvent:
		d.entityType, d.entityID = readmodels.AuditUser, e.UserID
		d.summary = auditSummary("User details changed: %s", auditFieldChanges(c, e.Changes))
	case aggregates.UserDeactivatedEvent:
		d.entityType, d.entityID = readmodels.AuditUser, e.UserID
		d.summary = auditSummary("User deactivated; open records to %s", e.SuccessorID)
		c.change("active", true, false)
		c.set("successor_id", e.SuccessorID)
	case aggregates.UserReactivatedEvent:
		d.entityType, d.entityID = readmodels.AuditUser, e.UserID
		d.summary = auditSummary("User reactivated")
		c.change("active", false, true)
	case aggregates.LeadDetailsChangedEvent:
		d.entityType, d.entityID = readmodels.AuditLead, e.LeadID
		d.summary = auditSummary("Lead details changed: %s", auditFieldChanges(c, e.Changes))
	case aggregates.ContactDetailsChangedEvent:
		d.entityType, d.entityID = readmodels.AuditContact, e.ContactID
		d.summary = auditSummary("Contact details changed: %s", auditFieldChanges(c, e.Changes))
	case aggregates.OpportunityDetailsChangedEvent:
		d.entityType, d.entityID = readmodels.AuditOpportunity, e.OpportunityID
		d.summary = auditSummary("Opportunity details changed: %s", auditFieldChanges(c, e.Changes))
	case aggregates.TicketDetailsChangedEvent:
		d.entityType, d.entityID = readmodels.AuditTicket, e.TicketID
		d.summary = auditSummary("Ticket details changed: %s", auditFieldChanges(c, e.Changes))
	case aggregates.AccountTaggedEvent:
		d.entityType, d.entityID = readmodels.AuditAccount, e.AccountID
		d.summary = auditSummary("Account tagged: %s", strings.Join(e.Tags, ", "))
		for _, t := range e.Tags {
			c.change("tags", nil, t)
		}
	case aggregates.AccountUntaggedEvent:
		d.entityType, d.entityID = readmodels.AuditAccount, e.AccountID
		d.summary = auditSummary("Account untagged: %s", strings.Join(e.Tags, ", "))
		for _, t := range e.Tags {
			c.change("tags", t, nil)
		}
	case aggregates.ContactAddedEvent:
		d.entityType, d.entityID = readmodels.AuditContact, e.ContactID
		d.summary = auditSummary("Contact added to account %s: %s", e.AccountID, e.Name)
		c.set("account_id", e.AccountID)
		c.set("name", e.Name)
		c.set("email", e.Email)
		c.set("phone", e.Phone)
		c.set("title", e.Title)
		c.set("role", e.Role)
	default:
		return false
	}
	return true
}

// describeOpportunityAudit describes an opportunity event into d; it reports whether ev is one.
func describeOpportunityAudit(ev Event, d *auditDescription) bool {
	c := &d.changes
	switch e := ev.Domain.(type) {
	case aggregates.OpportunityOpenedEvent:
		d.entityType, d.entityID = readmodels.AuditOpportunity, e.OpportunityID
		d.summary = auditSummary("Opportunity opened: %s (%s %s, %s)", e.Name, e.Amount, e.Currency, e.Stage)
		c.set("account_id", e.AccountID)
		c.set("lead_id", e.LeadID)
		c.set("name", e.Name)
		c.set("amount", e.Amount)
		c.set("currency", e.Currency)
		c.set("expected_close_date", e.ExpectedCloseDate)
		c.set("owner_id", e.OwnerID)
		c.set("stage", e.Stage)
		c.set("probability", e.Probability)
		c.set("forecast_category", e.ForecastCategory)
	case aggregates.OpportunityStageChangedEvent:
		d.entityType, d.entityID = readmodels.AuditOpportunity, e.OpportunityID
		d.summary = auditSummary("%s", withText(fmt.Sprintf("Opportunity stage changed from %s to %s", e.From, e.To),
			e.Reason))
		c.change("stage", e.From, e.To)
		c.change("probability", aggregates.StageProbability(e.From), e.Probability)
		c.change("forecast_category", aggregates.ForecastCategory(e.From), e.ForecastCategory)
		c.set("lost_reason", e.Reason)
		c.set("note", e.Note)
	case aggregates.OpportunityAmountChangedEvent:
		d.entityType, d.entityID = readmodels.AuditOpportunity, e.OpportunityID
		d.summary = auditSummary("Opportunity amount changed from %s %s to %s %s", e.FromAmount, e.FromCurrency, e.Amount, e.Currency)
		c.change("amount", e.FromAmount, e.Amount)
		if e.FromCurrency != e.Currency {
			c.change("currency", e.FromCurrency, e.Currency)
		}
	case aggregates.OpportunityCloseDateChangedEvent:
		d.entityType, d.entityID = readmodels.AuditOpportunity, e.OpportunityID
		d.summary = auditSummary("Opportunity expected close date changed from %s to %s", e.From, e.To)
		c.change("expected_close_date", e.From, e.To)
	case aggregates.OpportunityReopenedEvent:
		d.entityType, d.entityID = readmodels.AuditOpportunity, e.OpportunityID
		d.summary = auditSummary("Opportunity reopened from %s to %s: %s", e.FromStage, e.ToStage, e.Reason)
		c.change("stage", e.FromStage, e.ToStage)
		c.change("probability", aggregates.StageProbability(e.FromStage), aggregates.StageProbability(e.ToStage))
		c.change("forecast_category", aggregates.ForecastCategory(e.FromStage), aggregates.ForecastCategory(e.ToStage))
	case aggregates.OpportunityApprovalRequestedEvent:
		d.entityType, d.entityID = readmodels.AuditOpportunity, e.OpportunityID
		d.summary = auditSummary("Approval %s requested: %s", e.ApprovalID, e.Reason)
		c.change("approval_status", nil, aggregates.ApprovalPending)
	case aggregates.OpportunityApprovalGrantedEvent:
		d.entityType, d.entityID = readmodels.AuditOpportunity, e.OpportunityID
		d.summary = auditSummary("%s", withText("Approval "+e.ApprovalID+" granted", e.Note))
		c.change("approval_status", aggregates.ApprovalPending, aggregates.ApprovalApproved)
	case aggregates.OpportunityApprovalRejectedEvent:
		d.entityType, d.entityID = readmodels.AuditOpportunity, e.OpportunityID
		d.summary = auditSummary("Approval %s rejected: %s", e.ApprovalID, e.Reason)
		c.change("approval_status", aggregates.ApprovalPending, aggregates.ApprovalRejected)
	default:
		return false
	}
	return true
}

// describeTicketAudit describes a ticket event into d; it reports whether ev is one.
func describeTicketAudit(ev Event, d *auditDescription) bool {
	c := &d.changes
	switch e := ev.Domain.(type) {
	case aggregates.TicketOpenedEvent:
		d.entityType, d.entityID = readmodels.AuditTicket, e.TicketID
		d.summary = auditSummary("Ticket opened: %s (%s, %s)", e.Subject, e.Priority, e.Channel)
		c.set("subject", e.Subject)
		c.set("description", e.Description)
		c.set("account_id", e.AccountID)
		c.set("contact_id", e.ContactID)
		c.set("priority", e.Priority)
		c.set("channel", e.Channel)
		c.set("status", aggregates.TicketOpen)
		c.set("first_response_due", e.FirstResponseDue.UTC())
		c.set("resolution_due", e.ResolutionDue.UTC())
	case aggregates.TicketAssignedEvent:
		d.entityType, d.entityID = readmodels.AuditTicket, e.TicketID
		d.summary = auditSummary("Ticket assigned to %s", e.AssigneeID)
		c.change("assignee_id", e.PreviousAssigneeID, e.AssigneeID)
	case aggregates.TicketRespondedEvent:
		d.entityType, d.entityID = readmodels.AuditTicket, e.TicketID
		if e.First {
			d.summary = auditSummary("First response to ticket (%s)", slaText(e.WithinSLA))
			c.set("first_response_at", auditAt(e.RespondedAt, ev))
		} else {
			d.summary = "Response to ticket"
		}
	case aggregates.TicketPriorityChangedEvent:
		d.entityType, d.entityID = readmodels.AuditTicket, e.TicketID
		d.summary = auditSummary("Ticket priority changed from %s to %s", e.From, e.To)
		c.change("priority", e.From, e.To)
	case aggregates.TicketEscalatedEvent:
		d.entityType, d.entityID = readmodels.AuditTicket, e.TicketID
		d.summary = auditSummary("Ticket escalated to level %d: %s", e.Level, e.Reason)
		c.change("escalation_level", e.Level-1, e.Level)
	case aggregates.TicketResolvedEvent:
		d.entityType, d.entityID = readmodels.AuditTicket, e.TicketID
		d.summary = auditSummary("Ticket resolved (%s)", slaText(e.WithinSLA))
		c.change("status", aggregates.TicketOpen, aggregates.TicketResolved)
		c.set("resolution", e.Resolution)
	case aggregates.TicketClosedEvent:
		d.entityType, d.entityID = readmodels.AuditTicket, e.TicketID
		d.summary = "Ticket closed"
		c.change("status", aggregates.TicketResolved, aggregates.TicketClosed)
	case aggregates.TicketReopenedEvent:
		d.entityType, d.entityID = readmodels.AuditTicket, e.TicketID
		d.summary = auditSummary("Ticket reopened from %s: %s", e.FromStatus, e.Reason)
		c.change("status", e.FromStatus, aggregates.TicketOpen)
	case aggregates.TicketSatisfactionRecordedEvent:
		d.entityType, d.entityID = readmodels.AuditTicket, e.TicketID
		d.summary = auditSummary("%s", withText(fmt.Sprintf("Satisfaction recorded: %d/5", e.Score), e.Comment))
		c.set("satisfaction", e.Score)
	default:
		return false
	}
	return true
}

// describeActivityAudit describes a logged activity into d; it reports whether ev is one.
func describeActivityAudit(ev Event, d *auditDescription) bool {
	c := &d.changes
	switch e := ev.Domain.(type) {
	case aggregates.ActivityLoggedEvent:
		d.entityType, d.entityID = e.EntityType, e.EntityID
		kind := e.Kind
		if r, size := utf8.DecodeRuneInString(kind); size > 0 {
			kind = string(unicode.ToUpper(r)) + kind[size:]
		}
		d.summary = auditSummary("%s logged on %s: %s", kind, e.EntityType, e.Subject)
		c.set("activity_id", e.ActivityID)
		c.set("kind", e.Kind)
		c.set("subject", e.Subject)
		c.set("body", e.Body)
		c.set("owner_id", e.OwnerID)
		if e.DueAt != nil {
			c.set("due_at", e.DueAt.UTC())
		}
		if e.Done {
			c.set("done", true)
		}
	default:
		return false
	}
	return true
}

// describeAutomationAudit describes an erasure or an automation's event into d; it reports whether ev is one.
func describeAutomationAudit(ev Event, d *auditDescription) bool {
	c := &d.changes
	switch e := ev.Domain.(type) {
	case aggregates.SubjectErasedEvent:
		d.entityType, d.entityID = readmodels.AuditSubject, e.SubjectID
		names := make([]string, len(e.Entities))
		for i, ent := range e.Entities {
			names[i] = ent.EntityType + " " + ent.EntityID
			c.change("personal_data", ent.EntityType+" "+ent.EntityID, aggregates.ErasedValue)
		}
		d.summary = auditSummary("Personal data erased: %s", strings.Join(names, ", "))
	case aggregates.LeadScoredEvent:
		d.entityType, d.entityID = readmodels.AuditLead, e.LeadID
		d.summary = auditSummary("Lead scored %d (was %d)", e.Score, e.Previous)
		c.change("score", e.Previous, e.Score)
	case aggregates.OpportunityOverdueEvent:
		d.entityType, d.entityID = readmodels.AuditOpportunity, e.OpportunityID
		d.summary = auditSummary("Opportunity overdue: expected to close on %s", e.ExpectedCloseDate)
	case aggregates.TicketSLABreachedEvent:
		d.entityType, d.entityID = readmodels.AuditTicket, e.TicketID
		d.summary = auditSummary("Ticket SLA %s target missed (due %s)", strings.ReplaceAll(e.Target, "_", " "), e.DueAt.UTC().Format(time.RFC3339))
		c.set("sla_breached", e.Target)
	case aggregates.TicketSurveyRequestedEvent:
		d.entityType, d.entityID = readmodels.AuditTicket, e.TicketID
		d.summary = "Satisfaction survey requested"
	default:
		return false
	}
	return true
}

// auditAt is t in UTC, or the time ev was recorded when t is zero.
func auditAt(t time.Time, ev Event) time.Time {
	if t.IsZero() {
		return ev.RecordedAt.UTC()
	}
	return t.UTC()
}

// auditStreamEntity is the entity a stream holds ("lead-<id>" holds lead
// <id>): its type when it is one of readmodels.AuditEntityTypes, else "",
// and its id (the whole stream id when the type is unknown).
func auditStreamEntity(stream string) (string, string) {
	typ, id, ok := strings.Cut(stream, "-")
	if !ok || id == "" {
		return "", stream
	}
	for _, t := range readmodels.AuditEntityTypes {
		if t == typ {
			return typ, id
		}
	}
	return "", stream
}

// auditFieldChanges adds each field change to c and returns the changed
// fields' names, for the summary.
func auditFieldChanges(c *auditChanges, changes []aggregates.FieldChange) string {
	fields := make([]string, len(changes))
	for i, fc := range changes {
		fields[i] = fc.Field
		c.change(fc.Field, fc.From, fc.To)
	}
	return strings.Join(fields, ", ")
}

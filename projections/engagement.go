package projections

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"crm/aggregates"
	"crm/readmodels"
)

// Engagement projects the marketing and service read models of
// readmodels.EngagementSchema: campaigns, knowledge-base articles with
// their search vectors, articles linked to tickets, activities (tasks with
// their due times and reminders) and accounts by normalised name.
//
// Apply queues one statement per event it projects and sends the batch's
// statements in one round trip.
type Engagement struct{}

// NewEngagement returns the engagement projector.
func NewEngagement() *Engagement { return &Engagement{} }

// Name implements Projector: "engagement".
func (*Engagement) Name() string { return readmodels.EngagementProjector }

// Setup implements Projector: it creates the engagement tables.
func (*Engagement) Setup(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, readmodels.EngagementSchema); err != nil {
		return fmt.Errorf("create engagement tables: %w", err)
	}
	return nil
}

// articleSearchSQL is the search vector of an article from its title and
// tags ($words, $bigrams, weight A) and its body ($bodyWords,
// $bodyBigrams).
const articleSearchSQL = `setweight(to_tsvector('english', %s), 'A') || setweight(array_to_tsvector(%s::text[]), 'A') ||
	to_tsvector('english', %s) || array_to_tsvector(%s::text[])`

// articleSearchArgs are the arguments of articleSearchSQL for an article's
// content.
func articleSearchArgs(title, body string, tags []string) []any {
	tw, tb := readmodels.SearchText(title + " " + strings.Join(tags, " "))
	bw, bb := readmodels.SearchText(body)
	if tb == nil {
		tb = []string{}
	}
	if bb == nil {
		bb = []string{}
	}
	return []any{tw, tb, bw, bb}
}

// Apply implements Projector. Events of other kinds are skipped.
func (*Engagement) Apply(ctx context.Context, tx pgx.Tx, events []Event) error {
	batch := &pgx.Batch{}
	for _, ev := range events {
		engagementQueue(batch, ev)
	}
	// Erasures last, as in the lists: activities on an erased lead keep
	// no plaintext subject.
	if leads := engagementErasedLeads(events); len(leads) > 0 {
		batch.Queue(`UPDATE activities SET subject = $2 WHERE entity_type = 'lead' AND entity_id = ANY($1) AND subject <> ''`,
			leads, aggregates.ErasedValue)
	}
	if batch.Len() == 0 {
		return nil
	}
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("engagement: %w", err)
	}
	return nil
}

// engagementErasedLeads are the leads erasures among events name.
func engagementErasedLeads(events []Event) []string {
	var leads []string
	for _, e := range events {
		if er, ok := e.Domain.(aggregates.SubjectErasedEvent); ok {
			for _, ent := range er.Entities {
				if ent.EntityType == readmodels.AuditLead {
					leads = append(leads, ent.EntityID)
				}
			}
		}
	}
	return leads
}

// Scrubbed implements Scrubber: the activities an erasure among events
// overwrote.
func (*Engagement) Scrubbed(events []Event) []string {
	if len(engagementErasedLeads(events)) > 0 {
		return []string{"activities"}
	}
	return nil
}

// engagementQueue queues the statement that projects ev, if any.
func engagementQueue(b *pgx.Batch, ev Event) {
	switch e := ev.Domain.(type) {
	case aggregates.CampaignCreatedEvent:
		var end any
		if e.EndDate != "" {
			end = e.EndDate
		}
		b.Queue(`INSERT INTO campaigns (id, name, channel, start_date, end_date, budget, currency, status, created_at)
			VALUES ($1, $2, $3, $4::date, $5::date, $6::numeric, $7, $8, $9) ON CONFLICT (id) DO NOTHING`,
			e.CampaignID, e.Name, e.Channel, e.StartDate, end, e.Budget, e.Currency, e.Status, listsAt(e.CreatedAt, ev))
	case aggregates.CampaignCostRecordedEvent:
		b.Queue(`UPDATE campaigns SET actual_cost = $2::numeric WHERE id = $1`, e.CampaignID, e.ActualCost)
	case aggregates.CampaignStatusChangedEvent:
		b.Queue(`UPDATE campaigns SET status = $2 WHERE id = $1`, e.CampaignID, e.To)
	case aggregates.ArticleDraftedEvent:
		args := append([]any{e.ArticleID, e.Title, e.Body, e.Tags, e.Version, listsAt(e.DraftedAt, ev)},
			articleSearchArgs(e.Title, e.Body, e.Tags)...)
		b.Queue(`INSERT INTO articles (id, title, body, tags, status, version, search, created_at, updated_at)
			VALUES ($1, $2, $3, $4, 'draft', $5, `+fmt.Sprintf(articleSearchSQL, "$7", "$8", "$9", "$10")+`, $6, $6)
			ON CONFLICT (id) DO NOTHING`, args...)
	case aggregates.ArticleRevisedEvent:
		args := append([]any{e.ArticleID, e.Title, e.Body, e.Tags, e.Version, listsAt(e.RevisedAt, ev)},
			articleSearchArgs(e.Title, e.Body, e.Tags)...)
		b.Queue(`UPDATE articles SET title = $2, body = $3, tags = $4, version = $5, updated_at = $6,
			search = `+fmt.Sprintf(articleSearchSQL, "$7", "$8", "$9", "$10")+` WHERE id = $1`, args...)
	case aggregates.ArticlePublishedEvent:
		b.Queue(`UPDATE articles SET status = 'published', published_version = $2 WHERE id = $1`, e.ArticleID, e.Version)
	case aggregates.TicketArticleLinkedEvent:
		b.Queue(`INSERT INTO ticket_articles (ticket_id, article_id, article_version, linked_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT DO NOTHING`, e.TicketID, e.ArticleID, e.ArticleVersion, listsAt(e.LinkedAt, ev))
	case aggregates.ActivityLoggedEvent:
		b.Queue(`INSERT INTO activities (id, entity_type, entity_id, kind, subject, owner_id, due_at, done, logged_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING`,
			e.ActivityID, e.EntityType, e.EntityID, e.Kind, e.Subject, e.OwnerID, e.DueAt, e.Done, listsAt(e.LoggedAt, ev))
	case aggregates.TaskReminderEvent:
		b.Queue(`UPDATE activities SET reminded_at = $2 WHERE id = $1`, e.ActivityID, listsAt(e.RemindedAt, ev))
	case aggregates.TaskCompletedEvent:
		b.Queue(`UPDATE activities SET done = true WHERE id = $1`, e.ActivityID)
	case aggregates.LeadScoredEvent:
		b.Queue(`INSERT INTO lead_scores (id, score) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET score = EXCLUDED.score`, e.LeadID, e.Score)
	case aggregates.AccountOpenedEvent:
		b.Queue(`INSERT INTO account_names (id, normalized) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`,
			e.AccountID, aggregates.NormalizeCompanyName(e.Name))
	case aggregates.AccountDetailsChangedEvent:
		for _, c := range e.Changes {
			if c.Field == "name" {
				b.Queue(`UPDATE account_names SET normalized = $2 WHERE id = $1`, e.AccountID, aggregates.NormalizeCompanyName(c.To))
			}
		}
	}
}

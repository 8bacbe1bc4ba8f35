package projections

import (
	"encoding/json"
	"fmt"
	"strings"

	"crm/aggregates"
	"crm/readmodels"
)

// describeEngagementAudit describes a campaign, web form, knowledge-base
// or task event into d; it reports whether ev is one.
func describeEngagementAudit(ev Event, d *auditDescription) bool {
	c := &d.changes
	switch e := ev.Domain.(type) {
	case aggregates.CampaignCreatedEvent:
		d.entityType, d.entityID = readmodels.AuditCampaign, e.CampaignID
		d.summary = auditSummary("Campaign created: %s (%s, budget %s %s)", e.Name, e.Channel, e.Budget, e.Currency)
		c.set("name", e.Name)
		c.set("channel", e.Channel)
		c.set("start_date", e.StartDate)
		c.set("end_date", e.EndDate)
		c.set("budget", e.Budget)
		c.set("currency", e.Currency)
		c.set("status", e.Status)
	case aggregates.CampaignCostRecordedEvent:
		d.entityType, d.entityID = readmodels.AuditCampaign, e.CampaignID
		d.summary = auditSummary("%s", withText(fmt.Sprintf("Campaign cost recorded: %s %s (was %s)", e.ActualCost, e.Currency, e.PreviousCost), e.Note))
		c.change("actual_cost", e.PreviousCost, e.ActualCost)
	case aggregates.CampaignStatusChangedEvent:
		d.entityType, d.entityID = readmodels.AuditCampaign, e.CampaignID
		d.summary = auditSummary("Campaign status changed from %s to %s", e.From, e.To)
		c.change("status", e.From, e.To)
	case aggregates.WebFormCreatedEvent:
		d.entityType, d.entityID = readmodels.AuditWebForm, e.FormID
		d.summary = auditSummary("Web form created: %s", e.Name)
		c.set("name", e.Name)
		c.set("campaign_id", e.CampaignID)
		c.set("fields", strings.Join(e.Fields, ", "))
		c.set("allowed_origins", strings.Join(e.AllowedOrigins, ", "))
		c.set("honeypot", e.Honeypot)
	case aggregates.WebFormDisabledEvent:
		d.entityType, d.entityID = readmodels.AuditWebForm, e.FormID
		d.summary = auditSummary("Web form disabled: %s", e.Reason)
		c.change("active", true, false)
	case aggregates.ArticleDraftedEvent:
		d.entityType, d.entityID = readmodels.AuditArticle, e.ArticleID
		d.summary = auditSummary("Article drafted: %s", e.Title)
		c.set("title", e.Title)
		c.set("body", e.Body)
		c.set("tags", strings.Join(e.Tags, ", "))
		c.set("version", e.Version)
		c.set("status", aggregates.ArticleDraft)
	case aggregates.ArticleRevisedEvent:
		d.entityType, d.entityID = readmodels.AuditArticle, e.ArticleID
		d.summary = auditSummary("Article revised to version %d: %s", e.Version, e.Title)
		c.change("version", e.PreviousVersion, e.Version)
		c.set("title", e.Title)
		c.set("body", e.Body)
		c.set("tags", strings.Join(e.Tags, ", "))
	case aggregates.ArticlePublishedEvent:
		d.entityType, d.entityID = readmodels.AuditArticle, e.ArticleID
		d.summary = auditSummary("Article version %d published", e.Version)
		c.set("published_version", e.Version)
	case aggregates.TicketArticleLinkedEvent:
		d.entityType, d.entityID = readmodels.AuditTicket, e.TicketID
		d.summary = auditSummary("Article %s (version %d) linked to ticket", e.ArticleID, e.ArticleVersion)
		c.change("articles", nil, e.ArticleID)
	case aggregates.TaskReminderEvent:
		d.entityType, d.entityID = e.EntityType, e.EntityID
		d.summary = auditSummary("Task due: %s", e.Subject)
		c.set("activity_id", e.ActivityID)
		c.set("reminded_at", auditAt(e.RemindedAt, ev))
	case aggregates.TaskCompletedEvent:
		d.entityType, d.entityID = e.EntityType, e.EntityID
		d.summary = "Task completed"
		c.set("activity_id", e.ActivityID)
		c.change("done", false, true)
	case aggregates.SegmentDefinedEvent:
		d.entityType, d.entityID = readmodels.AuditSegment, e.SegmentID
		d.summary = auditSummary("Segment defined: %s (%s)", e.Name, e.Entity)
		c.set("name", e.Name)
		c.set("entity", e.Entity)
		c.set("filter", segmentFilterText(e.Filter))
	case aggregates.SegmentRedefinedEvent:
		d.entityType, d.entityID = readmodels.AuditSegment, e.SegmentID
		d.summary = auditSummary("Segment redefined: %s", e.Name)
		c.set("name", e.Name)
		c.set("filter", segmentFilterText(e.Filter))
	case aggregates.SegmentArchivedEvent:
		d.entityType, d.entityID = readmodels.AuditSegment, e.SegmentID
		d.summary = "Segment archived"
		c.change("archived", false, true)
	default:
		return false
	}
	return true
}

// segmentFilterText is a segment filter as its JSON text.
func segmentFilterText(f aggregates.SegmentFilter) string {
	b, _ := json.Marshal(f)
	return string(b)
}

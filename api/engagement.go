package api

import (
	"context"
	"time"

	"crm/aggregates"
	"crm/commands"
	"crm/readmodels"
)

// EngagementCommands are the marketing and service use cases: campaigns,
// web forms, the knowledge base, tasks and imports.
type EngagementCommands interface {
	CreateCampaign(ctx context.Context, c *commands.CreateCampaign) error
	RecordCampaignCost(ctx context.Context, c *commands.RecordCampaignCost) error
	ChangeCampaignStatus(ctx context.Context, c *commands.ChangeCampaignStatus) error
	Campaign(ctx context.Context, id string, asOf time.Time) (aggregates.CampaignView, int64, error)
	CreateWebForm(ctx context.Context, c *commands.CreateWebForm) error
	DisableWebForm(ctx context.Context, c *commands.DisableWebForm) error
	WebForm(ctx context.Context, id string, asOf time.Time) (aggregates.WebFormView, int64, error)
	WebFormByToken(ctx context.Context, token string) (aggregates.WebFormView, error)
	SubmitWebForm(ctx context.Context, c *commands.SubmitWebForm) error
	DraftArticle(ctx context.Context, c *commands.DraftArticle) error
	ReviseArticle(ctx context.Context, c *commands.ReviseArticle) error
	PublishArticle(ctx context.Context, c *commands.PublishArticle) error
	Article(ctx context.Context, id string, asOf time.Time) (aggregates.ArticleView, int64, error)
	LinkArticle(ctx context.Context, c *commands.LinkArticle) error
	CompleteTask(ctx context.Context, c *commands.CompleteTask) error
	Import(ctx context.Context, c *commands.Import) error
}

// EngagementQueries are the marketing and service read models (of the
// "engagement" projector, joined with the lists and the audit timeline).
// A bad argument wraps readmodels.ErrInvalid.
type EngagementQueries interface {
	CampaignReport(ctx context.Context) (readmodels.CampaignReport, error)
	Campaigns(ctx context.Context, f readmodels.CampaignFilter) (readmodels.Page[readmodels.CampaignRow], error)
	SearchArticles(ctx context.Context, s readmodels.ArticleSearch) ([]readmodels.ArticleHit, error)
	TicketArticles(ctx context.Context, ticketID string) ([]readmodels.LinkedArticle, error)
	KnowledgeStats(ctx context.Context) (readmodels.KnowledgeStats, error)
	Timeline(ctx context.Context, f readmodels.TimelineFilter) (readmodels.Page[readmodels.TimelineItem], error)
	AccountHealth(ctx context.Context, ids []string, now time.Time, factors []readmodels.HealthFactor) (map[string]readmodels.Health, error)
	AccountsByHealth(ctx context.Context, f readmodels.AccountFilter, status string, now time.Time, factors []readmodels.HealthFactor) (readmodels.Page[readmodels.AccountHealthRow], error)
	Tasks(ctx context.Context, f readmodels.TaskFilter) (readmodels.Page[readmodels.TaskRow], error)
	AccountsByNormalizedName(ctx context.Context, names []string) (map[string]string, error)
	SegmentQueries
}

// engagementProjector is the projector the engagement reads wait for.
const engagementProjector = readmodels.EngagementProjector

// Engagement configures the marketing and service routes.
type Engagement struct {
	// Queries answer the read models. Without them the routes that read
	// them answer 503.
	Queries EngagementQueries
	// TimelineSources and HealthFactors extend the customer timeline and
	// health (nil: the defaults).
	TimelineSources []readmodels.TimelineSource
	HealthFactors   []readmodels.HealthFactor
	// WebForms limits the public web form posts.
	WebForms WebFormLimits
	// Now is the clock of health, overdue tasks and the web form limits
	// (nil: time.Now).
	Now func() time.Time
}

// errNoEngagement answers the engagement reads of a server built without
// them.
var errNoEngagement = sentinel(kindUnavailable, "unavailable", "the marketing and service read models are not available in this process")

// noEngagement answers every engagement read with errNoEngagement.
type noEngagement struct{ EngagementQueries }

func (noEngagement) CampaignReport(context.Context) (readmodels.CampaignReport, error) {
	return readmodels.CampaignReport{}, errNoEngagement
}

func (noEngagement) SearchArticles(context.Context, readmodels.ArticleSearch) ([]readmodels.ArticleHit, error) {
	return nil, errNoEngagement
}

func (noEngagement) TicketArticles(context.Context, string) ([]readmodels.LinkedArticle, error) {
	return nil, errNoEngagement
}

func (noEngagement) KnowledgeStats(context.Context) (readmodels.KnowledgeStats, error) {
	return readmodels.KnowledgeStats{}, errNoEngagement
}

func (noEngagement) Timeline(context.Context, readmodels.TimelineFilter) (readmodels.Page[readmodels.TimelineItem], error) {
	return readmodels.Page[readmodels.TimelineItem]{}, errNoEngagement
}

func (noEngagement) AccountHealth(context.Context, []string, time.Time, []readmodels.HealthFactor) (map[string]readmodels.Health, error) {
	return nil, errNoEngagement
}

func (noEngagement) AccountsByHealth(context.Context, readmodels.AccountFilter, string, time.Time, []readmodels.HealthFactor) (readmodels.Page[readmodels.AccountHealthRow], error) {
	return readmodels.Page[readmodels.AccountHealthRow]{}, errNoEngagement
}

func (noEngagement) Tasks(context.Context, readmodels.TaskFilter) (readmodels.Page[readmodels.TaskRow], error) {
	return readmodels.Page[readmodels.TaskRow]{}, errNoEngagement
}

func (noEngagement) AccountsByNormalizedName(context.Context, []string) (map[string]string, error) {
	return nil, errNoEngagement
}

func (noEngagement) SegmentCount(context.Context, readmodels.SegmentQuery) (int, error) {
	return 0, errNoEngagement
}

func (noEngagement) SegmentLeads(context.Context, readmodels.SegmentQuery) (readmodels.Page[readmodels.LeadRow], error) {
	return readmodels.Page[readmodels.LeadRow]{}, errNoEngagement
}

func (noEngagement) SegmentAccounts(context.Context, readmodels.SegmentQuery) (readmodels.Page[readmodels.AccountRow], error) {
	return readmodels.Page[readmodels.AccountRow]{}, errNoEngagement
}

func (noEngagement) SegmentContacts(context.Context, readmodels.SegmentQuery) (readmodels.Page[readmodels.ContactRow], error) {
	return readmodels.Page[readmodels.ContactRow]{}, errNoEngagement
}

func (noEngagement) Campaigns(context.Context, readmodels.CampaignFilter) (readmodels.Page[readmodels.CampaignRow], error) {
	return readmodels.Page[readmodels.CampaignRow]{}, errNoEngagement
}

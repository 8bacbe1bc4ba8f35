package api

import (
	"context"
	"time"

	"github.com/go-chi/chi/v5"

	"crm/aggregates"
	"crm/commands"
)

// LeadCommands are the lead use cases.
type LeadCommands interface {
	CaptureLead(ctx context.Context, c *commands.CaptureLead) error
	AssignLead(ctx context.Context, c *commands.AssignLead) error
	LogContactAttempt(ctx context.Context, c *commands.LogContactAttempt) error
	QualifyLead(ctx context.Context, c *commands.QualifyLead) error
	DisqualifyLead(ctx context.Context, c *commands.DisqualifyLead) error
	ConvertLead(ctx context.Context, c *commands.ConvertLead) error
	LogActivity(ctx context.Context, c *commands.LogActivity) error
}

// AccountCommands are the account and contact use cases.
type AccountCommands interface {
	OpenAccount(ctx context.Context, c *commands.OpenAccount) error
	ChangeAccountDetails(ctx context.Context, c *commands.ChangeAccountDetails) error
	AddContact(ctx context.Context, c *commands.AddContact) error
	TagAccount(ctx context.Context, c *commands.TagAccount) error
}

// OpportunityCommands are the opportunity use cases.
type OpportunityCommands interface {
	OpenOpportunity(ctx context.Context, c *commands.OpenOpportunity) error
	ChangeStage(ctx context.Context, c *commands.ChangeStage) error
	ChangeAmount(ctx context.Context, c *commands.ChangeAmount) error
	ChangeCloseDate(ctx context.Context, c *commands.ChangeCloseDate) error
	ReopenOpportunity(ctx context.Context, c *commands.ReopenOpportunity) error
	DecideApproval(ctx context.Context, c *commands.DecideApproval) error
}

// TicketCommands are the ticket use cases.
type TicketCommands interface {
	OpenTicket(ctx context.Context, c *commands.OpenTicket) error
	AssignTicket(ctx context.Context, c *commands.AssignTicket) error
	RespondToTicket(ctx context.Context, c *commands.RespondToTicket) error
	ChangeTicketPriority(ctx context.Context, c *commands.ChangeTicketPriority) error
	EscalateTicket(ctx context.Context, c *commands.EscalateTicket) error
	ResolveTicket(ctx context.Context, c *commands.ResolveTicket) error
	CloseTicket(ctx context.Context, c *commands.CloseTicket) error
	ReopenTicket(ctx context.Context, c *commands.ReopenTicket) error
	RecordSatisfaction(ctx context.Context, c *commands.RecordSatisfaction) error
}

// Reads are the by-id reads, folded from the event store.
type Reads interface {
	Lead(ctx context.Context, id string, asOf time.Time) (aggregates.LeadView, int64, error)
	Account(ctx context.Context, id string, asOf time.Time) (aggregates.AccountView, int64, error)
	Contact(ctx context.Context, id string, asOf time.Time) (aggregates.ContactView, int64, error)
	Opportunity(ctx context.Context, id string, asOf time.Time) (aggregates.OpportunityView, int64, error)
	Ticket(ctx context.Context, id string, asOf time.Time) (aggregates.TicketView, int64, error)
	History(ctx context.Context, entityType, id string) ([]commands.Recorded, error)
}

// Commands is everything the command routes need.
type Commands interface {
	LeadCommands
	AccountCommands
	OpportunityCommands
	TicketCommands
	PrivacyCommands
	CashCommands
	EngagementCommands
	SegmentCommands
	DetailsCommands
	UserCommands
	Reads
}

// server holds the /v1 routes' dependencies.
type server struct {
	errs        errorWriter
	keys        Keys
	responses   Responses
	cmds        Commands
	progress    Progress
	projections Projections
	feed        EventFeed
	lists       ListQueries
	audits      AuditQueries
	reports     ReportQueries
	requests    RequestLog
	verifier    Verifier
	automations Automations
	webhooks    Webhooks
	custom      CustomReports
	rateLimit   RateLimit
	cash        CashReports
	// now is the clock that dates live reports (receivables aging).
	now        func() time.Time
	engagement Engagement
	segments   SegmentQueries
	forms      *webForms
	observer   Observer
	export     EventExport
	// root is the whole router, to name the route of a request refused
	// before routing.
	root chi.Routes
}

// routes mounts every /v1 route.
func (s *server) routes(r chi.Router) {
	r.Use(s.recordRequests, authenticate(s.keys, s.errs.write), rateLimited(s.rateLimit, s.errs.write), storableInput(s.errs.write))
	s.leadRoutes(r)
	s.accountRoutes(r)
	s.opportunityRoutes(r)
	s.ticketRoutes(r)
	s.detailsRoutes(r)
	s.userRoutes(r)
	s.keyRoutes(r)
	s.projectionRoutes(r)
	s.exportRoutes(r)
	s.listRoutes(r)
	s.searchRoutes(r)
	s.auditRoutes(r)
	s.reportRoutes(r)
	s.requestRoutes(r)
	s.verifyRoutes(r)
	s.privacyRoutes(r)
	s.automationRoutes(r)
	s.webhookRoutes(r)
	s.customReportRoutes(r)
	s.catalogRoutes(r)
	s.quoteRoutes(r)
	s.orderRoutes(r)
	s.forecastRoutes(r)
	s.campaignRoutes(r)
	s.webFormAdminRoutes(r)
	s.knowledgeRoutes(r)
	s.importRoutes(r)
	s.customerRoutes(r)
	s.taskRoutes(r)
	s.segmentRoutes(r)
}

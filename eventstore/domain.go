package eventstore

import "crm/aggregates"

// DomainRegistry returns a registry holding every domain event type of the
// aggregates package at its current schema version.
func DomainRegistry() (*Registry, error) {
	r := NewRegistry()
	var all []aggregates.Event
	all = append(all, aggregates.LeadEvents()...)
	all = append(all, aggregates.AccountEvents()...)
	all = append(all, aggregates.OpportunityEvents()...)
	all = append(all, aggregates.ApprovalEvents()...)
	all = append(all, aggregates.TicketEvents()...)
	all = append(all, aggregates.ActivityLoggedEvent{})
	all = append(all, aggregates.SubjectErasedEvent{})
	all = append(all, aggregates.AutomationEvents()...)
	all = append(all, aggregates.CatalogEvents()...)
	all = append(all, aggregates.QuoteEvents()...)
	all = append(all, aggregates.OrderEvents()...)
	all = append(all, aggregates.ForecastEvents()...)
	all = append(all, aggregates.CampaignEvents()...)
	all = append(all, aggregates.WebFormEvents()...)
	all = append(all, aggregates.ArticleEvents()...)
	all = append(all, aggregates.TaskEvents()...)
	all = append(all, aggregates.SegmentEvents()...)
	all = append(all, aggregates.DetailsEvents()...)
	all = append(all, aggregates.UserEvents()...)
	for _, e := range all {
		if err := r.Register(e.TypeName(), e.SchemaVersion(), e); err != nil {
			return nil, err
		}
	}
	return r, nil
}

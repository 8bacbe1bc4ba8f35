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
	all = append(all, aggregates.DetailsEvents()...)
	all = append(all, aggregates.UserEvents()...)
	for _, e := range all {
		if err := r.Register(e.TypeName(), e.SchemaVersion(), e); err != nil {
			return nil, err
		}
	}
	return r, nil
}

package projections

// All returns every projector the engine runs, in a fixed order.
func All() []Projector {
	return []Projector{NewLists(), NewReports(), NewAudit(), NewCash(), NewEngagement(), NewDirectory()}
}

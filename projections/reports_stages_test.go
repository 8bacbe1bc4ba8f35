package projections

import (
	"slices"
	"testing"

	"crm/aggregates"
	"crm/readmodels"
)

// TestReportStagesFollowTheDomain: readmodels depends on nothing of ours,
// so it names the pipeline's stages itself; they must be the domain's.
func TestReportStagesFollowTheDomain(t *testing.T) {
	want := append(slices.Clone(aggregates.OpenStages), aggregates.StageClosedWon)
	if !slices.Equal(readmodels.OpportunityFunnelStages, want) {
		t.Errorf("funnel stages %v, domain %v", readmodels.OpportunityFunnelStages, want)
	}
	for _, s := range aggregates.OpenStages {
		if got := readmodels.StageProbability(s); got != aggregates.StageProbability(s) {
			t.Errorf("%s: report probability %d, domain %d", s, got, aggregates.StageProbability(s))
		}
	}
}

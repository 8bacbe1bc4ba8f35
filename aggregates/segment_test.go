package aggregates

import (
	"testing"
	"time"
)

func TestSegment(t *testing.T) {
	five, ten := 5, 10
	before := t0.Add(time.Hour)
	defined := SegmentDefinedEvent{SegmentID: "S1", Name: "EMEA leads", Entity: SegmentLeads,
		Filter: SegmentFilter{Region: "EMEA", ScoreMin: &five}, DefinedAt: t0}
	tests := []struct {
		name    string
		history []Event
		when    func(*Segment) ([]Event, error)
		want    outcome
	}{
		{"define", nil, func(s *Segment) ([]Event, error) {
			return s.Define("EMEA leads", SegmentLeads, SegmentFilter{Region: "EMEA", ScoreMin: &five}, t0)
		}, expectEvents(defined)},
		{"tags sorted once", nil, func(s *Segment) ([]Event, error) {
			return s.Define("P", SegmentAccounts, SegmentFilter{Tags: []string{"b", "a", "b"}, LastActivityBefore: &before}, t0)
		}, expectEvents(SegmentDefinedEvent{SegmentID: "S1", Name: "P", Entity: SegmentAccounts,
			Filter: SegmentFilter{Tags: []string{"a", "b"}, LastActivityBefore: &before}, DefinedAt: t0})},
		{"define twice", []Event{defined}, func(s *Segment) ([]Event, error) { return s.Define("x", SegmentLeads, SegmentFilter{}, t0) },
			expectRefused("segment_exists")},
		{"unknown entity", nil, func(s *Segment) ([]Event, error) { return s.Define("x", "deals", SegmentFilter{}, t0) }, expectInvalid("entity")},
		{"no name", nil, func(s *Segment) ([]Event, error) { return s.Define(" ", SegmentLeads, SegmentFilter{}, t0) }, expectInvalid("name")},
		{"tier on leads", nil, func(s *Segment) ([]Event, error) { return s.Define("x", SegmentLeads, SegmentFilter{Tier: "vip"}, t0) },
			expectInvalid("filter.tier")},
		{"tags on leads", nil, func(s *Segment) ([]Event, error) {
			return s.Define("x", SegmentLeads, SegmentFilter{Tags: []string{"a"}}, t0)
		}, expectInvalid("filter.tags")},
		{"score on contacts", nil, func(s *Segment) ([]Event, error) {
			return s.Define("x", SegmentContacts, SegmentFilter{ScoreMax: &ten}, t0)
		}, expectInvalid("filter.score_max")},
		{"campaign on accounts", nil, func(s *Segment) ([]Event, error) {
			return s.Define("x", SegmentAccounts, SegmentFilter{Campaign: "c"}, t0)
		}, expectInvalid("filter.campaign")},
		{"score range upside down", nil, func(s *Segment) ([]Event, error) {
			return s.Define("x", SegmentLeads, SegmentFilter{ScoreMin: &ten, ScoreMax: &five}, t0)
		}, expectInvalid("filter.score_max")},
		{"activity range upside down", nil, func(s *Segment) ([]Event, error) {
			return s.Define("x", SegmentAccounts, SegmentFilter{LastActivityBefore: &t0, LastActivityAfter: &before}, t0)
		}, expectInvalid("filter.last_activity_before")},
		{"bad status", nil, func(s *Segment) ([]Event, error) {
			return s.Define("x", SegmentLeads, SegmentFilter{Status: "hot"}, t0)
		},
			expectInvalid("filter.status")},
		{"redefine", []Event{defined}, func(s *Segment) ([]Event, error) { return s.Redefine("APAC", SegmentFilter{Region: "APAC"}) },
			expectEvents(SegmentRedefinedEvent{SegmentID: "S1", Name: "APAC", Filter: SegmentFilter{Region: "APAC"}})},
		{"redefine with a filter the entity lacks", []Event{defined}, func(s *Segment) ([]Event, error) {
			return s.Redefine("x", SegmentFilter{Tier: "vip"})
		}, expectInvalid("filter.tier")},
		{"redefine an archived segment", []Event{defined, SegmentArchivedEvent{SegmentID: "S1"}}, func(s *Segment) ([]Event, error) {
			return s.Redefine("x", SegmentFilter{})
		}, expectRefused("segment_archived")},
		{"archive", []Event{defined}, func(s *Segment) ([]Event, error) { return s.Archive() }, expectEvents(SegmentArchivedEvent{SegmentID: "S1"})},
		{"archive twice", []Event{defined, SegmentArchivedEvent{SegmentID: "S1"}}, func(s *Segment) ([]Event, error) { return s.Archive() }, expectEvents()},
		{"archive a missing segment", nil, func(s *Segment) ([]Event, error) { return s.Archive() }, expectNotFound()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.when(given(NewSegment("S1"), tt.history...))
			check(t, got, err, tt.want)
		})
	}
}

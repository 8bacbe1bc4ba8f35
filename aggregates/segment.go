package aggregates

import (
	"slices"
	"time"
)

// What a segment selects.
const (
	SegmentLeads    = "leads"
	SegmentAccounts = "accounts"
	SegmentContacts = "contacts"
)

// SegmentEntities are the kinds of record a segment selects.
var SegmentEntities = []string{SegmentLeads, SegmentAccounts, SegmentContacts}

// SegmentFilter is a segment's saved filter: every set field must match.
// Region, industry and size are the lead's (company size) or the
// account's (for contacts, their account's); tier and tags the account's;
// score, source, campaign and status only leads have. The last activity
// is the newest activity logged on the record (for contacts, on their
// account).
type SegmentFilter struct {
	Region             string     `json:"region,omitempty"`
	Industry           string     `json:"industry,omitempty"`
	Size               string     `json:"size,omitempty"`
	Tier               string     `json:"tier,omitempty"`
	Tags               []string   `json:"tags,omitempty"`
	ScoreMin           *int       `json:"score_min,omitempty"`
	ScoreMax           *int       `json:"score_max,omitempty"`
	Source             string     `json:"source,omitempty"`
	Campaign           string     `json:"campaign,omitempty"`
	Status             string     `json:"status,omitempty"`
	LastActivityBefore *time.Time `json:"last_activity_before,omitempty"`
	LastActivityAfter  *time.Time `json:"last_activity_after,omitempty"`
}

// SegmentDefinedEvent records a new segment.
type SegmentDefinedEvent struct {
	SegmentID string        `json:"segment_id"`
	Name      string        `json:"name"`
	Entity    string        `json:"entity"`
	Filter    SegmentFilter `json:"filter"`
	DefinedAt time.Time     `json:"defined_at"`
}

// SegmentRedefinedEvent records a segment's new name and filter.
type SegmentRedefinedEvent struct {
	SegmentID string        `json:"segment_id"`
	Name      string        `json:"name"`
	Filter    SegmentFilter `json:"filter"`
}

// SegmentArchivedEvent records that a segment is no longer used.
type SegmentArchivedEvent struct {
	SegmentID string `json:"segment_id"`
}

// TypeName implements Event.
func (SegmentDefinedEvent) TypeName() string { return "segment.defined" }

// TypeName implements Event.
func (SegmentRedefinedEvent) TypeName() string { return "segment.redefined" }

// TypeName implements Event.
func (SegmentArchivedEvent) TypeName() string { return "segment.archived" }

// SchemaVersion implements Event.
func (SegmentDefinedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (SegmentRedefinedEvent) SchemaVersion() int { return 1 }

// SchemaVersion implements Event.
func (SegmentArchivedEvent) SchemaVersion() int { return 1 }

// SegmentEvents lists a sample of every segment event type.
func SegmentEvents() []Event {
	return []Event{SegmentDefinedEvent{}, SegmentRedefinedEvent{}, SegmentArchivedEvent{}}
}

// validate checks f for entity and returns it normalised (tags sorted).
func (f SegmentFilter) validate(entity string) (SegmentFilter, error) {
	for _, v := range []struct{ name, v string }{{"filter.region", f.Region}, {"filter.industry", f.Industry}, {"filter.size", f.Size},
		{"filter.source", f.Source}, {"filter.campaign", f.Campaign}} {
		if err := optional(v.name, v.v, maxShortText); err != nil {
			return f, err
		}
	}
	switch {
	case entity != SegmentLeads && f.ScoreMin != nil:
		return f, invalid("filter.score_min", "applies to leads only")
	case entity != SegmentLeads && f.ScoreMax != nil:
		return f, invalid("filter.score_max", "applies to leads only")
	case entity != SegmentLeads && f.Source != "":
		return f, invalid("filter.source", "applies to leads only")
	case entity != SegmentLeads && f.Campaign != "":
		return f, invalid("filter.campaign", "applies to leads only")
	case entity != SegmentLeads && f.Status != "":
		return f, invalid("filter.status", "applies to leads only")
	case entity == SegmentLeads && f.Tier != "":
		return f, invalid("filter.tier", "applies to accounts and contacts only")
	case entity == SegmentLeads && len(f.Tags) > 0:
		return f, invalid("filter.tags", "applies to accounts and contacts only")
	}
	if f.Tier != "" {
		if err := oneOf("filter.tier", f.Tier, AccountTiers...); err != nil {
			return f, err
		}
	}
	if f.Status != "" {
		if err := oneOf("filter.status", f.Status, LeadCaptured, LeadContacted, LeadQualified, LeadDisqualified, LeadConverted); err != nil {
			return f, err
		}
	}
	if f.ScoreMin != nil && f.ScoreMax != nil && *f.ScoreMin > *f.ScoreMax {
		return f, invalid("filter.score_max", "must not be below score_min")
	}
	if f.LastActivityBefore != nil && f.LastActivityAfter != nil && !f.LastActivityAfter.Before(*f.LastActivityBefore) {
		return f, invalid("filter.last_activity_before", "must be after last_activity_after")
	}
	if len(f.Tags) > maxTags {
		return f, invalid("filter.tags", "lists more than %d tags", maxTags)
	}
	tags := slices.Clone(f.Tags)
	for _, t := range tags {
		if err := required("filter.tags", t); err != nil {
			return f, err
		}
	}
	slices.Sort(tags)
	f.Tags = slices.Compact(tags)
	if len(f.Tags) == 0 {
		f.Tags = nil
	}
	for _, p := range []**time.Time{&f.LastActivityBefore, &f.LastActivityAfter} {
		if *p != nil {
			t := utc(**p)
			*p = &t
		}
	}
	return f, nil
}

// Segment is a saved dynamic filter over leads, accounts or contacts; its
// members are whatever matches the filter when asked.
type Segment struct {
	id       string
	exists   bool
	archived bool
	name     string
	entity   string
	filter   SegmentFilter
	defined  time.Time
}

// NewSegment returns an empty segment with the given id.
func NewSegment(id string) *Segment { return &Segment{id: id} }

// Exists reports whether the segment was defined.
func (s *Segment) Exists() bool { return s.exists }

// Apply folds one event into the segment's state.
func (s *Segment) Apply(e Event) {
	switch e := e.(type) {
	case SegmentDefinedEvent:
		s.exists, s.name, s.entity, s.filter, s.defined = true, e.Name, e.Entity, e.Filter, e.DefinedAt
	case SegmentRedefinedEvent:
		s.name, s.filter = e.Name, e.Filter
	case SegmentArchivedEvent:
		s.archived = true
	}
}

// Define validates and returns the event that creates the segment.
func (s *Segment) Define(name, entity string, f SegmentFilter, now time.Time) ([]Event, error) {
	if s.exists {
		return nil, refused("segment_exists", "segment %s already exists", s.id)
	}
	if err := required("name", name); err != nil {
		return nil, err
	}
	if err := oneOf("entity", entity, SegmentEntities...); err != nil {
		return nil, err
	}
	f, err := f.validate(entity)
	if err != nil {
		return nil, err
	}
	return []Event{SegmentDefinedEvent{SegmentID: s.id, Name: name, Entity: entity, Filter: f, DefinedAt: utc(now)}}, nil
}

// Redefine gives the segment a new name and filter.
func (s *Segment) Redefine(name string, f SegmentFilter) ([]Event, error) {
	if !s.exists {
		return nil, &Error{Kind: NotFound, Code: "not_found", Message: "segment " + s.id + " not found"}
	}
	if s.archived {
		return nil, refused("segment_archived", "segment %s is archived", s.id)
	}
	if err := required("name", name); err != nil {
		return nil, err
	}
	f, err := f.validate(s.entity)
	if err != nil {
		return nil, err
	}
	return []Event{SegmentRedefinedEvent{SegmentID: s.id, Name: name, Filter: f}}, nil
}

// Archive retires the segment; archiving it again changes nothing.
func (s *Segment) Archive() ([]Event, error) {
	if !s.exists {
		return nil, &Error{Kind: NotFound, Code: "not_found", Message: "segment " + s.id + " not found"}
	}
	if s.archived {
		return nil, nil
	}
	return []Event{SegmentArchivedEvent{SegmentID: s.id}}, nil
}

// SegmentView is a segment's current state.
type SegmentView struct {
	ID        string        `json:"id"`
	Name      string        `json:"name"`
	Entity    string        `json:"entity"`
	Filter    SegmentFilter `json:"filter"`
	Archived  bool          `json:"archived"`
	DefinedAt time.Time     `json:"defined_at"`
}

// View returns the segment's current state.
func (s *Segment) View() SegmentView {
	return SegmentView{ID: s.id, Name: s.name, Entity: s.entity, Filter: s.filter, Archived: s.archived, DefinedAt: s.defined}
}

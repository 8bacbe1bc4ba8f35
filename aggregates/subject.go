package aggregates

import "time"

// ErasedValue is what a personal value reads as once its subject's key is
// gone.
const ErasedValue = "[erased]"

// ErasedEntity is a lead or contact whose personal data an erasure made
// unreadable.
type ErasedEntity struct {
	EntityType string `json:"entity_type"`
	EntityID   string `json:"entity_id"`
}

// SubjectErasedEvent records that a data subject's (a person's) personal
// data was crypto-shredded: the key it was encrypted under is gone, so the
// named leads' and contacts' personal fields read as erased from now on.
// It holds no personal data itself.
type SubjectErasedEvent struct {
	SubjectID string         `json:"subject_id"`
	Entities  []ErasedEntity `json:"entities"`
	ErasedAt  time.Time      `json:"erased_at"`
}

// TypeName implements Event.
func (SubjectErasedEvent) TypeName() string { return "privacy.subject_erased" }

// SchemaVersion implements Event.
func (SubjectErasedEvent) SchemaVersion() int { return 1 }

// Subject is a data subject as far as erasure goes: erased once, never
// again.
type Subject struct {
	id     string
	erased bool
}

// NewSubject returns the subject with the given id, before its events.
func NewSubject(id string) *Subject { return &Subject{id: id} }

// Apply folds an event into the subject.
func (s *Subject) Apply(e Event) {
	if _, ok := e.(SubjectErasedEvent); ok {
		s.erased = true
	}
}

// Exists reports whether the subject was erased (the only event a
// subject stream holds).
func (s *Subject) Exists() bool { return s.erased }

// Erase records the erasure of the subject's personal data held by
// entities. A subject is erased once; a second erasure is NotFound (there
// is no personal data left to erase).
func (s *Subject) Erase(entities []ErasedEntity, now time.Time) ([]Event, error) {
	if s.erased {
		return nil, &Error{Kind: NotFound, Code: "not_found", Message: "no personal data held for that email"}
	}
	if entities == nil {
		entities = []ErasedEntity{}
	}
	return []Event{SubjectErasedEvent{SubjectID: s.id, Entities: entities, ErasedAt: utc(now)}}, nil
}

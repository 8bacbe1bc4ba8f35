package aggregates

import "testing"

func TestSubjectErase(t *testing.T) {
	entities := []ErasedEntity{{EntityType: "lead", EntityID: "l1"}, {EntityType: "contact", EntityID: "c1"}}
	erased := SubjectErasedEvent{SubjectID: "s1", Entities: entities, ErasedAt: t0}
	for _, tc := range []struct {
		name    string
		history []Event
		want    outcome
	}{
		{"first erasure", nil, expectEvents(erased)},
		{"erased already", []Event{erased}, expectNotFound()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := given(NewSubject("s1"), tc.history...)
			got, err := s.Erase(entities, t0)
			check(t, got, err, tc.want)
		})
	}
	got, err := NewSubject("s2").Erase(nil, t0)
	check(t, got, err, expectEvents(SubjectErasedEvent{SubjectID: "s2", Entities: []ErasedEntity{}, ErasedAt: t0}))
}

package privacy

import (
	"strings"

	"crm/aggregates"
)

// Erased is what a personal value reads as once its subject's key is gone.
const Erased = aggregates.ErasedValue

// Entity types whose personal data a subject key protects.
const (
	EntityLead    = "lead"
	EntityContact = "contact"
)

// personal describes the personal fields of one stored event type.
type personal struct {
	// fields are the top-level JSON fields holding personal values.
	fields []string
	// emailField names the field holding the subject's email; empty when
	// the subject is the person the stream is about (a note on a lead).
	emailField string
	// entityType and entityField name the entity the data belongs to;
	// entityType is empty when typeField names it in the event.
	entityType, entityField string
	// typeField, when set, names the field holding the entity type, and
	// only events about a lead carry personal data (activities).
	typeField string
	// freeText marks fields of free text (notes), where a blank value
	// (only white space) says nothing and is stored as it is.
	freeText bool
}

// keepsPlain reports whether a value of the field stays unencrypted: an
// empty one, or a blank free text.
func (p personal) keepsPlain(v string) bool {
	return v == "" || (p.freeText && strings.TrimSpace(v) == "")
}

// personalOf returns the personal fields of a stored event type.
func personalOf(typ string) (personal, bool) {
	switch typ {
	case "lead.captured.v1":
		return personal{fields: []string{"name", "email", "phone"}, emailField: "email", entityType: EntityLead, entityField: "lead_id"}, true
	case "account.contact_added.v1":
		return personal{fields: []string{"name", "email", "phone"}, emailField: "email", entityType: EntityContact, entityField: "contact_id"}, true
	case "lead.contact_attempted.v1", "lead.qualified.v1":
		return personal{fields: []string{"note"}, entityType: EntityLead, entityField: "lead_id", freeText: true}, true
	case "activity.logged.v1":
		return personal{fields: []string{"subject", "body"}, entityField: "entity_id", typeField: "entity_type", freeText: true}, true
	case "task.reminder_due.v1":
		return personal{fields: []string{"subject"}, entityField: "entity_id", typeField: "entity_type", freeText: true}, true
	}
	return personal{}, false
}

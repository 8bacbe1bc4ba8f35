package privacy

import (
	"encoding/json"
	"slices"
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
	// changes are the fields whose values in the event's "changes" list
	// ([{field, from, to}]) are personal: both from and to are sealed.
	changes []string
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
	case "lead.details_changed.v1":
		return personal{fields: []string{"email"}, emailField: "email", entityType: EntityLead, entityField: "lead_id",
			changes: []string{"name", "email", "phone"}}, true
	case "account.contact_details_changed.v1":
		return personal{fields: []string{"email"}, emailField: "email", entityType: EntityContact, entityField: "contact_id",
			changes: []string{"name", "email", "phone"}}, true
	case "lead.contact_attempted.v1", "lead.qualified.v1":
		return personal{fields: []string{"note"}, entityType: EntityLead, entityField: "lead_id", freeText: true}, true
	case "activity.logged.v1":
		return personal{fields: []string{"subject", "body"}, entityField: "entity_id", typeField: "entity_type", freeText: true}, true
	case "task.reminder_due.v1":
		return personal{fields: []string{"subject"}, entityField: "entity_id", typeField: "entity_type", freeText: true}, true
	}
	return personal{}, false
}

// changeField is the name a personal value in a "changes" list is sealed
// under (bound into its ciphertext): "changes.email.to".
func changeField(field, side string) string { return "changes." + field + "." + side }

// eachChange calls fn with every personal from/to value of the event's
// "changes" list: its sealed-under name and its raw JSON; fn may replace
// the value. It reports whether fn replaced any.
func (p personal) eachChange(m map[string]json.RawMessage, fn func(name string, raw json.RawMessage) (json.RawMessage, bool)) (bool, error) {
	if len(p.changes) == 0 || len(m["changes"]) == 0 {
		return false, nil
	}
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(m["changes"], &list); err != nil {
		return false, err
	}
	replaced := false
	for _, item := range list {
		field := str(item["field"])
		if !slices.Contains(p.changes, field) {
			continue
		}
		for _, side := range []string{"from", "to"} {
			if next, ok := fn(changeField(field, side), item[side]); ok {
				item[side], replaced = next, true
			}
		}
	}
	if replaced {
		b, err := json.Marshal(list)
		if err != nil {
			return false, err
		}
		m["changes"] = b
	}
	return replaced, nil
}

package customreports

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"crm/eventstore"
)

// Definition is an analyst's report as submitted (JSON over the API, YAML
// for the CLI).
type Definition struct {
	// Name is [a-z][a-z0-9_]{0,39}; it names the report in the API.
	Name string `json:"name" yaml:"name"`
	// Table is the DDL of the report's tables: CREATE TABLE and CREATE
	// INDEX statements separated by semicolons. Every table needs a
	// primary key (rows are paged by it).
	Table string `json:"table" yaml:"table"`
	// Handlers maps a stored event type ("lead.captured.v1") to one SQL
	// statement with named parameters, run for each event of that type.
	Handlers map[string]string `json:"handlers" yaml:"handlers"`
	// Until, when set, replays only the events recorded up to then, and the
	// report stops there.
	Until *time.Time `json:"until" yaml:"until"`
}

var (
	namePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)
	typePattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*\.v[1-9][0-9]*$`)
)

// handlerPlan is one handler ready to prepare.
type handlerPlan struct {
	eventType string
	stmt      string // prepared statement name
	compiled
}

// plan is a checked definition.
type plan struct {
	def      Definition
	ddl      []ddlStatement
	tables   []string
	handlers map[string]*handlerPlan
}

// check validates d without touching the database: its name, until, the
// shape of its DDL, its event types (known to this build, at a version no
// newer than the current one) and its handlers' parameters.
func check(d Definition, types map[string]int) (*plan, error) {
	if !namePattern.MatchString(d.Name) {
		return nil, invalid("name", "must match [a-z][a-z0-9_]{0,39}")
	}
	if d.Until != nil && d.Until.IsZero() {
		return nil, invalid("until", "must be a time")
	}
	ddl, err := checkDDL(d.Table)
	if err != nil {
		return nil, invalid("table", "%v", err)
	}
	p := &plan{def: d, ddl: ddl, handlers: map[string]*handlerPlan{}}
	for _, s := range ddl {
		if s.table == "" {
			continue
		}
		if slices.Contains(p.tables, s.table) {
			return nil, invalid("table", "table %s is created twice", s.table)
		}
		p.tables = append(p.tables, s.table)
	}
	if len(d.Handlers) == 0 {
		return nil, invalid("handlers", "at least one event type needs a handler")
	}
	keys := make([]string, 0, len(d.Handlers))
	for k := range d.Handlers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, typ := range keys {
		field := "handlers." + typ
		if !typePattern.MatchString(typ) {
			return nil, invalid(field, "not an event type such as lead.captured.v1")
		}
		if types != nil {
			name, version, _ := eventstore.ParseTypeName(typ)
			cur, ok := types[name]
			if !ok || version > cur {
				return nil, invalid(field, "no such event type")
			}
		}
		c, err := compileHandler(d.Handlers[typ])
		if err != nil {
			return nil, invalid(field, "%v", err)
		}
		p.handlers[typ] = &handlerPlan{eventType: typ, stmt: fmt.Sprintf("crm_h%d", i), compiled: c}
	}
	return p, nil
}

// typeVersions maps each event name to its current schema version.
func typeVersions(types []string) map[string]int {
	if types == nil {
		return nil
	}
	out := map[string]int{}
	for _, t := range types {
		if name, v, err := eventstore.ParseTypeName(t); err == nil && v > out[name] {
			out[name] = v
		}
	}
	return out
}

// sortedTypes lists the handlers' event types in order.
func (p *plan) sortedTypes() []string {
	out := make([]string, 0, len(p.handlers))
	for t := range p.handlers {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// describe shortens a database error for a problem document.
func describe(err error) string {
	msg := err.Error()
	return strings.TrimPrefix(msg, "ERROR: ")
}

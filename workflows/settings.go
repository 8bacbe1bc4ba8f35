package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"crm/aggregates"
	"crm/internal/strictjson"
)

// Setting names.
const (
	SettingAssignment = "assignment"
	SettingSLA        = "sla"
	SettingApprovals  = "approvals"
)

// AssignmentRules configure lead assignment.
type AssignmentRules struct {
	Rules         []AssignmentRule `json:"rules"`
	DefaultOwners []string         `json:"default_owners"`
}

// AssignmentRule assigns leads matching Match to Owners in turn.
type AssignmentRule struct {
	Match    Territory `json:"match"`
	Owners   []string  `json:"owners"`
	Strategy string    `json:"strategy"`
}

// Territory matches a lead's region and industry (case-insensitively);
// an empty field matches anything.
type Territory struct {
	Region   string `json:"region,omitempty"`
	Industry string `json:"industry,omitempty"`
}

// SLATargets are one priority's targets in seconds.
type SLATargets struct {
	FirstResponseSeconds int64 `json:"first_response_seconds"`
	ResolutionSeconds    int64 `json:"resolution_seconds"`
}

// ApprovalPolicy is the amount above which a deal entering negotiation
// needs a manager's approval. Only deals in Currency are compared.
type ApprovalPolicy struct {
	Threshold string `json:"threshold"`
	Currency  string `json:"currency"`
}

// Settings stores the automations' runtime configuration.
type Settings struct {
	pool *pgxpool.Pool
}

// NewSettings returns the settings store over a migrated pool.
func NewSettings(pool *pgxpool.Pool) *Settings { return &Settings{pool: pool} }

func invalidSetting(field, format string, args ...any) error {
	return &aggregates.Error{Kind: aggregates.Invalid, Code: "invalid", Field: field, Message: fmt.Sprintf(format, args...)}
}

// defaults returns a setting's value when none is stored.
func defaults(name string) (any, bool) {
	switch name {
	case SettingAssignment:
		return AssignmentRules{Rules: []AssignmentRule{}, DefaultOwners: []string{}}, true
	case SettingSLA:
		out := map[string]SLATargets{}
		for p, t := range aggregates.DefaultSLA() {
			out[p] = SLATargets{FirstResponseSeconds: int64(t.FirstResponse / time.Second), ResolutionSeconds: int64(t.Resolution / time.Second)}
		}
		return out, true
	case SettingApprovals:
		return ApprovalPolicy{Threshold: "500000.00", Currency: "EUR"}, true
	}
	return nil, false
}

// Get returns a setting as JSON (its default when never set). An unknown
// name is an aggregates.Error NotFound.
func (s *Settings) Get(ctx context.Context, name string) (json.RawMessage, error) {
	def, ok := defaults(name)
	if !ok {
		return nil, &aggregates.Error{Kind: aggregates.NotFound, Code: "not_found", Message: "no automation setting " + name}
	}
	var raw []byte
	err := s.pool.QueryRow(ctx, `SELECT value FROM crm_automation_settings WHERE name = $1`, name).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return json.Marshal(def)
	}
	if err != nil {
		return nil, fmt.Errorf("read setting %s: %w", name, err)
	}
	return raw, nil
}

// Put validates and stores a setting, returning it as stored. Malformed
// JSON, unknown fields and bad values are aggregates.Error Invalid naming
// the field; nothing is stored then.
func (s *Settings) Put(ctx context.Context, name string, body []byte) (json.RawMessage, error) {
	var v any
	var err error
	switch name {
	case SettingAssignment:
		v, err = parseAssignment(body)
	case SettingSLA:
		v, err = parseSLA(body)
	case SettingApprovals:
		v, err = parseApprovals(body)
	default:
		return nil, &aggregates.Error{Kind: aggregates.NotFound, Code: "not_found", Message: "no automation setting " + name}
	}
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO crm_automation_settings (name, value) VALUES ($1, $2)
ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`, name, raw); err != nil {
		return nil, fmt.Errorf("store setting %s: %w", name, err)
	}
	return raw, nil
}

// strict decodes body into v (see strictjson.Decode): unknown or
// wrongly cased fields, duplicate keys, NUL characters, invalid UTF-8 and
// trailing data are refused naming the field.
func strict(body []byte, v any) error {
	if err := strictjson.Decode(body, v); err != nil {
		var se *strictjson.Error
		if errors.As(err, &se) {
			field := se.Field
			if field == strictjson.Body {
				field = "body"
			}
			return invalidSetting(field, "%s", se.Message)
		}
		return invalidSetting("body", "malformed JSON: %v", err)
	}
	return nil
}

func ownersValid(field string, owners []string) error {
	for i, o := range owners {
		if strings.TrimSpace(o) == "" || len(o) > 200 {
			return invalidSetting(fmt.Sprintf("%s[%d]", field, i), "must be a non-empty id of at most 200 characters")
		}
	}
	return nil
}

func parseAssignment(body []byte) (AssignmentRules, error) {
	var a AssignmentRules
	if err := strict(body, &a); err != nil {
		return a, err
	}
	if a.Rules == nil {
		a.Rules = []AssignmentRule{}
	}
	if a.DefaultOwners == nil {
		a.DefaultOwners = []string{}
	}
	if len(a.Rules) > 200 {
		return a, invalidSetting("rules", "at most 200 rules")
	}
	for i := range a.Rules {
		r := &a.Rules[i]
		if r.Strategy == "" {
			r.Strategy = "round_robin"
		}
		if r.Strategy != "round_robin" {
			return a, invalidSetting(fmt.Sprintf("rules[%d].strategy", i), "must be round_robin")
		}
		if len(r.Owners) == 0 {
			return a, invalidSetting(fmt.Sprintf("rules[%d].owners", i), "must name at least one owner")
		}
		if err := ownersValid(fmt.Sprintf("rules[%d].owners", i), r.Owners); err != nil {
			return a, err
		}
	}
	return a, ownersValid("default_owners", a.DefaultOwners)
}

func parseSLA(body []byte) (map[string]SLATargets, error) {
	var m map[string]SLATargets
	if err := strict(body, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, invalidSetting("body", "must be an object of priorities")
	}
	known := map[string]bool{}
	for _, p := range aggregates.TicketPriorities {
		known[p] = true
	}
	for p, t := range m {
		if !known[p] {
			return nil, invalidSetting(p, "unknown priority (want one of %s)", strings.Join(aggregates.TicketPriorities, ", "))
		}
		if t.FirstResponseSeconds <= 0 || t.FirstResponseSeconds > 366*86400 {
			return nil, invalidSetting(p+".first_response_seconds", "must be 1 to 31622400")
		}
		if t.ResolutionSeconds <= 0 || t.ResolutionSeconds > 366*86400 {
			return nil, invalidSetting(p+".resolution_seconds", "must be 1 to 31622400")
		}
	}
	// Priorities left out keep their defaults.
	def, _ := defaults(SettingSLA)
	for p, t := range def.(map[string]SLATargets) {
		if _, ok := m[p]; !ok {
			m[p] = t
		}
	}
	return m, nil
}

func parseApprovals(body []byte) (ApprovalPolicy, error) {
	var a ApprovalPolicy
	if err := strict(body, &a); err != nil {
		return a, err
	}
	amount, currency, err := aggregates.ValidateMoney("threshold", "currency", a.Threshold, a.Currency)
	if err != nil {
		return a, err
	}
	return ApprovalPolicy{Threshold: amount, Currency: currency}, nil
}

// Assignment returns the assignment rules in force.
func (s *Settings) Assignment(ctx context.Context) (AssignmentRules, error) {
	var a AssignmentRules
	raw, err := s.Get(ctx, SettingAssignment)
	if err == nil {
		err = json.Unmarshal(raw, &a)
	}
	return a, err
}

// Approvals returns the approval policy in force.
func (s *Settings) Approvals(ctx context.Context) (ApprovalPolicy, decimal.Decimal, error) {
	var a ApprovalPolicy
	raw, err := s.Get(ctx, SettingApprovals)
	if err == nil {
		err = json.Unmarshal(raw, &a)
	}
	if err != nil {
		return a, decimal.Decimal{}, err
	}
	d, err := decimal.NewFromString(a.Threshold)
	return a, d, err
}

// SLA returns the ticket SLA policy in force (commands.Options.SLAFunc).
func (s *Settings) SLA(ctx context.Context) (aggregates.SLAPolicy, error) {
	var m map[string]SLATargets
	raw, err := s.Get(ctx, SettingSLA)
	if err == nil {
		err = json.Unmarshal(raw, &m)
	}
	if err != nil {
		return nil, err
	}
	p := aggregates.SLAPolicy{}
	for k, t := range m {
		p[k] = aggregates.SLATarget{FirstResponse: time.Duration(t.FirstResponseSeconds) * time.Second,
			Resolution: time.Duration(t.ResolutionSeconds) * time.Second}
	}
	return p, nil
}

// ApprovalPolicy returns the approval threshold and currency in force
// (commands.Options.ApprovalPolicy).
func (s *Settings) ApprovalPolicy(ctx context.Context) (threshold, currency string, err error) {
	a, _, err := s.Approvals(ctx)
	return a.Threshold, a.Currency, err
}

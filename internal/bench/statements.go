package bench

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// StatementGroups are the groups the statement meter sorts PostgreSQL's
// statements into, in the order they are reported. A statement belongs to
// the first group whose pattern matches its text.
var StatementGroups = []string{"transaction", "auth", "request audit", "idempotency", "claims", "keys", "append",
	"stream read", "log read", "projectors", "automations", "webhooks", "seals", "notify", "other"}

// groupPatterns classify statements by the tables and functions they name.
var groupPatterns = []struct {
	group string
	re    *regexp.Regexp
}{
	{"transaction", regexp.MustCompile(`^\s*(begin|commit|rollback|savepoint|release|start transaction|set local|set transaction)\b`)},
	{"auth", regexp.MustCompile(`crm_api_keys`)},
	{"request audit", regexp.MustCompile(`crm_request_log`)},
	{"idempotency", regexp.MustCompile(`crm_idempotency`)},
	{"claims", regexp.MustCompile(`crm_claims`)},
	{"keys", regexp.MustCompile(`crm_privacy_`)},
	{"append", regexp.MustCompile(`crm_append`)},
	{"webhooks", regexp.MustCompile(`crm_webhook`)},
	{"automations", regexp.MustCompile(`crm_workflow_|crm_dead_letters|crm_deadlines|crm_assignment_|crm_automation_`)},
	{"seals", regexp.MustCompile(`crm_seals`)},
	{"projectors", regexp.MustCompile(`crm_projections|\brm_|\b(leads|accounts|contacts|opportunities|tickets|entries|report_[a-z_]+|activities|funnel[a-z_]*)\b`)},
	{"log read", regexp.MustCompile(`crm_events[\s\S]*(transaction_id|pg_snapshot_xmin)`)},
	{"stream read", regexp.MustCompile(`crm_events|crm_streams`)},
	{"notify", regexp.MustCompile(`pg_notify|\b(notify|listen|unlisten)\b`)},
}

// classify returns the group of a statement's text.
func classify(query string) string {
	q := strings.ToLower(query)
	for _, p := range groupPatterns {
		if p.re.MatchString(q) {
			return p.group
		}
	}
	return "other"
}

// benchMarker starts every statement the bench itself sends while the
// statement meter counts, so that the meter can leave them out.
const benchMarker = "/* crm-bench */"

// statementMeter reads pg_stat_statements, when the server has it loaded,
// to count the statements (each one a round trip, BEGIN and COMMIT
// included) and the execution time the server under test causes.
type statementMeter struct {
	pool *pgxpool.Pool
	ok   bool
}

// statementRow is one normalized statement's counters.
type statementRow struct {
	query  string
	calls  int64
	execMs float64
}

// statementSnapshot is pg_stat_statements at one moment, by query id.
type statementSnapshot map[int64]statementRow

// newStatementMeter installs pg_stat_statements in the database when the
// server preloads it; a meter without it reports nothing.
func newStatementMeter(ctx context.Context, pool *pgxpool.Pool) statementMeter {
	m := statementMeter{pool: pool}
	var preload string
	if err := pool.QueryRow(ctx, `SHOW shared_preload_libraries`).Scan(&preload); err != nil || !strings.Contains(preload, "pg_stat_statements") {
		return m
	}
	if _, err := pool.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pg_stat_statements`); err != nil {
		return m
	}
	m.ok = true
	return m
}

// snapshot reads the counters of this database's statements, the bench's
// own left out.
func (m statementMeter) snapshot(ctx context.Context) (statementSnapshot, error) {
	if !m.ok {
		return nil, nil
	}
	rows, err := m.pool.Query(ctx, benchMarker+` SELECT queryid, query, calls, total_exec_time FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND queryid IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("read pg_stat_statements: %w", err)
	}
	defer rows.Close()
	s := statementSnapshot{}
	for rows.Next() {
		var (
			id  int64
			row statementRow
		)
		if err := rows.Scan(&id, &row.query, &row.calls, &row.execMs); err != nil {
			return nil, fmt.Errorf("read pg_stat_statements: %w", err)
		}
		if strings.HasPrefix(row.query, benchMarker) {
			continue
		}
		s[id] = row
	}
	return s, rows.Err()
}

// StatementGroup is what one group of statements cost per command.
type StatementGroup struct {
	Group string `json:"group"`
	// Statements is the number of statements (round trips) per command.
	Statements float64 `json:"statements"`
	// ExecMs is PostgreSQL's execution time of them per command.
	ExecMs float64 `json:"exec_ms"`
}

// StatementFigure is the statements per command of one kind of command
// (or of the whole mix), by group.
type StatementFigure struct {
	Kind       string           `json:"kind"`
	Statements float64          `json:"statements"`
	ExecMs     float64          `json:"exec_ms"`
	Groups     []StatementGroup `json:"groups"`
	// Top are the most frequent statements, normalized, with their count
	// per command.
	Top []TopStatement `json:"top,omitempty"`
}

// TopStatement is one normalized statement and how often a command ran
// it.
type TopStatement struct {
	Query      string  `json:"query"`
	Group      string  `json:"group"`
	PerCommand float64 `json:"per_command"`
}

// delta is what happened between two snapshots, per ops operations.
// The idle rate (statements per second that run with no command, such as
// pollers) times elapsed is subtracted from each group when idle is set.
func delta(before, after statementSnapshot, ops int64, kind string, top int) StatementFigure {
	f := StatementFigure{Kind: kind}
	if ops <= 0 || after == nil {
		return f
	}
	byGroup := map[string]*StatementGroup{}
	var tops []TopStatement
	for id, a := range after {
		b := before[id]
		calls, ms := a.calls-b.calls, a.execMs-b.execMs
		if calls <= 0 {
			continue
		}
		g := classify(a.query)
		sg := byGroup[g]
		if sg == nil {
			sg = &StatementGroup{Group: g}
			byGroup[g] = sg
		}
		per := float64(calls) / float64(ops)
		sg.Statements += per
		sg.ExecMs += ms / float64(ops)
		tops = append(tops, TopStatement{Query: squeeze(a.query, 160), Group: g, PerCommand: per})
	}
	for _, g := range StatementGroups {
		if sg := byGroup[g]; sg != nil {
			f.Groups = append(f.Groups, *sg)
			f.Statements += sg.Statements
			f.ExecMs += sg.ExecMs
		}
	}
	slices.SortFunc(tops, func(a, b TopStatement) int {
		switch {
		case a.PerCommand > b.PerCommand:
			return -1
		case a.PerCommand < b.PerCommand:
			return 1
		}
		return strings.Compare(a.Query, b.Query)
	})
	if len(tops) > top {
		tops = tops[:top]
	}
	f.Top = tops
	return f
}

// squeeze folds whitespace and cuts s to n bytes.
func squeeze(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

// settle waits until every projector and workflow has committed past the
// log's head, so that the work a command triggered is done; it gives up
// after limit.
func settle(ctx context.Context, pool *pgxpool.Pool, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		var done bool
		err := pool.QueryRow(ctx, benchMarker+` WITH head AS (
  SELECT lpad(to_hex(transaction_id::text::bigint), 16, '0') || lpad(to_hex(position), 16, '0') AS pos
    FROM crm_events WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())
   ORDER BY transaction_id DESC, position DESC LIMIT 1)
SELECT coalesce((SELECT bool_and(p.position COLLATE "C" >= h.pos COLLATE "C")
                   FROM (SELECT position FROM crm_projections UNION ALL SELECT position FROM crm_workflow_checkpoints) p, head h), true)`).Scan(&done)
		if err != nil {
			return fmt.Errorf("settle: %w", err)
		}
		if done || time.Now().After(deadline) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// profileKinds runs passes of the mix one command at a time, waiting
// after each for the work it triggered to settle, and returns each kind's
// statements per command. Pollers that run meanwhile are counted too;
// idle is their rate, measured over an equal time with no command, so
// the figures can be read against it.
func profileKinds(ctx context.Context, m statementMeter, pool *pgxpool.Pool, mx *mix, passes int) ([]StatementFigure, StatementFigure, error) {
	if !m.ok {
		return nil, StatementFigure{}, nil
	}
	sums := make([]map[int64]statementRow, mixSteps)
	for i := range sums {
		sums[i] = map[int64]statementRow{}
	}
	queries := map[int64]string{}
	var elapsed time.Duration
	if err := settle(ctx, pool, 2*time.Second); err != nil {
		return nil, StatementFigure{}, err
	}
	for p := 0; p < passes; p++ {
		for step := 0; step < mixSteps; step++ {
			kind := mx.step
			before, err := m.snapshot(ctx)
			if err != nil {
				return nil, StatementFigure{}, err
			}
			start := time.Now()
			if err := mx.next(ctx); err != nil {
				return nil, StatementFigure{}, fmt.Errorf("profile %s: %w", mixKinds[kind], err)
			}
			if err := settle(ctx, pool, 2*time.Second); err != nil {
				return nil, StatementFigure{}, err
			}
			elapsed += time.Since(start)
			after, err := m.snapshot(ctx)
			if err != nil {
				return nil, StatementFigure{}, err
			}
			for id, a := range after {
				b := before[id]
				s := sums[kind][id]
				s.calls += a.calls - b.calls
				s.execMs += a.execMs - b.execMs
				sums[kind][id] = s
				queries[id] = a.query
			}
		}
	}
	out := make([]StatementFigure, 0, mixSteps)
	for k := range mixSteps {
		after := statementSnapshot{}
		for id, s := range sums[k] {
			s.query = queries[id]
			after[id] = s
		}
		out = append(out, delta(statementSnapshot{}, after, int64(passes), mixKinds[k], 8))
	}
	// The pollers' own rate, over as long as the profile took per
	// command.
	idleFor := elapsed / time.Duration(passes*mixSteps)
	before, err := m.snapshot(ctx)
	if err != nil {
		return nil, StatementFigure{}, err
	}
	var idle StatementFigure
	const idleRounds = 20
	for range idleRounds {
		select {
		case <-ctx.Done():
			return nil, StatementFigure{}, ctx.Err()
		case <-time.After(idleFor):
		}
	}
	after, err := m.snapshot(ctx)
	if err != nil {
		return nil, StatementFigure{}, err
	}
	idle = delta(before, after, idleRounds, "idle (per command's time)", 5)
	return out, idle, nil
}

package bench

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// Result holds every figure of a run. The JSON keys are stable: scripts
// and CI read them.
type Result struct {
	Quick       bool   `json:"quick"`
	Concurrency int    `json:"concurrency"`
	CPUs        int    `json:"cpus"`
	MemTotalMiB int64  `json:"mem_total_mib"`
	PostgreSQL  string `json:"postgresql_version"`
	// ServeFlags are the server's flags besides the bench's own.
	ServeFlags []string `json:"serve_flags,omitempty"`

	// Phase 1: raw single-row INSERT transactions.
	BaselineInsertTPS float64 `json:"baseline_insert_tps"`
	BaselineP50ms     float64 `json:"baseline_p50_ms"`
	BaselineP99ms     float64 `json:"baseline_p99_ms"`
	// BaselinePGCPUms and BaselineClientCPUms are the CPU time
	// PostgreSQL and the bench used per insert (zero when PostgreSQL runs
	// on another machine).
	BaselinePGCPUms     float64 `json:"baseline_pg_cpu_ms"`
	BaselineClientCPUms float64 `json:"baseline_client_cpu_ms"`

	// Phase 1b: single-event appends with crm_append against Message DB's
	// write_message at the same concurrency and payload: median tx/s of
	// the rounds, p99 of all their operations. AppendVsPeer is AppendTPS
	// over PeerWriteTPS, AppendRatio AppendTPS over BaselineInsertTPS.
	PeerWriteTPS float64 `json:"peer_write_tps"`
	PeerP99ms    float64 `json:"peer_p99_ms"`
	AppendTPS    float64 `json:"append_tps"`
	AppendP99ms  float64 `json:"append_p99_ms"`
	AppendVsPeer float64 `json:"append_vs_peer"`
	AppendRatio  float64 `json:"append_ratio"`

	// Phase 2: the command mix over HTTP.
	CommandTPS   float64 `json:"command_tps"`
	CommandRatio float64 `json:"command_ratio"`
	CommandP50ms float64 `json:"command_p50_ms"`
	CommandP95ms float64 `json:"command_p95_ms"`
	CommandP99ms float64 `json:"command_p99_ms"`
	Commands     int64   `json:"commands"`
	// CommandPGCPUms, CommandServerCPUms and CommandClientCPUms are the
	// CPU time PostgreSQL, the server under test and the bench's clients
	// used per command, automations and projectors included.
	CommandPGCPUms     float64 `json:"command_pg_cpu_ms"`
	CommandServerCPUms float64 `json:"command_server_cpu_ms"`
	CommandClientCPUms float64 `json:"command_client_cpu_ms"`
	// CommandKinds are the latencies of each kind of command in the mix.
	CommandKinds []KindFigure `json:"command_kinds"`
	// CommandStatements are the statements PostgreSQL ran per command of
	// the mix, by group, projectors and automations included (empty when
	// the server does not load pg_stat_statements).
	CommandStatements StatementFigure `json:"command_statements"`
	// KindStatements are the same for each kind of command, posted one at
	// a time, each followed by the work it triggered; IdleStatements are
	// what pollers ran meanwhile, per command's time.
	KindStatements []StatementFigure `json:"command_kind_statements,omitempty"`
	IdleStatements StatementFigure   `json:"idle_statements"`

	// Phase 3: rebuilding every projector against INSERT … SELECT.
	RebuildEvents                int64              `json:"rebuild_events"`
	RebuildEventsPerS            float64            `json:"rebuild_events_per_s"`
	BaselineInsertSelectRowsPerS float64            `json:"baseline_insert_select_rows_per_s"`
	RebuildRatio                 float64            `json:"rebuild_ratio"`
	NarrowInsertSelectRowsPerS   float64            `json:"narrow_insert_select_rows_per_s"`
	ProjectorRebuildEventsPerS   map[string]float64 `json:"projector_rebuild_events_per_s"`

	// Phase 4: command to read model at half the command rate.
	LagCommandsPerS float64 `json:"lag_commands_per_s"`
	LagP50ms        float64 `json:"lag_p50_ms"`
	LagP99ms        float64 `json:"lag_p99_ms"`
	LagMaxms        float64 `json:"lag_max_ms"`

	// Phase 5: a command on a 10,000-event stream against a fresh one.
	LongStreamFreshMs float64 `json:"long_stream_fresh_ms"`
	LongStreamLongMs  float64 `json:"long_stream_long_ms"`
	LongStreamRatio   float64 `json:"long_stream_ratio"`

	// Phase 6: peak resident memory.
	ServeRSSMiB   float64 `json:"serve_rss_mib"`
	RebuildRSSMiB float64 `json:"rebuild_rss_mib"`
}

// Check is one target: the figure, its value, the target, the ratio the
// target bounds (the figure over its reference or limit) and whether it
// holds.
type Check struct {
	Figure string
	Value  string
	Target string
	Ratio  float64
	Pass   bool
}

// Checks evaluates the targets against r.
func (r Result) Checks() []Check {
	atLeast := func(figure, value, target string, ratio, limit float64) Check {
		return Check{figure, value, target, ratio, ratio >= limit}
	}
	atMost := func(figure, value, target string, ratio, limit float64) Check {
		return Check{figure, value, target, ratio, ratio <= limit}
	}
	return []Check{
		atLeast("append vs Message DB", fmt.Sprintf("%.0f vs %.0f", r.AppendTPS, r.PeerWriteTPS), "≥ 1.0×", r.AppendVsPeer, 1),
		atLeast("commands/s vs raw INSERT tx/s", fmt.Sprintf("%.0f vs %.0f", r.CommandTPS, r.BaselineInsertTPS),
			"≥ 0.4× (stretch 0.8×)", r.CommandRatio, 0.4),
		atMost("command p99 vs raw INSERT p99", fmt.Sprintf("%.1f vs %.1f ms", r.CommandP99ms, r.BaselineP99ms),
			"≤ 3×", r.CommandP99ms/r.BaselineP99ms, 3),
		atLeast("rebuild events/s vs INSERT … SELECT rows/s", fmt.Sprintf("%.0f vs %.0f", r.RebuildEventsPerS, r.BaselineInsertSelectRowsPerS),
			"≥ 0.5×", r.RebuildRatio, 0.5),
		atMost("lag p99, command → funnel and lists", fmt.Sprintf("%.1f ms", r.LagP99ms), "≤ 50 ms", r.LagP99ms/50, 1),
		atMost("server CPU per command", fmt.Sprintf("%.2f ms", r.CommandServerCPUms), "≤ 0.3 ms", r.CommandServerCPUms/0.3, 1),
		atMost("command on 10,000-event stream vs fresh", fmt.Sprintf("%.2f vs %.2f ms", r.LongStreamLongMs, r.LongStreamFreshMs),
			"≤ 2×", r.LongStreamRatio, 2),
		atMost("serve peak RSS, command phase", fmt.Sprintf("%.0f MiB", r.ServeRSSMiB), "≤ 256 MiB", r.ServeRSSMiB/256, 1),
		atMost(fmt.Sprintf("rebuild peak RSS, %d events", r.RebuildEvents), fmt.Sprintf("%.0f MiB", r.RebuildRSSMiB),
			"≤ 512 MiB", r.RebuildRSSMiB/512, 1),
	}
}

// WriteTable prints the figures and the targets as an aligned table.
func (r Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FIGURE\tVALUE\tTARGET\tRATIO\tRESULT")
	fmt.Fprintf(tw, "raw INSERT tx/s (%d writers)\t%.0f\t\t\t\n", r.Concurrency, r.BaselineInsertTPS)
	fmt.Fprintf(tw, "raw INSERT p50 / p99\t%.1f / %.1f ms\t\t\t\n", r.BaselineP50ms, r.BaselineP99ms)
	fmt.Fprintf(tw, "Message DB write_message tx/s\t%.0f, p99 %.1f ms\t\t\t\n", r.PeerWriteTPS, r.PeerP99ms)
	fmt.Fprintf(tw, "crm_append tx/s\t%.0f (%.2f× raw INSERT), p99 %.1f ms\t\t\t\n", r.AppendTPS, r.AppendRatio, r.AppendP99ms)
	fmt.Fprintf(tw, "commands/s (%d clients)\t%.0f\t\t\t\n", r.Concurrency, r.CommandTPS)
	fmt.Fprintf(tw, "command p50 / p95 / p99\t%.1f / %.1f / %.1f ms\t\t\t\n", r.CommandP50ms, r.CommandP95ms, r.CommandP99ms)
	fmt.Fprintf(tw, "lag p50 at %.0f commands/s\t%.1f ms\t\t\t\n", r.LagCommandsPerS, r.LagP50ms)
	if r.BaselinePGCPUms > 0 {
		fmt.Fprintf(tw, "CPU per raw INSERT: PostgreSQL / client\t%.2f / %.2f ms\t\t\t\n", r.BaselinePGCPUms, r.BaselineClientCPUms)
		fmt.Fprintf(tw, "CPU per command: PostgreSQL / server / client\t%.2f / %.2f / %.2f ms\t\t\t\n",
			r.CommandPGCPUms, r.CommandServerCPUms, r.CommandClientCPUms)
	}
	for _, c := range r.Checks() {
		verdict := "MISS"
		if c.Pass {
			verdict = "PASS"
		}
		ratio := "-"
		if !math.IsNaN(c.Ratio) && !math.IsInf(c.Ratio, 0) {
			ratio = fmt.Sprintf("%.2f", c.Ratio)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Figure, c.Value, c.Target, ratio, verdict)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.CommandKinds) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COMMAND PHASE, BY KIND	COMMANDS	P50	P99")
	for _, k := range r.CommandKinds {
		fmt.Fprintf(tw, "%s\t%d\t%.1f ms\t%.1f ms\n", k.Kind, k.Commands, k.P50ms, k.P99ms)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return r.writeStatements(w)
}

// writeStatements prints the statements per command by group: for the
// mix, then for each kind of command.
func (r Result) writeStatements(w io.Writer) error {
	if len(r.CommandStatements.Groups) == 0 {
		return nil
	}
	figures := append([]StatementFigure{r.CommandStatements}, r.KindStatements...)
	if len(r.IdleStatements.Groups) > 0 {
		figures = append(figures, r.IdleStatements)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "STATEMENTS PER COMMAND\tALL\tEXEC MS")
	for _, g := range StatementGroups {
		fmt.Fprintf(tw, "\t%s", abbrev(g))
	}
	fmt.Fprintln(tw, "\t")
	for _, f := range figures {
		by := map[string]float64{}
		for _, g := range f.Groups {
			by[g.Group] = g.Statements
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%.2f", f.Kind, f.Statements, f.ExecMs)
		for _, g := range StatementGroups {
			fmt.Fprintf(tw, "\t%.1f", by[g])
		}
		fmt.Fprintln(tw, "\t")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "MOST FREQUENT STATEMENTS OF THE MIX, PER COMMAND")
	for _, t := range r.CommandStatements.Top {
		fmt.Fprintf(w, "%6.2f  %-13s %s\n", t.PerCommand, t.Group, t.Query)
	}
	return nil
}

// abbrev shortens a statement group's name for a table column.
func abbrev(g string) string {
	if len(g) <= 6 {
		return g
	}
	if i := strings.IndexByte(g, ' '); i > 0 {
		return g[:1] + g[i+1:i+4]
	}
	return g[:6]
}

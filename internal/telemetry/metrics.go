package telemetry

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"crm/aggregates"
	"crm/commands"
)

// Command outcomes, the values of crm_commands_total's outcome label.
const (
	OutcomeAccepted = "accepted" // the command was decided and stored (or changed nothing)
	OutcomeRefused  = "refused"  // a business rule refused it (code names the rule)
	OutcomeConflict = "conflict" // If-Match did not match, or version conflicts outlasted the retries
	OutcomeReplayed = "replayed" // an idempotent replay of an earlier answer
	OutcomeInvalid  = "invalid"  // malformed input, an unknown entity or a refused caller
	OutcomeFailed   = "failed"   // the server failed (a bug, a database outage, a timeout)
)

// Metrics are the counters and histograms the engine's parts feed as they
// work. Build it with NewMetrics; a nil *Metrics records nothing.
type Metrics struct {
	commands     *prometheus.CounterVec
	appends      *prometheus.CounterVec
	appended     prometheus.Counter
	conflicts    prometheus.Counter
	batches      *prometheus.HistogramVec
	batchEvents  *prometheus.CounterVec
	automations  *prometheus.CounterVec
	automationDu *prometheus.HistogramVec
}

// NewMetrics creates the engine's counters and registers them in reg.
// It fails when one is registered there already.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crm_commands_total",
			Help: "Commands by command (route or automation command), outcome (accepted, refused, conflict, replayed, invalid, failed) and refusal code.",
		}, []string{"command", "outcome", "code"}),
		appends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crm_appends_total",
			Help: "Appends of commands' events to the log, by result (ok, conflict, error).",
		}, []string{"result"}),
		appended: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "crm_events_appended_total",
			Help: "Events appended to the log by commands of this process.",
		}),
		conflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "crm_command_version_conflicts_total",
			Help: "Appends refused because a stream moved since the command loaded it; the command reloads and decides again, within its retry bound.",
		}),
		batches: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "crm_projector_batch_duration_seconds",
			Help:    "Time to apply one batch of events to a projector's read model, checkpoint included.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"projector"}),
		batchEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crm_projector_events_applied_total",
			Help: "Events applied by each projector in this process (live batches; rebuilds not included).",
		}, []string{"projector"}),
		automations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crm_automation_events_total",
			Help: "Events handed to each automation, by result (handled, failed: every failed attempt, retries included).",
		}, []string{"automation", "result"}),
		automationDu: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "crm_automation_duration_seconds",
			Help:    "Time an automation took to handle one event.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"automation"}),
	}
	for _, c := range []prometheus.Collector{m.commands, m.appends, m.appended, m.conflicts, m.batches, m.batchEvents, m.automations, m.automationDu} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("telemetry: register metrics: %w", err)
		}
	}
	return m, nil
}

// Command counts one command's outcome.
func (m *Metrics) Command(command, outcome, code string) {
	if m == nil {
		return
	}
	m.commands.WithLabelValues(command, outcome, code).Inc()
}

// append counts an append of n events with its error.
func (m *Metrics) append(n int, err error) {
	if m == nil {
		return
	}
	switch {
	case err == nil:
		m.appends.WithLabelValues("ok").Inc()
		m.appended.Add(float64(n))
	case errors.Is(err, commands.ErrVersionConflict):
		m.appends.WithLabelValues("conflict").Inc()
		m.conflicts.Inc()
	default:
		m.appends.WithLabelValues("error").Inc()
	}
}

// batch records one projector batch.
func (m *Metrics) batch(projector string, events int, took time.Duration, err error) {
	if m == nil {
		return
	}
	m.batches.WithLabelValues(projector).Observe(took.Seconds())
	if err == nil {
		m.batchEvents.WithLabelValues(projector).Add(float64(events))
	}
}

// automation records one automation's handling of one event.
func (m *Metrics) automation(name string, took time.Duration, err error) {
	if m == nil {
		return
	}
	result := "handled"
	if err != nil {
		result = "failed"
	}
	m.automations.WithLabelValues(name, result).Inc()
	m.automationDu.WithLabelValues(name).Observe(took.Seconds())
}

// CommandOutcome classifies the error a command handler returned, as the
// automations see it: nil is accepted, a domain refusal is refused with
// its code, a failed If-Match or persisting conflicts is conflict.
func CommandOutcome(err error) (outcome, code string) {
	var de *aggregates.Error
	switch {
	case err == nil:
		return OutcomeAccepted, ""
	case errors.As(err, &de) && de.Kind == aggregates.Invalid:
		return OutcomeInvalid, de.Code
	case errors.As(err, &de):
		return OutcomeRefused, de.Code
	case errors.Is(err, commands.ErrPreconditionFailed), errors.Is(err, commands.ErrBusy):
		return OutcomeConflict, ""
	}
	return OutcomeFailed, ""
}

package telemetry

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"crm/eventstore"
)

// projectorStates and reportStates are the states the state gauges
// enumerate (1 for the one a projector or report is in, 0 for the others).
var (
	projectorStates = []string{"idle", "running", "failed"}
	reportStates    = []string{"running", "complete", "failed"}
)

// StateCollector reads, when /metrics is scraped, the state the engine
// keeps in its database: how far each projector, the automations'
// forwarder and each custom report has read the log and how far behind
// it they are, dead letters, webhook deliveries, deadlines and seals. It
// holds no state of its own, so every process serving /metrics reports
// the same numbers.
type StateCollector struct {
	pool *pgxpool.Pool
	// events tells whether the log is the PostgreSQL events table; with
	// another event store the lags in events are not reported.
	events  bool
	timeout time.Duration
	log     *slog.Logger

	up, head, checkpoint, lagEvents, lagSeconds, projState, rebuilding      *prometheus.Desc
	backlog, backlogSeconds, deadPending, hooksPending, hooksFailed         *prometheus.Desc
	attempts, due, pendingDeadlines, seals, sealAge, reportState, reportLag *prometheus.Desc
}

// NewStateCollector returns a collector over a migrated pool. events is
// true when the event log is the PostgreSQL events table in this pool.
// Register it in the registry /metrics serves.
func NewStateCollector(pool *pgxpool.Pool, events bool, logger *slog.Logger) *StateCollector {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &StateCollector{pool: pool, events: events, timeout: 5 * time.Second, log: logger,
		up:               d("crm_state_scrape_success", "1 when the engine's state was read from the database for this scrape, 0 when reading it failed."),
		head:             d("crm_log_head_position", "Sequence position of the newest readable event of the log."),
		checkpoint:       d("crm_projector_checkpoint_position", "Sequence position of the last event each projector has applied.", "projector"),
		lagEvents:        d("crm_projector_lag_events", "Committed events each projector has not applied yet.", "projector"),
		lagSeconds:       d("crm_projector_lag_seconds", "Age of the oldest event each projector has not applied yet (0 when it is caught up).", "projector"),
		projState:        d("crm_projector_state", "1 for the state each projector is in (idle, running, failed), 0 for the others.", "projector", "state"),
		rebuilding:       d("crm_projector_rebuilding", "1 while a rebuild of the projector runs.", "projector"),
		backlog:          d("crm_forwarder_backlog_events", "Committed events the automations' forwarder has not handed to the automations yet.", "forwarder"),
		backlogSeconds:   d("crm_forwarder_backlog_seconds", "Age of the oldest event the forwarder has not handed on yet (0 when it is caught up).", "forwarder"),
		deadPending:      d("crm_dead_letters_pending", "Dead letters (events or commands an automation gave up on) not yet replayed."),
		hooksPending:     d("crm_webhook_deliveries_pending", "Webhook deliveries not yet delivered that will be tried again."),
		hooksFailed:      d("crm_webhook_deliveries_failed", "Webhook deliveries given up on after their last attempt."),
		attempts:         d("crm_webhook_delivery_attempts_total", "Webhook delivery attempts by outcome (success: a 2xx answer; failure: anything else or no answer).", "outcome"),
		due:              d("crm_scheduler_deadlines_due", "Deadlines (SLA targets, reminders, surveys) whose time has come and that have not fired yet."),
		pendingDeadlines: d("crm_scheduler_deadlines_pending", "Deadlines that have not fired yet, due or not."),
		seals:            d("crm_seals_total", "Seals written over the log."),
		sealAge:          d("crm_seal_last_age_seconds", "Seconds since the newest seal was written (absent while there is none)."),
		reportState:      d("crm_custom_report_state", "1 for the state each custom report is in (running, complete, failed), 0 for the others.", "report", "state"),
		reportLag:        d("crm_custom_report_lag_events", "Committed events each custom report has not read yet.", "report"),
	}
}

// Describe implements prometheus.Collector.
func (c *StateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.head, c.checkpoint, c.lagEvents, c.lagSeconds, c.projState, c.rebuilding,
		c.backlog, c.backlogSeconds, c.deadPending, c.hooksPending, c.hooksFailed, c.attempts, c.due, c.pendingDeadlines,
		c.seals, c.sealAge, c.reportState, c.reportLag} {
		ch <- d
	}
}

// reader is one row that has read the log up to a cursor.
type reader struct {
	name, state, position string
	rebuilding            bool
}

// Collect implements prometheus.Collector: it reads the state in a few
// round trips and reports crm_state_scrape_success 0 when that failed.
func (c *StateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	if err := c.collect(ctx, ch); err != nil {
		c.log.Warn("read the engine's state for /metrics", "err", err)
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
}

func (c *StateCollector) collect(ctx context.Context, ch chan<- prometheus.Metric) error {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	var projectors, forwarders, reports []reader
	b := &pgx.Batch{}
	b.Queue(`SELECT name, state, position, coalesce(rebuild_state = 'running', false) FROM crm_projections ORDER BY name`).Query(func(rows pgx.Rows) error {
		var r reader
		_, err := pgx.ForEachRow(rows, []any{&r.name, &r.state, &r.position, &r.rebuilding}, func() error {
			projectors = append(projectors, r)
			return nil
		})
		return err
	})
	b.Queue(`SELECT name, position FROM crm_workflow_checkpoints ORDER BY name`).Query(func(rows pgx.Rows) error {
		var r reader
		_, err := pgx.ForEachRow(rows, []any{&r.name, &r.position}, func() error {
			forwarders = append(forwarders, r)
			return nil
		})
		return err
	})
	b.Queue(`SELECT name, state, position FROM crm_custom_reports ORDER BY name`).Query(func(rows pgx.Rows) error {
		var r reader
		_, err := pgx.ForEachRow(rows, []any{&r.name, &r.state, &r.position}, func() error {
			reports = append(reports, r)
			return nil
		})
		return err
	})
	b.Queue(`SELECT count(*) FROM crm_dead_letters WHERE replayed_at IS NULL`).QueryRow(func(row pgx.Row) error {
		var n int64
		if err := row.Scan(&n); err != nil {
			return err
		}
		gauge(c.deadPending, float64(n))
		return nil
	})
	b.Queue(`SELECT count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'failed') FROM crm_webhook_deliveries`).QueryRow(func(row pgx.Row) error {
		var pending, failed int64
		if err := row.Scan(&pending, &failed); err != nil {
			return err
		}
		gauge(c.hooksPending, float64(pending))
		gauge(c.hooksFailed, float64(failed))
		return nil
	})
	b.Queue(`SELECT count(*) FILTER (WHERE status_code BETWEEN 200 AND 299), count(*) FILTER (WHERE status_code IS NULL OR status_code NOT BETWEEN 200 AND 299) FROM crm_webhook_attempts`).QueryRow(func(row pgx.Row) error {
		var ok, failed int64
		if err := row.Scan(&ok, &failed); err != nil {
			return err
		}
		ch <- prometheus.MustNewConstMetric(c.attempts, prometheus.CounterValue, float64(ok), "success")
		ch <- prometheus.MustNewConstMetric(c.attempts, prometheus.CounterValue, float64(failed), "failure")
		return nil
	})
	b.Queue(`SELECT count(*) FILTER (WHERE due_at <= now()), count(*) FROM crm_deadlines WHERE fired_at IS NULL`).QueryRow(func(row pgx.Row) error {
		var due, pending int64
		if err := row.Scan(&due, &pending); err != nil {
			return err
		}
		gauge(c.due, float64(due))
		gauge(c.pendingDeadlines, float64(pending))
		return nil
	})
	if c.events {
		b.Queue(`SELECT count(*), extract(epoch FROM now() - max(sealed_at)) FROM crm_seals`).QueryRow(func(row pgx.Row) error {
			var n int64
			var age *float64
			if err := row.Scan(&n, &age); err != nil {
				return err
			}
			ch <- prometheus.MustNewConstMetric(c.seals, prometheus.CounterValue, float64(n))
			if age != nil {
				gauge(c.sealAge, max(*age, 0))
			}
			return nil
		})
		b.Queue(`SELECT coalesce(max(position), 0) FROM crm_events WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())`).QueryRow(func(row pgx.Row) error {
			var pos int64
			if err := row.Scan(&pos); err != nil {
				return err
			}
			gauge(c.head, float64(pos))
			return nil
		})
	}
	if err := c.pool.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	for _, p := range projectors {
		for _, s := range projectorStates {
			gauge(c.projState, boolValue(p.state == s), p.name, s)
		}
		gauge(c.rebuilding, boolValue(p.rebuilding), p.name)
	}
	for _, r := range reports {
		for _, s := range reportStates {
			gauge(c.reportState, boolValue(r.state == s), r.name, s)
		}
	}
	if !c.events {
		return nil
	}
	// How far behind each reader is: one count over the log's primary
	// key range after its cursor, all in one round trip.
	lags := &pgx.Batch{}
	queue := func(r reader, report func(n int64, age float64)) error {
		cur, err := eventstore.ParseCursor(r.position)
		if err != nil {
			return err
		}
		lags.Queue(`SELECT count(*), coalesce(extract(epoch FROM now() - min(recorded_at)), 0)::float8 FROM crm_events
WHERE (transaction_id, position) > ($1::xid8, $2::bigint)`, cur.Major, int64(cur.Minor)).QueryRow(func(row pgx.Row) error {
			var n int64
			var age float64
			if err := row.Scan(&n, &age); err != nil {
				return err
			}
			report(n, max(age, 0))
			return nil
		})
		return nil
	}
	for _, p := range projectors {
		cur, _ := eventstore.ParseCursor(p.position)
		gauge(c.checkpoint, float64(cur.Minor), p.name)
		if err := queue(p, func(n int64, age float64) {
			gauge(c.lagEvents, float64(n), p.name)
			gauge(c.lagSeconds, age, p.name)
		}); err != nil {
			return err
		}
	}
	for _, f := range forwarders {
		if err := queue(f, func(n int64, age float64) {
			gauge(c.backlog, float64(n), f.name)
			gauge(c.backlogSeconds, age, f.name)
		}); err != nil {
			return err
		}
	}
	for _, r := range reports {
		if err := queue(r, func(n int64, _ float64) { gauge(c.reportLag, float64(n), r.name) }); err != nil {
			return err
		}
	}
	if lags.Len() == 0 {
		return nil
	}
	return c.pool.SendBatch(ctx, lags).Close()
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// PoolCollector reports a pgxpool's connections when /metrics is scraped.
type PoolCollector struct {
	pool                                                     *pgxpool.Pool
	acquired, idle, total, max, acquires, waits, waitSeconds *prometheus.Desc
	canceled                                                 *prometheus.Desc
}

// NewPoolCollector returns a collector over pool.Stat().
func NewPoolCollector(pool *pgxpool.Pool) *PoolCollector {
	d := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, nil) }
	return &PoolCollector{pool: pool,
		acquired:    d("crm_db_pool_acquired_connections", "Connections of the database pool in use."),
		idle:        d("crm_db_pool_idle_connections", "Idle connections of the database pool."),
		total:       d("crm_db_pool_connections", "Open connections of the database pool (acquired, idle and being opened)."),
		max:         d("crm_db_pool_max_connections", "Most connections the database pool opens."),
		acquires:    d("crm_db_pool_acquires_total", "Connections taken from the database pool."),
		waits:       d("crm_db_pool_empty_acquires_total", "Acquires that had to wait because no connection was idle."),
		waitSeconds: d("crm_db_pool_acquire_wait_seconds_total", "Time spent acquiring connections from the database pool."),
		canceled:    d("crm_db_pool_canceled_acquires_total", "Acquires given up because their context ended."),
	}
}

// Describe implements prometheus.Collector.
func (c *PoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.acquired, c.idle, c.total, c.max, c.acquires, c.waits, c.waitSeconds, c.canceled} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *PoolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	g := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	k := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	g(c.acquired, float64(s.AcquiredConns()))
	g(c.idle, float64(s.IdleConns()))
	g(c.total, float64(s.TotalConns()))
	g(c.max, float64(s.MaxConns()))
	k(c.acquires, float64(s.AcquireCount()))
	k(c.waits, float64(s.EmptyAcquireCount()))
	k(c.waitSeconds, s.AcquireDuration().Seconds())
	k(c.canceled, float64(s.CanceledAcquireCount()))
}

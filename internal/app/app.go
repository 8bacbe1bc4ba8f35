package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"crm/api"
	"crm/commands"
	"crm/console"
	"crm/eventstore"
	"crm/eventstore/esdb"
	"crm/eventstore/postgres"
	"crm/internal/apikeys"
	"crm/internal/customreports"
	"crm/internal/integrity"
	"crm/internal/privacy"
	"crm/internal/repository"
	"crm/internal/requestlog"
	"crm/internal/telemetry"
	"crm/projections"
	"crm/readmodels"
	"crm/workflows"
	"crm/workflows/natsbus"
	"crm/workflows/scheduler"
	"crm/workflows/webhooks"
)

// KeySource returns a secret key. It is called once the database is open,
// since the embedded default keeps its keys in the data directory.
type KeySource func() ([]byte, error)

// StaticKey is a KeySource of a fixed key.
func StaticKey(key []byte) KeySource { return func() ([]byte, error) { return key, nil } }

// Config selects the parts of the object graph and tunes them. The zero
// parts give the migrated database, the event store, the codec and the
// API key store; every other part is built only when asked for.
type Config struct {
	// Database is the PostgreSQL database (always opened and migrated).
	Database DatabaseConfig
	// EventStoreURL is an EventStoreDB URL; empty keeps the event log in
	// the PostgreSQL database.
	EventStoreURL string
	// Logger defaults to a logger that discards.
	Logger *slog.Logger

	// MasterKey opens the privacy vault: personal data is encrypted under
	// keys it wraps, and projections read the log revealed. Nil: no
	// vault, and projections read the log as stored.
	MasterKey KeySource
	// SealKey signs the log's seals (PostgreSQL event store only). Nil or
	// an empty key: the log is not sealed; hash chains still detect
	// edited events.
	SealKey KeySource
	// SealInterval, when positive, makes Start seal the log this often;
	// verification then also fails on events older than that no seal
	// covers.
	SealInterval time.Duration
	// SealAnchorFile, when set, is a copy of a seal kept outside the
	// database: verification checks the log against it and the sealer
	// starts from it (none while the file does not exist).
	SealAnchorFile string
	// SealAcceptUnsealed lets the sealer make the first seal of a log
	// whose events are older than SealInterval (crm audit seal
	// --accept-unsealed: an operator's decision).
	SealAcceptUnsealed bool
	// AnchorInterval, when positive with SealAnchorFile and SealInterval,
	// makes Start write the newest authenticated seal to SealAnchorFile
	// this often.
	AnchorInterval time.Duration

	// Commands builds the repository and the command handlers (needs
	// MasterKey).
	Commands bool
	// Clock is the command handlers' clock (nil: time.Now); it also dates
	// live reports.
	Clock func() time.Time
	// QuoteDiscountThreshold is the discount in percent above which a
	// quote needs a manager's approval (empty: 20).
	QuoteDiscountThreshold string
	// Projections, when set, builds the projection engine (Logger
	// defaults to Config.Logger).
	Projections *projections.Options
	// Workflows, when set, builds the automations (needs Commands).
	Workflows *WorkflowsConfig
	// Reports, when set, builds the analysts' custom reports (Types and
	// Logger default to the codec's types and Config.Logger).
	Reports *customreports.Options
	// HTTP, when set, builds the HTTP router (needs Commands and
	// Projections), with the engine's metrics in its registry.
	HTTP *HTTPConfig
	// Tracing, when set, traces requests, commands, appends, projector
	// batches and automations (telemetry.NewTracingFromEnv; nil: off).
	// The caller shuts it down after Close.
	Tracing *telemetry.Tracing
}

// WorkflowsConfig tunes the automations: the backbone, the deadline
// scheduler, the webhook deliveries and the message bus. Loggers default
// to Config.Logger and revealers to the vault.
type WorkflowsConfig struct {
	// Run runs the automations, deadlines, webhook deliveries and the
	// message bus in this process when the App starts; without it only
	// their settings, dead letters and subscriptions are served.
	Run bool
	// Backbone tunes the router and the log forwarder.
	Backbone workflows.Options
	// Clock is the scheduler's clock (nil: the wall clock).
	Clock scheduler.Clock
	// Scheduler tunes the deadline scheduler.
	Scheduler scheduler.Options
	// Collections configures the reminders and escalations of overdue
	// installments (zero: 3 days, then 7 more, no manager directory).
	Collections workflows.CollectionPolicy
	// Webhooks tunes the webhook deliveries.
	Webhooks webhooks.Options
	// BusURL publishes integration events to NATS JetStream at this URL
	// (only with Run); empty: in-process only.
	BusURL string
}

// HTTPConfig tunes the HTTP router.
type HTTPConfig struct {
	// Version is reported by /healthz.
	Version string
	// Metrics is the registry /metrics serves; nil: a new one with the Go
	// and process collectors.
	Metrics *prometheus.Registry
	// RateLimit bounds each API key's request rate (zero: off).
	RateLimit api.RateLimit
	// RequestTimeout bounds each request's work (zero: none).
	RequestTimeout time.Duration
	// Engagement tunes the marketing and service routes (web form limits,
	// extra timeline sources and health factors); its Queries default to
	// the read models and its clock to Config.Clock.
	Engagement api.Engagement
	// RequestSpoolDir is where request audit entries wait, durably, while
	// the database is unreachable; empty means DataDir/request-audit-spool
	// when Database.DataDir is set, else entries wait in memory.
	RequestSpoolDir string
}

// App is the built object graph. Fields of parts not asked for are nil.
// Start runs the background work; Close stops it and releases everything.
type App struct {
	// DB is the migrated database.
	DB *Database
	// Store is the event log: Postgres or ESDB, whichever is in use.
	Store eventstore.Store
	// Postgres is the PostgreSQL event store; nil with EventStoreDB.
	Postgres *postgres.Store
	// ESDB is the EventStoreDB store; nil with PostgreSQL.
	ESDB *esdb.Store
	// Codec is the domain's event codec registry.
	Codec *eventstore.Registry
	// Keys stores the API keys.
	Keys *apikeys.Store
	// Integrity seals and verifies the PostgreSQL event log; nil with
	// EventStoreDB.
	Integrity *integrity.Checker
	// Vault encrypts and reveals personal data; nil without MasterKey.
	Vault *privacy.Vault
	// Log is the log as projectors and the event feed read it: revealed
	// through the vault when there is one.
	Log projections.Log

	// Repository and Commands are the command side.
	Repository *repository.Repository
	Commands   *commands.Handler
	// Engine runs the projectors; Adapter serves it to the HTTP layer.
	Engine  *projections.Engine
	Adapter *Adapter
	// Settings, Backbone, Scheduler, Webhooks and Bus are the automations
	// (Bus only when publishing to NATS).
	Settings  *workflows.Settings
	Backbone  *workflows.Backbone
	Scheduler *scheduler.Scheduler
	Webhooks  *webhooks.Webhooks
	Bus       *natsbus.Publisher
	// Reports are the analysts' custom reports.
	Reports *customreports.Service
	// Queries, Requests and Handler are the HTTP side.
	Queries  *readmodels.Queries
	Requests *requestlog.Log
	Handler  http.Handler
	// Observer feeds the metrics (with HTTP) and traces (with Tracing);
	// nil with neither.
	Observer *telemetry.Observer

	cfg      Config
	registry *prometheus.Registry
	log      *slog.Logger
	sealKey  []byte
	closers  []func()
	bg       context.Context
	stopBg   context.CancelFunc
	wg       sync.WaitGroup
	once     sync.Once
}

// Build constructs the parts cfg asks for, in dependency order. On error
// what was built is released.
func Build(ctx context.Context, cfg Config) (*App, error) {
	a := &App{cfg: cfg, log: cfg.Logger}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	a.bg, a.stopBg = context.WithCancel(context.Background())
	steps := []func(context.Context) error{
		a.openLog,
		a.buildTelemetry,
		a.openKeys,
		a.buildCommands,
		a.buildProjections,
		a.buildWorkflows,
		a.buildReports,
		a.buildHTTP,
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			a.Close()
			return nil, err
		}
	}
	return a, nil
}

// onClose registers f to run when the App closes, before what was built
// earlier.
func (a *App) onClose(f func()) { a.closers = append(a.closers, f) }

// openLog opens the event log: an EventStoreDB is checked first (a wrong
// URL fails in seconds, before a database is started), then the database
// is opened and migrated, and the store chosen.
func (a *App) openLog(ctx context.Context) error {
	if a.cfg.EventStoreURL != "" {
		es, err := OpenEventStoreDB(ctx, a.cfg.EventStoreURL, nil, a.log)
		if err != nil {
			return err
		}
		a.ESDB, a.Store = es, es
		a.onClose(func() { _ = es.Close() })
	}
	db, err := OpenDatabase(ctx, a.cfg.Database, a.log)
	if err != nil {
		return err
	}
	a.DB = db
	a.onClose(db.Close)
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	if a.Store == nil {
		a.Postgres = postgres.New(db.Pool, postgres.Options{Logger: a.log})
		a.Store = a.Postgres
		a.onClose(func() { _ = a.Postgres.Close() })
	}
	if a.Codec, err = eventstore.DomainRegistry(); err != nil {
		return err
	}
	a.Log = a.Store
	return nil
}

// buildTelemetry builds the observer that feeds the metrics /metrics
// serves (with HTTP) and the traces (with Tracing).
func (a *App) buildTelemetry(context.Context) error {
	if a.cfg.HTTP == nil && a.cfg.Tracing == nil {
		return nil
	}
	var m *telemetry.Metrics
	if hc := a.cfg.HTTP; hc != nil {
		a.registry = hc.Metrics
		if a.registry == nil {
			a.registry = prometheus.NewRegistry()
			a.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		}
		var err error
		if m, err = telemetry.NewMetrics(a.registry); err != nil {
			return err
		}
		state := telemetry.NewStateCollector(a.DB.Pool, a.Postgres != nil, a.log)
		if err := a.registry.Register(state); err != nil {
			return fmt.Errorf("register state metrics: %w", err)
		}
		if err := a.registry.Register(telemetry.NewPoolCollector(a.DB.Pool)); err != nil {
			return fmt.Errorf("register pool metrics: %w", err)
		}
	}
	a.Observer = telemetry.NewObserver(m, a.cfg.Tracing)
	return nil
}

// openKeys opens what the keys guard: API keys, the seal key and the
// integrity checker over it, and the privacy vault.
func (a *App) openKeys(context.Context) error {
	a.Keys = apikeys.New(a.DB.Pool)
	if a.cfg.SealKey != nil {
		key, err := a.cfg.SealKey()
		if err != nil {
			return err
		}
		a.sealKey = key
	}
	if a.Postgres != nil {
		o := integrity.Options{Interval: a.cfg.SealInterval, AllowUnsealed: a.cfg.SealAcceptUnsealed}
		if a.cfg.SealAnchorFile != "" {
			o.Anchor = integrity.AnchorFile(a.cfg.SealAnchorFile, false)
		}
		a.Integrity = integrity.NewWithOptions(a.DB.Pool, a.sealKey, o)
	} else {
		// The hash chain and seals live in the PostgreSQL event store.
		a.sealKey = nil
	}
	if a.cfg.MasterKey == nil {
		return nil
	}
	key, err := a.cfg.MasterKey()
	if err != nil {
		return err
	}
	if a.Vault, err = privacy.New(a.DB.Pool, key); err != nil {
		return err
	}
	// Projectors and the event feed read the log revealed: personal
	// values in plaintext while their key exists, "[erased]" after.
	var count privacy.Counter
	if a.Postgres != nil {
		count = a.Postgres
	}
	a.Log = a.Vault.Log(a.Store, count)
	return nil
}

// buildCommands builds the repository and the command handlers, with the
// automations' SLA and approval settings when there are automations.
func (a *App) buildCommands(ctx context.Context) error {
	if !a.cfg.Commands {
		if a.cfg.Workflows != nil || a.cfg.HTTP != nil {
			return errors.New("app: the automations and the HTTP router need the command side")
		}
		return nil
	}
	if a.Vault == nil {
		return errors.New("app: the command side needs a master key")
	}
	var ro repository.Options
	if a.Postgres != nil {
		ro.InTx = a.Postgres
	}
	a.Repository = repository.New(a.DB.Pool, a.Store, a.Codec, a.Vault, ro)
	rehashed, err := a.Repository.RehashEmailClaims(ctx)
	if err != nil {
		return err
	}
	if rehashed > 0 {
		a.log.Info("email reservations now stored as keyed hashes", "count", rehashed)
	}
	co := commands.Options{Clock: a.cfg.Clock, QuoteDiscountThreshold: a.cfg.QuoteDiscountThreshold}
	if a.cfg.Workflows != nil {
		a.Settings = workflows.NewSettings(a.DB.Pool)
		co.SLAFunc, co.ApprovalPolicy = a.Settings.SLA, a.Settings.ApprovalPolicy
	}
	co.OwnedRecords = a.ownedRecords
	var repo commands.Repository = a.Repository
	if a.Observer != nil {
		repo = a.Observer.Repository(repo)
	}
	a.Commands = commands.New(repo, co)
	return nil
}

// ownedRecords lists a user's open records from the lists read model, once
// it has caught up with the log as it is now (at most 5 s), so a record
// assigned just before a deactivation is handed over too.
func (a *App) ownedRecords(ctx context.Context, user string) ([]commands.RecordRef, error) {
	if a.Engine == nil || a.Queries == nil || a.Log == nil {
		return nil, errors.New("app: handing records over needs the projections")
	}
	// The newest committed event, not the log's head: the head stops
	// below transactions still open, and an assignment committed just
	// before the deactivation may lie past it.
	var head eventstore.Cursor
	var err error
	if a.Postgres != nil {
		head, err = a.Postgres.Newest(ctx)
	} else {
		head, err = a.Log.Head(ctx)
	}
	if err != nil {
		return nil, err
	}
	if !head.IsZero() {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := a.Engine.WaitFor(wctx, head.String(), readmodels.ListsProjector)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("waiting for the lists to catch up before a hand-over: %w", err)
		}
	}
	owned, err := a.Queries.OwnedOpenRecords(ctx, user)
	if err != nil {
		return nil, err
	}
	refs := make([]commands.RecordRef, len(owned))
	for i, o := range owned {
		refs[i] = commands.RecordRef{Type: o.Type, ID: o.ID}
	}
	return refs, nil
}

// buildProjections builds the projection engine over the (revealed) log
// and its adapter to the HTTP layer.
func (a *App) buildProjections(context.Context) error {
	if a.cfg.Projections == nil {
		if a.cfg.HTTP != nil {
			return errors.New("app: the HTTP router needs the projections")
		}
		return nil
	}
	o := *a.cfg.Projections
	if o.Logger == nil {
		o.Logger = a.log
	}
	if o.Observer == nil && a.Observer != nil {
		o.Observer = a.Observer
	}
	a.Engine = projections.New(a.DB.Pool, a.Log, a.Codec, projections.All(), o)
	var waiting Waiter
	if a.Postgres != nil {
		waiting = a.Postgres
	}
	a.Adapter = NewAdapter(a.bg, a.Engine, a.Log, waiting, a.log)
	return nil
}

// buildWorkflows builds the backbone, the deadline scheduler, the
// automations, the webhook deliveries and, when they run here, the
// message bus.
func (a *App) buildWorkflows(ctx context.Context) error {
	wc := a.cfg.Workflows
	if wc == nil {
		return nil
	}
	bo := wc.Backbone
	if bo.Logger == nil {
		bo.Logger = a.log
	}
	if bo.Observer == nil && a.Observer != nil {
		bo.Observer = a.Observer
	}
	backbone, err := workflows.New(a.DB.Pool, a.Store, a.Codec, bo)
	if err != nil {
		return err
	}
	a.Backbone = backbone
	clock := wc.Clock
	if clock == nil {
		clock = scheduler.SystemClock{}
	}
	so := wc.Scheduler
	if so.Logger == nil {
		so.Logger = a.log
	}
	a.Scheduler = scheduler.New(a.DB.Pool, clock, so)
	if err := workflows.AddCommands(backbone, a.Commands); err != nil {
		return err
	}
	workflows.Register(backbone, a.Scheduler, a.Commands, a.Settings)
	collections := wc.Collections
	if collections.Managers == nil {
		// Escalations go to the owner's manager in the users directory.
		collections.Managers = a.Commands
	}
	workflows.RegisterLeadToCash(backbone, a.Scheduler, a.Commands, collections)
	wo := wc.Webhooks
	if wo.Logger == nil {
		wo.Logger = a.log
	}
	if wo.Revealer == nil {
		wo.Revealer = a.Vault
	}
	a.Webhooks = webhooks.New(a.DB.Pool, wo)
	backbone.AddAutomation(a.Webhooks)
	if wc.BusURL == "" || !wc.Run {
		return nil
	}
	pub, err := natsbus.Connect(ctx, wc.BusURL, natsbus.Options{Logger: a.log, Revealer: a.Vault})
	if err != nil {
		return fmt.Errorf("message bus: %w", err)
	}
	a.Bus = pub
	a.onClose(func() { _ = pub.Close() })
	backbone.AddAutomation(pub)
	a.log.Info("publishing integration events to NATS JetStream", "url", wc.BusURL, "subjects", natsbus.DefaultSubjectPrefix+".<event type>")
	return nil
}

// buildReports builds the analysts' custom reports over the stored log.
func (a *App) buildReports(context.Context) error {
	if a.cfg.Reports == nil {
		return nil
	}
	o := *a.cfg.Reports
	if o.Types == nil {
		o.Types = a.Codec.Types()
	}
	if o.Logger == nil {
		o.Logger = a.log
	}
	a.Reports = customreports.New(a.DB.Pool, a.Store, o)
	a.onClose(a.Reports.Close)
	return nil
}

// buildHTTP builds the request log, the read-model queries and the
// router over every part built before.
func (a *App) buildHTTP(context.Context) error {
	hc := a.cfg.HTTP
	if hc == nil {
		return nil
	}
	reg := a.registry
	a.Queries = readmodels.New(a.DB.Pool)
	spool := hc.RequestSpoolDir
	if spool == "" && a.cfg.Database.DataDir != "" {
		dir, err := filepath.Abs(a.cfg.Database.DataDir)
		if err != nil {
			return fmt.Errorf("data dir %s: %w", a.cfg.Database.DataDir, err)
		}
		spool = filepath.Join(dir, "request-audit-spool")
	}
	a.Requests = requestlog.New(a.DB.Pool, requestlog.Options{Logger: a.log, SpoolDir: spool})
	a.onClose(a.Requests.Close) // writes the request audit entries still queued
	o := api.Options{Ready: a, Metrics: reg, Logger: a.log, Version: hc.Version,
		Keys: KeysForAPI(a.Keys, a.Commands), Commands: a.Commands, Responses: a.Repository,
		Progress: a.Adapter, Projections: a.Adapter, Feed: a.Adapter,
		Lists: a.Queries, Audit: a.Queries, Reports: a.Queries, Requests: a.Requests,
		Verifier: noVerifier{}, RateLimit: hc.RateLimit, RequestTimeout: hc.RequestTimeout,
		Cash: cashReports{q: a.Queries, engine: a.Engine}, Clock: a.cfg.Clock}
	if a.Integrity != nil {
		o.Verifier = a.Integrity
	}
	o.Engagement = hc.Engagement
	if o.Engagement.Queries == nil {
		o.Engagement.Queries = a.Queries
	}
	if o.Engagement.Now == nil {
		o.Engagement.Now = a.cfg.Clock
	}
	if a.Backbone != nil {
		o.Automations = workflows.Service{Settings: a.Settings, Dead: a.Backbone.DeadLetters()}
		o.Webhooks = webhooks.Service{W: a.Webhooks}
	}
	if a.Reports != nil {
		o.CustomReports = a.Reports
	}
	if a.Observer != nil {
		o.Observer = a.Observer
	}
	exp, err := NewExporter(a.Log, a.Codec)
	if err != nil {
		return err
	}
	o.Export = exp
	h, err := api.NewRouter(o)
	if err != nil {
		return err
	}
	c, err := console.New(console.Options{API: h, Logger: a.log})
	if err != nil {
		return err
	}
	a.Handler = mount(h, c)
	return nil
}

// apiPaths are served by the API besides everything under /v1; every
// other path is the console's (which hands the API what it has no page
// for, so unknown paths still answer problem+json).
var apiPaths = []string{"/v1", "/openapi.json", "/metrics", "/healthz", "/readyz"}

// mount serves the API at its paths and the web console at /.
func mount(apiHandler, consoleHandler http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/") || slices.Contains(apiPaths, r.URL.Path) {
			apiHandler.ServeHTTP(w, r)
			return
		}
		consoleHandler.ServeHTTP(w, r)
	})
}

// Ready implements api.Readiness: the database answers with every
// migration at its latest version, and an event store outside
// PostgreSQL answers.
func (a *App) Ready(ctx context.Context) error {
	if a.ESDB == nil {
		return a.DB.Ready(ctx)
	}
	return storeReadiness{db: a.DB, store: a.ESDB}.Ready(ctx)
}

// Failed returns a channel that receives one error when the database is
// gone for good (the embedded server died and could not be restarted);
// the caller should then stop and exit non-zero. See Database.Failed.
func (a *App) Failed() <-chan error { return a.DB.Failed() }

// Start prepares the read models' schemas, then runs the background work
// of the parts built until Close: sealing the log, the custom reports,
// the projectors and, when they run here, the automations.
func (a *App) Start(ctx context.Context) error {
	if a.Engine != nil {
		if err := a.Engine.Prepare(ctx); err != nil {
			return err
		}
	}
	if a.cfg.SealInterval > 0 {
		a.run(a.seal)
		if a.cfg.SealAnchorFile != "" && a.cfg.AnchorInterval > 0 {
			a.run(a.writeAnchors)
		}
	}
	if a.Reports != nil {
		a.run(func(ctx context.Context) { _ = a.Reports.Run(ctx) })
	}
	if a.Engine != nil {
		a.run(a.project)
	}
	if a.Backbone != nil {
		a.run(a.automate)
	}
	return nil
}

// run runs f in the background until Close.
func (a *App) run(f func(context.Context)) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		f(a.bg)
	}()
}

// seal seals the log every SealInterval, when it can be sealed.
func (a *App) seal(ctx context.Context) {
	switch {
	case a.Integrity == nil:
		a.log.Info("the log is sealed only in the PostgreSQL event store; verification is off for this store")
		return
	case len(a.sealKey) == 0:
		a.log.Warn("no seal key (--seal-key / CRM_SEAL_KEY): the log is not sealed; hash chains still detect edited events")
		return
	}
	a.Integrity.Run(ctx, a.cfg.SealInterval, func(err error) {
		if errors.Is(err, integrity.ErrRefused) {
			a.log.Error("the event log is no longer sealed: it does not match the newest seal this process can authenticate; "+
				"the server keeps serving; investigate with crm audit verify", "err", err)
			return
		}
		a.log.Error("seal the event log", "err", err)
	})
}

// writeAnchors writes the newest authenticated seal to the anchor file
// every AnchorInterval, when it changed (never a seal the sealer refused).
func (a *App) writeAnchors(ctx context.Context) {
	if a.Integrity == nil || len(a.sealKey) == 0 {
		return
	}
	t := time.NewTicker(a.cfg.AnchorInterval)
	defer t.Stop()
	var written int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s, ok := a.Integrity.Authenticated()
		if !ok || s.Seq == written {
			continue
		}
		if err := integrity.WriteAnchorFile(a.cfg.SealAnchorFile, s); err != nil {
			a.log.Error("write the seal anchor", "err", err)
			continue
		}
		written = s.Seq
		a.log.Info("seal anchor written", "file", a.cfg.SealAnchorFile, "seq", s.Seq, "events", s.EventCount)
	}
}

// project runs the projectors. Multi-stream appends to EventStoreDB cut
// short by a crash are completed before they start.
func (a *App) project(ctx context.Context) {
	if a.ESDB != nil {
		n, err := a.ESDB.Recover(ctx)
		if err != nil {
			a.log.Error("recover multi-stream appends", "err", err)
		} else if n > 0 {
			a.log.Info("completed interrupted multi-stream appends", "count", n)
		}
	}
	_ = a.Engine.Run(ctx)
}

// automate runs the deadlines, the webhook deliveries and the backbone,
// when the automations run in this process.
func (a *App) automate(ctx context.Context) {
	if !a.cfg.Workflows.Run {
		a.log.Info("automations are off in this process (--automations=false)")
		return
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = a.Scheduler.Run(ctx) }()
	go func() { defer wg.Done(); _ = a.Webhooks.Run(ctx) }()
	if err := a.Backbone.Run(ctx); err != nil {
		a.log.Error("automations stopped", "err", err)
	}
	wg.Wait()
}

// Close stops the background work and waits for it (projectors stop
// between batches, a batch in flight rolling back with its checkpoint;
// rebuilds stop before their swap), then releases every part in the
// reverse order of building. It is idempotent.
func (a *App) Close() {
	a.once.Do(func() {
		a.stopBg()
		a.wg.Wait()
		if a.Adapter != nil {
			a.Adapter.Wait()
		}
		for i := len(a.closers) - 1; i >= 0; i-- {
			a.closers[i]()
		}
	})
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"crm/api"
	"crm/commands"
	"crm/eventstore"
	"crm/eventstore/esdb"
	"crm/eventstore/postgres"
	"crm/internal/apiadapter"
	"crm/internal/apikeys"
	"crm/internal/customreports"
	"crm/internal/integrity"
	"crm/internal/repository"
	"crm/internal/requestlog"
	"crm/projections"
	"crm/readmodels"
	"crm/workflows"
	"crm/workflows/natsbus"
	"crm/workflows/scheduler"
	"crm/workflows/webhooks"
)

type serveConfig struct {
	addr            addrValue
	db              dbConfig
	eventStore      eventStoreValue
	log             logConfig
	bootstrapKey    string
	shutdownTimeout positiveDuration
	seal            sealConfig
	masterKey       masterKeyConfig
	webhooksPrivate bool
	bus             busValue
	automations     bool
	pprofAddr       pprofAddrValue
}

func parseServe(args []string, stdout io.Writer) (serveConfig, error) {
	c := serveConfig{addr: addrValue{value: ":8080"}, shutdownTimeout: positiveDuration{value: 15 * time.Second}}
	f := serveFlags(&c)
	if err := f.parse(args); err != nil {
		if err == errHelp {
			f.usage(stdout, "Run the HTTP API. Without --database-url it runs a private PostgreSQL in --data-dir.")
		}
		return c, err
	}
	return c, c.check()
}

// serveFlags defines serve's flags, and their environment variables,
// into c.
func serveFlags(c *serveConfig) *flagSet {
	f := newFlagSet("serve")
	f.Var(&c.addr, "addr", "HTTP listen address")
	f.withEnv("addr", "CRM_ADDR")
	c.db.register(f)
	c.eventStore.register(f)
	c.log.register(f)
	f.StringVar(&c.bootstrapKey, "bootstrap-admin-key", "", "create an admin API key with this secret when no key exists yet")
	f.withEnv("bootstrap-admin-key", "CRM_BOOTSTRAP_ADMIN_KEY")
	f.Var(&c.shutdownTimeout, "shutdown-timeout", "how long in-flight requests may take to finish on SIGTERM/SIGINT")
	f.withEnv("shutdown-timeout", "CRM_SHUTDOWN_TIMEOUT")
	c.seal.register(f, true)
	c.masterKey.register(f)
	f.BoolVar(&c.webhooksPrivate, "webhook-allow-private", false, "let webhooks reach loopback and private network addresses (link-local and metadata addresses stay refused)")
	f.withEnv("webhook-allow-private", "CRM_WEBHOOK_ALLOW_PRIVATE")
	f.BoolVar(&c.automations, "automations", true, "run the automations, webhook deliveries and the message bus in this process (false: serve the API only)")
	f.withEnv("automations", "CRM_AUTOMATIONS")
	f.Var(&c.pprofAddr, "pprof-addr", "serve Go's runtime profiles (net/http/pprof) on this loopback address, such as 127.0.0.1:6060; empty: off")
	f.withEnv("pprof-addr", "CRM_PPROF_ADDR")
	f.Var(&c.bus, "bus", "publish integration events to NATS JetStream at this URL (nats://host:4222); empty: in-process only")
	f.withEnv("bus", "CRM_BUS")
	return f
}

// check validates what the flags cannot check one at a time.
func (c *serveConfig) check() error {
	if err := c.db.check(); err != nil {
		return err
	}
	if err := c.masterKey.check(c.db); err != nil {
		return err
	}
	// Each projector holds a connection while it runs; API requests, the
	// sealer and the projectors' reads need more besides.
	if need := len(projections.All()) + 5; c.db.maxConns < need {
		return &usageError{msg: fmt.Sprintf("invalid value for -db-max-conns: serve needs at least %d", need)}
	}
	if c.bootstrapKey != "" {
		if err := apikeys.CheckSecret(c.bootstrapKey); err != nil {
			return &usageError{msg: "invalid value for -bootstrap-admin-key: " + err.Error()}
		}
	}
	return nil
}

// serve runs the API until SIGINT or SIGTERM, then shuts down gracefully:
// stop accepting, let in-flight requests finish within the shutdown
// timeout, stop background work, close the pool, stop the embedded server.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseServe(args, stdout)
	if err != nil {
		return err
	}
	log := c.log.logger(stderr)
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	// An EventStoreDB is checked first: a wrong URL fails in seconds,
	// before a database is started.
	var eventLog eventstore.Store
	if c.eventStore.value != "" {
		es, err := openEventStore(ctx, c.eventStore.value, nil, log)
		if err != nil {
			return err
		}
		defer es.Close()
		eventLog = es
	}
	db, err := openDatabase(ctx, c.db, log)
	if err != nil {
		return err
	}
	defer db.close()
	if err := db.migrate(ctx); err != nil {
		return err
	}
	if err := bootstrapKey(ctx, db, c.bootstrapKey, stdout, log); err != nil {
		return err
	}
	sealKey, err := c.seal.resolve(c.db, true)
	if err != nil {
		return err
	}
	checker := integrity.New(db.pool, sealKey)
	var verifier api.Verifier = checker
	if eventLog != nil {
		// The hash chain and seals live in the PostgreSQL event store.
		verifier, sealKey = noVerifier{}, nil
	}

	store := eventLog
	if store == nil {
		store = postgres.New(db.pool, postgres.Options{Logger: log})
	}
	defer store.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	codec, err := eventstore.DomainRegistry()
	if err != nil {
		return err
	}
	vault, err := c.masterKey.open(db, c.db)
	if err != nil {
		return err
	}
	// Projectors and the event feed read the log revealed: personal
	// values in plaintext while their key exists, "[erased]" after.
	revealed := vault.Log(store)
	repo := repository.New(db.pool, store, codec, vault)
	rehashed, err := repo.RehashEmailClaims(ctx)
	if err != nil {
		return err
	}
	if rehashed > 0 {
		log.Info("email reservations now stored as keyed hashes", "count", rehashed)
	}
	engine := projections.New(db.pool, revealed, codec, projections.All(), projections.Options{Logger: log})
	if err := engine.Prepare(ctx); err != nil {
		return err
	}
	bgCtx, stopBackground := context.WithCancel(context.Background())
	defer stopBackground()
	adapter := apiadapter.New(bgCtx, engine, revealed, log)
	settings := workflows.NewSettings(db.pool)
	cmds := commands.New(repo, commands.Options{SLAFunc: settings.SLA, ApprovalPolicy: settings.ApprovalPolicy})
	backbone, err := workflows.New(db.pool, store, codec, workflows.Options{Logger: log})
	if err != nil {
		return err
	}
	deadlines := scheduler.New(db.pool, scheduler.SystemClock{}, scheduler.Options{Logger: log})
	if err := workflows.AddCommands(backbone, cmds); err != nil {
		return err
	}
	workflows.Register(backbone, deadlines, cmds, settings)
	hooks := webhooks.New(db.pool, webhooks.Options{Guard: webhooks.Guard{AllowPrivate: c.webhooksPrivate}, Logger: log, Revealer: vault})
	backbone.AddAutomation(hooks)
	if c.bus.value != "" && c.automations {
		pub, err := natsbus.Connect(ctx, c.bus.value, natsbus.Options{Logger: log, Revealer: vault})
		if err != nil {
			return fmt.Errorf("message bus: %w", err)
		}
		defer pub.Close()
		backbone.AddAutomation(pub)
		log.Info("publishing integration events to NATS JetStream", "url", c.bus.value, "subjects", natsbus.DefaultSubjectPrefix+".<event type>")
	}
	queries := readmodels.New(db.pool)
	requests := requestlog.New(db.pool, requestlog.Options{Logger: log})
	defer requests.Close()
	custom := customreports.New(db.pool, store, customreports.Options{Types: codec.Types(), Logger: log})
	defer custom.Close()
	var ready api.Readiness = db
	if eventLog != nil {
		ready = storeReadiness{db: db, store: eventLog}
	}
	handler, err := api.NewRouter(api.Options{Ready: ready, Metrics: reg, Logger: log, Version: versionString(),
		Keys: apikeys.ForAPI(apikeys.New(db.pool)), Commands: cmds, Responses: repo,
		Progress: adapter, Projections: adapter, Feed: adapter, Lists: queries, Audit: queries, Reports: queries, Requests: requests,
		Verifier: verifier, Automations: workflows.Service{Settings: settings, Dead: backbone.DeadLetters()},
		Webhooks: webhooks.Service{W: hooks}, CustomReports: custom})
	if err != nil {
		return err
	}
	sealing := make(chan struct{})
	go func() {
		defer close(sealing)
		switch {
		case eventLog != nil:
			log.Info("the log is sealed only in the PostgreSQL event store; verification is off for this store")
			return
		case len(sealKey) == 0:
			log.Warn("no seal key (--seal-key / CRM_SEAL_KEY): the log is not sealed; hash chains still detect edited events")
			return
		}
		checker.Run(bgCtx, c.seal.interval.value, func(err error) { log.Error("seal the event log", "err", err) })
	}()
	reporting := make(chan struct{})
	go func() {
		defer close(reporting)
		_ = custom.Run(bgCtx)
	}()
	projecting := make(chan struct{})
	go func() {
		defer close(projecting)
		if es, ok := store.(*esdb.Store); ok {
			// Multi-stream appends cut short by a crash are completed
			// before the projectors start.
			n, err := es.Recover(bgCtx)
			if err != nil {
				log.Error("recover multi-stream appends", "err", err)
			} else if n > 0 {
				log.Info("completed interrupted multi-stream appends", "count", n)
			}
		}
		_ = engine.Run(bgCtx)
	}()
	automating := make(chan struct{})
	go func() {
		defer close(automating)
		if !c.automations {
			log.Info("automations are off in this process (--automations=false)")
			return
		}
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); _ = deadlines.Run(bgCtx) }()
		go func() { defer wg.Done(); _ = hooks.Run(bgCtx) }()
		if err := backbone.Run(bgCtx); err != nil {
			log.Error("automations stopped", "err", err)
		}
		wg.Wait()
	}()
	// Every way out of serve stops the background work and waits for it
	// before the deferred closes run underneath it.
	var background sync.Once
	waitBackground := func() {
		background.Do(func() {
			stopBackground()
			<-projecting
			<-automating
			<-reporting
			<-sealing
			adapter.Wait()
		})
	}
	defer waitBackground()
	ln, err := net.Listen("tcp", c.addr.value)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.addr.value, err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	if c.pprofAddr.value != "" {
		stopProfiles, err := serveProfiles(c.pprofAddr.value, log)
		if err != nil {
			_ = srv.Close()
			return err
		}
		defer stopProfiles()
	}
	log.Info("crm serving", "addr", ln.Addr().String(), "version", versionString())

	select {
	case err := <-served:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	stop() // a second signal now kills the process the default way
	log.Info("shutting down", "timeout", c.shutdownTimeout.value)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), c.shutdownTimeout.value)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	if errors.Is(err, context.DeadlineExceeded) {
		log.Warn("in-flight requests did not finish in time; closing them")
		err = srv.Close()
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("http server", "err", err)
	}
	// Projectors stop between batches (a batch in flight rolls back with
	// its checkpoint); rebuilds stop before their swap.
	waitBackground()
	requests.Close() // writes the request audit entries still queued
	_ = store.Close()
	db.close()
	log.Info("stopped")
	return err
}

// bootstrapKey creates the first admin key: from --bootstrap-admin-key, or
// on the embedded default a generated one, printed once and written to
// <data-dir>/admin.key (mode 0600).
func bootstrapKey(ctx context.Context, db *database, secret string, stdout io.Writer, log *slog.Logger) error {
	keys := apikeys.New(db.pool)
	if secret == "" && db.embedded == nil {
		n, err := keys.List(ctx)
		if err != nil {
			return err
		}
		if len(n) == 0 {
			log.Warn("no API key exists: start with --bootstrap-admin-key or run crm keys create")
		}
		return nil
	}
	k, generated, created, err := keys.Bootstrap(ctx, secret)
	if err != nil {
		return err
	}
	if !created {
		return nil
	}
	if generated == "" {
		log.Info("admin API key created from --bootstrap-admin-key", "key_id", k.ID)
		return nil
	}
	path := filepath.Join(db.dataDir, "admin.key")
	if err := os.WriteFile(path, []byte(generated+"\n"), 0o600); err != nil {
		return fmt.Errorf("write admin key: %w", err)
	}
	fmt.Fprintf(stdout, "Admin API key (shown once, also saved to %s):\n%s\n", path, generated)
	log.Info("admin API key generated", "key_id", k.ID, "file", path)
	return nil
}

// noVerifier answers verification requests for an event store without a
// hash chain.
type noVerifier struct{}

func (noVerifier) Verify(context.Context) (integrity.Report, error) {
	return integrity.Report{}, api.ErrVerifyUnsupported
}

// storeReadiness is ready when the database is and the event store (one
// outside PostgreSQL) answers.
type storeReadiness struct {
	db    api.Readiness
	store interface {
		Head(ctx context.Context) (eventstore.Cursor, error)
	}
}

func (r storeReadiness) Ready(ctx context.Context) error {
	if err := r.db.Ready(ctx); err != nil {
		return err
	}
	if _, err := r.store.Head(ctx); err != nil {
		return fmt.Errorf("event store unreachable: %w", err)
	}
	return nil
}

// busValue is the --bus URL: empty, or nats:// / tls:// with a host.
type busValue struct{ value string }

func (b *busValue) String() string { return b.value }
func (b *busValue) Set(s string) error {
	if s != "" {
		if err := natsbus.CheckURL(s); err != nil {
			return err
		}
	}
	b.value = s
	return nil
}

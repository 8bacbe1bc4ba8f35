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
	"regexp"
	"syscall"
	"time"

	"crm/aggregates"
	"crm/api"
	"crm/internal/apikeys"
	"crm/internal/app"
	"crm/internal/customreports"
	"crm/internal/telemetry"
	"crm/projections"
	"crm/workflows"
	"crm/workflows/natsbus"
	"crm/workflows/webhooks"

	"golang.org/x/net/netutil"
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
	rateLimit       float64
	rateBurst       int
	maxConnections  int
	requestTimeout  time.Duration
	// discountThreshold is the quote discount (percent) that needs a
	// manager's approval; reminderDays and escalationDays time the
	// collections of overdue installments.
	discountThreshold string
	reminderDays      int
	escalationDays    int
}

func parseServe(args []string, stdout io.Writer) (serveConfig, error) {
	c := serveConfig{addr: addrValue{value: ":8080"}, shutdownTimeout: positiveDuration{value: 15 * time.Second},
		rateBurst: 200, maxConnections: 1024, requestTimeout: 60 * time.Second,
		discountThreshold: aggregates.DefaultDiscountThreshold, reminderDays: aggregates.DefaultReminderDays, escalationDays: aggregates.DefaultEscalationDays}
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
	c.seal.registerAnchor(f, true)
	c.masterKey.register(f)
	f.BoolVar(&c.webhooksPrivate, "webhook-allow-private", false, "let webhooks reach the private networks 10/8, 172.16/12, 192.168/16 and fc00::/7 (loopback, link-local, metadata and this host's own addresses stay refused)")
	f.withEnv("webhook-allow-private", "CRM_WEBHOOK_ALLOW_PRIVATE")
	f.BoolVar(&c.automations, "automations", true, "run the automations, webhook deliveries and the message bus in this process (false: serve the API only)")
	f.withEnv("automations", "CRM_AUTOMATIONS")
	f.Var(&c.pprofAddr, "pprof-addr", "serve Go's runtime profiles (net/http/pprof) on this loopback address, such as 127.0.0.1:6060; empty: off")
	f.withEnv("pprof-addr", "CRM_PPROF_ADDR")
	f.Var(&c.bus, "bus", "publish integration events to NATS JetStream at this URL (nats://host:4222); empty: in-process only")
	f.withEnv("bus", "CRM_BUS")
	f.Float64Var(&c.rateLimit, "rate-limit", 0, "requests per second each API key may make under /v1, beyond --rate-burst (429 with Retry-After); 0: off")
	f.withEnv("rate-limit", "CRM_RATE_LIMIT")
	f.IntVar(&c.rateBurst, "rate-burst", c.rateBurst, "requests an API key may make at once before --rate-limit applies")
	f.withEnv("rate-burst", "CRM_RATE_BURST")
	f.IntVar(&c.maxConnections, "max-connections", c.maxConnections, "concurrent HTTP connections accepted; more wait to be accepted; 0: unlimited")
	f.withEnv("max-connections", "CRM_MAX_CONNECTIONS")
	f.DurationVar(&c.requestTimeout, "request-timeout", c.requestTimeout, "how long one request's work may take before it is cancelled and answered 503; 0: no limit")
	f.withEnv("request-timeout", "CRM_REQUEST_TIMEOUT")
	f.StringVar(&c.discountThreshold, "quote-discount-threshold", c.discountThreshold, "a quote discount above this percentage needs a manager's approval before the quote is sent")
	f.withEnv("quote-discount-threshold", "CRM_QUOTE_DISCOUNT_THRESHOLD")
	f.IntVar(&c.reminderDays, "collections-reminder-days", c.reminderDays, "days after its due date an unpaid installment is reminded to the deal's owner")
	f.withEnv("collections-reminder-days", "CRM_COLLECTIONS_REMINDER_DAYS")
	f.IntVar(&c.escalationDays, "collections-escalation-days", c.escalationDays, "days after the reminder an unpaid installment is escalated to the owner's manager")
	f.withEnv("collections-escalation-days", "CRM_COLLECTIONS_ESCALATION_DAYS")
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
	if c.rateLimit < 0 || c.rateBurst < 1 || c.maxConnections < 0 || c.requestTimeout < 0 {
		return &usageError{msg: "invalid limits: -rate-limit, -max-connections and -request-timeout must not be negative, -rate-burst at least 1"}
	}
	if !discountPattern.MatchString(c.discountThreshold) {
		return &usageError{msg: "invalid value for -quote-discount-threshold: want a percentage from 0 to 100 with up to 2 decimals, such as 20"}
	}
	if c.reminderDays < 1 || c.reminderDays > 365 || c.escalationDays < 1 || c.escalationDays > 365 {
		return &usageError{msg: "invalid value for -collections-reminder-days or -collections-escalation-days: want 1 to 365"}
	}
	if c.bootstrapKey != "" {
		if err := apikeys.CheckSecret(c.bootstrapKey); err != nil {
			return &usageError{msg: "invalid value for -bootstrap-admin-key: " + err.Error()}
		}
	}
	return nil
}

// discountPattern is a percentage from 0 to 100 with up to 2 decimals.
var discountPattern = regexp.MustCompile(`^((0|[1-9][0-9]?)(\.[0-9]{1,2})?|100(\.00?)?)$`)

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

	// Traces go to OTEL_EXPORTER_OTLP_ENDPOINT when it is set; off otherwise.
	tracing, err := telemetry.NewTracingFromEnv(ctx, versionString())
	if err != nil {
		return err
	}
	defer func() {
		flush, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tracing.Shutdown(flush); err != nil {
			log.Warn("flush traces", "err", err)
		}
	}()
	if telemetry.TracingEnabled() {
		log.Info("tracing to OTLP", "endpoint", firstNonEmpty(os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT")))
	}
	cfg := c.appConfig(log)
	cfg.Tracing = tracing
	a, err := app.Build(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := bootstrapKey(ctx, a, c.bootstrapKey, stdout, log); err != nil {
		return err
	}
	if err := a.Start(ctx); err != nil {
		return err
	}
	srv, served, addr, err := listen(c, a.Handler, log)
	if err != nil {
		return err
	}
	if c.pprofAddr.value != "" {
		stopProfiles, err := serveProfiles(c.pprofAddr.value, log)
		if err != nil {
			_ = srv.Close()
			return err
		}
		defer stopProfiles()
	}
	log.Info("crm serving", "addr", addr, "version", versionString())
	fmt.Fprintf(stdout, "Open the console: %s\n", consoleURL(addr))

	select {
	case err := <-served:
		return fmt.Errorf("http server: %w", err)
	case err := <-a.Failed():
		// The embedded database is gone for good: stop serving at once.
		_ = srv.Close()
		<-served
		a.Close()
		return err
	case <-ctx.Done():
	}
	stop() // a second signal now kills the process the default way
	err = shutdown(srv, served, c.shutdownTimeout.value, log)
	// Projectors stop between batches (a batch in flight rolls back with
	// its checkpoint); rebuilds stop before their swap; the request audit
	// entries still queued are written; then the pool and the embedded
	// server go.
	a.Close()
	log.Info("stopped")
	return err
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// appConfig is what serve asks of the composition root: every part, with
// the automations running here unless --automations=false.
func (c *serveConfig) appConfig(log *slog.Logger) app.Config {
	return app.Config{
		Database:               c.db.app(),
		EventStoreURL:          c.eventStore.value,
		Logger:                 log,
		MasterKey:              c.masterKey.source(c.db),
		SealKey:                c.seal.source(c.db, true),
		SealInterval:           c.seal.interval.value,
		SealAnchorFile:         c.seal.anchorFile,
		AnchorInterval:         c.seal.anchorInterval.value,
		Commands:               true,
		Projections:            &projections.Options{},
		QuoteDiscountThreshold: c.discountThreshold,
		Workflows: &app.WorkflowsConfig{
			Run:         c.automations,
			Collections: workflows.CollectionPolicy{ReminderDays: c.reminderDays, EscalationDays: c.escalationDays},
			Webhooks:    webhooks.Options{Guard: webhooks.Guard{AllowPrivate: c.webhooksPrivate}},
			BusURL:      c.bus.value,
		},
		Reports: &customreports.Options{},
		HTTP: &app.HTTPConfig{Version: versionString(), RequestTimeout: c.requestTimeout,
			RateLimit: api.RateLimit{PerSecond: c.rateLimit, Burst: c.rateBurst}},
	}
}

// listen starts the HTTP server on --addr; served receives its end.
func listen(c serveConfig, handler http.Handler, log *slog.Logger) (*http.Server, chan error, string, error) {
	ln, err := net.Listen("tcp", c.addr.value)
	if err != nil {
		return nil, nil, "", fmt.Errorf("listen on %s: %w", c.addr.value, err)
	}
	if c.maxConnections > 0 {
		ln = netutil.LimitListener(ln, c.maxConnections)
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
	return srv, served, ln.Addr().String(), nil
}

// shutdown lets in-flight requests finish within timeout, then closes
// what is left, and waits for the server to end.
func shutdown(srv *http.Server, served chan error, timeout time.Duration, log *slog.Logger) error {
	log.Info("shutting down", "timeout", timeout)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		log.Warn("in-flight requests did not finish in time; closing them")
		err = srv.Close()
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("http server", "err", err)
	}
	return err
}

// bootstrapKey creates the first admin key: from --bootstrap-admin-key, or
// on the embedded default a generated one, printed once and written to
// <data-dir>/admin.key (mode 0600).
func bootstrapKey(ctx context.Context, a *app.App, secret string, stdout io.Writer, log *slog.Logger) error {
	keys := a.Keys
	if secret == "" && !a.DB.Embedded() {
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
	path := filepath.Join(a.DB.DataDir(), "admin.key")
	if err := os.WriteFile(path, []byte(generated+"\n"), 0o600); err != nil {
		return fmt.Errorf("write admin key: %w", err)
	}
	fmt.Fprintf(stdout, "Admin API key (shown once, also saved to %s):\n%s\n", path, generated)
	log.Info("admin API key generated", "key_id", k.ID, "file", path)
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

// consoleURL is the address a person opens in a browser: the listen
// address, with localhost for a wildcard host.
func consoleURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr + "/"
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}

package workflows

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"github.com/jackc/pgx/v5/pgxpool"

	"crm/aggregates"
	"crm/commands"
	"crm/eventstore"
	"crm/internal/pgmigrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations create the forwarder checkpoint, dead letters, settings and
// assignment tables.
var Migrations = pgmigrate.Set{Name: "workflows", FS: pgmigrate.Sub(migrationFiles, "migrations"), VersionTable: "crm_schema_workflows"}

// Log is the part of the event store the forwarder reads.
type Log interface {
	Subscribe(ctx context.Context, opts eventstore.SubscribeOptions, handle func(context.Context, []eventstore.Event) error) error
}

// Options configure a Backbone.
type Options struct {
	// BatchSize is the most events forwarded per checkpoint (default 100).
	BatchSize int
	// Partitions is how many events the forwarder hands out at a time
	// (default 8). Events of one stream always go to the same partition,
	// so each automation sees a stream's events in order, one at a time;
	// events of different streams are handled concurrently.
	Partitions int
	// StandbyRetry is how often a standby process tries to take the
	// forwarder (default 1 s).
	StandbyRetry time.Duration
	// MaxRetries and RetryInterval configure the Retry middleware: a
	// failing handler is retried MaxRetries times (default 5), waiting
	// RetryInterval (default 100 ms), doubling up to 5 s, before its
	// message becomes a dead letter.
	MaxRetries    int
	RetryInterval time.Duration
	// Owner names this process (default host:pid).
	Owner string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Observer, when set, watches every event an automation handles and
	// every command the automations issue (metrics, traces).
	Observer Observer
}

// Observer watches the automations at work.
type Observer interface {
	// StartAutomation is called as an automation starts handling an
	// event (its type and id, and the command and correlation ids it
	// carries); done is called once with the outcome.
	StartAutomation(ctx context.Context, automation, eventType, eventID, commandID, correlationID string) (_ context.Context, done func(error))
	// StartAutomationCommand is called as a command an automation issued
	// runs; done is called once with the handler's error, the stream
	// the command is about and the version it left.
	StartAutomationCommand(ctx context.Context, command, commandID string) (_ context.Context, done func(err error, stream string, version int64))
}

// Backbone is the router, its transports, the command bus and the
// forwarder. Register handlers and automations, then Run.
type Backbone struct {
	pool  *pgxpool.Pool
	log   Log
	codec *eventstore.Registry
	opts  Options

	events    *gochannel.GoChannel
	commands  *gochannel.GoChannel
	router    *message.Router
	bus       *cqrs.CommandBus
	processor *cqrs.CommandProcessor
	dead      *DeadLetters
	decoded   *decodeCache

	closing   atomic.Bool
	closeOnce sync.Once
	mu        sync.Mutex
	replay    map[string]string // handler name -> topic that replays to it
}

// Automation reacts to events. Handle must be idempotent: the same event
// may be delivered more than once. Every automation is handed the same
// decoded event, so Handle must not modify it (copy what it changes).
type Automation interface {
	Name() string
	Handle(ctx context.Context, ev Event) error
}

// errClosing reports work cut short by shutdown; it is redone later.
var errClosing = errors.New("workflows: shutting down")

// New builds the backbone over a migrated pool (see Migrations).
func New(pool *pgxpool.Pool, log Log, codec *eventstore.Registry, opts Options) (*Backbone, error) {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 100
	}
	if opts.Partitions <= 0 {
		opts.Partitions = 8
	}
	if opts.StandbyRetry <= 0 {
		opts.StandbyRetry = time.Second
	}
	if opts.MaxRetries <= 0 {
		opts.MaxRetries = 5
	}
	if opts.RetryInterval <= 0 {
		opts.RetryInterval = 100 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Owner == "" {
		host, _ := os.Hostname()
		opts.Owner = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	wlog := watermill.NewSlogLoggerWithLevelMapping(opts.Logger.With("component", "watermill"), map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
	b := &Backbone{pool: pool, log: log, codec: codec, opts: opts, replay: map[string]string{}, decoded: newDecodeCache(codec)}
	// Publishing blocks until every subscriber acknowledged: the
	// forwarder's checkpoint and a command's sender wait for the work.
	b.events = gochannel.NewGoChannel(gochannel.Config{BlockPublishUntilSubscriberAck: true}, wlog)
	// A command runs in its sender's context: its span lies under the
	// automation's that issued it.
	b.commands = gochannel.NewGoChannel(gochannel.Config{BlockPublishUntilSubscriberAck: true, PreserveContext: true}, wlog)
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 30 * time.Second}, wlog)
	if err != nil {
		return nil, fmt.Errorf("new router: %w", err)
	}
	b.router = router
	b.dead = &DeadLetters{pool: pool, b: b}
	poison, err := middleware.PoisonQueue(b.dead, DeadLetterTopic)
	if err != nil {
		return nil, err
	}
	retry := middleware.Retry{MaxRetries: opts.MaxRetries, InitialInterval: opts.RetryInterval, MaxInterval: 5 * time.Second,
		Multiplier: 2, Logger: wlog}
	router.AddMiddleware(middleware.CorrelationID, poison, retry.Middleware, middleware.Recoverer)

	marshaler := cqrs.JSONMarshaler{GenerateName: cqrs.StructName}
	b.bus, err = cqrs.NewCommandBusWithConfig(b.commands, cqrs.CommandBusConfig{
		GeneratePublishTopic: func(p cqrs.CommandBusGeneratePublishTopicParams) (string, error) {
			return commandTopic(p.CommandName), nil
		},
		// A command's message carries the correlation id of its envelope.
		OnSend: func(p cqrs.CommandBusOnSendParams) error {
			if c, ok := p.Command.(interface{ Env() *commands.Envelope }); ok && c.Env().Metadata.CorrelationID != "" {
				middleware.SetCorrelationID(c.Env().Metadata.CorrelationID, p.Message)
			}
			return nil
		},
		Marshaler: marshaler,
		Logger:    wlog,
	})
	if err != nil {
		return nil, fmt.Errorf("command bus: %w", err)
	}
	b.processor, err = cqrs.NewCommandProcessorWithConfig(router, cqrs.CommandProcessorConfig{
		GenerateSubscribeTopic: func(p cqrs.CommandProcessorGenerateSubscribeTopicParams) (string, error) {
			return commandTopic(p.CommandName), nil
		},
		SubscriberConstructor: func(cqrs.CommandProcessorSubscriberConstructorParams) (message.Subscriber, error) {
			return b.commands, nil
		},
		OnHandle:  b.onCommand,
		Marshaler: marshaler,
		Logger:    wlog,
	})
	if err != nil {
		return nil, fmt.Errorf("command processor: %w", err)
	}
	return b, nil
}

func commandTopic(name string) string { return "crm.commands." + name }

// onCommand runs a command; a refusal by the domain (a rule, or a missing
// entity) is the command's final answer, so it is logged, not retried.
func (b *Backbone) onCommand(p cqrs.CommandProcessorOnHandleParams) error {
	ctx := p.Message.Context()
	env, _ := p.Command.(interface{ Env() *commands.Envelope })
	var err error
	if o := b.opts.Observer; o != nil && env != nil {
		var done func(error, string, int64)
		ctx, done = o.StartAutomationCommand(ctx, p.CommandName, env.Env().Metadata.CommandID)
		defer func() {
			res := env.Env().Result
			var stream string
			if len(res.Events) > 0 {
				stream = res.Events[0].Stream
			}
			done(err, stream, res.Version)
		}()
	}
	err = p.Handler.Handle(ctx, p.Command)
	var de *aggregates.Error
	if errors.As(err, &de) && de.Kind != aggregates.Invalid {
		b.opts.Logger.Info("automation command refused", "command", p.CommandName, "code", de.Code, "detail", de.Message)
		return nil
	}
	return err
}

// AddCommandHandlers exposes command handlers on the bus; build them with
// cqrs.NewCommandHandler(name, handler.Method).
func (b *Backbone) AddCommandHandlers(hs ...cqrs.CommandHandler) error {
	return b.processor.AddHandlers(hs...)
}

// Send issues a command through the bus and returns once its handler has
// finished with it (done, refused, or stored as a dead letter).
func (b *Backbone) Send(ctx context.Context, cmd any) error {
	select {
	case <-b.router.Running():
	case <-ctx.Done():
		return ctx.Err()
	}
	if b.closing.Load() {
		return errClosing
	}
	if err := b.bus.Send(ctx, cmd); err != nil {
		return fmt.Errorf("send %T: %w", cmd, err)
	}
	// A message published while the router closes may have been dropped.
	if b.closing.Load() {
		return errClosing
	}
	return nil
}

// AddAutomation subscribes a to the log's events.
func (b *Backbone) AddAutomation(a Automation) {
	b.addEventHandler(a.Name(), a.Handle)
}

func (b *Backbone) addEventHandler(name string, handle func(context.Context, Event) error) {
	fn := func(msg *message.Message) error {
		ev, err := b.decoded.decode(msg)
		if err != nil {
			return err
		}
		ctx := msg.Context()
		if o := b.opts.Observer; o != nil {
			var done func(error)
			ctx, done = o.StartAutomation(ctx, name, ev.Type, ev.ID.String(), ev.Metadata.CommandID, ev.Metadata.CorrelationID)
			defer func() { done(err) }()
		}
		err = handle(ctx, ev)
		return err
	}
	replayTopic := replayPrefix + name
	b.mu.Lock()
	// Dead letters name the automation, not its partition (handlerName).
	b.replay[name], b.replay[name+".replay"] = replayTopic, replayTopic
	b.mu.Unlock()
	for p := range b.opts.Partitions {
		b.router.AddConsumerHandler(partitionHandler(name, p), partitionTopic(p), b.events, fn)
	}
	b.router.AddConsumerHandler(name+".replay", replayTopic, b.events, fn)
}

// replayPrefix starts the topic on which an automation's dead letters
// are handed back to it alone.
const replayPrefix = "crm.replay."

// partitionTopic is the topic of the forwarder's partition p.
func partitionTopic(p int) string { return EventsTopic + "." + strconv.Itoa(p) }

// partitionHandler names handler name's consumer of partition p.
func partitionHandler(name string, p int) string { return name + "#" + strconv.Itoa(p) }

// handlerName is the automation a (partition) handler name belongs to.
func handlerName(handler string) string {
	if i := strings.LastIndexByte(handler, '#'); i > 0 {
		return handler[:i]
	}
	return handler
}

// partitionOf is the forwarder partition of a stream's events.
func (b *Backbone) partitionOf(stream string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(stream))
	return int(h.Sum32() % uint32(b.opts.Partitions))
}

// publish hands one stored event to the automations on topic and
// returns once they are done with it.
func (b *Backbone) publish(topic string, ev eventstore.Event) error {
	msg, err := newMessage(ev)
	if err != nil {
		return err
	}
	if err := b.events.Publish(topic, msg); err != nil {
		return fmt.Errorf("publish %s: %w", ev.ID, err)
	}
	if b.closing.Load() {
		return errClosing
	}
	return nil
}

// publishBatch hands a batch to the automations: each partition's events
// in log order, the partitions concurrently. It returns once every event
// is done, or with the first error.
func (b *Backbone) publishBatch(ctx context.Context, batch []eventstore.Event) error {
	parts := make([][]eventstore.Event, b.opts.Partitions)
	for _, ev := range batch {
		p := b.partitionOf(ev.StreamID)
		parts[p] = append(parts[p], ev)
	}
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for p, evs := range parts {
		if len(evs) == 0 {
			continue
		}
		topic := partitionTopic(p)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, ev := range evs {
				err := ctx.Err()
				if err == nil {
					err = b.publish(topic, ev)
				}
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// replayTopic is where a dead letter of handler goes to be handled again.
func (b *Backbone) replayTopic(handler, topic string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t, ok := b.replay[handler]; ok {
		return t
	}
	return topic
}

// DeadLetters returns the dead-letter store.
func (b *Backbone) DeadLetters() *DeadLetters { return b.dead }

// Run runs the router and, while this process holds it, the forwarder,
// until ctx ends; then it stops the forwarder between events and closes
// the router. It returns nil on a clean stop.
func (b *Backbone) Run(ctx context.Context) error {
	routerDone := make(chan error, 1)
	go func() { routerDone <- b.router.Run(context.Background()) }()
	select {
	case <-b.router.Running():
	case err := <-routerDone:
		return fmt.Errorf("router: %w", err)
	case <-ctx.Done():
	}
	// Stopping closes the pubsubs at once: a forwarder or an automation
	// waiting for a handler's ack then returns instead of holding the stop
	// up (what they were handing over is redelivered from the checkpoint).
	stopped := make(chan struct{})
	defer close(stopped)
	go func() {
		select {
		case <-ctx.Done():
			b.Close()
		case <-stopped:
		}
	}()
	if ctx.Err() == nil {
		b.forward(ctx)
	}
	b.Close()
	return <-routerDone
}

// Close stops the router (Run calls it). It is idempotent. The pubsubs
// close first, which ends every publish waiting for an ack (Send and the
// forwarder then answer errClosing), so that the router's handlers can
// finish without waiting for each other.
func (b *Backbone) Close() {
	b.closeOnce.Do(func() {
		b.closing.Store(true)
		_ = b.events.Close()
		_ = b.commands.Close()
		_ = b.router.Close()
	})
}

const forwarderName = "forwarder"

// forward holds the forwarder while this process may, standing by
// otherwise.
func (b *Backbone) forward(ctx context.Context) {
	for ctx.Err() == nil {
		err := b.holdAndForward(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, errStandby):
		case err != nil:
			b.opts.Logger.Warn("event forwarder interrupted; resuming from its checkpoint", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(b.opts.StandbyRetry):
		}
	}
}

var errStandby = errors.New("held by another process")

// holdAndForward takes the forwarder's advisory lock on a dedicated
// session and forwards the log from the checkpoint until ctx ends.
func (b *Backbone) holdAndForward(ctx context.Context) error {
	conn, err := b.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended('crm_workflows:' || $1, 0))`, forwarderName).Scan(&locked); err != nil {
		conn.Release()
		return err
	}
	if !locked {
		conn.Release()
		return errStandby
	}
	defer func() {
		// Closing the session releases the lock.
		_ = conn.Conn().Close(context.Background())
		conn.Release()
	}()
	var pos string
	if err := conn.QueryRow(ctx, `INSERT INTO crm_workflow_checkpoints (name, owner) VALUES ($1, $2)
ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, updated_at = now() RETURNING position`, forwarderName, b.opts.Owner).Scan(&pos); err != nil {
		return err
	}
	after, err := eventstore.ParseCursor(pos)
	if err != nil {
		return fmt.Errorf("stored checkpoint %q: %w", pos, err)
	}
	return b.log.Subscribe(ctx, eventstore.SubscribeOptions{After: after, BatchSize: b.opts.BatchSize},
		func(ctx context.Context, batch []eventstore.Event) error {
			if err := b.publishBatch(ctx, batch); err != nil {
				return err
			}
			next := batch[len(batch)-1].Cursor.String()
			_, err := conn.Exec(ctx, `UPDATE crm_workflow_checkpoints SET position = $2, owner = $3, updated_at = now() WHERE name = $1`,
				forwarderName, next, b.opts.Owner)
			return err
		})
}

// Checkpoint returns the forwarder's position: every event up to it has
// been handled by every automation.
func (b *Backbone) Checkpoint(ctx context.Context) (string, error) {
	var pos string
	err := b.pool.QueryRow(ctx, `SELECT coalesce((SELECT position FROM crm_workflow_checkpoints WHERE name = $1), '')`, forwarderName).Scan(&pos)
	return pos, err
}

// Deliver hands one stored event to every automation again,
// exactly as a redelivery after a crash would, and returns when they are
// done with it.
func (b *Backbone) Deliver(ctx context.Context, ev eventstore.Event) error {
	select {
	case <-b.router.Running():
	case <-ctx.Done():
		return ctx.Err()
	}
	return b.publishBatch(ctx, []eventstore.Event{ev})
}

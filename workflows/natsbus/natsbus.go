package natsbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/nats-io/nats.go"

	"crm/workflows"
)

// Defaults of Options.
const (
	DefaultSubjectPrefix = "crm.events"
	DefaultStream        = "CRM_EVENTS"
)

// Options configure a Publisher.
type Options struct {
	// SubjectPrefix precedes the event type in the subject (default
	// "crm.events").
	SubjectPrefix string
	// Stream is the JetStream stream holding SubjectPrefix.> (default
	// "CRM_EVENTS"); it is created when missing.
	Stream string
	// ConnectTimeout bounds the first connection (default 5 s).
	ConnectTimeout time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Revealer, when set, reveals personal values in what is published
	// (the engine's own copies of the events stay encrypted).
	Revealer workflows.Revealer
}

// Publisher sends events to NATS JetStream.
type Publisher struct {
	pub  *wnats.Publisher
	conn *nats.Conn
	opts Options
}

// CheckURL validates a --bus URL: nats:// or tls:// with a host.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "nats" && u.Scheme != "tls") || u.Host == "" {
		return errors.New("want nats://host:4222 (or tls://host:4222)")
	}
	return nil
}

// Connect connects to the NATS server at rawURL, makes sure the stream
// exists and returns a publisher. It fails within ConnectTimeout when the
// server does not answer.
func Connect(ctx context.Context, rawURL string, opts Options) (*Publisher, error) {
	if err := CheckURL(rawURL); err != nil {
		return nil, err
	}
	if opts.SubjectPrefix == "" {
		opts.SubjectPrefix = DefaultSubjectPrefix
	}
	if opts.Stream == "" {
		opts.Stream = DefaultStream
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	conn, err := nats.Connect(rawURL, nats.Name("crm"), nats.Timeout(opts.ConnectTimeout), nats.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", rawURL, err)
	}
	js, err := conn.JetStream(nats.Context(ctx))
	if err == nil {
		_, err = js.StreamInfo(opts.Stream, nats.Context(ctx))
		if errors.Is(err, nats.ErrStreamNotFound) {
			_, err = js.AddStream(&nats.StreamConfig{Name: opts.Stream, Subjects: []string{opts.SubjectPrefix + ".>"},
				Duplicates: 10 * time.Minute}, nats.Context(ctx))
		}
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("jetstream stream %s on %s: %w", opts.Stream, rawURL, err)
	}
	wlog := watermill.NewSlogLoggerWithLevelMapping(opts.Logger.With("component", "nats"), map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
	pub, err := wnats.NewPublisherWithNatsConn(conn, wnats.PublisherPublishConfig{
		Marshaler:         &wnats.NATSMarshaler{},
		SubjectCalculator: wnats.DefaultSubjectCalculator,
		JetStream:         wnats.JetStreamConfig{TrackMsgId: true},
	}, wlog)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("nats publisher: %w", err)
	}
	return &Publisher{pub: pub, conn: conn, opts: opts}, nil
}

// Subject is the subject an event type is published on.
func (p *Publisher) Subject(eventType string) string { return p.opts.SubjectPrefix + "." + eventType }

// Name implements workflows.Automation.
func (p *Publisher) Name() string { return "nats" }

// Handle implements workflows.Automation: it publishes ev to its type's
// subject and returns once JetStream has stored it (or dropped it as a
// duplicate of the same event id).
func (p *Publisher) Handle(ctx context.Context, ev workflows.Event) error {
	out, err := workflows.Reveal(ctx, p.opts.Revealer, ev.IntegrationEvent)
	if err != nil {
		return err
	}
	msg, err := workflows.IntegrationMessage(out)
	if err != nil {
		return err
	}
	if strings.ContainsAny(ev.Type, " *>") {
		return fmt.Errorf("event type %q cannot be a subject", ev.Type)
	}
	if err := p.pub.Publish(p.Subject(ev.Type), msg); err != nil {
		return fmt.Errorf("publish %s to nats: %w", ev.ID, err)
	}
	return nil
}

// Close closes the connection. It is idempotent.
func (p *Publisher) Close() error {
	p.conn.Close()
	return nil
}

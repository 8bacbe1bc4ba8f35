package bench

import (
	"context"
	"embed"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"crm/internal/pgmigrate"
)

// messageDBFiles are the vendored Message DB scripts (see
// messagedb/README.md); messagedb/install-order.txt lists them in the order
// they run.
//
//go:embed messagedb/install-order.txt messagedb/schema messagedb/tables messagedb/types messagedb/functions messagedb/indexes
var messageDBFiles embed.FS

const (
	// MessageDBSchema is the schema Message DB creates and works in.
	MessageDBSchema = "message_store"
	// AppendSchema holds a copy of the event store's tables and functions
	// (its migrations) for the append phase, apart from the log of the
	// server under test, so the phase's events are not projected or
	// replayed by the later phases.
	AppendSchema = "bench_append"
)

// PeerRounds is how many times the append phase runs each of crm_append
// and Message DB's write_message, alternately.
const PeerRounds = 3

// PeerStreamEvents is how many events a writer of the append phase puts in
// one stream before it starts a fresh one, for both engines alike.
const PeerStreamEvents = 10

// PeerEventType is the type of the events the append phase writes: a
// captured lead, whose data is Payload.
const PeerEventType = "lead.captured.v1"

// PeerActor is the actor the append phase records, an API key's as a
// command over HTTP records.
const PeerActor = "key:bench"

// CrmAppendSQL is the event store's single-stream append (the statement
// eventstore/postgres sends) of one event: $1 the stream, $2 its exact
// expected version (0: no stream yet), $3 the event id, $4 the type, $5
// the data, $6 the actor, $7 the command id (also the causation id), $8
// the correlation id, $9 the recording time (NULL, as the server sends it:
// the database stamps the statement time).
const CrmAppendSQL = `SELECT out_ord, out_version, out_tx, out_position, out_recorded_at
FROM crm_append(ARRAY[$1::text], ARRAY[$2::bigint], ARRAY[1], ARRAY[1], ARRAY[$3::uuid], ARRAY[$4::text], ARRAY[1],
  ARRAY[$5::jsonb], ARRAY[$6::text], ARRAY[$7::text], ARRAY[$8::text], ARRAY[$7::text], $9)`

// WriteMessageSQL is Message DB's write of one message: $1 the id, $2 the
// stream name, $3 the type, $4 the data, $5 the metadata, $6 the expected
// version (-1: no stream yet). It returns the message's position.
const WriteMessageSQL = `SELECT message_store.write_message($1::varchar, $2::varchar, $3::varchar, $4::jsonb, $5::jsonb, $6::bigint)`

// InstallMessageDB creates the vendored Message DB (its schema, messages
// table, message type, functions and indexes, without its role and
// privileges) in the database of pool, in one transaction.
func InstallMessageDB(ctx context.Context, pool *pgxpool.Pool) error {
	order, err := messageDBFiles.ReadFile("messagedb/install-order.txt")
	if err != nil {
		return fmt.Errorf("install Message DB: %w", err)
	}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		// The scripts create qualified names; their bodies and a DROP
		// INDEX name objects without a schema.
		if _, err := tx.Exec(ctx, `SET LOCAL search_path = `+MessageDBSchema); err != nil {
			return fmt.Errorf("install Message DB: %w", err)
		}
		for name := range strings.FieldsSeq(string(order)) {
			sql, err := messageDBFiles.ReadFile("messagedb/" + name)
			if err != nil {
				return fmt.Errorf("install Message DB: %w", err)
			}
			if _, err := tx.Exec(ctx, string(sql)); err != nil {
				return fmt.Errorf("install Message DB: %s: %w", name, err)
			}
		}
		return nil
	})
}

// PeerPool connects to the database at url with search_path set to the
// append phase's schemas (AppendSchema, then MessageDBSchema), which
// crm_append's and write_message's bodies rely on, and with at most conns
// connections.
func PeerPool(ctx context.Context, url string, conns int) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("append phase: database url: %w", err)
	}
	cfg.MaxConns = int32(conns)
	cfg.ConnConfig.RuntimeParams["search_path"] = AppendSchema + ", " + MessageDBSchema
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("append phase: connect: %w", err)
	}
	return pool, nil
}

// InstallPeers creates, in the database of pool (a PeerPool), the event
// store's schema (eventStore, its migrations) in AppendSchema and Message
// DB in MessageDBSchema.
func InstallPeers(ctx context.Context, pool *pgxpool.Pool, eventStore pgmigrate.Set) error {
	if _, err := pool.Exec(ctx, `CREATE SCHEMA `+AppendSchema); err != nil {
		return fmt.Errorf("append phase: %w", err)
	}
	if err := pgmigrate.Migrate(ctx, pool, eventStore); err != nil {
		return fmt.Errorf("append phase: %w", err)
	}
	return InstallMessageDB(ctx, pool)
}

// DropPeers removes what InstallPeers created.
func DropPeers(ctx context.Context, pool *pgxpool.Pool) error {
	if _, err := pool.Exec(ctx, `DROP SCHEMA IF EXISTS `+AppendSchema+` CASCADE; DROP SCHEMA IF EXISTS `+MessageDBSchema+` CASCADE`); err != nil {
		return fmt.Errorf("append phase: drop its schemas: %w", err)
	}
	return nil
}

// peerStreams is one writer's streams: it writes PeerStreamEvents events
// to a stream, then moves to a fresh one. Only its writer uses it.
type peerStreams struct {
	stream string
	events int64
}

// next returns the stream of the writer's next event and how many events
// that stream holds before it.
func (s *peerStreams) next() (string, int64) {
	if s.stream == "" || s.events == PeerStreamEvents {
		s.stream, s.events = "lead-"+uuid.NewString(), 0
	}
	s.events++
	return s.stream, s.events - 1
}

// CrmAppendOp returns an Op that appends one event with crm_append (pool
// a PeerPool after InstallPeers), in a transaction of its own, with the
// stream's exact expected version: each of writers writers owns its
// streams, so no op conflicts.
func CrmAppendOp(pool *pgxpool.Pool, writers int) Op {
	streams := make([]peerStreams, writers)
	return func(ctx context.Context, w int, _ int64) error {
		stream, have := streams[w].next()
		cmd := uuid.NewString()
		var (
			ord     int32
			version int64
			tx      uint64
			pos     int64
			at      time.Time
		)
		err := pool.QueryRow(ctx, CrmAppendSQL, stream, have, uuid.New(), PeerEventType, []byte(Payload), PeerActor,
			cmd, uuid.NewString(), nil).Scan(&ord, &version, &tx, &pos, &at)
		if err != nil {
			return fmt.Errorf("crm_append to %s at version %d: %w", stream, have, err)
		}
		if version != have+1 {
			return fmt.Errorf("crm_append to %s at version %d stored version %d", stream, have, version)
		}
		return nil
	}
}

// WriteMessageOp returns an Op that writes one message with Message DB's
// write_message (pool a PeerPool after InstallPeers), in a transaction of
// its own, with the stream's exact expected version, each writer owning
// its streams as for CrmAppendOp. The metadata carries the same actor,
// command, correlation and causation ids crm_append stores in columns.
func WriteMessageOp(pool *pgxpool.Pool, writers int) Op {
	streams := make([]peerStreams, writers)
	return func(ctx context.Context, w int, _ int64) error {
		stream, have := streams[w].next()
		cmd := uuid.NewString()
		meta := fmt.Sprintf(`{"actor":%q,"command_id":%q,"correlation_id":%q,"causation_id":%q}`,
			PeerActor, cmd, uuid.NewString(), cmd)
		var pos int64
		// Message DB numbers a stream's messages from 0; an empty stream's
		// version is -1.
		err := pool.QueryRow(ctx, WriteMessageSQL, uuid.NewString(), stream, PeerEventType, []byte(Payload), []byte(meta),
			have-1).Scan(&pos)
		if err != nil {
			return fmt.Errorf("write_message to %s at version %d: %w", stream, have-1, err)
		}
		if pos != have {
			return fmt.Errorf("write_message to %s at version %d wrote position %d", stream, have-1, pos)
		}
		return nil
	}
}

// peerFigures are the append phase's outcome: each engine's median
// throughput over the rounds and the p99 latency of all its rounds'
// operations.
type peerFigures struct {
	appendTPS, appendP99ms float64
	peerTPS, peerP99ms     float64
}

// comparePeers runs crm_append and write_message alternately on writers
// writers, rounds times each for each (after a short warm-up of both),
// the first of each round swapping from round to round.
func comparePeers(ctx context.Context, pool *pgxpool.Pool, writers, rounds int, each time.Duration, progress Progress) (peerFigures, error) {
	type engine struct {
		name string
		op   Op
		tps  []float64
		lat  []time.Duration
	}
	engines := []*engine{
		{name: "crm_append", op: CrmAppendOp(pool, writers)},
		{name: "write_message", op: WriteMessageOp(pool, writers)},
	}
	// Connections, plans and the first streams: not measured.
	progress.Phase("append warm-up", "tx")
	for i, e := range engines {
		_, err := Load(ctx, writers, int64(20*writers), 0, e.op, func(frac float64, done int64) {
			progress.Update((float64(i)+frac)/float64(len(engines)), int64(i*20*writers)+done)
		})
		if err != nil {
			progress.Done()
			return peerFigures{}, fmt.Errorf("append phase: warm-up: %w", err)
		}
	}
	progress.Done()
	for round := range rounds {
		order := engines
		if round%2 == 1 {
			order = []*engine{engines[1], engines[0]}
		}
		for _, e := range order {
			progress.Phase(fmt.Sprintf("%s %d/%d", e.name, round+1, rounds), "tx")
			s, err := Load(ctx, writers, 0, each, e.op, progress.Update)
			progress.Done()
			if err != nil {
				return peerFigures{}, fmt.Errorf("append phase: %s: %w", e.name, err)
			}
			e.tps = append(e.tps, s.PerSecond())
			e.lat = append(e.lat, s.Latencies...)
		}
	}
	p99 := func(e *engine) float64 {
		slices.Sort(e.lat)
		return Millis(Sample{Latencies: e.lat}.Percentile(0.99))
	}
	return peerFigures{
		appendTPS: median(engines[0].tps), appendP99ms: p99(engines[0]),
		peerTPS: median(engines[1].tps), peerP99ms: p99(engines[1]),
	}, nil
}

// median is the middle of xs (the mean of the two middles for an even
// count), zero for none. It sorts xs.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// appendVsPeer runs phase 1b: single-event appends with crm_append against
// Message DB's write_message, in schemas of their own that it drops at the
// end, at the baseline's concurrency and payload, PeerRounds rounds of a
// third of the baseline's length each, alternating.
func appendVsPeer(ctx context.Context, c Config, r *Result) error {
	pool, err := PeerPool(ctx, c.DatabaseURL, c.Concurrency+1)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := InstallPeers(ctx, pool, c.EventStoreMigrations); err != nil {
		return err
	}
	f, err := comparePeers(ctx, pool, c.Concurrency, PeerRounds, max(c.Baseline/PeerRounds, time.Second), c.Progress)
	if err != nil {
		return err
	}
	r.AppendTPS, r.AppendP99ms, r.PeerWriteTPS, r.PeerP99ms = f.appendTPS, f.appendP99ms, f.peerTPS, f.peerP99ms
	r.AppendVsPeer = r.AppendTPS / r.PeerWriteTPS
	r.AppendRatio = r.AppendTPS / r.BaselineInsertTPS
	return DropPeers(ctx, pool)
}

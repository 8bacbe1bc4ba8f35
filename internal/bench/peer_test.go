package bench

import (
	"context"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"crm/eventstore/postgres"
	"crm/internal/testdb"
)

// peerDatabase is a fresh database with InstallPeers applied, and a
// PeerPool on it.
func peerDatabase(t testing.TB, conns int) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	pool, err := PeerPool(ctx, testdb.NewDatabase(t), conns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := InstallPeers(ctx, pool, postgres.Migrations); err != nil {
		t.Fatal(err)
	}
	return pool
}

func TestInstallOrderListsEveryVendoredScript(t *testing.T) {
	order, err := messageDBFiles.ReadFile("messagedb/install-order.txt")
	if err != nil {
		t.Fatal(err)
	}
	listed := strings.Fields(string(order))
	var embedded []string
	err = fs.WalkDir(messageDBFiles, "messagedb", func(path string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(path, ".sql") {
			embedded = append(embedded, strings.TrimPrefix(path, "messagedb/"))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(embedded)
	sorted := slices.Sorted(slices.Values(listed))
	if !slices.Equal(sorted, embedded) {
		t.Fatalf("install-order.txt lists %v, the embedded scripts are %v", sorted, embedded)
	}
	if listed[0] != "schema/message-store.sql" || !slices.Contains(listed, "functions/write-message.sql") {
		t.Fatalf("install order %v: want the schema first and write_message among them", listed)
	}
}

func TestMessageDBWriteMessageChecksExpectedVersion(t *testing.T) {
	ctx := context.Background()
	pool := peerDatabase(t, 2)
	var version string
	if err := pool.QueryRow(ctx, `SELECT message_store.message_store_version()`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version != "1.3.0" {
		t.Errorf("message_store_version() = %q, want 1.3.0", version)
	}
	stream := "lead-" + uuid.NewString()
	write := func(expected any) (int64, error) {
		var pos int64
		err := pool.QueryRow(ctx, WriteMessageSQL, uuid.NewString(), stream, PeerEventType, []byte(Payload),
			[]byte(`{"actor":"key:bench"}`), expected).Scan(&pos)
		return pos, err
	}
	for want := range int64(3) {
		pos, err := write(want - 1)
		if err != nil || pos != want {
			t.Fatalf("write at expected version %d: position %d, %v; want position %d", want-1, pos, err, want)
		}
	}
	if _, err := write(int64(0)); err == nil || !strings.Contains(err.Error(), "Wrong expected version: 0") {
		t.Fatalf("write at a stale expected version: %v, want Message DB's wrong expected version error", err)
	}
	if _, err := write(int64(-1)); err == nil || !strings.Contains(err.Error(), "Stream Version: 2") {
		t.Fatalf("write expecting no stream to a stream of 3: %v, want the wrong expected version error", err)
	}
	// No expected version: no check.
	if pos, err := write(nil); err != nil || pos != 3 {
		t.Fatalf("write without an expected version: position %d, %v; want 3", pos, err)
	}
	var n, streamVersion int64
	var category string
	err := pool.QueryRow(ctx, `SELECT count(*), message_store.stream_version($1), message_store.category($1)
		FROM message_store.messages WHERE stream_name = $1`, stream).Scan(&n, &streamVersion, &category)
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 || streamVersion != 3 || category != "lead" {
		t.Fatalf("%d messages, stream version %d, category %q; want 4, 3, lead", n, streamVersion, category)
	}
	var got []string
	rows, err := pool.Query(ctx, `SELECT type FROM message_store.get_stream_messages($1)`, stream)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var typ string
		if err := rows.Scan(&typ); err != nil {
			t.Fatal(err)
		}
		got = append(got, typ)
	}
	if rows.Err() != nil || len(got) != 4 || got[0] != PeerEventType {
		t.Fatalf("get_stream_messages: %v, %v", got, rows.Err())
	}
}

func TestComparePeersMeasuresBothEngines(t *testing.T) {
	ctx := context.Background()
	const writers = 3
	pool := peerDatabase(t, writers+1)
	f, err := comparePeers(ctx, pool, writers, 2, 300*time.Millisecond, quiet{})
	if err != nil {
		t.Fatal(err)
	}
	if f.appendTPS <= 0 || f.peerTPS <= 0 || f.appendP99ms <= 0 || f.peerP99ms <= 0 {
		t.Fatalf("figures %+v: want positive tx/s and p99 for both", f)
	}
	// Each stream holds at most PeerStreamEvents events, numbered without
	// gaps from the start, in both stores; crm_append chained every event.
	var streams, events, badStreams, unchained int64
	err = pool.QueryRow(ctx, `SELECT count(*), coalesce(sum(s.version), 0),
		count(*) FILTER (WHERE s.version > $1 OR s.version <> (SELECT count(*) FROM crm_events e WHERE e.stream_id = s.stream_id)),
		(SELECT count(*) FROM crm_events WHERE hash IS NULL OR (version > 1) <> (prev_hash IS NOT NULL))
		FROM crm_streams s`, PeerStreamEvents).Scan(&streams, &events, &badStreams, &unchained)
	if err != nil {
		t.Fatal(err)
	}
	if streams < writers || badStreams != 0 || unchained != 0 {
		t.Fatalf("crm_append: %d streams, %d events, %d streams out of shape, %d events unchained", streams, events, badStreams, unchained)
	}
	var messages int64
	err = pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE n > $1 OR top <> n - 1 OR first <> 0), coalesce(sum(n), 0)
		FROM (SELECT count(*) AS n, max(position) AS top, min(position) AS first FROM message_store.messages GROUP BY stream_name) AS m`,
		PeerStreamEvents).Scan(&streams, &badStreams, &messages)
	if err != nil {
		t.Fatal(err)
	}
	if streams < writers || badStreams != 0 || messages == 0 {
		t.Fatalf("write_message: %d streams, %d messages, %d streams out of shape", streams, messages, badStreams)
	}
	var metadata string
	if err := pool.QueryRow(ctx, `SELECT metadata->>'actor' FROM message_store.messages LIMIT 1`).Scan(&metadata); err != nil || metadata != PeerActor {
		t.Fatalf("metadata actor %q, %v; want %s", metadata, err, PeerActor)
	}
	if err := DropPeers(ctx, pool); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_namespace WHERE nspname IN ($1, $2)`, AppendSchema, MessageDBSchema).Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d of the phase's schemas left after DropPeers (%v)", left, err)
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(tc.xs); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.xs, got, tc.want)
		}
	}
}

// benchmarkPeerOp runs b.N operations of op at 8 writers on a fresh
// database and reports their rate and p99.
func benchmarkPeerOp(b *testing.B, op func(*pgxpool.Pool, int) Op) {
	const writers = 8
	pool := peerDatabase(b, writers+1)
	b.ResetTimer()
	s, err := Load(context.Background(), writers, int64(b.N), 0, op(pool, writers), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(s.PerSecond(), "tx/s")
	b.ReportMetric(Millis(s.Percentile(0.99)), "p99-ms")
}

// BenchmarkCrmAppend measures single-event crm_append transactions at 8
// writers; compare with BenchmarkMessageDBWrite.
func BenchmarkCrmAppend(b *testing.B) { benchmarkPeerOp(b, CrmAppendOp) }

// BenchmarkMessageDBWrite measures single-message write_message
// transactions at 8 writers, the same shape as BenchmarkCrmAppend.
func BenchmarkMessageDBWrite(b *testing.B) { benchmarkPeerOp(b, WriteMessageOp) }

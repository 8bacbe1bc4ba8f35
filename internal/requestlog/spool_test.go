package requestlog

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"crm/internal/pgmigrate"
	"crm/internal/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// TestSpoolReplayedOnceInOrder: spooled entries are written before newer
// ones, a spool replayed again (a crash before it was emptied) adds
// nothing, and a torn last line is skipped, not fatal.
func TestSpoolReplayedOnceInOrder(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testdb.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := pgmigrate.Migrate(ctx, pool, Migrations); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	at := time.Now().UTC()
	// As a writer did while the database was away, before this process.
	if err := (&Log{opts: Options{SpoolDir: dir}}).spool([]Entry{{At: at, Method: "POST", Route: "/v1/leads", Path: "/v1/leads", Status: 500, CorrelationID: "spooled-1"},
		{At: at, Method: "POST", Route: "/v1/leads", Path: "/v1/leads", Status: 500, CorrelationID: "spooled-2"}}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, spoolFile)
	saved, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	l := New(pool, Options{SpoolDir: dir, Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(l.Close)
	if err := l.Record(ctx, Entry{At: at, Method: "POST", Route: "/v1/leads", Path: "/v1/leads", Status: 201, CorrelationID: "live"}); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Size() != 0 {
		t.Fatalf("spool not emptied: %v %v", st, err)
	}
	// The same spool again, with a line torn by a crash.
	if err := os.WriteFile(path, append(saved, []byte(`{"spool_id":"01`)...), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Size() != 0 {
		t.Fatalf("spool not emptied after its replay: %v %v", st, err)
	}
	rows, err := pool.Query(ctx, `SELECT correlation_id FROM crm_request_log ORDER BY transaction_id, id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		got = append(got, c)
	}
	if rows.Err() != nil || len(got) != 3 || got[0] != "spooled-1" || got[1] != "spooled-2" || got[2] != "live" {
		t.Fatalf("log %v (%v), want spooled-1, spooled-2, live once each", got, rows.Err())
	}
}

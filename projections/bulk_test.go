package projections

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"crm/readmodels"
)

// indexDefs returns the index definitions of schema's tables, with the
// schema's name replaced by "S".
func indexDefs(t *testing.T, e *engineEnv, schema string) []string {
	t.Helper()
	rows, err := e.pool.Query(context.Background(), `SELECT indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname`, schema)
	if err != nil {
		t.Fatal(err)
	}
	defs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range defs {
		defs[i] = strings.ReplaceAll(d, " "+schema+".", " S.")
	}
	return defs
}

// TestRebuildBuildsDeferredIndexesBeforeTheSwap: the rebuilt schema has
// exactly the indexes Setup creates, and statistics for its tables.
func TestRebuildBuildsDeferredIndexesBeforeTheSwap(t *testing.T) {
	e := newEngineEnv(t)
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		return createSchema(ctx, tx, NewLists(), "fresh")
	})
	if err != nil {
		t.Fatal(err)
	}
	want := indexDefs(t, e, "fresh")
	if len(want) < 10 {
		t.Fatalf("only %d indexes in a fresh lists schema", len(want))
	}
	eng := New(e.pool, e.store, e.codec, []Projector{NewLists()}, Options{RebuildBatchSize: 7})
	e.appendN(t, 20, "lead.noted.v1")
	if err := eng.Rebuild(ctx, readmodels.ListsProjector, nil); err != nil {
		t.Fatal(err)
	}
	got := indexDefs(t, e, readmodels.ListsSchemaName)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("indexes after rebuild:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var unanalysed int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_user_tables WHERE schemaname = $1 AND last_analyze IS NULL`, readmodels.ListsSchemaName).Scan(&unanalysed); err != nil {
		t.Fatal(err)
	}
	if unanalysed != 0 {
		t.Errorf("%d rebuilt tables without statistics", unanalysed)
	}
}

// indexed is seen with a secondary index; it checks, while applying,
// whether the index is there.
type indexed struct {
	seen
	keep bool
}

func (*indexed) Name() string { return "indexed" }

// KeepIndexes implements IndexKeeper.
func (p *indexed) KeepIndexes() bool { return p.keep }

func (p *indexed) Setup(ctx context.Context, tx pgx.Tx) error {
	if err := p.seen.Setup(ctx, tx); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `CREATE INDEX seen_type ON seen (type)`)
	return err
}

func (p *indexed) Apply(ctx context.Context, tx pgx.Tx, events []Event) error {
	var live bool
	var n int
	if err := tx.QueryRow(ctx, `SELECT current_schema() = 'rm_indexed', (SELECT count(*) FROM pg_indexes
WHERE schemaname = current_schema() AND indexname = 'seen_type')`).Scan(&live, &n); err != nil {
		return err
	}
	if want := live || p.keep; (n == 1) != want {
		return fmt.Errorf("index seen_type there: %v, want %v", n == 1, want)
	}
	return p.seen.Apply(ctx, tx, events)
}

func TestRebuildDefersIndexesUnlessKept(t *testing.T) {
	for _, keep := range []bool{false, true} {
		e := newEngineEnv(t)
		e.appendN(t, 30, "lead.noted.v1")
		eng := New(e.pool, e.store, e.codec, []Projector{&indexed{keep: keep}}, Options{RebuildBatchSize: 10})
		if err := eng.Rebuild(context.Background(), "indexed", nil); err != nil {
			t.Fatalf("keep %v: %v", keep, err)
		}
		if defs := indexDefs(t, e, "rm_indexed"); len(defs) != 2 {
			t.Fatalf("keep %v: indexes after the rebuild %v", keep, defs)
		}
	}
}

// TestCatchUpPinpointsTheFailingEventInALargeBatch: a projector far behind
// applies the log in large batches; when one fails, every event before the
// failing one is applied and the failure names it.
func TestCatchUpPinpointsTheFailingEventInALargeBatch(t *testing.T) {
	e := newEngineEnv(t)
	p := &seen{}
	p.failOn.Store("lead.bad.v1")
	e.appendN(t, 137, "lead.ok.v1")
	bad := e.appendN(t, 1, "lead.bad.v1")
	e.appendN(t, 162, "lead.ok.v1")
	eng := e.engine(p, "a")
	start(t, eng)
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := eng.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st[0].State == "failed" {
			if st[0].ErrorPosition == nil || *st[0].ErrorPosition != bad {
				t.Fatalf("failure at %v, want %s", st[0].ErrorPosition, bad)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failure recorded: %+v", st[0])
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := e.seenCount(t); n != 137 {
		t.Fatalf("%d events applied before the failing one, want 137", n)
	}
}

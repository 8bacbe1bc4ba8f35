package bench

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"crm/internal/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

func TestProcStatReadsThisProcess(t *testing.T) {
	st, ok := procStat(os.Getpid())
	if !ok {
		t.Fatal("no /proc/self/stat")
	}
	if st.ppid != os.Getppid() {
		t.Errorf("ppid %d, want %d", st.ppid, os.Getppid())
	}
	if _, ok := procStat(-1); ok {
		t.Error("a stat for pid -1")
	}
}

func TestCPUMeterCountsPostgreSQLWork(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testdb.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	m := newCPUMeter(ctx, pool)
	if m.postmaster == 0 {
		t.Skip("the test PostgreSQL server is not a process of this machine; its CPU cannot be read")
	}
	before := m.sample()
	// About a second of one backend's CPU.
	if _, err := pool.Exec(ctx, `SELECT count(*) FROM generate_series(1, 20000000)`); err != nil {
		t.Fatal(err)
	}
	used := m.sample().since(before)
	if used.pg < 0.2 {
		t.Fatalf("PostgreSQL used %.2f s of CPU for a 20-million-row count, want at least 0.2 s", used.pg)
	}
	if used.serve != 0 {
		t.Errorf("server CPU %.2f s with no server under test", used.serve)
	}
	if got := perOp(1.5, 1000); got != 1.5 {
		t.Errorf("perOp(1.5 s, 1000) = %v ms, want 1.5", got)
	}
	if got := perOp(1, 0); got != 0 {
		t.Errorf("perOp with no operations = %v, want 0", got)
	}
}

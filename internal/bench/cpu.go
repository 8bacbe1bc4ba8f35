package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
)

// clockTicks is the unit of the CPU times in /proc/<pid>/stat (USER_HZ,
// 100 on every Linux architecture Go supports).
const clockTicks = 100

// cpuMeter reads the CPU time used by the PostgreSQL server (its
// postmaster and every process it started), by the server under test and
// by the bench itself, from /proc. It measures PostgreSQL only when the
// server runs on this machine (the embedded default, or a local
// --database-url); otherwise postmaster is 0 and its figures stay zero.
type cpuMeter struct {
	postmaster int
	serve      int
}

// cpuSample is the CPU time used so far, in seconds.
type cpuSample struct {
	pg, serve, bench float64
}

// newCPUMeter finds the PostgreSQL server behind pool: the parent of a
// backend, when that backend is a process of this machine.
func newCPUMeter(ctx context.Context, pool *pgxpool.Pool) cpuMeter {
	var backend int
	if err := pool.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&backend); err != nil {
		return cpuMeter{}
	}
	cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", backend))
	if err != nil || !strings.HasPrefix(string(cmd), "postgres") {
		return cpuMeter{} // another machine's, or another process with that pid
	}
	st, ok := procStat(backend)
	if !ok {
		return cpuMeter{}
	}
	return cpuMeter{postmaster: st.ppid}
}

// sample reads the CPU time used so far. A backend that exited since the
// last sample takes its time with it; the bench's pools keep theirs open.
func (m cpuMeter) sample() cpuSample {
	var s cpuSample
	if self, ok := procStat(os.Getpid()); ok {
		s.bench = self.cpu
	}
	if m.serve > 0 {
		if st, ok := procStat(m.serve); ok {
			s.serve = st.cpu
		}
	}
	if m.postmaster == 0 {
		return s
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return s
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := procStat(pid); ok && (pid == m.postmaster || st.ppid == m.postmaster) {
			s.pg += st.cpu
		}
	}
	return s
}

// since is the CPU time used between earlier and s.
func (s cpuSample) since(earlier cpuSample) cpuSample {
	return cpuSample{pg: s.pg - earlier.pg, serve: s.serve - earlier.serve, bench: s.bench - earlier.bench}
}

type procStatus struct {
	ppid int
	cpu  float64 // user + system, seconds
}

// procStat reads a process's parent and CPU time from /proc/<pid>/stat.
func procStat(pid int) (procStatus, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStatus{}, false
	}
	// The command name (field 2) may hold spaces; the fields after it
	// start behind its closing parenthesis: state, ppid, ... utime (14),
	// stime (15).
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return procStatus{}, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return procStatus{}, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	utime, err2 := strconv.ParseInt(f[11], 10, 64)
	stime, err3 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return procStatus{}, false
	}
	return procStatus{ppid: ppid, cpu: float64(utime+stime) / clockTicks}, true
}

// perOp is seconds of CPU over ops operations, in milliseconds each.
func perOp(seconds float64, ops int64) float64 {
	if ops <= 0 {
		return 0
	}
	return seconds * 1000 / float64(ops)
}

package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeEmbeddedPostgresKilled runs the binary on the embedded
// default and SIGKILLs its postmaster: serve restarts it and stays ready.
// Killed again once it can no longer start (its configuration removed),
// serve gives up after its bounded retries and exits 1 with one line
// saying why.
func TestServeEmbeddedPostgresKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	work, err := os.MkdirTemp("", "crm-pgdeath-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(work) })
	dataDir := filepath.Join(work, "crm-data")
	p := startServe(t, bin, work, nil)
	addr := waitServing(t, p.stderr, p.exited)
	pid := postmasterPID(t, dataDir)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Ready on a new postmaster, and the restart logged (the log line may
	// follow the first ready answer by a moment).
	waitFor(t, time.Minute, "ready on a restarted PostgreSQL, the restart logged", func() bool {
		if _, status := get(t, "http://"+addr+"/readyz"); status != 200 {
			return false
		}
		now := postmasterPID(t, dataDir)
		return now != pid && now != 0 && strings.Contains(p.stderr.String(), "embedded PostgreSQL restarted")
	})

	pid = postmasterPID(t, dataDir)
	if err := os.Rename(filepath.Join(dataDir, "pg", "postgresql.conf"), filepath.Join(work, "postgresql.conf")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(2 * time.Minute):
		t.Fatalf("serve still running after its PostgreSQL could not restart:\n%s", p.stderr.String())
	}
	var exit *exec.ExitError
	if !errors.As(p.err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit %v, want status 1:\n%s", p.err, p.stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(p.stderr.String()), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "crm serve: embedded PostgreSQL died and did not restart after 5 attempts") {
		t.Fatalf("last line %q, want the reason:\n%s", last, p.stderr.String())
	}
}

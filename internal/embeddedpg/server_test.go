package embeddedpg

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestStartStopRestartKeepsData(t *testing.T) {
	if _, err := FindBinaries(); errors.Is(err, ErrNoBinaries) {
		t.Fatalf("%v", err)
	}
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	srv, err := Start(ctx, Options{DataDir: dir, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.CreateDatabase(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if err := srv.CreateDatabase(ctx, "app"); err != nil {
		t.Fatalf("creating an existing database again: %v", err)
	}
	conn, err := pgx.Connect(ctx, srv.URL("app"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('x')"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	if !strings.Contains(srv.URL("app"), "host=") {
		t.Errorf("URL %q does not name the socket directory", srv.URL("app"))
	}
	pid := postmasterPID(filepath.Join(dir, "pg"))
	if pid == 0 {
		t.Fatal("no postmaster.pid while running")
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("postmaster %d still alive after Stop: %v", pid, err)
	}

	srv, err = Start(ctx, Options{DataDir: dir, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	conn, err = pgx.Connect(ctx, srv.URL("app"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v string
	if err := conn.QueryRow(ctx, "SELECT v FROM kept").Scan(&v); err != nil || v != "x" {
		t.Fatalf("data after restart: %q, %v", v, err)
	}
}

func TestNoTCPPort(t *testing.T) {
	ctx := context.Background()
	srv, err := Start(ctx, Options{DataDir: t.TempDir(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	conn, err := pgx.Connect(ctx, srv.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var listen string
	if err := conn.QueryRow(ctx, "SHOW listen_addresses").Scan(&listen); err != nil {
		t.Fatal(err)
	}
	if listen != "" {
		t.Errorf("listen_addresses = %q, want empty (socket only)", listen)
	}
}

func TestLongDataDirUsesShortSocketPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), strings.Repeat("d", 60), strings.Repeat("e", 60))
	srv, err := Start(context.Background(), Options{DataDir: dir, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	sock := srv.sockDir
	if len(sock) > maxSocketPath {
		t.Errorf("socket dir %q too long", sock)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("temporary socket dir %s left behind: %v", sock, err)
	}
}

func TestRefusesForeignDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "pg"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pg", "notes.txt"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := Start(ctx, Options{DataDir: dir, NoSync: true})
	if err == nil || !strings.Contains(err.Error(), "holds no PostgreSQL cluster") {
		t.Fatalf("Start on a foreign directory: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "pg", "notes.txt")); string(b) != "mine" {
		t.Error("the foreign file was touched")
	}
}

func TestMissingBinariesNamesThePackage(t *testing.T) {
	empty := t.TempDir()
	_, err := Start(context.Background(), Options{DataDir: filepath.Join(t.TempDir(), "data"), BinDir: empty})
	if !errors.Is(err, ErrNoBinaries) {
		t.Fatalf("Start with an empty bin dir: %v, want ErrNoBinaries", err)
	}
	if !strings.Contains(err.Error(), "apt-get install postgresql") || !strings.Contains(err.Error(), empty) {
		t.Errorf("the error names neither the package nor the directory: %v", err)
	}
}

func TestSecondStartAttachesToTheRunningServer(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	first, err := Start(ctx, Options{DataDir: dir, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Stop()
	second, err := Start(ctx, Options{DataDir: dir, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := second.CreateDatabase(ctx, "shared"); err != nil {
		t.Fatal(err)
	}
	if err := second.Stop(); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, first.URL("shared"))
	if err != nil {
		t.Fatalf("the first server stopped with the second: %v", err)
	}
	conn.Close(ctx)
}

// TestRestartAfterPostmasterKilled: a SIGKILLed postmaster is noticed
// through Exited, and Restart brings the same cluster back on the same
// socket (retrying while the dead postmaster's backends linger), with its
// data; after Stop, Restart refuses.
func TestRestartAfterPostmasterKilled(t *testing.T) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "crm-pg-restart-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// Durable commits: with NoSync a commit may not outlive the kill.
	srv, err := Start(ctx, Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	conn, err := pgx.Connect(ctx, srv.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('x')"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	url, pid := srv.URL("postgres"), srv.PID()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-srv.Exited():
	case <-time.After(30 * time.Second):
		t.Fatal("the killed postmaster's exit was not noticed")
	}
	if srv.ExitErr() == nil {
		t.Fatal("no exit error after SIGKILL")
	}
	var restartErr error
	for attempt := 0; attempt < 20; attempt++ {
		if restartErr = srv.Restart(ctx); restartErr == nil {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if restartErr != nil {
		t.Fatal(restartErr)
	}
	if srv.PID() == pid || srv.URL("postgres") != url {
		t.Fatalf("pid %d (was %d), url %s (was %s)", srv.PID(), pid, srv.URL("postgres"), url)
	}
	if err := srv.Restart(ctx); err == nil {
		t.Fatal("Restart of a running server succeeded")
	}
	conn, err = pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	var v string
	if err := conn.QueryRow(ctx, "SELECT v FROM kept").Scan(&v); err != nil || v != "x" {
		t.Fatalf("kept row %q, %v", v, err)
	}
	conn.Close(ctx)
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Restart(ctx); !errors.Is(err, ErrStopped) {
		t.Fatalf("Restart after Stop: %v", err)
	}
}

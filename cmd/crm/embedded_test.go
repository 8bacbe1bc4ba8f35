package main

import (
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeEmbeddedDefault runs the built binary with no database flags in
// a fresh directory: it must come up ready on its private PostgreSQL, stop
// cleanly on SIGTERM leaving no PostgreSQL process, restart on the same
// directory, and recover after being killed. As root it also runs the
// whole cycle as an unprivileged user.
func TestServeEmbeddedDefault(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	t.Run("current user", func(t *testing.T) { embeddedLifecycle(t, bin, nil) })
	if os.Geteuid() == 0 {
		u, err := user.Lookup("nobody")
		if err != nil {
			t.Skip("no nobody user to run as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		t.Run("unprivileged user", func(t *testing.T) {
			embeddedLifecycle(t, bin, &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)})
		})
	}
}

func buildBinary(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "crm-bin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "crm")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type proc struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	exited         chan struct{}
	err            error
}

func startServe(t *testing.T, bin, dir string, cred *syscall.Credential) *proc {
	t.Helper()
	p := &proc{stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, "serve", "--addr", "127.0.0.1:0")
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CRM_") {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	if cred != nil {
		p.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

func (p *proc) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(60 * time.Second):
		t.Fatalf("crm did not exit after %v:\n%s", sig, p.stderr.String())
	}
}

func postmasterPID(t *testing.T, dataDir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "pg", "postmaster.pid"))
	if err != nil {
		t.Fatalf("postmaster.pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil {
		t.Fatalf("postmaster.pid: %v", err)
	}
	return pid
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := syscall.Kill(pid, 0)
		if errors.Is(err, syscall.ESRCH) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("PostgreSQL process %d still running", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func embeddedLifecycle(t *testing.T, bin string, cred *syscall.Credential) {
	work, err := os.MkdirTemp("", "crm-serve-") // mode 0700, as a user's fresh directory
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(work) })
	if cred != nil {
		if err := os.Chown(work, int(cred.Uid), int(cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	dataDir := filepath.Join(work, "crm-data")

	// First start: initialises the server, prints and saves an admin key.
	p := startServe(t, bin, work, cred)
	addr := waitServing(t, p.stderr, p.exited)
	if body, status := get(t, "http://"+addr+"/readyz"); status != 200 {
		t.Fatalf("readyz %d %s", status, body)
	}
	keyFile := filepath.Join(dataDir, "admin.key")
	st, err := os.Stat(keyFile)
	if err != nil {
		t.Fatalf("admin key file: %v", err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("admin.key mode %v, want 0600", st.Mode().Perm())
	}
	key, _ := os.ReadFile(keyFile)
	if k := strings.TrimSpace(string(key)); k == "" || !strings.Contains(p.stdout.String(), k) {
		t.Errorf("the generated key was not printed: stdout %q", p.stdout.String())
	}
	pid := postmasterPID(t, dataDir)
	p.stop(t, syscall.SIGTERM)
	if p.err != nil {
		t.Fatalf("crm exited with %v:\n%s", p.err, p.stderr.String())
	}
	waitGone(t, pid)
	if _, err := os.Stat(filepath.Join(dataDir, "pg", "postmaster.pid")); !os.IsNotExist(err) {
		t.Errorf("postmaster.pid left behind: %v", err)
	}

	// Restart on the same directory: same data, no new key.
	p = startServe(t, bin, work, cred)
	addr = waitServing(t, p.stderr, p.exited)
	if _, status := get(t, "http://"+addr+"/readyz"); status != 200 {
		t.Fatalf("readyz after restart: %d", status)
	}
	if strings.Contains(p.stdout.String(), "Admin API key") {
		t.Error("a second admin key was generated on restart")
	}
	if again, _ := os.ReadFile(keyFile); string(again) != string(key) {
		t.Error("admin.key changed on restart")
	}

	// Killed outright: its PostgreSQL must not outlive it, and the next
	// start must work.
	pid = postmasterPID(t, dataDir)
	p.stop(t, syscall.SIGKILL)
	waitGone(t, pid)
	p = startServe(t, bin, work, cred)
	addr = waitServing(t, p.stderr, p.exited)
	if _, status := get(t, "http://"+addr+"/readyz"); status != 200 {
		t.Fatalf("readyz after a kill: %d", status)
	}
	pid = postmasterPID(t, dataDir)
	p.stop(t, syscall.SIGINT)
	if p.err != nil {
		t.Fatalf("crm exited with %v after SIGINT:\n%s", p.err, p.stderr.String())
	}
	waitGone(t, pid)
}

package console_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"crm/internal/testbin"
	"crm/internal/testdb"
)

// crmBinary returns the path of the crm binary, built once per test
// binary (testbin.CRM).
func crmBinary(t *testing.T) string { return testbin.CRM(t) }

// removeCRMBinary deletes it; TestMain calls it after the tests.
func removeCRMBinary() { testbin.Remove() }

// testAdminKey is the bootstrap admin key of the servers the tests start.
const testAdminKey = "console-test-admin-key-0123456789"

// server is a running `crm serve` on loopback.
type server struct {
	URL    string
	stderr *bytes.Buffer
}

// startServer runs `crm serve` on a fresh database and returns once it
// prints the console's URL; it is stopped when t ends.
func startServer(t *testing.T) *server {
	t.Helper()
	bin := crmBinary(t)
	cmd := exec.Command(bin, "serve", "--database-url", testdb.NewDatabase(t), "--addr", "127.0.0.1:0",
		"--bootstrap-admin-key", testAdminKey, "--master-key", "console-test-master-key-0123456789abcdef")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CRM_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{stderr: &bytes.Buffer{}}
	cmd.Stderr = &lockedWriter{w: s.stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "Open the console: "); ok {
				found <- strings.TrimSpace(u)
			}
		}
	}()
	select {
	case u := <-found:
		s.URL = strings.TrimSuffix(u, "/")
	case <-time.After(90 * time.Second):
		t.Fatalf("crm serve printed no console URL:\n%s", s.stderr.String())
	}
	return s
}

// lockedWriter serialises writes from the process's output copier.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// api calls the server's HTTP API directly as a key.
func (s *server) api(t *testing.T, key, method, path, body string, headers ...string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

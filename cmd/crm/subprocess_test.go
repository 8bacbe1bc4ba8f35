package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"crm/internal/testbin"
)

// crmBinary returns the path of the crm binary, built once per test
// binary (testbin.CRM).
func crmBinary(t *testing.T) string { return testbin.CRM(t) }

// removeCRMBinary deletes it; TestMain calls it after the tests.
func removeCRMBinary() { testbin.Remove() }

// startCRM starts bin with args, without the caller's CRM_* environment,
// and kills it when t ends. A non-nil stderr receives the process's
// standard error as well as p.stderr.
func startCRM(t *testing.T, bin string, stderr io.Writer, args ...string) *proc {
	t.Helper()
	p := &proc{stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if stderr != nil {
		p.cmd.Stderr = io.MultiWriter(p.stderr, stderr)
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CRM_") {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	// Personal data is encrypted: with --database-url a master key is
	// required.
	p.cmd.Env = append(p.cmd.Env, "CRM_MASTER_KEY="+testMasterKey)
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

// signal sends sig to the process.
func (p *proc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("send %v to crm: %v", sig, err)
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	p.stop(t, syscall.SIGKILL)
}

// freeze stops the process with SIGSTOP and waits until the kernel reports
// it stopped.
func (p *proc) freeze(t *testing.T) {
	t.Helper()
	p.signal(t, syscall.SIGSTOP)
	stat := fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(stat)
		if err != nil {
			time.Sleep(20 * time.Millisecond) // no procfs: SIGSTOP lands within that
			return
		}
		// pid (comm) state ...: comm may hold spaces, the state follows the last ')'.
		if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) && (b[i+2] == 'T' || b[i+2] == 't') {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("crm (pid %d) did not stop after SIGSTOP", p.cmd.Process.Pid)
}

// runCRM runs bin with args to its end and returns its output and exit
// code; it fails t when the process outlives timeout.
func runCRM(t *testing.T, bin string, timeout time.Duration, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	p := startCRM(t, bin, nil, args...)
	select {
	case <-p.exited:
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.exited
		t.Fatalf("crm %s still running after %v:\n%s", strings.Join(args, " "), timeout, p.stderr.String())
	}
	code = 0
	var ee *exec.ExitError
	switch {
	case errors.As(p.err, &ee):
		code = ee.ExitCode()
	case p.err != nil:
		t.Fatalf("crm %s: %v", strings.Join(args, " "), p.err)
	}
	return p.stdout.String(), p.stderr.String(), code
}

// testMasterKey is the master key of the processes the tests start.
const testMasterKey = "cmd-test-master-key-0123456789abcdef"

// testAdminKey is the bootstrap admin key of the servers the tests start.
const testAdminKey = "projection-guarantees-admin-key"

// crmServer is a running "crm serve" process.
type crmServer struct {
	*proc
	addr string
	// owner is how the engine of this process names itself in
	// crm_projections.owner (host:pid).
	owner string
	api   *apiClient
}

// startServer runs "crm serve" on the database at url and waits until it
// serves HTTP.
func startServer(t *testing.T, bin, url string) *crmServer {
	t.Helper()
	p := startCRM(t, bin, nil, "serve", "--database-url", url, "--addr", "127.0.0.1:0", "--automations=false",
		"--bootstrap-admin-key", testAdminKey, "--shutdown-timeout", "5s")
	addr := waitServing(t, p.stderr, p.exited)
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return &crmServer{proc: p, addr: addr, owner: fmt.Sprintf("%s:%d", host, p.cmd.Process.Pid), api: newAPIClient(addr)}
}

// apiClient calls the HTTP API as the bootstrap admin.
type apiClient struct {
	base string
	hc   *http.Client
}

func newAPIClient(addr string) *apiClient {
	return &apiClient{base: "http://" + addr, hc: &http.Client{Timeout: 30 * time.Second}}
}

// apiResponse is a response's status and body.
type apiResponse struct {
	status int
	body   []byte
}

// decode unmarshals the body into v.
func (r apiResponse) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// do sends a request with an optional JSON body and Idempotency-Key. An
// error means the outcome is unknown (no response arrived).
func (c *apiClient) do(method, path string, body any, idempotencyKey string) (apiResponse, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return apiResponse{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, c.base+path, rd)
	if err != nil {
		return apiResponse{}, err
	}
	req.Header.Set("Authorization", "Bearer "+testAdminKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return apiResponse{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return apiResponse{}, err
	}
	return apiResponse{status: resp.StatusCode, body: b}, nil
}

// mustDo sends a request and fails t unless it gets a response with status
// want.
func (c *apiClient) mustDo(t *testing.T, want int, method, path string, body any) apiResponse {
	t.Helper()
	r, err := c.do(method, path, body, "")
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if r.status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.body)
	}
	return r
}

// commandID returns the id of a command response.
func (r apiResponse) commandID(t *testing.T) string {
	t.Helper()
	var v struct {
		ID string `json:"id"`
	}
	r.decode(t, &v)
	if v.ID == "" {
		t.Fatalf("command response without id: %s", r.body)
	}
	return v.ID
}

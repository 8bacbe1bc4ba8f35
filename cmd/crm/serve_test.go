package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"crm/internal/apikeys"
	"crm/internal/testdb"
)

// TestServeWithDatabaseURL runs serve in-process against a database URL:
// it migrates, bootstraps the admin key, answers health, readiness and
// metrics, and stops when its context ends.
func TestServeWithDatabaseURL(t *testing.T) {
	url := testdb.NewDatabase(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, logs syncBuffer
	exited := make(chan struct{})
	var code int
	go func() {
		defer close(exited)
		code = run(ctx, []string{"serve", "--database-url", url, "--addr", "127.0.0.1:0",
			"--bootstrap-admin-key", "first-admin-secret-123", "--master-key", testMasterKey}, &stdout, &logs)
	}()
	addr := waitServing(t, &logs, exited)
	for path, want := range map[string]string{
		"/healthz": `"status":"ok"`,
		"/readyz":  `"status":"ready"`,
		"/metrics": "go_goroutines",
	} {
		body, status := get(t, "http://"+addr+path)
		if status != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("GET %s: %d %q", path, status, body)
		}
	}
	if want := "Open the console: http://" + addr + "/\n"; !strings.Contains(stdout.String(), want) {
		t.Errorf("serve printed %q, want the console's address %q", stdout.String(), want)
	}
	if body, status := get(t, "http://"+addr+"/signin"); status != http.StatusOK || !strings.Contains(body, `name="key"`) {
		t.Errorf("GET /signin: %d", status)
	}
	body, status := get(t, "http://"+addr+"/nope")
	if status != http.StatusNotFound || !strings.Contains(body, `"status":404`) {
		t.Errorf("unknown route: %d %q", status, body)
	}
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	k, err := apikeys.New(pool).Authenticate(context.Background(), "first-admin-secret-123")
	if err != nil || k.Role != "admin" {
		t.Fatalf("bootstrap key: %+v %v", k, err)
	}
	cancel()
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	if code != 0 {
		t.Fatalf("serve exited %d:\n%s", code, logs.String())
	}
	if !strings.Contains(logs.String(), "stopped") {
		t.Errorf("no clean stop logged:\n%s", logs.String())
	}

	// A second start with another bootstrap secret creates no second key.
	var out2, logs2 bytes.Buffer
	if code := run(context.Background(), []string{"keys", "create", "--database-url", url, "--name", "ann", "--role", "sales"}, &out2, &logs2); code != 0 {
		t.Fatalf("keys create: %d %s", code, logs2.String())
	}
	secret := strings.TrimSpace(out2.String())
	if k, err := apikeys.New(pool).Authenticate(context.Background(), secret); err != nil || k.Role != "sales" || k.Name != "ann" {
		t.Fatalf("created key: %+v %v", k, err)
	}
	if code := run(context.Background(), []string{"migrate", "--database-url", url}, io.Discard, io.Discard); code != 0 {
		t.Fatalf("migrate exited %d", code)
	}
}

func get(t *testing.T, url string) (string, int) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode
}

func TestConsoleURL(t *testing.T) {
	for addr, want := range map[string]string{
		"[::]:8080":      "http://localhost:8080/",
		"0.0.0.0:8080":   "http://localhost:8080/",
		":8080":          "http://localhost:8080/",
		"127.0.0.1:9000": "http://127.0.0.1:9000/",
		"[::1]:9000":     "http://[::1]:9000/",
	} {
		if got := consoleURL(addr); got != want {
			t.Errorf("consoleURL(%q) = %q, want %q", addr, got, want)
		}
	}
}

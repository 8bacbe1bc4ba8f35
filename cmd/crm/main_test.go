package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"crm/internal/testdb"
)

func TestMain(m *testing.M) {
	code := testdb.Main(m)
	removeCRMBinary()
	os.Exit(code)
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var servingAddr = regexp.MustCompile(`msg="crm serving" addr=(\S+)`)

// waitServing waits for the "crm serving" log line and returns the address.
func waitServing(t *testing.T, logs interface{ String() string }, exited <-chan struct{}) string {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		if m := servingAddr.FindStringSubmatch(logs.String()); m != nil {
			return m[1]
		}
		select {
		case <-exited:
			t.Fatalf("server exited before serving:\n%s", logs.String())
		case <-deadline:
			t.Fatalf("server not serving after 60s:\n%s", logs.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func TestUsageErrorsNameTheFlag(t *testing.T) {
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"serve", "--addr", "nowhere"}, nil, "-addr"},
		{[]string{"serve", "--log-format", "xml"}, nil, "-log-format"},
		{[]string{"serve", "--bogus"}, nil, "-bogus"},
		{[]string{"serve", "--shutdown-timeout", "-1s"}, nil, "-shutdown-timeout"},
		{[]string{"serve", "--db-max-conns", "1"}, nil, "-db-max-conns"},
		{[]string{"serve", "--bootstrap-admin-key", "short"}, nil, "-bootstrap-admin-key"},
		{[]string{"serve", "--database-url", "postgres://a:b@host:notaport/db"}, nil, "-database-url"},
		{[]string{"serve", "extra"}, nil, "unexpected argument"},
		{[]string{"serve", "--master-key", "short"}, nil, "-master-key"},
		{[]string{"serve", "--database-url", "postgres://h/db"}, nil, "-master-key"},
		{[]string{"projections", "rebuild", "--all", "--database-url", "postgres://h/db"}, nil, "-master-key"},
		{[]string{"serve", "--event-store", "esdb://"}, nil, "-event-store"},
		{[]string{"serve", "--event-store", "mysql://db:3306/crm"}, nil, "-event-store"},
		{[]string{"serve", "--event-store", "esdb://h:2113?tls=maybe"}, nil, "-event-store"},
		{[]string{"serve"}, map[string]string{"CRM_EVENT_STORE": "kafka://broker:9092"}, "CRM_EVENT_STORE"},
		{[]string{"projections", "list", "--event-store", "esdb://"}, nil, "-event-store"},
		{[]string{"events", "copy", "--from", "esdb://", "--to", "postgres://h/db"}, nil, "-from"},
		{[]string{"events", "copy", "--from", "postgres://h/db", "--to", "ftp://x"}, nil, "-to"},
		{[]string{"events", "copy", "--from", "postgres://h/db"}, nil, "-to"},
		{[]string{"events", "copy", "--from", "postgres://h/db", "--to", "postgres://h/db"}, nil, "same store"},
		{[]string{"events", "move"}, nil, "events copy"},
		{[]string{"serve"}, map[string]string{"CRM_LOG_LEVEL": "loud"}, "CRM_LOG_LEVEL"},
		{[]string{"serve", "--seal-key", "short"}, nil, "-seal-key"},
		{[]string{"serve", "--pprof-addr", "0.0.0.0:6060"}, nil, "-pprof-addr"},
		{[]string{"serve", "--pprof-addr", "localhost"}, nil, "-pprof-addr"},
		{[]string{"serve"}, map[string]string{"CRM_PPROF_ADDR": "10.0.0.1:6060"}, "CRM_PPROF_ADDR"},
		{[]string{"serve", "--seal-interval", "0s"}, nil, "-seal-interval"},
		{[]string{"serve", "--db-max-conns", "4"}, nil, "-db-max-conns"},
		{[]string{"serve", "--quote-discount-threshold", "120"}, nil, "-quote-discount-threshold"},
		{[]string{"serve"}, map[string]string{"CRM_QUOTE_DISCOUNT_THRESHOLD": "20%"}, "-quote-discount-threshold"},
		{[]string{"serve", "--collections-reminder-days", "0"}, nil, "-collections-reminder-days"},
		{[]string{"serve", "--collections-escalation-days", "-3"}, nil, "-collections-escalation-days"},
		{[]string{"audit"}, nil, "audit verify"},
		{[]string{"audit", "verify", "--seal-key", "short"}, nil, "-seal-key"},
		{[]string{"serve"}, map[string]string{"CRM_ADDR": "::::"}, "CRM_ADDR"},
		{[]string{"migrate", "--data-dir", ""}, nil, "-data-dir"},
		{[]string{"keys", "create", "--name", "x", "--role", "king"}, nil, "-role"},
		{[]string{"keys", "create", "--role", "admin"}, nil, "-name"},
		{[]string{"keys", "delete"}, nil, "keys create"},
		{[]string{"serve", "--db-max-conns", "x"}, nil, "-db-max-conns: must be a whole number"},
		{[]string{"serve"}, map[string]string{"CRM_DB_MAX_CONNS": "many"}, "CRM_DB_MAX_CONNS (flag -db-max-conns): must be a whole number"},
		{[]string{"serve", "--automations=maybe"}, nil, "-automations: must be true or false"},
		{[]string{"bench", "--events", "1.5"}, nil, "-events: must be a whole number"},
		{[]string{"frobnicate"}, nil, "unknown command"},
		{nil, nil, "usage"},
	}
	for _, c := range cases {
		for k, v := range c.env {
			t.Setenv(k, v)
		}
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), c.args, &stdout, &stderr)
		msg := stderr.String()
		if code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", c.args, code, msg)
		}
		if !strings.Contains(msg, c.want) {
			t.Errorf("%v: stderr %q does not name %q", c.args, msg, c.want)
		}
		if c.args != nil && strings.Count(strings.TrimSpace(msg), "\n") != 0 {
			t.Errorf("%v: error is not one line: %q", c.args, msg)
		}
		for k := range c.env {
			os.Unsetenv(k)
		}
	}
}

// TestUsageNamesEveryCommand: every subcommand run dispatches is listed
// in crm --help.
func TestUsageNamesEveryCommand(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	cases := regexp.MustCompile(`(?m)^\tcase "([a-z]+)"`).FindAllStringSubmatch(string(src), -1)
	if len(cases) < 8 {
		t.Fatalf("found %d subcommands in main.go's dispatch, want at least 8", len(cases))
	}
	for _, c := range cases {
		if name := c[1]; name != "help" && !strings.Contains(usageText, "\n  "+name+" ") && !strings.Contains(usageText, "\n  "+name+"\n") {
			t.Errorf("crm --help does not list %q", name)
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--help"}, {"serve", "-h"}, {"migrate", "--help"}, {"keys", "create", "-h"}, {"events", "copy", "-h"}} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
			t.Errorf("%v: exit %d (%s)", args, code, stderr.String())
		}
		if stdout.Len() == 0 {
			t.Errorf("%v printed nothing", args)
		}
	}
	var stdout bytes.Buffer
	run(context.Background(), []string{"serve", "-h"}, &stdout, &bytes.Buffer{})
	for _, env := range []string{"CRM_ADDR", "CRM_DATABASE_URL", "CRM_EVENT_STORE", "CRM_DATA_DIR", "CRM_BOOTSTRAP_ADMIN_KEY", "CRM_LOG_FORMAT"} {
		if !strings.Contains(stdout.String(), env) {
			t.Errorf("serve -h does not mention %s", env)
		}
	}
}

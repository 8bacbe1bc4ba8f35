package esdb_test

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	kesdb "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"crm/eventstore"
	"crm/eventstore/esdb"
	"crm/eventstore/eventstoretest"
)

// TestContract runs the shared contract suite against the EventStoreDB at
// CRM_TEST_ESDB_URL. Each store gets a fresh namespace, so the server need
// not be empty.
func TestContract(t *testing.T) {
	url := os.Getenv("CRM_TEST_ESDB_URL")
	if url == "" {
		t.Skip("CRM_TEST_ESDB_URL is not set: the EventStoreDB contract suite is skipped (set it to e.g. esdb://127.0.0.1:2113?tls=false)")
	}
	eventstoretest.Run(t, eventstoretest.Harness{
		New: func(t testing.TB, clock func() time.Time) eventstore.Store {
			ns := "t" + strings.ReplaceAll(uuid.NewString(), "-", "") + "_"
			s, err := esdb.Open(context.Background(), url, esdb.Options{Namespace: ns, Clock: clock, ConnectTimeout: 10 * time.Second})
			if err != nil {
				t.Fatalf("open %s: %v", url, err)
			}
			return s
		},
		IDsUniquePerStream: true,
		Writers:            4,
		AppendsPerWriter:   250,
	})
}

// TestOpenUnreachable: nothing listens on the port, so Open fails within
// its timeout with the cause, instead of hanging.
func TestOpenUnreachable(t *testing.T) {
	start := time.Now()
	_, err := esdb.Open(context.Background(), "esdb://127.0.0.1:1?tls=false", esdb.Options{ConnectTimeout: 2 * time.Second})
	if err == nil {
		t.Fatal("open of an unreachable server succeeded")
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("open took %v, want at most about the 2s timeout", d)
	}
	var ee *kesdb.Error
	if !errors.As(err, &ee) || ee.Code() != kesdb.ErrorUnavailable || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("error %q is not the client's unavailable error with its cause", err)
	}
}

// TestOpenSilentServer: a server that accepts connections and never
// answers makes Open give up at its timeout instead of hanging.
func TestOpenSilentServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range held {
			_ = c.Close()
		}
		mu.Unlock()
	}()
	start := time.Now()
	_, err = esdb.Open(context.Background(), "esdb://"+ln.Addr().String()+"?tls=false", esdb.Options{ConnectTimeout: time.Second})
	if err == nil {
		t.Fatal("open of a silent server succeeded")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("open took %v with a 1s timeout", d)
	}
	if !strings.Contains(err.Error(), "no answer within 1s") && !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %q does not say the server did not answer in time", err)
	}
	t.Logf("open: %v", err)
}

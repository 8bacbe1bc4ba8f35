// Package testdb gives each test package its own PostgreSQL database: on
// the server named by CRM_TEST_DATABASE_URL when it is set, else on a
// private embedded server started for the test binary.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"crm/internal/embeddedpg"
)

// EnvURL names the environment variable holding an administrative
// connection string to an existing server.
const EnvURL = "CRM_TEST_DATABASE_URL"

// adminURL is set by Main before any test runs and never changes after.
var adminURL string

// Main runs the test binary's tests with a server available: it starts an
// embedded server (fsync off) unless CRM_TEST_DATABASE_URL is set, runs m,
// and stops the server. Use it as: func TestMain(m *testing.M) {
// os.Exit(testdb.Main(m)) }.
func Main(m *testing.M) int {
	if u := os.Getenv(EnvURL); u != "" {
		adminURL = u
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "crm-testdb-")
	if err != nil {
		log.Printf("testdb: %v", err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	srv, err := embeddedpg.Start(ctx, embeddedpg.Options{DataDir: dir, NoSync: true, MaxConnections: 300})
	cancel()
	if err != nil {
		log.Printf("testdb: start embedded PostgreSQL (or set %s): %v", EnvURL, err)
		return 1
	}
	defer func() {
		if err := srv.Stop(); err != nil {
			log.Printf("testdb: stop embedded PostgreSQL: %v", err)
		}
	}()
	adminURL = srv.URL("postgres")
	return m.Run()
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9]+`)

// NewDatabase creates an empty database for t and drops it (forcibly) when
// t ends. It returns the database's connection string.
func NewDatabase(t testing.TB) string {
	t.Helper()
	if adminURL == "" {
		t.Fatal("testdb: call testdb.Main from TestMain")
	}
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	pkg := unsafeChars.ReplaceAllString(strings.TrimSuffix(strings.ToLower(filepath.Base(os.Args[0])), ".test"), "_")
	if len(pkg) > 30 {
		pkg = pkg[:30]
	}
	name := fmt.Sprintf("crm_test_%s_%s", pkg, hex.EncodeToString(suffix[:]))

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatalf("testdb: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("testdb: create database %s: %v", name, err)
	}
	// Event stores with a test clock supply recorded times; the event
	// store keeps them only where the database allows it (its migration
	// 005). Tests of that refusal reset the setting.
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{name}.Sanitize()+" SET crm.supplied_recorded_at = on"); err != nil {
		t.Fatalf("testdb: allow supplied recorded times in %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			t.Errorf("testdb: connect to drop %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("testdb: drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(adminURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		// A keyword/value connection string.
		return adminURL + " dbname=" + name
	}
	u.Path = "/" + name
	return u.String()
}

package api_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// nodeTools returns the directory of the TypeScript client with its
// installed tools (npm ci in api/tsclient). Without node or the tools the
// test is skipped, saying why, on a developer machine, and fails when CI is
// set.
func nodeTools(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("tsclient")
	if err != nil {
		t.Fatal(err)
	}
	missing := ""
	if _, err := exec.LookPath("node"); err != nil {
		missing = "node is not installed"
	} else if _, err := os.Stat(filepath.Join(dir, "node_modules", ".bin", "tsc")); err != nil {
		missing = "the client's tools are not installed (run: npm ci --prefix api/tsclient)"
	}
	if missing != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set and %s", missing)
		}
		t.Skip(missing)
	}
	return dir
}

// run runs a tool of dir's node_modules/.bin (or node itself) in dir.
func runNode(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := name
	if name != "node" {
		bin = filepath.Join(dir, "node_modules", ".bin", name)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestOpenAPILint holds openapi.json to Redocly's recommended rules, with
// 4xx responses on every operation, tag descriptions and a licence raised
// to errors (tsclient/redocly.yaml).
func TestOpenAPILint(t *testing.T) {
	dir := nodeTools(t)
	out := runNode(t, dir, "redocly", "lint", "--config", "redocly.yaml", "../openapi.json")
	if regexp.MustCompile(`You have \d+ warning|warning [a-z0-9-]+:`).MatchString(out) {
		t.Fatalf("lint warnings:\n%s", out)
	}
}

// TestTypedClientWalkthrough generates a TypeScript client from
// openapi.json, builds the README's walkthrough with it under a strict
// tsc (a field the document lacks does not compile), and runs it against
// a real server, whose every response is checked against the document.
func TestTypedClientWalkthrough(t *testing.T) {
	dir := nodeTools(t)
	e := newEnv(t)
	runNode(t, dir, "openapi-typescript", "../openapi.json", "-o", "build/schema.d.ts")
	runNode(t, dir, "tsc", "-p", "tsconfig.json")
	out := runNode(t, dir, "node", "build/walkthrough.js", e.url, e.keys["admin"])
	if !strings.Contains(out, "walkthrough ok") {
		t.Fatalf("walkthrough: %s", out)
	}
	t.Log(strings.TrimSpace(out))
}

package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMasterKey: the embedded default creates <data-dir>/master.key once
// (mode 0600) and reads the same key afterwards; a configured key wins;
// with --database-url a key is required.
func TestMasterKey(t *testing.T) {
	dir := t.TempDir()
	var c masterKeyConfig
	first, err := c.resolve(dbConfig{dataDir: dir})
	if err != nil || len(first) < 32 {
		t.Fatalf("generated key %q, %v", first, err)
	}
	st, err := os.Stat(filepath.Join(dir, masterKeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("master.key: %v, mode %v", err, st.Mode().Perm())
	}
	if again, err := c.resolve(dbConfig{dataDir: dir}); err != nil || string(again) != string(first) {
		t.Errorf("second start: %q, %v", again, err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".master.key-*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	set := masterKeyConfig{key: secretValue{value: strings.Repeat("k", 32)}}
	if key, err := set.resolve(dbConfig{dataDir: dir}); err != nil || string(key) != strings.Repeat("k", 32) {
		t.Errorf("configured key: %q, %v", key, err)
	}
	remote := dbConfig{url: dbURLValue{value: "postgres://h/db"}}
	var usage *usageError
	if err := c.check(remote); !errors.As(err, &usage) || !strings.Contains(err.Error(), "-master-key") {
		t.Errorf("--database-url without a key: %v", err)
	}
	if err := set.check(remote); err != nil {
		t.Errorf("--database-url with a key: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, masterKeyFile), []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := c.resolve(dbConfig{dataDir: dir}); err == nil || !strings.Contains(err.Error(), "master key") {
		t.Errorf("a short key file: %v", err)
	}
}

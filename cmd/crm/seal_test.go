package main

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestSealKeyFileIsCreatedOnceUnderARace: processes sharing a data
// directory all end up with the same complete key, readable only by its
// owner.
func TestSealKeyFileIsCreatedOnceUnderARace(t *testing.T) {
	for round := 0; round < 20; round++ {
		dir := t.TempDir()
		db := dbConfig{dataDir: dir}
		keys := make([][]byte, 8)
		errs := make([]error, 8)
		var wg sync.WaitGroup
		for i := range keys {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var c sealConfig
				keys[i], errs[i] = c.resolve(db, true)
			}()
		}
		wg.Wait()
		for i := range keys {
			if errs[i] != nil || len(keys[i]) < 32 || string(keys[i]) != string(keys[0]) {
				t.Fatalf("round %d, process %d: key %q, %v (first: %q)", round, i, keys[i], errs[i], keys[0])
			}
		}
		st, err := os.Stat(filepath.Join(dir, sealKeyFile))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("seal.key: %v, mode %v", err, st.Mode().Perm())
		}
		if left, _ := filepath.Glob(filepath.Join(dir, ".seal.key-*")); len(left) != 0 {
			t.Fatalf("temporary files left: %v", left)
		}
	}
	// Without create, a missing key is no key.
	var c sealConfig
	if key, err := c.resolve(dbConfig{dataDir: t.TempDir()}, false); key != nil || err != nil {
		t.Errorf("missing key file: %q, %v", key, err)
	}
}

// Package testbin builds the crm binary once per test binary, for the
// tests that run the engine as a process of its own (crashes, restarts,
// a browser against a real server).
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// build is the one binary of this test process.
var build struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// CRM returns the path of a crm binary built from crm/cmd/crm, building it
// on first use; tb fails when it cannot be built.
func CRM(tb testing.TB) string {
	tb.Helper()
	build.once.Do(func() {
		dir, err := os.MkdirTemp("", "crm-bin-")
		if err != nil {
			build.err = err
			return
		}
		build.dir = dir
		path := filepath.Join(dir, "crm")
		if out, err := exec.Command("go", "build", "-o", path, "crm/cmd/crm").CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build crm/cmd/crm: %v\n%s", err, out)
			return
		}
		build.path = path
	})
	if build.err != nil {
		tb.Fatal(build.err)
	}
	return build.path
}

// Remove deletes the binary; TestMain calls it after the tests.
func Remove() {
	if build.dir != "" {
		_ = os.RemoveAll(build.dir)
	}
}

package embeddedpg

import "testing"

// TestHasLibrary: a module every server ships is found, a made-up one is
// not.
func TestHasLibrary(t *testing.T) {
	if _, err := FindBinaries(); err != nil {
		t.Skipf("no PostgreSQL server binaries here: %v", err)
	}
	if !HasLibrary("plpgsql") {
		t.Error("plpgsql, which every server ships, not found")
	}
	if HasLibrary("no_such_module_0f3a") {
		t.Error("a made-up module found")
	}
}

package console_test

import (
	"os"
	"testing"

	"crm/internal/testdb"
)

func TestMain(m *testing.M) {
	code := testdb.Main(m)
	removeCRMBinary()
	os.Exit(code)
}

package embeddedpg

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ErrNoBinaries reports that no PostgreSQL server binaries (initdb and
// postgres) were found on this machine.
var ErrNoBinaries = errors.New("no PostgreSQL server binaries found (initdb and postgres): " +
	"install PostgreSQL (Debian: apt-get install postgresql), set CRM_PG_BINDIR to their directory, " +
	"or pass --database-url")

// FindBinaries returns a directory holding both initdb and postgres. It
// looks, in order, at the CRM_PG_BINDIR environment variable, at initdb and
// postgres on PATH (following symlinks), at pg_config --bindir, and at the
// usual install locations, highest version first. It returns ErrNoBinaries
// when none qualifies.
func FindBinaries() (string, error) {
	for _, dir := range candidateDirs() {
		if hasServer(dir) {
			return dir, nil
		}
	}
	return "", ErrNoBinaries
}

func candidateDirs() []string {
	var dirs []string
	if d := os.Getenv("CRM_PG_BINDIR"); d != "" {
		dirs = append(dirs, d)
	}
	for _, name := range []string{"postgres", "initdb"} {
		if p, err := exec.LookPath(name); err == nil {
			if real, err := filepath.EvalSymlinks(p); err == nil {
				dirs = append(dirs, filepath.Dir(real))
			}
			dirs = append(dirs, filepath.Dir(p))
		}
	}
	if p, err := exec.LookPath("pg_config"); err == nil {
		if out, err := exec.Command(p, "--bindir").Output(); err == nil {
			dirs = append(dirs, strings.TrimSpace(string(out)))
		}
	}
	for _, pattern := range []string{"/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/opt/homebrew/opt/postgresql@*/bin"} {
		matches, _ := filepath.Glob(pattern)
		sort.SliceStable(matches, func(i, j int) bool { return versionOf(matches[i]) > versionOf(matches[j]) })
		dirs = append(dirs, matches...)
	}
	return append(dirs, "/usr/local/pgsql/bin")
}

// versionOf extracts the first number in a path such as
// /usr/lib/postgresql/15/bin.
func versionOf(path string) float64 {
	for _, part := range strings.FieldsFunc(path, func(r rune) bool { return r == '/' || r == '-' || r == '@' }) {
		if v, err := strconv.ParseFloat(part, 64); err == nil {
			return v
		}
	}
	return 0
}

func hasServer(dir string) bool {
	for _, name := range []string{"initdb", "postgres"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// HasLibrary reports whether the server FindBinaries finds ships the
// loadable module name (such as "pg_stat_statements"), which
// shared_preload_libraries may then name.
func HasLibrary(name string) bool {
	dir, err := FindBinaries()
	if err != nil {
		return false
	}
	for _, lib := range []string{filepath.Join(dir, "..", "lib", name+".so"), filepath.Join(dir, "..", "lib", "postgresql", name+".so")} {
		if _, err := os.Stat(lib); err == nil {
			return true
		}
	}
	return false
}

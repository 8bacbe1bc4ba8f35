package architecture

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path"
	"slices"
	"strings"
	"testing"
)

// module is the module path: our packages are it and what lies below it.
const module = "crm"

// pkg is the part of `go list -json` the rules read.
type pkg struct {
	ImportPath   string
	Name         string
	Imports      []string
	Deps         []string
	TestImports  []string
	XTestImports []string
}

// rule constrains the imports of the packages it covers.
type rule struct {
	// covers reports whether the rule applies to the package.
	covers func(p string) bool
	// ours lists the packages of ours it may import (a trailing "/..."
	// takes the subtree as well); nil allows any.
	ours []string
	// banned lists import path prefixes it may not import.
	banned []string
	// transitive holds banned to every dependency, not only direct imports.
	transitive bool
	why        string
}

var (
	pgx       = "github.com/jackc/pgx"
	chi       = "github.com/go-chi/chi"
	watermill = "github.com/ThreeDotsLabs/watermill"
	esdb      = "github.com/EventStore/"
)

// under matches a package and its subpackages.
func under(root string) func(string) bool {
	return func(p string) bool { return p == root || strings.HasPrefix(p, root+"/") }
}

var rules = []rule{
	{covers: under("crm/aggregates"), ours: []string{}, why: "the domain imports nothing of ours"},
	{covers: under("crm/readmodels"), ours: []string{}, why: "read-model schema and queries import nothing of ours"},
	{covers: under("crm/commands"), ours: []string{"crm/aggregates"}, banned: []string{pgx, chi, watermill, esdb}, transitive: true,
		why: "commands load, decide and append through the interfaces they declare"},
	{covers: under("crm/eventstore"), ours: []string{"crm/aggregates", "crm/eventstore/...", "crm/internal/pgmigrate"},
		why: "the event store knows the domain only for its event types"},
	{covers: under("crm/projections"), ours: []string{"crm/aggregates", "crm/readmodels", "crm/eventstore", "crm/internal/pgmigrate"},
		why: "projections read the log through the store contract and write read models"},
	{covers: under("crm/api"), banned: []string{pgx, "crm/eventstore/postgres", "crm/eventstore/esdb", esdb},
		why: "the HTTP API reaches storage only through small interfaces"},
	{covers: under("crm/console"), ours: []string{}, banned: []string{pgx, chi, watermill, esdb},
		why: "the web console is a client of the HTTP API, given its handler"},
	{covers: under("crm/workflows"), ours: []string{"crm/aggregates", "crm/commands", "crm/eventstore", "crm/internal/pgmigrate", "crm/internal/strictjson", "crm/workflows/..."},
		why: "automations act through the command bus and read the store contract"},
}

// rootOnly are packages only the composition root and cmd import.
var rootOnly = []string{"crm/api", "crm/eventstore/postgres", "crm/eventstore/esdb"}

// compositionRoot may import anything.
func compositionRoot(p string) bool { return under("crm/internal/app")(p) || under("crm/cmd")(p) }

// allowed are imports that break a rule today, each with the reason it is
// tolerated. The list only shrinks.
var allowed = map[[2]string]string{}

func TestImportsFollowTheArchitecture(t *testing.T) {
	pkgs := list(t)
	if len(pkgs) == 0 {
		t.Fatal("go list found no packages")
	}
	for _, p := range pkgs {
		for _, v := range violations(p) {
			t.Error(v)
		}
	}
	// A tolerated import that is gone leaves the list.
	for pair := range allowed {
		i := slices.IndexFunc(pkgs, func(p pkg) bool { return p.ImportPath == pair[0] })
		if i < 0 || !slices.Contains(pkgs[i].Imports, pair[1]) {
			t.Errorf("%s no longer imports %s: remove it from allowed", pair[0], pair[1])
		}
	}
}

// violations lists how p breaks the rules.
func violations(p pkg) []string {
	var out []string
	report := func(imp, why string) {
		if _, ok := allowed[[2]string{p.ImportPath, imp}]; ok {
			return
		}
		out = append(out, p.ImportPath+" imports "+imp+": "+why)
	}
	switch p.Name {
	case "util", "utils", "common", "helper", "helpers":
		out = append(out, p.ImportPath+" is called "+p.Name+": a package's name says what it owns")
	}
	for _, imp := range slices.Concat(p.Imports, p.TestImports, p.XTestImports) {
		if under("crm/cmd")(imp) {
			report(imp, "nothing imports cmd")
		}
	}
	for _, r := range rules {
		if !r.covers(p.ImportPath) {
			continue
		}
		for _, imp := range p.Imports {
			if ours(imp) && r.ours != nil && !within(imp, r.ours) && !under(p.ImportPath)(imp) {
				report(imp, r.why)
			}
		}
		for _, imp := range p.Imports {
			if hasPrefix(imp, r.banned) {
				report(imp, r.why)
			}
		}
		if r.transitive {
			// One line per banned module reached only through another
			// import.
			for _, b := range r.banned {
				if slices.ContainsFunc(p.Imports, func(imp string) bool { return hasPrefix(imp, []string{b}) }) {
					continue
				}
				for _, dep := range p.Deps {
					if hasPrefix(dep, []string{b}) {
						out = append(out, p.ImportPath+" depends on "+dep+" through its imports: "+r.why)
						break
					}
				}
			}
		}
	}
	if !compositionRoot(p.ImportPath) {
		for _, imp := range p.Imports {
			if slices.Contains(rootOnly, imp) && !under("crm/eventstore")(p.ImportPath) {
				report(imp, "only the composition root imports the API and the store backends")
			}
		}
	}
	if p.ImportPath == "crm/aggregates" || strings.HasPrefix(p.ImportPath, "crm/aggregates/") {
		for _, imp := range p.Imports {
			if !ours(imp) && !standard(imp) && imp != "github.com/google/uuid" {
				report(imp, "the domain imports only the standard library and uuid")
			}
		}
	}
	return out
}

func ours(p string) bool { return under(module)(p) }

func standard(p string) bool { return !strings.Contains(strings.Split(p, "/")[0], ".") }

// within reports whether imp is one of allowed (a trailing "/..." also
// matches the subtree).
func within(imp string, allowed []string) bool {
	for _, a := range allowed {
		if root, ok := strings.CutSuffix(a, "/..."); ok {
			if under(root)(imp) {
				return true
			}
		} else if imp == a {
			return true
		}
	}
	return false
}

func hasPrefix(imp string, prefixes []string) bool {
	for _, p := range prefixes {
		if imp == p || strings.HasPrefix(imp, strings.TrimSuffix(p, "/")+"/") || (strings.HasSuffix(p, "/") && strings.HasPrefix(imp, p)) {
			return true
		}
	}
	return false
}

// list runs go list over the whole module.
func list(t *testing.T) []pkg {
	t.Helper()
	root, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Name,Imports,Deps,TestImports,XTestImports", "./...")
	cmd.Dir = path.Dir(strings.TrimSpace(string(root)))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v: %s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("read go list: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

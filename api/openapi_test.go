package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
)

// Throwaway dependencies: NewRouter only stores them, and no test here
// sends a request that reaches them, so their (nil) methods are never
// called.
type (
	unusedCommands  struct{ Commands }
	unusedKeys      struct{ Keys }
	unusedResponses struct{ Responses }
	unusedReadiness struct{ Readiness }
	unusedProgress  struct{ Progress }
	unusedProj      struct{ Projections }
	unusedFeed      struct{ EventFeed }
	unusedLists     struct{ ListQueries }
	unusedAudit     struct{ AuditQueries }
	unusedReports   struct{ ReportQueries }
	unusedRequests  struct{ RequestLog }
	unusedVerifier  struct{ Verifier }
	unusedAuto      struct{ Automations }
	unusedWebhooks  struct{ Webhooks }
	unusedExport    struct{ EventExport }
)

// openAPIRouter builds the real router without a database.
func openAPIRouter(t *testing.T) http.Handler {
	t.Helper()
	h, err := NewRouter(Options{
		Ready:       unusedReadiness{},
		Metrics:     prometheus.NewRegistry(),
		Keys:        unusedKeys{},
		Commands:    unusedCommands{},
		Responses:   unusedResponses{},
		Progress:    unusedProgress{},
		Projections: unusedProj{},
		Feed:        unusedFeed{},
		Lists:       unusedLists{},
		Audit:       unusedAudit{},
		Reports:     unusedReports{},
		Requests:    unusedRequests{},
		Verifier:    unusedVerifier{},
		Automations: unusedAuto{},
		Webhooks:    unusedWebhooks{},
		Export:      unusedExport{},
	})
	if err != nil {
		t.Fatalf("NewRouter: %v", err)
	}
	return h
}

// chiParam matches a chi URL parameter, with an optional regexp
// ({id:[0-9a-f-]+}), so it can be written the OpenAPI way ({id}).
var chiParam = regexp.MustCompile(`\{([A-Za-z0-9_]+)(:[^}]*)?\}`)

// routerRoutes returns "METHOD /path" for every route the router registers.
func routerRoutes(t *testing.T, h http.Handler) map[string]bool {
	t.Helper()
	routes, ok := h.(chi.Routes)
	if !ok {
		t.Fatalf("NewRouter returned %T, not a chi.Routes", h)
	}
	got := map[string]bool{}
	err := chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		// Undo chi's mounting artefacts: "/v1/*/leads", "/v1/*", "/v1/".
		route = strings.ReplaceAll(route, "/*/", "/")
		route = strings.TrimSuffix(route, "/*")
		if len(route) > 1 {
			route = strings.TrimSuffix(route, "/")
		}
		route = chiParam.ReplaceAllString(route, "{$1}")
		got[method+" "+route] = true
		return nil
	})
	if err != nil {
		t.Fatalf("chi.Walk: %v", err)
	}
	return got
}

// openAPIMethods are the operation keys of an OpenAPI path item.
var openAPIMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// openAPIDoc is the part of the document the tests look at.
type openAPIDoc struct {
	OpenAPI    string                                `json:"openapi"`
	Security   []map[string][]string                 `json:"security"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Parameters      map[string]openAPIParam `json:"parameters"`
		SecuritySchemes map[string]struct {
			Type   string `json:"type"`
			Scheme string `json:"scheme"`
		} `json:"securitySchemes"`
	} `json:"components"`
}

type openAPIParam struct {
	Ref      string `json:"$ref"`
	Name     string `json:"name"`
	In       string `json:"in"`
	Required bool   `json:"required"`
}

type openAPIOperation struct {
	Parameters []openAPIParam         `json:"parameters"`
	Security   *[]map[string][]string `json:"security"`
}

func loadOpenAPI(t *testing.T) ([]byte, openAPIDoc) {
	t.Helper()
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPIDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	return raw, doc
}

// operations returns each "METHOD /path" of doc with its operation.
func (doc openAPIDoc) operations(t *testing.T) map[string]openAPIOperation {
	t.Helper()
	ops := map[string]openAPIOperation{}
	for path, item := range doc.Paths {
		for key, raw := range item {
			if !slices.Contains(openAPIMethods, key) {
				continue
			}
			var op openAPIOperation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", key, path, err)
			}
			ops[strings.ToUpper(key)+" "+path] = op
		}
	}
	return ops
}

// resolve follows a "#/components/parameters/X" reference.
func (doc openAPIDoc) resolve(t *testing.T, p openAPIParam) openAPIParam {
	t.Helper()
	if p.Ref == "" {
		return p
	}
	name, ok := strings.CutPrefix(p.Ref, "#/components/parameters/")
	target, found := doc.Components.Parameters[name]
	if !ok || !found {
		t.Errorf("unresolvable parameter reference %q", p.Ref)
	}
	return target
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TestOpenAPIMatchesRouter fails when a route is registered but not
// documented, or documented but not registered.
func TestOpenAPIMatchesRouter(t *testing.T) {
	registered := routerRoutes(t, openAPIRouter(t))
	_, doc := loadOpenAPI(t)
	documented := doc.operations(t)

	if len(registered) == 0 {
		t.Fatal("chi.Walk found no routes")
	}
	for _, r := range sortedKeys(registered) {
		if _, ok := documented[r]; !ok {
			t.Errorf("registered but not in openapi.json: %s", r)
		}
	}
	for _, r := range sortedKeys(documented) {
		if !registered[r] {
			t.Errorf("in openapi.json but not registered: %s", r)
		}
	}
}

// TestOpenAPIDocument checks the document's version, path parameters,
// as_of on by-id reads and bearer security on /v1.
func TestOpenAPIDocument(t *testing.T) {
	_, doc := loadOpenAPI(t)
	if !regexp.MustCompile(`^3\.1\.\d+$`).MatchString(doc.OpenAPI) {
		t.Errorf(`openapi = %q, want "3.1.x"`, doc.OpenAPI)
	}
	if s := doc.Components.SecuritySchemes["bearerAuth"]; s.Type != "http" || !strings.EqualFold(s.Scheme, "bearer") {
		t.Errorf("securitySchemes.bearerAuth = %+v, want type http, scheme bearer", s)
	}
	byID := regexp.MustCompile(`^GET /v1/[a-z-]+/\{id\}$`)
	ops := doc.operations(t)
	for _, key := range sortedKeys(ops) {
		op := ops[key]
		_, path, _ := strings.Cut(key, " ")
		params := map[string]openAPIParam{}
		for _, p := range op.Parameters {
			p = doc.resolve(t, p)
			params[p.In+":"+p.Name] = p
		}
		for _, m := range chiParam.FindAllStringSubmatch(path, -1) {
			if p, ok := params["path:"+m[1]]; !ok || !p.Required {
				t.Errorf("%s: path parameter %q is not declared as a required path parameter", key, m[1])
			}
		}
		for k, p := range params {
			if p.In == "path" && !strings.Contains(path, "{"+p.Name+"}") {
				t.Errorf("%s: declares path parameter %q that the path lacks", key, k)
			}
		}
		if _, ok := params["query:as_of"]; byID.MatchString(key) && !ok {
			t.Errorf("%s: by-id read without the as_of query parameter", key)
		}
		security := doc.Security
		if op.Security != nil {
			security = *op.Security
		}
		bearer := slices.ContainsFunc(security, func(req map[string][]string) bool { _, ok := req["bearerAuth"]; return ok })
		if strings.HasPrefix(path, "/v1/") != bearer {
			t.Errorf("%s: bearerAuth security = %v, want it exactly on /v1 routes", key, bearer)
		}
	}
}

// TestOpenAPIServed checks GET /openapi.json serves the file byte for byte.
func TestOpenAPIServed(t *testing.T) {
	raw, _ := loadOpenAPI(t)
	srv := httptest.NewServer(openAPIRouter(t))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /openapi.json = %d, want 200: %s", resp.StatusCode, got)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if !bytes.Equal(got, raw) {
		t.Errorf("GET /openapi.json served %d bytes that differ from openapi.json (%d bytes)", len(got), len(raw))
	}
}

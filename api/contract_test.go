package api_test

import (
	"bytes"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"crm/internal/openapi"
)

// The contract check: every response a test server sends is validated
// against api/openapi.json, the document GET /openapi.json serves (see
// internal/openapi). A status the operation does not declare, a content
// type it does not declare, a member its schema lacks, a missing required
// member, a wrong type, a value outside an enum, a format or a declared
// limit fails the test that caused the request.

var (
	contractOnce sync.Once
	contractDoc  *openapi.Document
	contractErr  error
)

// loadContract reads api/openapi.json once per test binary.
func loadContract() (*openapi.Document, error) {
	contractOnce.Do(func() {
		raw, err := os.ReadFile("openapi.json")
		if err != nil {
			contractErr = err
			return
		}
		contractDoc, contractErr = openapi.Parse(raw)
	})
	return contractDoc, contractErr
}

// capture records a response while it is written to the client.
type capture struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *capture) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *capture) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.body.Len() < 4<<20 {
		w.body.Write(p)
	}
	return w.ResponseWriter.Write(p)
}

// Flush keeps streaming responses streaming.
func (w *capture) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w *capture) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// checkedHandler validates every response next sends against the contract
// and reports each breach as an error of t.
func checkedHandler(t testing.TB, next http.Handler) http.Handler {
	c, err := loadContract()
	if err != nil {
		t.Fatalf("contract: %v", err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &capture{ResponseWriter: w}
		next.ServeHTTP(cw, r)
		status := cw.status
		if status == 0 {
			status = http.StatusOK
		}
		for _, e := range c.CheckResponse(r.Method, r.URL.Path, status, cw.Header(), cw.body.Bytes()) {
			t.Errorf("contract: %s", e)
		}
	})
}

// TestContractCheckCatchesBreaches holds the contract check itself to
// account: an undocumented member, a wrong type, a missing required member,
// an undeclared status and an undeclared content type are each caught, and
// a conforming response passes.
func TestContractCheckCatchesBreaches(t *testing.T) {
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	jsonH := http.Header{"Content-Type": {"application/json"}}
	probH := http.Header{"Content-Type": {"application/problem+json"}}
	good := `{"id":"0190b5a4-1c2d-7e3f-8a9b-0c1d2e3f4a5b","version":1,"position":"12","events":[{"type":"lead.captured.v1","id":"0190b5a4-1c2d-7e3f-8a9b-0c1d2e3f4a5c","stream":"lead-0190b5a4-1c2d-7e3f-8a9b-0c1d2e3f4a5b"}]}`
	cases := []struct {
		name    string
		status  int
		header  http.Header
		body    string
		wantErr string
	}{
		{"conforming", 201, jsonH, good, ""},
		{"undocumented member", 201, jsonH, strings.Replace(good, `"version":1`, `"version":1,"secret":"x"`, 1), `secret: is not a known field`},
		{"wrong type", 201, jsonH, strings.Replace(good, `"version":1`, `"version":"1"`, 1), `version: must be an integer`},
		{"missing member", 201, jsonH, strings.Replace(good, `"version":1,`, ``, 1), `version: is required`},
		{"undeclared status", 418, jsonH, good, "status 418 is not declared"},
		{"undeclared content type", 201, http.Header{"Content-Type": {"text/html"}}, good, "text/html is not declared"},
		{"problem", 400, probH, `{"type":"about:blank","title":"Bad Request","status":400,"errors":[{"field":"email","message":"required"}]}`, ""},
		{"problem with a stray member", 400, probH, `{"type":"about:blank","title":"Bad Request","status":400,"oops":true}`, `oops: is not a known field`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errs := c.CheckResponse("POST", "/v1/leads", tc.status, tc.header, []byte(tc.body))
			if tc.wantErr == "" {
				if len(errs) > 0 {
					t.Fatalf("conforming response refused: %v", errs)
				}
				return
			}
			if !strings.Contains(strings.Join(errs, "\n"), tc.wantErr) {
				t.Fatalf("breach not caught: want %q, got %v", tc.wantErr, errs)
			}
		})
	}
}

package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"crm/internal/integrity"
	"crm/internal/requestlog"
)

type unsupportedVerifier struct{}

func (unsupportedVerifier) Verify(context.Context) (integrity.Report, error) {
	return integrity.Report{}, ErrVerifyUnsupported
}

type auditorKeys struct{ unusedKeys }

func (auditorKeys) Authenticate(context.Context, string) (Principal, error) {
	return Principal{KeyID: "k", Name: "auditor", Role: "auditor"}, nil
}

type droppedRequests struct{ unusedRequests }

func (droppedRequests) Record(context.Context, requestlog.Entry) error { return nil }

// TestVerifyUnsupportedIs501: with an event store that keeps no hash chain
// (EventStoreDB), verification says so instead of reporting a clean log.
func TestVerifyUnsupportedIs501(t *testing.T) {
	h, err := NewRouter(Options{Ready: unusedReadiness{}, Metrics: prometheus.NewRegistry(), Keys: auditorKeys{},
		Commands: unusedCommands{}, Responses: unusedResponses{}, Progress: unusedProgress{}, Projections: unusedProj{},
		Feed: unusedFeed{}, Lists: unusedLists{}, Audit: unusedAudit{}, Reports: unusedReports{}, Requests: droppedRequests{},
		Verifier: unsupportedVerifier{}})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/v1/audit/verify", nil)
	req.Header.Set("Authorization", "Bearer anything")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var p map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &p)
	if rec.Code != http.StatusNotImplemented || p["code"] != "verify_unsupported" {
		t.Fatalf("GET /v1/audit/verify: %d %s", rec.Code, rec.Body)
	}
}

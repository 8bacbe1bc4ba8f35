package main

import (
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"crm/internal/testdb"
)

// TestServeRunsCustomReports: a shipped example applied with the CLI is
// replayed by a running crm serve over events made by real commands, and
// its rows are served over HTTP.
func TestServeRunsCustomReports(t *testing.T) {
	bin := crmBinary(t)
	url := testdb.NewDatabase(t)
	srv := startServer(t, bin, url)
	var ids []string
	for _, p := range []string{"normal", "normal", "urgent"} {
		r := srv.api.mustDo(t, http.StatusCreated, http.MethodPost, "/v1/tickets",
			map[string]any{"subject": "Printer on fire", "priority": p, "channel": "email"})
		ids = append(ids, r.commandID(t))
	}
	srv.api.mustDo(t, http.StatusOK, http.MethodPost, "/v1/tickets/"+ids[0]+"/responses", map[string]any{"body": "On it"})
	srv.api.mustDo(t, http.StatusOK, http.MethodPost, "/v1/tickets/"+ids[0]+"/responses", map[string]any{"body": "Still on it"})
	srv.api.mustDo(t, http.StatusOK, http.MethodPost, "/v1/tickets/"+ids[0]+"/resolve", map[string]any{"resolution": "Extinguished"})
	srv.api.mustDo(t, http.StatusOK, http.MethodPost, "/v1/tickets/"+ids[2]+"/resolve", map[string]any{"resolution": "Replaced"})

	if out, errs, code := runCRM(t, bin, time.Minute, "reports", "apply", "../../internal/customreports/examples/ticket_sla_by_month.yaml", "--database-url", url); code != 0 {
		t.Fatalf("apply: %d %s %s", code, out, errs)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var list struct {
			Items []struct {
				Name     string `json:"name"`
				State    string `json:"state"`
				Progress struct {
					CaughtUp bool `json:"caught_up"`
				} `json:"progress"`
			} `json:"items"`
		}
		srv.api.mustDo(t, http.StatusOK, http.MethodGet, "/v1/reports/custom", nil).decode(t, &list)
		if len(list.Items) == 1 && list.Items[0].State == "running" && list.Items[0].Progress.CaughtUp {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("report did not catch up: %+v", list)
		}
		time.Sleep(50 * time.Millisecond)
	}
	month := time.Now().UTC().Format("2006-01")
	rows := string(srv.api.mustDo(t, http.StatusOK, http.MethodGet, "/v1/reports/custom/ticket_sla_by_month", nil).body)
	want := `"items":[` +
		`{"month":"` + month + `","priority":"normal","tickets":2,"responded":1,"responded_within_sla":1,"resolved":1,"resolved_within_sla":1,"response_compliance":"100.0","resolution_compliance":"100.0"},` +
		`{"month":"` + month + `","priority":"urgent","tickets":1,"responded":0,"responded_within_sla":0,"resolved":1,"resolved_within_sla":1,"response_compliance":null,"resolution_compliance":"100.0"}]`
	if !strings.Contains(rows, want) {
		t.Fatalf("rows %s lack %s", rows, want)
	}
	// The report's runner stops with the server.
	srv.signal(t, syscall.SIGTERM)
	select {
	case <-srv.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("crm serve did not stop on SIGTERM")
	}
	if srv.err != nil {
		t.Fatalf("crm serve: %v\n%s", srv.err, srv.stderr.String())
	}
}

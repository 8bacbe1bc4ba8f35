package api

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"crm/readmodels"
)

// exportChunk is how many rows a CSV export reads per query.
const exportChunk = 500

// Columns of the list exports, in order: the JSON fields of each row.
var (
	leadColumns = []string{"id", "status", "name", "company", "email", "phone", "source", "campaign", "region", "industry",
		"company_size", "owner_id", "contact_attempts", "disqualification_reason", "account_id", "contact_id", "opportunity_id",
		"captured_at", "converted_at"}
	accountColumns     = []string{"id", "name", "industry", "size", "region", "tier", "owner_id", "tags", "opened_at"}
	contactColumns     = []string{"id", "account_id", "name", "email", "phone", "title", "role", "added_at"}
	opportunityColumns = []string{"id", "account_id", "lead_id", "name", "amount", "currency", "expected_close_date", "owner_id",
		"stage", "probability", "forecast_category", "is_closed", "lost_reason", "opened_at", "closed_at"}
	ticketColumns = []string{"id", "subject", "account_id", "contact_id", "priority", "channel", "status", "assignee_id",
		"escalation_level", "first_response_due", "resolution_due", "first_response_at", "resolved_at", "closed_at",
		"first_response_breached", "resolution_breached", "breached", "satisfaction", "opened_at"}
	taskColumns = []string{"id", "entity_type", "entity_id", "subject", "owner_id", "due_at", "done", "overdue", "reminded_at", "logged_at"}
)

// wantsCSV reports whether a list request asks for a CSV export:
// ?format=csv, or an Accept header naming text/csv before JSON.
// ?format= other than json or csv is a 400 naming format.
func wantsCSV(r *http.Request) (bool, error) {
	switch r.URL.Query().Get("format") {
	case "csv":
		return true, nil
	case "json":
		return false, nil
	case "":
	default:
		return false, badField("format", "must be json or csv")
	}
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		if q, err := strconv.ParseFloat(params["q"], 64); err == nil && q <= 0 {
			continue
		}
		switch mt {
		case mediaCSV:
			return true, nil
		case "application/json":
			return false, nil
		}
	}
	return false, nil
}

// listOrExport serves a list as JSON pages, or, when the request asks for
// CSV, every row matching the filter as one CSV file: UTF-8 with a
// byte-order mark and CRLF line ends (spreadsheets then read accented and
// Chinese text right), the JSON fields as columns, lists joined by ";".
// next returns the filter for the page after cursor.
func listOrExport[F, T any](s *server, name string, columns []string, projector string, parse func(*http.Request) (F, error),
	query func(context.Context, F) (readmodels.Page[T], error), next func(F, string) F) http.HandlerFunc {
	pages := listHandler(s, projector, parse, query)
	return func(w http.ResponseWriter, r *http.Request) {
		csvOut, err := wantsCSV(r)
		if err != nil {
			s.errs.write(w, r, err)
			return
		}
		if !csvOut {
			pages(w, r)
			return
		}
		f, err := parse(r)
		if err != nil {
			s.errs.write(w, r, err)
			return
		}
		if !s.caughtUp(w, r, projector) {
			return
		}
		exportCSV(s, w, r, name, columns, func(cursor string) (readmodels.Page[T], error) {
			return query(r.Context(), next(f, cursor))
		})
	}
}

// exportCSV streams every page fetch returns, from the first, as CSV.
// A failure before the first row is a problem document; a later one
// aborts the response.
func exportCSV[T any](s *server, w http.ResponseWriter, r *http.Request, name string, columns []string,
	fetch func(cursor string) (readmodels.Page[T], error)) {
	first, err := fetch("")
	if errors.Is(err, readmodels.ErrCursor) {
		err = badField("cursor", "must be the next_cursor of an earlier page, unchanged")
	}
	if err != nil {
		s.errs.write(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", mediaCSV+"; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s.csv"`, name, time.Now().UTC().Format("20060102T150405Z")))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 64<<10)
	_, _ = bw.WriteString("\ufeff")
	cw := csv.NewWriter(bw)
	cw.UseCRLF = true
	err = writeCSVRow(cw, append([]string(nil), columns...))
	page := first
	for err == nil {
		for _, item := range page.Items {
			if err = writeCSVRow(cw, csvCells(item, columns)); err != nil {
				break
			}
		}
		if err != nil || page.NextCursor == nil {
			break
		}
		if page, err = fetch(*page.NextCursor); err != nil {
			break
		}
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil && r.Context().Err() == nil {
		s.errs.log.Error(name+" export failed", "correlation_id", CorrelationID(r.Context()), "err", err)
		panic(http.ErrAbortHandler)
	}
}

// csvCells is a row's JSON fields named by columns, as text: strings as
// they are, null and absent as empty, lists joined by ";".
func csvCells(v any, columns []string) []string {
	b, _ := json.Marshal(v)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	out := make([]string, len(columns))
	for i, c := range columns {
		switch x := m[c].(type) {
		case nil:
		case string:
			out[i] = x
		case []any:
			parts := make([]string, len(x))
			for j, p := range x {
				parts[j] = fmt.Sprint(p)
			}
			out[i] = strings.Join(parts, ";")
		case float64:
			out[i] = strconv.FormatFloat(x, 'f', -1, 64)
		default:
			out[i] = fmt.Sprint(x)
		}
	}
	return out
}

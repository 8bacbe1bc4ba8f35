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
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"crm/readmodels"
)

// AuditQueries are the audit timeline (read model of the "audit"
// projector). A malformed cursor is readmodels.ErrCursor and another bad
// argument wraps readmodels.ErrInvalid.
type AuditQueries interface {
	// Audit returns a keyset page of the timeline, in log order.
	Audit(ctx context.Context, f readmodels.AuditFilter) (readmodels.Page[readmodels.AuditEntry], error)
	// AuditEach calls fn with every matching entry, in log order, reading
	// readmodels.AuditExportChunk entries at a time; it stops at fn's
	// first error and returns it.
	AuditEach(ctx context.Context, f readmodels.AuditFilter, fn func(readmodels.AuditEntry) error) error
}

// auditProjector is the projector the audit routes read.
const auditProjector = readmodels.AuditProjector

// Formats of GET /audit.
const (
	auditJSON   = "json"
	auditCSV    = "csv"
	auditNDJSON = "ndjson"
)

// Media types of the audit exports.
const (
	mediaCSV    = "text/csv"
	mediaNDJSON = "application/x-ndjson"
)

// exportWriteWindow is how long the writing of one chunk of an export may
// take: the write deadline moves forward by this much before each chunk,
// so a long export is not cut by the server's overall write timeout.
const exportWriteWindow = time.Minute

// auditCSVHeader is the header row of the CSV export.
// An entry takes one row per changed field (field, from, to), and one row
// with those three empty when it changed none; from and to are the values
// as text (a string without its quotes, empty for none, JSON for a list or
// an object).
var auditCSVHeader = []string{"position", "recorded_at", "actor", "entity_type", "entity_id", "event_type", "summary",
	"field", "from", "to", "command_id", "correlation_id", "causation_id"}

// utf8BOM starts a CSV export, so that spreadsheet software reads it as
// UTF-8 (names in Chinese, say) instead of the system's code page.
const utf8BOM = "\ufeff"

// auditRoutes mounts GET /audit: the audit timeline as a JSON page, or
// exported whole as CSV or NDJSON.
func (s *server) auditRoutes(r chi.Router) {
	r.With(require(permAudit)).Get("/audit", s.audit)
}

// audit serves GET /audit. The format comes from ?format= (json, csv,
// ndjson) or else from the Accept header (text/csv, application/x-ndjson);
// JSON is the default. Exports ignore ?limit= and ?cursor=.
func (s *server) audit(w http.ResponseWriter, r *http.Request) {
	format, err := auditFormat(r)
	if err != nil {
		s.errs.write(w, r, err)
		return
	}
	f, err := parseAuditFilter(r, format == auditJSON)
	if err != nil {
		s.errs.write(w, r, err)
		return
	}
	if !s.caughtUp(w, r, auditProjector) {
		return
	}
	if format != auditJSON {
		s.auditExport(w, r, format, f)
		return
	}
	page, err := s.audits.Audit(r.Context(), f)
	writePage(s, w, r, page, err)
}

// auditFormat returns the format a request asks for: ?format= when
// given (400 naming format when unknown), else the first of text/csv,
// application/x-ndjson or application/json the Accept header lists
// (JSON when none is).
func auditFormat(r *http.Request) (string, error) {
	if v := r.URL.Query().Get("format"); v != "" {
		switch v {
		case auditJSON, auditCSV, auditNDJSON:
			return v, nil
		}
		return "", badField("format", "must be one of json, csv, ndjson")
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
			return auditCSV, nil
		case mediaNDJSON:
			return auditNDJSON, nil
		case "application/json":
			return auditJSON, nil
		}
	}
	return auditJSON, nil
}

// parseAuditFilter reads the filter of GET /audit (400 naming the first
// bad parameter); with paged, also ?limit= and ?cursor=.
func parseAuditFilter(r *http.Request, paged bool) (readmodels.AuditFilter, error) {
	p := &listParams{r: r}
	f := readmodels.AuditFilter{EntityType: p.enum("entity_type", readmodels.AuditEntityTypes...),
		EntityID: p.id("entity_id"), Actor: p.text("actor"), Type: p.text("type"),
		From: auditTime(p, "from"), To: auditTime(p, "to")}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		p.fail("to", "must be after from")
	}
	if paged {
		f.Limit, f.Cursor = p.page()
	}
	return f, p.err
}

// auditTime returns a time parameter: RFC 3339, or a date YYYY-MM-DD (its
// midnight UTC), or absent (zero).
func auditTime(p *listParams, name string) time.Time {
	v := p.r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}
	}
	if len(v) <= 64 {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t.UTC()
		}
		if d, err := time.Parse(time.DateOnly, v); err == nil && d.Format(time.DateOnly) == v {
			return d
		}
	}
	p.fail(name, "must be an RFC 3339 time or a date YYYY-MM-DD")
	return time.Time{}
}

// auditExport streams the whole timeline matching f as CSV or NDJSON,
// flushing after every chunk of readmodels.AuditExportChunk entries. The
// headers go out with the first chunk, so a failure before it is still a
// problem document; a failure after it aborts the response, which the
// client sees as a truncated body.
func (s *server) auditExport(w http.ResponseWriter, r *http.Request, format string, f readmodels.AuditFilter) {
	rc := http.NewResponseController(w)
	bw := bufio.NewWriterSize(w, 64<<10)
	var (
		encode  func(readmodels.AuditEntry) error
		started bool
		n       int
	)
	start := func() error {
		started = true
		ext, media := "ndjson", mediaNDJSON
		if format == auditCSV {
			ext, media = "csv", mediaCSV+"; charset=utf-8"
		}
		h := w.Header()
		h.Set("Content-Type", media)
		h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="audit-%s.%s"`,
			time.Now().UTC().Format("20060102T150405Z"), ext))
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		if format == auditCSV {
			if _, err := bw.WriteString(utf8BOM); err != nil {
				return err
			}
			cw := csv.NewWriter(bw)
			encode = func(e readmodels.AuditEntry) error { return writeAuditCSV(cw, e) }
			return writeCSVRow(cw, slices.Clone(auditCSVHeader))
		}
		enc := json.NewEncoder(bw)
		encode = func(e readmodels.AuditEntry) error { return enc.Encode(e) }
		return nil
	}
	// flush sends what is buffered and gives the next chunk a fresh write
	// deadline (where the server supports one).
	flush := func() error {
		if err := bw.Flush(); err != nil {
			return err
		}
		if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		if err := rc.SetWriteDeadline(time.Now().Add(exportWriteWindow)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		return nil
	}
	err := s.audits.AuditEach(r.Context(), f, func(e readmodels.AuditEntry) error {
		if !started {
			if err := start(); err != nil {
				return err
			}
		}
		if err := encode(e); err != nil {
			return err
		}
		if n++; n%readmodels.AuditExportChunk == 0 {
			return flush()
		}
		return nil
	})
	if err == nil && !started {
		err = start()
	}
	if err == nil {
		err = flush()
	}
	switch {
	case err == nil:
	case !started:
		s.errs.write(w, r, err)
	case r.Context().Err() != nil:
		// The client went away; nobody reads the rest.
	default:
		s.errs.log.Error("audit export failed", "correlation_id", CorrelationID(r.Context()), "entries_sent", n, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// writeAuditCSV writes one entry as rows of auditCSVHeader's columns: one
// per changed field, or one without a field when it changed none.
func writeAuditCSV(cw *csv.Writer, e readmodels.AuditEntry) error {
	head := []string{e.Position, e.RecordedAt.UTC().Format(time.RFC3339Nano), e.Actor, e.EntityType,
		e.EntityID, e.EventType, e.Summary}
	tail := []string{e.CommandID, e.CorrelationID, e.CausationID}
	if len(e.Changes) == 0 {
		return writeCSVRow(cw, slices.Concat(head, []string{"", "", ""}, tail))
	}
	for _, c := range e.Changes {
		if err := writeCSVRow(cw, slices.Concat(head, []string{c.Field, csvValue(c.From), csvValue(c.To)}, tail)); err != nil {
			return err
		}
	}
	return nil
}

// csvValue is a change's JSON value as a spreadsheet cell: a string as
// itself, null or nothing as empty, anything else as its JSON.
func csvValue(v json.RawMessage) string {
	if len(v) == 0 || string(v) == "null" {
		return ""
	}
	var s string
	if v[0] == '"' && json.Unmarshal(v, &s) == nil {
		return s
	}
	return string(v)
}

// writeCSVRow writes one row. A cell a spreadsheet would read as a formula
// (starting with =, +, -, @, tab or carriage return) is prefixed with a
// single quote, so opening an export never runs anything.
func writeCSVRow(cw *csv.Writer, row []string) error {
	for i, v := range row {
		if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
			row[i] = "'" + v
		}
	}
	if err := cw.Write(row); err != nil {
		return fmt.Errorf("write csv row: %w", err)
	}
	cw.Flush()
	return cw.Error()
}

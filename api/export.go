package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
)

// EventExport writes the log as rows for analysts' tools.
type EventExport interface {
	// ExportEvents writes the events q selects to w, in q.Format
	// (parquet, csv or ndjson). A malformed q.After is ErrBadPosition;
	// nothing is written to w before the log was read successfully once.
	ExportEvents(ctx context.Context, w io.Writer, q ExportQuery) error
}

// ExportQuery selects an export's events and format.
type ExportQuery struct {
	Format string
	// After is a cursor to start after ("": the log's start).
	After string
	// From and To bound the recorded time: From ≤ recorded_at < To.
	From, To *time.Time
	// Types are event types or prefixes ending in "*" (none: all).
	Types []string
}

// exportMedia is each export format's media type and file extension.
var exportMedia = map[string][2]string{
	"parquet": {"application/vnd.apache.parquet", "parquet"},
	"csv":     {mediaCSV + "; charset=utf-8", "csv"},
	"ndjson":  {mediaNDJSON, "ndjson"},
}

// exportFlushBytes is how much of an export is sent between flushes.
const exportFlushBytes = 256 << 10

// exportRoutes mounts GET /events/export.
func (s *server) exportRoutes(r chi.Router) {
	if s.export == nil {
		return
	}
	r.With(require(permEvents)).Get("/events/export", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		format := q.Get("format")
		if format == "" {
			format = "parquet"
		}
		media, ok := exportMedia[format]
		if !ok {
			s.errs.write(w, r, badField("format", "must be one of parquet, csv, ndjson"))
			return
		}
		from, to, err := timeRangeParams(r)
		if err != nil {
			s.errs.write(w, r, err)
			return
		}
		eq := ExportQuery{Format: format, After: q.Get("after"), From: from, To: to}
		if v := q.Get("types"); v != "" {
			for _, t := range strings.Split(v, ",") {
				if t = strings.TrimSpace(t); t != "" {
					eq.Types = append(eq.Types, t)
				}
			}
		}
		ew := &exportWriter{w: w, rc: http.NewResponseController(w), start: func() {
			h := w.Header()
			h.Set("Content-Type", media[0])
			h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="events-%s.%s"`,
				time.Now().UTC().Format("20060102T150405Z"), media[1]))
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusOK)
		}}
		err = s.export.ExportEvents(r.Context(), ew, eq)
		switch {
		case err == nil && !ew.started:
			ew.start()
		case err == nil:
			_ = ew.rc.Flush()
		case errors.Is(err, ErrBadPosition) && !ew.started:
			s.errs.write(w, r, badField("after", "must be a cursor from the event feed or a command response"))
		case !ew.started:
			s.errs.write(w, r, err)
		case r.Context().Err() != nil:
			// The client went away; nobody reads the rest.
		default:
			s.errs.log.Error("event export failed", "correlation_id", CorrelationID(r.Context()), "bytes_sent", ew.sent, "err", err)
			panic(http.ErrAbortHandler)
		}
	})
}

// exportWriter sends the headers with the first byte and flushes every
// exportFlushBytes, giving each chunk a fresh write deadline.
type exportWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	start   func()
	started bool
	sent    int64
	pending int
}

func (e *exportWriter) Write(p []byte) (int, error) {
	if !e.started {
		e.started = true
		e.start()
	}
	n, err := e.w.Write(p)
	e.sent += int64(n)
	e.pending += n
	if err != nil {
		return n, err
	}
	if e.pending >= exportFlushBytes {
		e.pending = 0
		if err := e.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return n, err
		}
		if err := e.rc.SetWriteDeadline(time.Now().Add(exportWriteWindow)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return n, err
		}
	}
	return n, nil
}

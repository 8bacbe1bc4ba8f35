package eventexport

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"crm/eventstore"
)

// Formats.
const (
	Parquet = "parquet"
	CSV     = "csv"
	NDJSON  = "ndjson"
)

// Formats lists the formats Write accepts.
var Formats = []string{Parquet, CSV, NDJSON}

// ErrFormat is returned for a format not in Formats.
var ErrFormat = errors.New("format must be parquet, csv or ndjson")

// Log is the part of the event store an export reads: the ordered,
// no-skip global log.
type Log interface {
	ReadAll(ctx context.Context, after eventstore.Cursor, limit int) ([]eventstore.Event, error)
	Head(ctx context.Context) (eventstore.Cursor, error)
}

// Filter selects the exported events. The zero Filter selects every
// event.
type Filter struct {
	// After starts the export after this cursor (the zero cursor: from
	// the log's start).
	After eventstore.Cursor
	// From and To bound the events' recorded time: From ≤ recorded_at <
	// To (zero: unbounded).
	From, To time.Time
	// Types are event types ("lead.captured.v1") or prefixes ending in
	// "*" ("opportunity.*"); empty selects every type.
	Types []string
}

// matches reports whether the filter selects ev.
func (f Filter) matches(ev *eventstore.Event) bool {
	if !f.From.IsZero() && ev.RecordedAt.Before(f.From) {
		return false
	}
	if !f.To.IsZero() && !ev.RecordedAt.Before(f.To) {
		return false
	}
	if len(f.Types) == 0 {
		return true
	}
	for _, p := range f.Types {
		if p == ev.Type || (strings.HasSuffix(p, "*") && strings.HasPrefix(ev.Type, strings.TrimSuffix(p, "*"))) {
			return true
		}
	}
	return false
}

// Options tune Write.
type Options struct {
	// Format is Parquet, CSV or NDJSON.
	Format string
	Filter Filter
	// Fields are the flattened data columns (see FieldsOf); nil: none.
	Fields []string
	// BatchSize is how many events are read at a time (default 5000).
	BatchSize int
	// RowGroupSize is the most rows of a Parquet row group (default
	// 50000): what a Parquet export holds in memory.
	RowGroupSize int
	// Progress, when set, is called after every batch with the events
	// read so far, those written, and the position of the last one read
	// and of the head the export stops at (sequence positions).
	Progress func(read, written int64, at, head uint64)
}

// Stats says what an export did.
type Stats struct {
	// Read counts the events read; Written those the filter selected.
	Read, Written int64
	// Last is the cursor of the last event read (zero: none): the After
	// of the next incremental export.
	Last eventstore.Cursor
}

// Base columns, in the order CSV and NDJSON write them.
var baseColumns = []string{"cursor", "position", "stream", "entity_type", "version", "type", "schema_version",
	"recorded_at", "actor", "event_id", "command_id", "correlation_id", "causation_id", "data"}

// FieldPrefix starts the name of each flattened data column:
// data_<field>.
const FieldPrefix = "data_"

// FieldsOf returns the top-level data fields of every type types names
// (a codec registry's decoder of an empty body gives the Go value whose
// JSON field names are read), sorted: the export's flattened columns.
func FieldsOf(types []string, decode func(typ string, data json.RawMessage) (any, error)) ([]string, error) {
	seen := map[string]bool{}
	for _, typ := range types {
		v, err := decode(typ, json.RawMessage(`{}`))
		if err != nil {
			return nil, fmt.Errorf("fields of %s: %w", typ, err)
		}
		jsonFields(reflect.TypeOf(v), seen)
	}
	out := make([]string, 0, len(seen))
	for f := range seen {
		out = append(out, f)
	}
	slices.Sort(out)
	return out, nil
}

// jsonFields adds the JSON names of a struct type's fields to seen.
func jsonFields(t reflect.Type, seen map[string]bool) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case tag == "-":
		case f.Anonymous && tag == "":
			jsonFields(f.Type, seen)
		case !f.IsExported():
		case tag != "":
			seen[tag] = true
		default:
			seen[f.Name] = true
		}
	}
}

// row is one event as the writers see it.
type row struct {
	ev *eventstore.Event
	// fields are the flattened values by column index (nil: absent);
	// present marks which are set.
	fields  [][]byte
	present []bool
	set     []int
}

// flatten fills r's fields from the event's data: a string field's
// value, any other the JSON text.
func (r *row) flatten(index map[string]int) error {
	for _, i := range r.set {
		r.present[i], r.fields[i] = false, nil
	}
	r.set = r.set[:0]
	if len(index) == 0 {
		return nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(r.ev.Data, &obj); err != nil {
		// Data that is not an object has no fields; it stays in data.
		return nil
	}
	for k, v := range obj {
		i, ok := index[k]
		if !ok || bytes.Equal(v, []byte("null")) {
			continue
		}
		if len(v) > 0 && v[0] == '"' {
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return fmt.Errorf("event %s field %s: %w", r.ev.ID, k, err)
			}
			v = []byte(s)
		}
		r.fields[i], r.present[i] = v, true
		r.set = append(r.set, i)
	}
	return nil
}

// entityType is the stream's entity type: the part before its first "-".
func entityType(stream string) string {
	t, _, _ := strings.Cut(stream, "-")
	return t
}

// sink writes rows in one format.
type sink interface {
	write(r *row) error
	close() error
}

// Write exports the events the filter selects, from the log's start (or
// Filter.After) to its head when the export began, to w in o.Format.
// Errors: ErrFormat, and those of reading the log or writing w.
func Write(ctx context.Context, w io.Writer, log Log, o Options) (Stats, error) {
	if o.BatchSize <= 0 {
		o.BatchSize = 5000
	}
	if o.RowGroupSize <= 0 {
		o.RowGroupSize = 50000
	}
	index := make(map[string]int, len(o.Fields))
	for i, f := range o.Fields {
		index[f] = i
	}
	var s sink
	var err error
	switch o.Format {
	case Parquet:
		s, err = newParquetSink(w, o.Fields, o.RowGroupSize)
	case CSV:
		s, err = newCSVSink(w, o.Fields)
	case NDJSON:
		s = newNDJSONSink(w, o.Fields)
	default:
		return Stats{}, ErrFormat
	}
	if err != nil {
		return Stats{}, err
	}
	head, err := log.Head(ctx)
	if err != nil {
		return Stats{}, fmt.Errorf("export: log head: %w", err)
	}
	st := Stats{Last: o.Filter.After}
	r := &row{fields: make([][]byte, len(o.Fields)), present: make([]bool, len(o.Fields))}
	for st.Last.Compare(head) < 0 {
		batch, err := log.ReadAll(ctx, st.Last, o.BatchSize)
		if err != nil {
			return st, fmt.Errorf("export: read the log after %s: %w", st.Last, err)
		}
		if len(batch) == 0 {
			break
		}
		for i := range batch {
			ev := &batch[i]
			if ev.Cursor.After(head) {
				break
			}
			st.Read++
			st.Last = ev.Cursor
			if !o.Filter.matches(ev) {
				continue
			}
			r.ev = ev
			if err := r.flatten(index); err != nil {
				return st, err
			}
			if err := s.write(r); err != nil {
				return st, fmt.Errorf("export: write: %w", err)
			}
			st.Written++
		}
		if o.Progress != nil {
			o.Progress(st.Read, st.Written, st.Last.Minor, head.Minor)
		}
		if err := ctx.Err(); err != nil {
			return st, err
		}
	}
	if err := s.close(); err != nil {
		return st, fmt.Errorf("export: finish: %w", err)
	}
	return st, nil
}

// csvSink writes a header and one record per event.
type csvSink struct {
	bw  *bufio.Writer
	cw  *csv.Writer
	rec []string
}

func newCSVSink(w io.Writer, fields []string) (*csvSink, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	s := &csvSink{bw: bw, cw: csv.NewWriter(bw), rec: make([]string, len(baseColumns)+len(fields))}
	header := append([]string{}, baseColumns...)
	for _, f := range fields {
		header = append(header, FieldPrefix+f)
	}
	return s, s.cw.Write(header)
}

func (s *csvSink) write(r *row) error {
	ev := r.ev
	rec := s.rec
	rec[0], rec[1], rec[2], rec[3] = ev.Cursor.String(), strconv.FormatUint(ev.Cursor.Minor, 10), ev.StreamID, entityType(ev.StreamID)
	rec[4], rec[5], rec[6] = strconv.FormatInt(ev.Version, 10), ev.Type, strconv.Itoa(ev.SchemaVersion)
	rec[7], rec[8], rec[9] = ev.RecordedAt.UTC().Format(time.RFC3339Nano), ev.Metadata.Actor, ev.ID.String()
	rec[10], rec[11], rec[12], rec[13] = ev.Metadata.CommandID, ev.Metadata.CorrelationID, ev.Metadata.CausationID, string(ev.Data)
	for i := range r.fields {
		rec[len(baseColumns)+i] = ""
		if r.present[i] {
			rec[len(baseColumns)+i] = string(r.fields[i])
		}
	}
	return s.cw.Write(rec)
}

func (s *csvSink) close() error {
	s.cw.Flush()
	if err := s.cw.Error(); err != nil {
		return err
	}
	return s.bw.Flush()
}

// ndjsonSink writes one JSON object per line: the base columns, data as
// an object, and the flattened fields the event has.
type ndjsonSink struct {
	bw     *bufio.Writer
	fields [][]byte // `,"data_<f>":` per field
	buf    []byte
}

func newNDJSONSink(w io.Writer, fields []string) *ndjsonSink {
	s := &ndjsonSink{bw: bufio.NewWriterSize(w, 64<<10)}
	for _, f := range fields {
		k, _ := json.Marshal(FieldPrefix + f)
		s.fields = append(s.fields, append(append([]byte(","), k...), ':'))
	}
	return s
}

func (s *ndjsonSink) write(r *row) error {
	ev := r.ev
	b := s.buf[:0]
	b = append(b, `{"cursor":"`...)
	b = append(b, ev.Cursor.String()...)
	b = append(b, `","position":`...)
	b = strconv.AppendUint(b, ev.Cursor.Minor, 10)
	b = appendKV(b, "stream", ev.StreamID)
	b = appendKV(b, "entity_type", entityType(ev.StreamID))
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, ev.Version, 10)
	b = appendKV(b, "type", ev.Type)
	b = append(b, `,"schema_version":`...)
	b = strconv.AppendInt(b, int64(ev.SchemaVersion), 10)
	b = appendKV(b, "recorded_at", ev.RecordedAt.UTC().Format(time.RFC3339Nano))
	b = appendKV(b, "actor", ev.Metadata.Actor)
	b = appendKV(b, "event_id", ev.ID.String())
	b = appendKV(b, "command_id", ev.Metadata.CommandID)
	b = appendKV(b, "correlation_id", ev.Metadata.CorrelationID)
	b = appendKV(b, "causation_id", ev.Metadata.CausationID)
	b = append(b, `,"data":`...)
	if json.Valid(ev.Data) {
		b = append(b, ev.Data...)
	} else {
		b = appendString(b, string(ev.Data))
	}
	for i, f := range r.fields {
		if r.present[i] {
			b = append(b, s.fields[i]...)
			b = appendString(b, string(f))
		}
	}
	b = append(b, '}', '\n')
	s.buf = b
	_, err := s.bw.Write(b)
	return err
}

func (s *ndjsonSink) close() error { return s.bw.Flush() }

func appendKV(b []byte, k, v string) []byte {
	b = append(b, ',', '"')
	b = append(b, k...)
	b = append(b, '"', ':')
	return appendString(b, v)
}

// appendString appends v as a JSON string.
func appendString(b []byte, v string) []byte {
	safe := true
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 || c == '<' || c == '>' || c == '&' {
			safe = false
			break
		}
	}
	if safe {
		b = append(b, '"')
		b = append(b, v...)
		return append(b, '"')
	}
	q, _ := json.Marshal(v)
	return append(b, q...)
}

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
// value, any other the JSON text. The data's top level is scanned, not
// decoded: only the fields the index names are kept.
func (r *row) flatten(index map[string]int) error {
	for _, i := range r.set {
		r.present[i], r.fields[i] = false, nil
	}
	r.set = r.set[:0]
	if len(index) == 0 {
		return nil
	}
	err := topLevel(r.ev.Data, func(key string, value []byte) error {
		i, ok := index[key]
		if !ok || string(value) == "null" {
			return nil
		}
		if value[0] == '"' {
			v, err := unquote(value)
			if err != nil {
				return fmt.Errorf("event %s field %s: %w", r.ev.ID, key, err)
			}
			value = v
		}
		if !r.present[i] {
			r.set = append(r.set, i)
		}
		r.fields[i], r.present[i] = value, true
		return nil
	})
	if errors.Is(err, errNotObject) {
		// Data that is not an object has no fields; it stays in data.
		return nil
	}
	return err
}

var errNotObject = errors.New("not a JSON object")

// topLevel calls f with each key of a JSON object and its value's text.
// It checks only what it needs to find the values' ends; the data comes
// from the event store, which holds valid JSON.
func topLevel(data []byte, f func(key string, value []byte) error) error {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return errNotObject
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return nil
	}
	for i < len(data) {
		if data[i] != '"' {
			return errNotObject
		}
		end := stringEnd(data, i)
		if end < 0 {
			return errNotObject
		}
		rawKey := data[i:end]
		key := string(rawKey[1 : len(rawKey)-1])
		if bytes.IndexByte(rawKey, '\\') >= 0 {
			k, err := unquote(rawKey)
			if err != nil {
				return errNotObject
			}
			key = string(k)
		}
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return errNotObject
		}
		i = skipSpace(data, i+1)
		vend := valueEnd(data, i)
		if vend < 0 || vend == i {
			return errNotObject
		}
		if err := f(key, data[i:vend]); err != nil {
			return err
		}
		i = skipSpace(data, vend)
		if i >= len(data) {
			return errNotObject
		}
		if data[i] == '}' {
			return nil
		}
		if data[i] != ',' {
			return errNotObject
		}
		i = skipSpace(data, i+1)
	}
	return errNotObject
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the string starting at b[i] ('"'),
// or -1.
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// valueEnd returns the index after the JSON value starting at b[i], or -1.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				e := stringEnd(b, j)
				if e < 0 {
					return -1
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	return j
}

// unquote returns a JSON string's value.
func unquote(q []byte) ([]byte, error) {
	if bytes.IndexByte(q, '\\') < 0 {
		return q[1 : len(q)-1], nil
	}
	var s string
	if err := json.Unmarshal(q, &s); err != nil {
		return nil, err
	}
	return []byte(s), nil
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
	batches, stop := readAhead(ctx, log, o.Filter.After, head, o.BatchSize)
	defer stop()
	for b := range batches {
		if b.err != nil {
			return st, fmt.Errorf("export: read the log after %s: %w", st.Last, b.err)
		}
		for i := range b.events {
			ev := &b.events[i]
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
	}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	if err := s.close(); err != nil {
		return st, fmt.Errorf("export: finish: %w", err)
	}
	return st, nil
}

// batch is one read of the log, or the error that ended the reading.
type batch struct {
	events []eventstore.Event
	err    error
}

// readAhead reads the log after `after` up to head in batches of n, one
// batch ahead of the writer (at most three batches are held: the one
// written, the one waiting and the one being read). It stops at head, at
// an empty batch, after an error (sent as the last batch) or when ctx
// ends; stop ends it and waits.
func readAhead(ctx context.Context, log Log, after, head eventstore.Cursor, n int) (<-chan batch, func()) {
	ctx, cancel := context.WithCancel(ctx)
	out := make(chan batch, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(out)
		for after.Compare(head) < 0 {
			events, err := log.ReadAll(ctx, after, n)
			if err == nil && len(events) == 0 {
				return
			}
			select {
			case out <- batch{events: events, err: err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
			after = events[len(events)-1].Cursor
		}
	}()
	return out, func() {
		cancel()
		<-done
	}
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

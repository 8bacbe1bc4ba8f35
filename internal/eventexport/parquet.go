package eventexport

import (
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/snappy"
)

// parquetSink writes rows of a schema of the base columns and one
// optional string column per flattened field.
type parquetSink struct {
	w *parquet.Writer
	// col is each base column's leaf index; field each flattened one's.
	col   map[string]int
	field []int
	rows  []parquet.Row
	n     int
}

// parquetBatch is how many rows are handed to the writer at a time.
const parquetBatch = 512

func newParquetSink(w io.Writer, fields []string, rowGroup int) (*parquetSink, error) {
	g := parquet.Group{
		"cursor":         parquet.String(),
		"position":       parquet.Int(64),
		"stream":         parquet.String(),
		"entity_type":    parquet.String(),
		"version":        parquet.Int(64),
		"type":           parquet.String(),
		"schema_version": parquet.Int(32),
		"recorded_at":    parquet.TimestampAdjusted(parquet.Microsecond, true),
		"actor":          parquet.String(),
		"event_id":       parquet.String(),
		"command_id":     parquet.String(),
		"correlation_id": parquet.String(),
		"causation_id":   parquet.String(),
		"data":           parquet.JSON(),
	}
	for _, f := range fields {
		name := FieldPrefix + f
		if _, dup := g[name]; dup {
			return nil, fmt.Errorf("parquet: column %s twice", name)
		}
		g[name] = parquet.Optional(parquet.String())
	}
	schema := parquet.NewSchema("event", g)
	s := &parquetSink{col: map[string]int{}, field: make([]int, len(fields))}
	leaf := map[string]int{}
	for i, path := range schema.Columns() {
		leaf[path[0]] = i
	}
	for _, c := range baseColumns {
		s.col[c] = leaf[c]
	}
	for i, f := range fields {
		s.field[i] = leaf[FieldPrefix+f]
	}
	s.w = parquet.NewWriter(w, schema, parquet.Compression(&snappy.Codec{}), parquet.MaxRowsPerRowGroup(int64(rowGroup)),
		parquet.CreatedBy("crm", "", ""))
	s.rows = make([]parquet.Row, parquetBatch)
	for i := range s.rows {
		s.rows[i] = make(parquet.Row, len(leaf))
	}
	return s, nil
}

func (s *parquetSink) write(r *row) error {
	ev := r.ev
	out := s.rows[s.n]
	str := func(col, v string) {
		i := s.col[col]
		out[i] = parquet.ByteArrayValue([]byte(v)).Level(0, 0, i)
	}
	str("cursor", ev.Cursor.String())
	i := s.col["position"]
	out[i] = parquet.Int64Value(int64(ev.Cursor.Minor)).Level(0, 0, i)
	str("stream", ev.StreamID)
	str("entity_type", entityType(ev.StreamID))
	i = s.col["version"]
	out[i] = parquet.Int64Value(ev.Version).Level(0, 0, i)
	str("type", ev.Type)
	i = s.col["schema_version"]
	out[i] = parquet.Int32Value(int32(ev.SchemaVersion)).Level(0, 0, i)
	i = s.col["recorded_at"]
	out[i] = parquet.Int64Value(ev.RecordedAt.UnixMicro()).Level(0, 0, i)
	str("actor", ev.Metadata.Actor)
	str("event_id", ev.ID.String())
	str("command_id", ev.Metadata.CommandID)
	str("correlation_id", ev.Metadata.CorrelationID)
	str("causation_id", ev.Metadata.CausationID)
	i = s.col["data"]
	out[i] = parquet.ByteArrayValue(ev.Data).Level(0, 0, i)
	for f, col := range s.field {
		if r.present[f] {
			out[col] = parquet.ByteArrayValue(r.fields[f]).Level(0, 1, col)
		} else {
			out[col] = parquet.NullValue().Level(0, 0, col)
		}
	}
	s.n++
	if s.n == len(s.rows) {
		return s.flush()
	}
	return nil
}

// flush hands the buffered rows to the writer, which copies them.
func (s *parquetSink) flush() error {
	if s.n == 0 {
		return nil
	}
	_, err := s.w.WriteRows(s.rows[:s.n])
	s.n = 0
	return err
}

func (s *parquetSink) close() error {
	if err := s.flush(); err != nil {
		return err
	}
	return s.w.Close()
}

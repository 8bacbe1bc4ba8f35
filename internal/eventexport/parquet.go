package eventexport

import (
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/snappy"
)

// parquetSink writes rows of a schema of the base columns and one
// optional string column per flattened field, column by column: the
// values of a batch of rows are gathered per column and handed to each
// column's writer, which spares the writer splitting rows of a hundred
// columns, most of them null, into columns again.
type parquetSink struct {
	w *parquet.GenericWriter[any]
	// col is each base column's leaf index; field each flattened one's.
	col   map[string]int
	field []int
	// cols are the values of the buffered rows, per leaf column; nulls
	// each column's null value.
	cols  [][]parquet.Value
	nulls []parquet.Value
	n     int
	// inGroup counts the rows of the open row group; rowGroup bounds it.
	inGroup, rowGroup int
	// arena holds the bytes of the buffered rows' string values; the
	// writer copies them, so it is reused after every flush.
	arena []byte
}

// parquetBatch is how many rows are buffered before they are handed to
// the column writers.
const parquetBatch = 1024

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
	s := &parquetSink{col: map[string]int{}, field: make([]int, len(fields)), rowGroup: rowGroup, arena: make([]byte, 0, 256<<10)}
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
	s.w = parquet.NewGenericWriter[any](w, schema, parquet.Compression(&snappy.Codec{}), parquet.CreatedBy("crm", "", ""))
	s.cols = make([][]parquet.Value, len(leaf))
	s.nulls = make([]parquet.Value, len(leaf))
	for i := range s.cols {
		s.cols[i] = make([]parquet.Value, 0, parquetBatch)
		s.nulls[i] = parquet.NullValue().Level(0, 0, i)
	}
	return s, nil
}

func (s *parquetSink) write(r *row) error {
	ev := r.ev
	put := func(col int, v parquet.Value) { s.cols[col] = append(s.cols[col], v.Level(0, 0, col)) }
	str := func(col, v string) {
		start := len(s.arena)
		s.arena = append(s.arena, v...)
		put(s.col[col], parquet.ByteArrayValue(s.arena[start:len(s.arena):len(s.arena)]))
	}
	str("cursor", ev.Cursor.String())
	put(s.col["position"], parquet.Int64Value(int64(ev.Cursor.Minor)))
	str("stream", ev.StreamID)
	str("entity_type", entityType(ev.StreamID))
	put(s.col["version"], parquet.Int64Value(ev.Version))
	str("type", ev.Type)
	put(s.col["schema_version"], parquet.Int32Value(int32(ev.SchemaVersion)))
	put(s.col["recorded_at"], parquet.Int64Value(ev.RecordedAt.UnixMicro()))
	str("actor", ev.Metadata.Actor)
	str("event_id", ev.ID.String())
	str("command_id", ev.Metadata.CommandID)
	str("correlation_id", ev.Metadata.CorrelationID)
	str("causation_id", ev.Metadata.CausationID)
	put(s.col["data"], parquet.ByteArrayValue(ev.Data))
	for f, col := range s.field {
		if r.present[f] {
			s.cols[col] = append(s.cols[col], parquet.ByteArrayValue(r.fields[f]).Level(0, 1, col))
		} else {
			s.cols[col] = append(s.cols[col], s.nulls[col])
		}
	}
	s.n++
	if s.n == parquetBatch {
		return s.flush()
	}
	return nil
}

// flush hands the buffered rows to the column writers, which copy them,
// and ends the row group once it holds rowGroup rows.
func (s *parquetSink) flush() error {
	if s.n == 0 {
		return nil
	}
	writers := s.w.ColumnWriters()
	for i, values := range s.cols {
		if _, err := writers[i].WriteRowValues(values); err != nil {
			return err
		}
		s.cols[i] = values[:0]
	}
	s.inGroup += s.n
	s.n = 0
	s.arena = s.arena[:0]
	if s.inGroup >= s.rowGroup {
		s.inGroup = 0
		return s.w.Flush()
	}
	return nil
}

func (s *parquetSink) close() error {
	if err := s.flush(); err != nil {
		return err
	}
	return s.w.Close()
}

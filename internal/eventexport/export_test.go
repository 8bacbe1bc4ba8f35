package eventexport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/parquet-go/parquet-go"

	"crm/eventstore"
	"crm/internal/eventexport"
)

// memoryLog is a log held in memory, read in order like the store's.
type memoryLog []eventstore.Event

func (l memoryLog) ReadAll(_ context.Context, after eventstore.Cursor, limit int) ([]eventstore.Event, error) {
	for i, ev := range l {
		if ev.Cursor.After(after) {
			return l[i:min(i+limit, len(l))], nil
		}
	}
	return nil, nil
}

func (l memoryLog) Head(context.Context) (eventstore.Cursor, error) {
	if len(l) == 0 {
		return eventstore.Cursor{}, nil
	}
	return l[len(l)-1].Cursor, nil
}

// leadLog makes n events of captured and qualified leads.
func leadLog(n int) memoryLog {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	log := make(memoryLog, n)
	for i := range log {
		typ, data := "lead.captured.v1", fmt.Sprintf(`{"lead_id": "l%d", "name": "Lead %d", "email": "lead%d@example.com", "source": "web", "score": %d}`, i/2, i/2, i/2, i%7)
		if i%2 == 1 {
			typ, data = "lead.qualified.v1", fmt.Sprintf(`{"lead_id": "l%d", "note": "keen \"buyer\""}`, i/2)
		}
		log[i] = eventstore.Event{ID: uuid.New(), StreamID: fmt.Sprintf("lead-l%d", i/2), Version: int64(i%2 + 1),
			Cursor: eventstore.Cursor{Major: 1, Minor: uint64(i + 1)}, Type: typ, SchemaVersion: 1, Data: json.RawMessage(data),
			Metadata: eventstore.Metadata{Actor: "key:1", CommandID: "c", CorrelationID: "k", CausationID: "c"}, RecordedAt: base.Add(time.Duration(i) * time.Second)}
	}
	return log
}

// TestParquetRowGroups writes a log over several row groups and reads it
// back: every row, in order, with its flattened fields, and the filter's
// time range and types applied.
func TestParquetRowGroups(t *testing.T) {
	log := leadLog(5000)
	var buf bytes.Buffer
	fields := []string{"email", "lead_id", "note", "score", "source"}
	st, err := eventexport.Write(context.Background(), &buf, log, eventexport.Options{Format: eventexport.Parquet, Fields: fields,
		BatchSize: 333, RowGroupSize: 1000})
	if err != nil || st.Read != 5000 || st.Written != 5000 || st.Last != log[4999].Cursor {
		t.Fatalf("write: %+v %v", st, err)
	}
	f, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.RowGroups()) < 4 {
		t.Errorf("%d row groups, want at least 4 of at most ~1000 rows", len(f.RowGroups()))
	}
	type row struct {
		Position   int64     `parquet:"position"`
		Type       string    `parquet:"type"`
		RecordedAt time.Time `parquet:"recorded_at,timestamp(microsecond)"`
		Email      *string   `parquet:"data_email,optional"`
		Note       *string   `parquet:"data_note,optional"`
		Score      *string   `parquet:"data_score,optional"`
		Data       string    `parquet:"data"`
	}
	rows, err := parquet.Read[row](bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil || len(rows) != 5000 {
		t.Fatalf("read: %d rows, %v", len(rows), err)
	}
	for i, r := range rows {
		ev := log[i]
		if r.Position != int64(i+1) || r.Type != ev.Type || !r.RecordedAt.Equal(ev.RecordedAt) || r.Data != string(ev.Data) {
			t.Fatalf("row %d = %+v, want %s at %v", i, r, ev.Type, ev.RecordedAt)
		}
		if i%2 == 0 && (r.Email == nil || *r.Email != fmt.Sprintf("lead%d@example.com", i/2) || r.Score == nil || *r.Score != fmt.Sprint(i%7) || r.Note != nil) {
			t.Fatalf("row %d fields: %v %v %v", i, r.Email, r.Score, r.Note)
		}
		if i%2 == 1 && (r.Note == nil || *r.Note != `keen "buyer"` || r.Email != nil) {
			t.Fatalf("row %d fields: %v %v", i, r.Note, r.Email)
		}
	}

	buf.Reset()
	st, err = eventexport.Write(context.Background(), &buf, log, eventexport.Options{Format: eventexport.NDJSON, Fields: fields,
		Filter: eventexport.Filter{From: log[100].RecordedAt, To: log[200].RecordedAt, Types: []string{"lead.qualified.*"}}})
	if err != nil || st.Written != 50 || bytes.Count(buf.Bytes(), []byte("\n")) != 50 {
		t.Fatalf("filtered export: %+v %v, %d lines", st, err, bytes.Count(buf.Bytes(), []byte("\n")))
	}
	if _, err := eventexport.Write(context.Background(), &buf, log, eventexport.Options{Format: "xlsx"}); err != eventexport.ErrFormat {
		t.Errorf("unknown format: %v", err)
	}
}

// BenchmarkEncode writes 100,000 events held in memory in each format:
// the export's own cost, without reading the log, with a column for
// every data field of the domain's event types.
func BenchmarkEncode(b *testing.B) {
	log := leadLog(100000)
	codec, err := eventstore.DomainRegistry()
	if err != nil {
		b.Fatal(err)
	}
	fields, err := eventexport.FieldsOf(codec.Types(), codec.Decode)
	if err != nil {
		b.Fatal(err)
	}
	for _, format := range eventexport.Formats {
		b.Run(format, func(b *testing.B) {
			var took time.Duration
			var events int64
			for b.Loop() {
				start := time.Now()
				st, err := eventexport.Write(context.Background(), &countingWriter{}, log, eventexport.Options{Format: format, Fields: fields})
				if err != nil {
					b.Fatal(err)
				}
				took += time.Since(start)
				events += st.Written
			}
			b.ReportMetric(float64(events)/took.Seconds(), "events/s")
		})
	}
}

package esdb

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"crm/eventstore"
)

func TestExpectedRevision(t *testing.T) {
	cases := []struct {
		in   eventstore.ExpectedVersion
		want esdb.ExpectedRevision
	}{
		{eventstore.NoStream, esdb.NoStream{}},
		{eventstore.StreamExists, esdb.StreamExists{}},
		{eventstore.Any, esdb.Any{}},
		{eventstore.Exact(1), esdb.Revision(0)},
		{eventstore.Exact(2), esdb.Revision(1)},
		{eventstore.Exact(1 << 40), esdb.Revision(1<<40 - 1)},
	}
	for _, c := range cases {
		got, err := ExpectedRevision(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ExpectedRevision(%v) = %#v, %v; want %#v", c.in, got, err, c.want)
		}
	}
	if _, err := ExpectedRevision(eventstore.ExpectedVersion(-3)); !errors.Is(err, eventstore.ErrInvalidAppend) {
		t.Errorf("invalid expectation: got %v, want ErrInvalidAppend", err)
	}
	if Version(0) != 1 || Version(41) != 42 {
		t.Errorf("Version(0)=%d Version(41)=%d, want 1 and 42", Version(0), Version(41))
	}
}

func TestCursorPositionRoundTrip(t *testing.T) {
	if _, ok := PositionOf(eventstore.Cursor{}).(esdb.Start); !ok {
		t.Errorf("zero cursor maps to %#v, want esdb.Start", PositionOf(eventstore.Cursor{}))
	}
	positions := []esdb.Position{{Commit: 1, Prepare: 1}, {Commit: 1234, Prepare: 1200}, {Commit: 1 << 62, Prepare: 1<<62 - 7}, {Commit: ^uint64(0), Prepare: ^uint64(0)}}
	var prev eventstore.Cursor
	for i, p := range positions {
		c := CursorOf(p)
		s := c.String()
		if len(s) != 32 {
			t.Fatalf("cursor %v encodes as %q, want 32 hex digits", c, s)
		}
		back, err := eventstore.ParseCursor(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := PositionOf(back); got != p {
			t.Errorf("position %+v came back as %+v", p, got)
		}
		if i > 0 && (!c.After(prev) || s <= prev.String()) {
			t.Errorf("position %+v does not sort after the previous one", p)
		}
		prev = c
	}
	if want := fmt.Sprintf("%016x%016x", 1234, 1200); CursorOf(esdb.Position{Commit: 1234, Prepare: 1200}).String() != want {
		t.Errorf("cursor encoding is not commit then prepare, want %s", want)
	}
}

func TestEventRoundTrip(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.FixedZone("x", 3600))
	in := eventstore.EventData{ID: uuid.Must(uuid.NewV7()), Type: "lead.qualified.v2", SchemaVersion: 2,
		Data:     json.RawMessage(`{"note":"ok","nested":{"a":[1,2]}}`),
		Metadata: eventstore.Metadata{Actor: "user:ada", CommandID: "cmd-1", CorrelationID: "corr-1", CausationID: "cause-1"}}
	d, err := encodeEvent(in, at)
	if err != nil {
		t.Fatal(err)
	}
	if d.EventID != in.ID || d.EventType != in.Type || d.ContentType != esdb.ContentTypeJson || string(d.Data) != string(in.Data) {
		t.Fatalf("encoded %+v", d)
	}
	var meta map[string]any
	if err := json.Unmarshal(d.Metadata, &meta); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"actor": "user:ada", "command_id": "cmd-1", "correlation_id": "corr-1",
		"causation_id": "cause-1", "schema_version": 2.0, "recorded_at": "2026-03-04T04:06:07.123456Z"} {
		if meta[k] != want {
			t.Errorf("metadata %s = %v, want %v", k, meta[k], want)
		}
	}
	rec := &esdb.RecordedEvent{EventID: d.EventID, EventType: d.EventType, StreamID: "ns_lead-1", EventNumber: 4,
		Position: esdb.Position{Commit: 900, Prepare: 880}, CreatedDate: time.Now(), Data: d.Data, UserMetadata: d.Metadata}
	got, ok, err := decodeEvent("ns_", rec)
	if err != nil || !ok {
		t.Fatalf("decode: ok=%v err=%v", ok, err)
	}
	want := eventstore.Event{ID: in.ID, StreamID: "lead-1", Version: 5, Cursor: eventstore.Cursor{Major: 900, Minor: 880},
		Type: in.Type, SchemaVersion: 2, Data: in.Data, Metadata: in.Metadata, RecordedAt: at.UTC()}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded\n %+v\nwant\n %+v", got, want)
	}
	// Events written by other tools: no metadata means schema version 1
	// and the server's time.
	created := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	got, ok, err = decodeEvent("", &esdb.RecordedEvent{EventID: in.ID, EventType: "x.v1", StreamID: "a-1", CreatedDate: created, Data: []byte(`{}`)})
	if err != nil || !ok || got.SchemaVersion != 1 || !got.RecordedAt.Equal(created) {
		t.Errorf("foreign event: %+v ok=%v err=%v", got, ok, err)
	}
	if _, _, err := decodeEvent("", &esdb.RecordedEvent{StreamID: "a-1", EventType: "x.v1", UserMetadata: []byte("not json")}); err == nil {
		t.Error("malformed metadata decoded without error")
	}
}

func TestVisibility(t *testing.T) {
	cases := []struct {
		ns, stream, typ string
		want            bool
	}{
		{"", "lead-1", "lead.captured.v1", true},
		{"", "$stats-127.0.0.1:2113", "$statsCollected", false},
		{"", "$$lead-1", "$metadata", false},
		{"", "lead-1", "$>", false},
		{"", "crmtx-0a", txIntentType, false},
		{"t1_", "t1_lead-1", "lead.captured.v1", true},
		{"t1_", "t2_lead-1", "lead.captured.v1", false},
		{"t1_", "lead-1", "lead.captured.v1", false},
		{"t1_", "t1_crmtx-0a", txCommittedType, false},
	}
	for _, c := range cases {
		if got := visible(c.ns, c.stream, c.typ); got != c.want {
			t.Errorf("visible(%q, %q, %q) = %v, want %v", c.ns, c.stream, c.typ, got, c.want)
		}
	}
	if StreamName("t1_", "lead-1") != "t1_lead-1" || StreamName("", "lead-1") != "lead-1" {
		t.Error("stream names are not namespace + id")
	}
	for _, id := range []string{"$all", "$ce-lead", "crmtx-1"} {
		if err := checkStreamID(id); !errors.Is(err, eventstore.ErrInvalidAppend) {
			t.Errorf("stream id %q: got %v, want ErrInvalidAppend", id, err)
		}
	}
	if err := checkStreamID("lead-1"); err != nil {
		t.Errorf("lead-1 refused: %v", err)
	}
}

// esdbError builds the client's error with a code, as the client does when
// a server answers; the type has no exported constructor.
func esdbError(code esdb.ErrorCode, cause error) *esdb.Error {
	e := &esdb.Error{}
	v := reflect.ValueOf(e).Elem()
	reflect.NewAt(v.FieldByName("code").Type(), unsafe.Pointer(v.FieldByName("code").UnsafeAddr())).Elem().Set(reflect.ValueOf(code))
	reflect.NewAt(v.FieldByName("err").Type(), unsafe.Pointer(v.FieldByName("err").UnsafeAddr())).Elem().Set(reflect.ValueOf(&cause).Elem())
	return e
}

func TestErrorMapping(t *testing.T) {
	wrong := fmt.Errorf("append to lead-1: %w", esdbError(esdb.ErrorCodeWrongExpectedVersion, errors.New("expecting '0' but got '2'")))
	if !isCode(wrong, esdb.ErrorCodeWrongExpectedVersion) {
		t.Error("a wrapped wrong-expected-version error is not recognised")
	}
	if isCode(errors.New("plain"), esdb.ErrorCodeWrongExpectedVersion) {
		t.Error("a plain error is taken for an EventStoreDB error")
	}
	// esdb.FromError's boolean means "no error": the mapping must not use it.
	if _, noError := esdb.FromError(wrong); noError {
		t.Fatal("FromError reports no error for an error")
	}
	notFound := esdbError(esdb.ErrorCodeResourceNotFound, errors.New("stream 'lead-1' is not found"))
	if err := readError("lead-1", notFound); !errors.Is(err, eventstore.ErrStreamNotFound) || !strings.Contains(err.Error(), "lead-1") {
		t.Errorf("not found maps to %v", err)
	}
	if err := readError("lead-1", esdbError(esdb.ErrorCodeStreamDeleted, nil)); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Errorf("deleted stream maps to %v", err)
	}
	unavailable := esdbError(esdb.ErrorUnavailable, errors.New("connection refused"))
	if err := readError("lead-1", unavailable); errors.Is(err, eventstore.ErrStreamNotFound) || !isUnavailable(err) {
		t.Errorf("unavailable maps to %v", err)
	}
	for _, c := range []esdb.ErrorCode{esdb.ErrorCodeDeadlineExceeded, esdb.ErrorCodeConnectionClosed} {
		if !isUnavailable(esdbError(c, nil)) {
			t.Errorf("code %d is not taken as unavailable", c)
		}
	}
	if isUnavailable(wrong) {
		t.Error("a conflict is taken as unavailable")
	}
}

func TestClosedClientError(t *testing.T) {
	cfg, err := ParseURL("esdb://127.0.0.1:1?tls=false")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = func(esdb.LogLevel, string, ...any) {}
	client, err := esdb.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := New(client, Options{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	if _, err := s.Append(t.Context(), eventstore.StreamEvents{StreamID: "a-1", Events: []eventstore.EventData{{Type: "x.v1", SchemaVersion: 1, Data: []byte(`{}`), Metadata: eventstore.Metadata{Actor: "a"}}}}); !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("append after close: %v", err)
	}
	// The client's own closed-connection error is an *esdb.Error with its code.
	_, err = client.AppendToStream(t.Context(), "a-1", esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}})
	if !isCode(err, esdb.ErrorCodeConnectionClosed) || !isUnavailable(err) {
		t.Errorf("closed client answered %v", err)
	}
}

func TestParseURL(t *testing.T) {
	for _, ok := range []string{"esdb://127.0.0.1:2113?tls=false", "esdb://admin:changeit@node1:2113,node2:2113?tls=true", "esdb+discover://cluster.example:2113"} {
		if _, err := ParseURL(ok); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for raw, want := range map[string]string{
		"esdb://":                     "no host",
		"postgres://localhost/crm":    "scheme",
		"http://127.0.0.1:2113":       "scheme",
		"esdb://:2113":                "no host",
		"esdb://h:2113?tls=maybe":     "invalid",
		"esdb://h:2113?tlsverifycert": "invalid",
	} {
		if _, err := ParseURL(raw); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseURL(%q) = %v, want an error mentioning %q", raw, err, want)
		}
	}
	if got := Redact("esdb://admin:secret@h:2113?tls=false"); strings.Contains(got, "secret") {
		t.Errorf("redacted URL %q shows the password", got)
	}
}

func TestTxIDIsDeterministic(t *testing.T) {
	a, b := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	mk := func(x, y uuid.UUID) []eventstore.StreamEvents {
		return []eventstore.StreamEvents{{StreamID: "lead-1", Events: []eventstore.EventData{{ID: x}}}, {StreamID: "account-1", Events: []eventstore.EventData{{ID: y}}}}
	}
	first, retry := mk(a, b), mk(a, b)
	if txID(first) != txID(retry) {
		t.Error("the same append maps to two transaction ids")
	}
	if txID(mk(a, b)) == txID(mk(b, a)) {
		t.Error("different appends map to one transaction id")
	}
}

func TestCollectAfter(t *testing.T) {
	at := func(c uint64) eventstore.Event {
		return eventstore.Event{Cursor: eventstore.Cursor{Major: c, Minor: c}}
	}
	seen := eventstore.Cursor{Major: 5, Minor: 5}
	// The chunk starts with the record at the position read from.
	out, last := collectAfter(nil, []eventstore.Event{at(5), at(7), at(9), at(11)}, seen, 10)
	if len(out) != 3 || out[0].Cursor.Major != 7 || last.Major != 11 {
		t.Fatalf("first chunk: %v, last %v", out, last)
	}
	out, last = collectAfter(out, []eventstore.Event{at(11), at(13)}, last, 4)
	if len(out) != 4 || out[3].Cursor.Major != 13 || last.Major != 13 {
		t.Fatalf("second chunk: %v, last %v", out, last)
	}
	if out, _ := collectAfter(nil, []eventstore.Event{at(1), at(2), at(3)}, eventstore.Cursor{}, 2); len(out) != 2 {
		t.Errorf("limit not kept: %d events", len(out))
	}
}

package eventstore_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"crm/eventstore"
)

type noteAddedV2 struct {
	Text   string `json:"text"`
	Author string `json:"author"`
}

type otherEvent struct {
	N int `json:"n"`
}

func newRegistry(t *testing.T) *eventstore.Registry {
	t.Helper()
	r := eventstore.NewRegistry()
	if err := r.Register("note.added", 2, noteAddedV2{}); err != nil {
		t.Fatal(err)
	}
	err := r.AddUpcaster("note.added", 1, func(d json.RawMessage) (json.RawMessage, error) {
		var v1 struct {
			Body string `json:"body"`
		}
		if err := json.Unmarshal(d, &v1); err != nil {
			return nil, err
		}
		return json.Marshal(noteAddedV2{Text: v1.Body, Author: "unknown"})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Register("other.happened", 1, otherEvent{}); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRegistryRoundTrip(t *testing.T) {
	r := newRegistry(t)
	enc, err := r.Encode(noteAddedV2{Text: "hi", Author: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	if enc.Type != "note.added.v2" || enc.SchemaVersion != 2 {
		t.Fatalf("encoded as %s v%d", enc.Type, enc.SchemaVersion)
	}
	v, err := r.Decode(enc.Type, enc.Data)
	if err != nil {
		t.Fatal(err)
	}
	if got := v.(noteAddedV2); got.Text != "hi" || got.Author != "ann" {
		t.Fatalf("decoded %+v", got)
	}
	// A pointer encodes like the value.
	enc2, err := r.Encode(&otherEvent{N: 3})
	if err != nil || enc2.Type != "other.happened.v1" || string(enc2.Data) != `{"n":3}` {
		t.Fatalf("pointer encode: %+v %v", enc2, err)
	}
}

func TestRegistryUpcastsOldVersions(t *testing.T) {
	r := newRegistry(t)
	v, err := r.Decode("note.added.v1", json.RawMessage(`{"body":"old text"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := v.(noteAddedV2); got.Text != "old text" || got.Author != "unknown" {
		t.Fatalf("upcast gave %+v", got)
	}
}

func TestRegistryRefusals(t *testing.T) {
	r := newRegistry(t)
	cases := []struct {
		name string
		run  func() error
	}{
		{"unknown type", func() error { _, err := r.Decode("nope.v1", []byte(`{}`)); return err }},
		{"no suffix", func() error { _, err := r.Decode("note.added", []byte(`{}`)); return err }},
		{"unregistered Go type", func() error { _, err := r.Encode(struct{ X int }{}); return err }},
	}
	for _, c := range cases {
		if err := c.run(); !errors.Is(err, eventstore.ErrUnknownEventType) {
			t.Errorf("%s: got %v, want ErrUnknownEventType", c.name, err)
		}
	}
	// A registered family at a version this binary cannot read is known:
	// readers must stop at it, so it is not reported as unknown.
	if _, err := r.Decode("note.added.v3", []byte(`{}`)); !errors.Is(err, eventstore.ErrUnreadableVersion) || errors.Is(err, eventstore.ErrUnknownEventType) {
		t.Errorf("newer than registered: got %v, want ErrUnreadableVersion", err)
	}
	if err := r.Register("note.added", 3, struct{ Y int }{}); err == nil {
		t.Error("registering a name twice succeeded")
	}
	if err := r.Register("again", 1, otherEvent{}); err == nil {
		t.Error("registering a Go type twice succeeded")
	}
	if err := r.Register("ptr", 1, &otherEvent{}); err == nil {
		t.Error("registering a pointer sample succeeded")
	}
	if err := r.AddUpcaster("note.added", 1, func(d json.RawMessage) (json.RawMessage, error) { return d, nil }); err == nil {
		t.Error("registering an upcaster step twice succeeded")
	}
	// A missing step in the chain is reported, naming the version.
	r2 := eventstore.NewRegistry()
	if err := r2.Register("x.done", 3, otherEvent{}); err != nil {
		t.Fatal(err)
	}
	if _, err := r2.Decode("x.done.v1", []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "x.done.v1") {
		t.Errorf("missing upcaster: %v", err)
	}
	// A failing upcaster's error surfaces.
	r3 := eventstore.NewRegistry()
	_ = r3.Register("y.done", 2, otherEvent{})
	boom := errors.New("boom")
	_ = r3.AddUpcaster("y.done", 1, func(json.RawMessage) (json.RawMessage, error) { return nil, boom })
	if _, err := r3.Decode("y.done.v1", []byte(`{}`)); !errors.Is(err, boom) {
		t.Errorf("failing upcaster: %v", err)
	}
}

func TestCursorEncoding(t *testing.T) {
	cs := []eventstore.Cursor{{}, {Major: 1, Minor: 0}, {Major: 1, Minor: 2}, {Major: 2, Minor: 1}, {Major: 1 << 40, Minor: 7}}
	for i, c := range cs {
		s := c.String()
		back, err := eventstore.ParseCursor(s)
		if err != nil || back != c {
			t.Fatalf("round trip %v -> %q -> %v, %v", c, s, back, err)
		}
		if i > 0 {
			prev := cs[i-1]
			if !c.After(prev) || strings.Compare(s, prev.String()) <= 0 {
				t.Fatalf("%v (%q) should sort after %v (%q)", c, s, prev, prev.String())
			}
		}
	}
	for _, bad := range []string{"xyz", strings.Repeat("g", 32), strings.Repeat("0", 31)} {
		if _, err := eventstore.ParseCursor(bad); !errors.Is(err, eventstore.ErrInvalidCursor) {
			t.Errorf("ParseCursor(%q) = %v", bad, err)
		}
	}
}

func TestExpectedVersionValid(t *testing.T) {
	for _, e := range []eventstore.ExpectedVersion{eventstore.Any, eventstore.NoStream, eventstore.StreamExists, eventstore.Exact(5)} {
		if !e.Valid() {
			t.Errorf("%v should be valid", e)
		}
	}
	if eventstore.ExpectedVersion(-3).Valid() {
		t.Error("-3 should be invalid")
	}
}

func TestCheckAppend(t *testing.T) {
	good := func() []eventstore.StreamEvents {
		return []eventstore.StreamEvents{{StreamID: "s-1", Expected: eventstore.NoStream, Events: []eventstore.EventData{{
			Type: "x.done.v1", SchemaVersion: 1, Data: json.RawMessage(`{"a":1}`), Metadata: eventstore.Metadata{Actor: "t"},
		}}}}
	}
	s := good()
	if err := eventstore.CheckAppend(s); err != nil {
		t.Fatal(err)
	}
	if s[0].Events[0].ID.Version() != 7 {
		t.Errorf("zero id should become a UUIDv7, got %v", s[0].Events[0].ID)
	}
	breakers := map[string]func(s []eventstore.StreamEvents) []eventstore.StreamEvents{
		"no streams":   func([]eventstore.StreamEvents) []eventstore.StreamEvents { return nil },
		"empty id":     func(s []eventstore.StreamEvents) []eventstore.StreamEvents { s[0].StreamID = ""; return s },
		"twice":        func(s []eventstore.StreamEvents) []eventstore.StreamEvents { return append(s, s[0]) },
		"bad expected": func(s []eventstore.StreamEvents) []eventstore.StreamEvents { s[0].Expected = -9; return s },
		"no events":    func(s []eventstore.StreamEvents) []eventstore.StreamEvents { s[0].Events = nil; return s },
		"no type":      func(s []eventstore.StreamEvents) []eventstore.StreamEvents { s[0].Events[0].Type = ""; return s },
		"schema 0": func(s []eventstore.StreamEvents) []eventstore.StreamEvents {
			s[0].Events[0].SchemaVersion = 0
			return s
		},
		"no actor": func(s []eventstore.StreamEvents) []eventstore.StreamEvents {
			s[0].Events[0].Metadata.Actor = ""
			return s
		},
		"array data": func(s []eventstore.StreamEvents) []eventstore.StreamEvents {
			s[0].Events[0].Data = []byte(`[1]`)
			return s
		},
		"broken data": func(s []eventstore.StreamEvents) []eventstore.StreamEvents {
			s[0].Events[0].Data = []byte(`{"a":`)
			return s
		},
	}
	for name, br := range breakers {
		if err := eventstore.CheckAppend(br(good())); !errors.Is(err, eventstore.ErrInvalidAppend) {
			t.Errorf("%s: got %v", name, err)
		}
	}
}

package eventexport

import (
	"encoding/json"
	"testing"

	"crm/eventstore"
)

// TestFlattenMatchesDecoding: the top-level scan finds the same fields
// and values as decoding the object, for nested values, escapes, unicode,
// numbers and white space; what is not an object flattens to nothing.
func TestFlattenMatchesDecoding(t *testing.T) {
	index := map[string]int{"a": 0, "b": 1, "c": 2, "d": 3, "e\"q": 4, "n": 5, "t": 6, "ü": 7}
	for _, data := range []string{
		`{}`,
		`{"a": "x", "b": 1.5e3, "c": {"d": [1, {"e": "}"}], "x": "]"}, "d": null}`,
		`{"a":"say \"hi\"\n","e\"q":"v","n":-0,"t":true,"ü":"naïve ☃"}`,
		` { "b" : [ "a,b" , "c}" ] , "a" : "\u00e9\\" } `,
		`{"unknown": {"a": "nested a is not top level"}, "a": ""}`,
	} {
		r := &row{ev: &eventstore.Event{Data: json.RawMessage(data)}, fields: make([][]byte, len(index)), present: make([]bool, len(index))}
		if err := r.flatten(index); err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		var want map[string]json.RawMessage
		if err := json.Unmarshal([]byte(data), &want); err != nil {
			t.Fatal(err)
		}
		for k, i := range index {
			raw, ok := want[k]
			if !ok || string(raw) == "null" {
				if r.present[i] {
					t.Errorf("%s: %s present as %q, want absent", data, k, r.fields[i])
				}
				continue
			}
			var s string
			wantText := string(compact(t, raw))
			if json.Unmarshal(raw, &s) == nil {
				wantText = s
			}
			got := string(r.fields[i])
			if raw[0] != '"' {
				got = string(compact(t, r.fields[i]))
			}
			if !r.present[i] || got != wantText {
				t.Errorf("%s: %s = %q (present %v), want %q", data, k, got, r.present[i], wantText)
			}
		}
	}
	for _, data := range []string{`[1,2]`, `"a"`, `12`, `{"a":`, ``} {
		r := &row{ev: &eventstore.Event{Data: json.RawMessage(data)}, fields: make([][]byte, 1), present: make([]bool, 1)}
		if err := r.flatten(map[string]int{"a": 0}); err != nil || r.present[0] {
			t.Errorf("%q: %v, present %v; want no fields", data, err, r.present[0])
		}
	}
}

func compact(t *testing.T, b []byte) []byte {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	out, _ := json.Marshal(v)
	return out
}

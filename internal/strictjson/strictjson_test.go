package strictjson

import (
	"errors"
	"testing"
)

type inner struct {
	Name string `json:"name"`
}

type embedded struct {
	Region string `json:"region"`
}

type target struct {
	embedded
	Name     string            `json:"name"`
	Owners   []string          `json:"owners"`
	Inner    *inner            `json:"inner"`
	Items    []inner           `json:"items"`
	Handlers map[string]string `json:"handlers"`
	Count    int               `json:"count"`
}

func TestDecodeRefusesNamingTheField(t *testing.T) {
	for _, c := range []struct{ body, field string }{
		{`{"NAME":"a"}`, "NAME"},
		{`{"Name":"a"}`, "Name"},
		{`{"inner":{"NAME":"a"}}`, "inner.NAME"},
		{`{"items":[{"name":"a"},{"Name":"b"}]}`, "items[1].Name"},
		{`{"REGION":"x"}`, "REGION"},
		{`{"name":"a","name":"b"}`, "name"},
		{`{"inner":{"name":"a","name":"a"}}`, "inner.name"},
		{`{"handlers":{"x":"1","x":"2"}}`, "handlers.x"},
		{`{"name":"a\u0000b"}`, "name"},
		{`{"owners":["ok","\u0000"]}`, "owners[1]"},
		{`{"handlers":{"lead.captured.v1":"SELECT 1\u0000"}}`, "handlers.lead.captured.v1"},
		{`{"handlers":{"a\u0000":"x"}}`, "handlers"},
		{"{\"name\":\"caf\xe9\"}", "name"},
		{"{\"owners\":[\"ok\",\"\xff\xfe\"]}", "owners[1]"},
		{"{\"\xff\":1}", Body},
		{`{"count":"1"}`, "count"},
		{`{"nickname":"x"}`, "nickname"},
		{`[]`, Body},
		{`{"name":"a"} {}`, Body},
		{`{"name":`, Body},
	} {
		var v target
		err := Decode([]byte(c.body), &v)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%q: %v, want an *Error", c.body, err)
			continue
		}
		if e.Field != c.field {
			t.Errorf("%q: field %q (%s), want %q", c.body, e.Field, e.Message, c.field)
		}
	}
}

func TestDecodeAcceptsExactFields(t *testing.T) {
	var v target
	body := `{"name":"Zoë","region":"EMEA","owners":["a"],"inner":{"name":"b"},"items":[{"name":"c"}],"handlers":{"Lead.X":"ü"},"count":2}`
	if err := Decode([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	if v.Name != "Zoë" || v.Region != "EMEA" || v.Inner.Name != "b" || v.Handlers["Lead.X"] != "ü" || v.Count != 2 {
		t.Fatalf("decoded %+v", v)
	}
	// A map's keys are data, not field names: any case is kept.
	var m map[string]int
	if err := Decode([]byte(`{"A":1,"a":2}`), &m); err != nil || m["A"] != 1 || m["a"] != 2 {
		t.Fatalf("map: %v %v", m, err)
	}
}

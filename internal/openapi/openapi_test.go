package openapi

import (
	"net/url"
	"strings"
	"testing"
)

const testDoc = `{"openapi":"3.1.0","paths":{"/things/{id}":{"post":{
  "parameters":[{"name":"dry_run","in":"query","schema":{"type":"boolean"}}],
  "requestBody":{"content":{"application/json":{"schema":{
    "type":"object","required":["kind"],
    "properties":{"kind":{"type":"string","enum":["a","b"]},"reason":{"type":"string","maxLength":3},
      "tags":{"type":"array","maxItems":2,"items":{"type":"string","pattern":"^[a-z]+$"}},
      "when":{"type":["string","null"],"format":"date-time"}},
    "if":{"properties":{"kind":{"const":"b"}}},"then":{"required":["reason"]}}}}},
  "responses":{"200":{"description":"ok","content":{"application/json":{"schema":{
    "allOf":[{"$ref":"#/components/schemas/Base"},{"type":"object","properties":{"extra":{"type":"integer"}}}]}}}}}}}},
  "components":{"schemas":{"Base":{"type":"object","required":["id"],"properties":{"id":{"type":"string","format":"uuid"}}}}}}`

func TestCheckBodyNamesEveryField(t *testing.T) {
	d, err := Parse([]byte(testDoc))
	if err != nil {
		t.Fatal(err)
	}
	op, ok := d.Match("POST", "/things/7")
	if !ok {
		t.Fatal("no operation for POST /things/7")
	}
	cases := []struct {
		body string
		want string // the problems, joined
	}{
		{`{"kind":"a"}`, ""},
		{`{"kind":"b","reason":"ok"}`, ""},
		{`{"kind":"b"}`, "reason: is required"},
		{`{"kind":"c","reason":"long!","tags":["x","Y","z"],"when":"soon","nope":1}`,
			"kind: must be one of a, b|nope: is not a known field|reason: must be at most 3 characters|tags: must hold at most 2 items|tags[1]: must match ^[a-z]+$|when: must be an RFC 3339 time such as 2027-03-31T23:59:59Z"},
		{`{"kind":1,"when":null}`, "kind: must be a string"},
		{`[]`, "must be an object"},
		{`{not json`, ""},
	}
	for _, c := range cases {
		var got []string
		for _, p := range op.CheckBody([]byte(c.body)) {
			got = append(got, p.String())
		}
		if strings.Join(got, "|") != c.want {
			t.Errorf("%s: got %q, want %q", c.body, strings.Join(got, "|"), c.want)
		}
	}
	if u := op.UnknownQuery(url.Values{"dry_run": {"1"}, "b": {""}, "a": {""}}); strings.Join(u, ",") != "a,b" {
		t.Errorf("unknown query %v", u)
	}
}

func TestCheckResponseClosesAllOf(t *testing.T) {
	d, err := Parse([]byte(testDoc))
	if err != nil {
		t.Fatal(err)
	}
	h := map[string][]string{"Content-Type": {"application/json"}}
	if errs := d.CheckResponse("POST", "/things/7", 200, h, []byte(`{"id":"0190a0a0-0000-7000-8000-000000000000","extra":1}`)); len(errs) != 0 {
		t.Fatalf("conforming response refused: %v", errs)
	}
	errs := d.CheckResponse("POST", "/things/7", 200, h, []byte(`{"id":"0190a0a0-0000-7000-8000-000000000000","stray":1}`))
	if len(errs) == 0 || !strings.Contains(errs[0], "stray: is not a known field") {
		t.Fatalf("a member neither branch lists passed: %v", errs)
	}
	if errs := d.CheckResponse("POST", "/things/7", 201, h, []byte(`{}`)); len(errs) == 0 || !strings.Contains(errs[0], "status 201 is not declared") {
		t.Fatalf("an undeclared status passed: %v", errs)
	}
	if errs := d.CheckResponse("GET", "/elsewhere", 200, h, nil); errs != nil {
		t.Fatalf("an undocumented path was checked: %v", errs)
	}
}

package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// The contract check: every response a test server sends is validated
// against api/openapi.json, the document GET /openapi.json serves. A status
// the operation does not declare, a content type it does not declare, a
// field its schema lacks, a missing required field, a wrong type, a value
// outside an enum, a format or a declared limit fails the test that caused
// the request.
//
// Object schemas are closed: a schema that lists properties admits no other
// member unless it says so with additionalProperties (JSON Schema's default
// is open, which would let any undocumented field through). Under allOf the
// members of every branch together form the closed set.

// contract is the parsed OpenAPI document with its operations indexed.
type contract struct {
	doc   map[string]any
	paths []contractPath
	res   map[string]*regexp.Regexp // pattern cache
	mu    sync.Mutex
}

// contractPath is one templated path of the document.
type contractPath struct {
	template string
	re       *regexp.Regexp
	params   int
	item     map[string]any
}

var (
	contractOnce sync.Once
	contractDoc  *contract
	contractErr  error
)

// loadContract reads api/openapi.json once per test binary.
func loadContract() (*contract, error) {
	contractOnce.Do(func() {
		raw, err := os.ReadFile("openapi.json")
		if err != nil {
			contractErr = err
			return
		}
		contractDoc, contractErr = parseContract(raw)
	})
	return contractDoc, contractErr
}

// parseContract indexes an OpenAPI document's paths.
func parseContract(raw []byte) (*contract, error) {
	c := &contract{res: map[string]*regexp.Regexp{}}
	if err := json.Unmarshal(raw, &c.doc); err != nil {
		return nil, fmt.Errorf("openapi.json: %w", err)
	}
	paths, _ := c.doc["paths"].(map[string]any)
	param := regexp.MustCompile(`\{[^}/]+\}`)
	for tpl, item := range paths {
		m, _ := item.(map[string]any)
		// QuoteMeta escapes the braces; undo that before replacing.
		expr := "^" + param.ReplaceAllString(strings.NewReplacer(`\{`, "{", `\}`, "}").Replace(regexp.QuoteMeta(tpl)), "[^/]+") + "$"
		c.paths = append(c.paths, contractPath{template: tpl, re: regexp.MustCompile(expr), params: strings.Count(tpl, "{"), item: m})
	}
	// Literal paths win over templated ones (/v1/reports/custom over
	// /v1/reports/{name}).
	sort.Slice(c.paths, func(i, j int) bool {
		if c.paths[i].params != c.paths[j].params {
			return c.paths[i].params < c.paths[j].params
		}
		return c.paths[i].template < c.paths[j].template
	})
	return c, nil
}

// operation finds the operation of a request; ok is false when the
// document has no such path or method (a 404 or 405 of the router).
func (c *contract) operation(method, path string) (tpl string, op map[string]any, ok bool) {
	for _, p := range c.paths {
		if !p.re.MatchString(path) {
			continue
		}
		o, found := p.item[strings.ToLower(method)].(map[string]any)
		if !found {
			continue
		}
		return p.template, o, true
	}
	return "", nil, false
}

// resolve follows a local $ref.
func (c *contract) resolve(node map[string]any) map[string]any {
	for i := 0; i < 16; i++ {
		ref, ok := node["$ref"].(string)
		if !ok {
			return node
		}
		var cur any = c.doc
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			part = strings.NewReplacer("~1", "/", "~0", "~").Replace(part)
			m, _ := cur.(map[string]any)
			cur = m[part]
		}
		next, ok := cur.(map[string]any)
		if !ok {
			return map[string]any{"not": map[string]any{}, "x-unresolved": ref}
		}
		node = next
	}
	return node
}

// checkResponse validates one response of method path; it returns every
// way the response breaks the contract.
func (c *contract) checkResponse(method, rawPath string, status int, header http.Header, body []byte) []string {
	tpl, op, ok := c.operation(method, rawPath)
	if !ok {
		return nil
	}
	where := fmt.Sprintf("%s %s (%s) -> %d", method, rawPath, tpl, status)
	responses, _ := op["responses"].(map[string]any)
	var resp map[string]any
	for _, key := range []string{strconv.Itoa(status), fmt.Sprintf("%dXX", status/100), "default"} {
		if r, ok := responses[key].(map[string]any); ok {
			resp = c.resolve(r)
			break
		}
	}
	if resp == nil {
		return []string{fmt.Sprintf("%s: status %d is not declared (body %.300s)", where, status, body)}
	}
	content, _ := resp["content"].(map[string]any)
	if len(body) == 0 || method == http.MethodHead {
		_, declaresJSON := content["application/json"]
		_, declaresProblem := content["application/problem+json"]
		streams := len(content) > 1 || !declaresJSON && !declaresProblem // an export may be empty
		if len(content) > 0 && !streams && len(body) == 0 && method != http.MethodHead && status != http.StatusNotModified {
			return []string{fmt.Sprintf("%s: declared a body (%v) but sent none", where, keys(content))}
		}
		return nil
	}
	if len(content) == 0 {
		return []string{fmt.Sprintf("%s: sent a body the operation does not declare: %.300s", where, body)}
	}
	mediaType, _, err := mime.ParseMediaType(header.Get("Content-Type"))
	if err != nil {
		return []string{fmt.Sprintf("%s: Content-Type %q: %v", where, header.Get("Content-Type"), err)}
	}
	media, ok := content[mediaType].(map[string]any)
	if !ok {
		return []string{fmt.Sprintf("%s: Content-Type %s is not declared (declared: %v)", where, mediaType, keys(content))}
	}
	if mediaType != "application/json" && !strings.HasSuffix(mediaType, "+json") {
		return nil // CSV, NDJSON, text: the media type is the contract
	}
	schema, ok := media["schema"].(map[string]any)
	if !ok {
		return nil
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return []string{fmt.Sprintf("%s: body is not JSON: %v", where, err)}
	}
	var errs []string
	c.validate(v, schema, "$", &errs, true)
	for i := range errs {
		errs[i] = where + ": " + errs[i]
	}
	if len(errs) > 0 {
		errs = append(errs, fmt.Sprintf("%s: body %.600s", where, body))
	}
	return errs
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// validate appends to errs every way v breaks schema. closed says whether
// an object schema's property list is the whole set of allowed members
// (false for the branches of an allOf, whose union is checked instead).
func (c *contract) validate(v any, schema map[string]any, at string, errs *[]string, closed bool) {
	schema = c.resolve(schema)
	if u, ok := schema["x-unresolved"]; ok {
		*errs = append(*errs, fmt.Sprintf("%s: unresolved $ref %v", at, u))
		return
	}
	if all, ok := schema["allOf"].([]any); ok {
		union := map[string]bool{}
		open := false
		for _, b := range all {
			bs := c.resolve(b.(map[string]any))
			c.validate(v, bs, at, errs, false)
			props, hasProps := c.objectProps(bs)
			for k := range props {
				union[k] = true
			}
			if ap, ok := bs["additionalProperties"]; ok && ap != false || !hasProps && bs["allOf"] == nil {
				open = true
			}
		}
		if obj, ok := v.(map[string]any); ok && closed && !open {
			for k := range obj {
				if !union[k] {
					*errs = append(*errs, fmt.Sprintf("%s: member %q is not in the schema", at, k))
				}
			}
		}
	}
	if one, ok := schema["oneOf"].([]any); ok {
		matched := 0
		var first []string
		for i, b := range one {
			var e []string
			c.validate(v, b.(map[string]any), at, &e, closed)
			if len(e) == 0 {
				matched++
			} else if i == 0 || len(e) < len(first) || first == nil {
				first = e
			}
		}
		if matched != 1 {
			*errs = append(*errs, fmt.Sprintf("%s: matches %d of oneOf's %d branches (closest: %v)", at, matched, len(one), first))
		}
	}
	if anyOf, ok := schema["anyOf"].([]any); ok {
		matched := false
		var first []string
		for _, b := range anyOf {
			var e []string
			c.validate(v, b.(map[string]any), at, &e, closed)
			if len(e) == 0 {
				matched = true
				break
			}
			if first == nil {
				first = e
			}
		}
		if !matched {
			*errs = append(*errs, fmt.Sprintf("%s: matches no anyOf branch (first: %v)", at, first))
		}
	}
	if _, ok := schema["not"]; ok {
		*errs = append(*errs, fmt.Sprintf("%s: schema admits nothing", at))
	}
	if cv, ok := schema["const"]; ok && !jsonEqual(v, cv) {
		*errs = append(*errs, fmt.Sprintf("%s: %v is not the constant %v", at, v, cv))
	}
	if enum, ok := schema["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			if jsonEqual(v, e) {
				found = true
				break
			}
		}
		if !found {
			*errs = append(*errs, fmt.Sprintf("%s: %v is not one of %v", at, v, enum))
		}
	}
	if t, ok := schema["type"]; ok {
		var types []string
		switch tt := t.(type) {
		case string:
			types = []string{tt}
		case []any:
			for _, x := range tt {
				types = append(types, x.(string))
			}
		}
		match := false
		for _, ty := range types {
			if jsonType(v, ty) {
				match = true
				break
			}
		}
		if !match {
			*errs = append(*errs, fmt.Sprintf("%s: %s is not of type %v", at, describe(v), types))
			return
		}
	}
	switch x := v.(type) {
	case map[string]any:
		c.validateObject(x, schema, at, errs, closed)
	case []any:
		if min, ok := num(schema["minItems"]); ok && float64(len(x)) < min {
			*errs = append(*errs, fmt.Sprintf("%s: %d items, fewer than minItems %v", at, len(x), min))
		}
		if max, ok := num(schema["maxItems"]); ok && float64(len(x)) > max {
			*errs = append(*errs, fmt.Sprintf("%s: %d items, more than maxItems %v", at, len(x), max))
		}
		if items, ok := schema["items"].(map[string]any); ok {
			for i, it := range x {
				c.validate(it, items, fmt.Sprintf("%s[%d]", at, i), errs, true)
			}
		}
	case string:
		c.validateString(x, schema, at, errs)
	case json.Number:
		f, _ := x.Float64()
		if min, ok := num(schema["minimum"]); ok && f < min {
			*errs = append(*errs, fmt.Sprintf("%s: %v is below minimum %v", at, x, min))
		}
		if max, ok := num(schema["maximum"]); ok && f > max {
			*errs = append(*errs, fmt.Sprintf("%s: %v is above maximum %v", at, x, max))
		}
		if min, ok := num(schema["exclusiveMinimum"]); ok && f <= min {
			*errs = append(*errs, fmt.Sprintf("%s: %v is not above %v", at, x, min))
		}
	}
}

// objectProps returns an object schema's properties and whether it lists
// any.
func (c *contract) objectProps(schema map[string]any) (map[string]any, bool) {
	props, ok := schema["properties"].(map[string]any)
	return props, ok
}

func (c *contract) validateObject(obj map[string]any, schema map[string]any, at string, errs *[]string, closed bool) {
	props, hasProps := c.objectProps(schema)
	if req, ok := schema["required"].([]any); ok {
		for _, r := range req {
			if _, ok := obj[r.(string)]; !ok {
				*errs = append(*errs, fmt.Sprintf("%s: required member %q is missing", at, r))
			}
		}
	}
	extra := schema["additionalProperties"]
	names := keys(obj)
	for _, k := range names {
		val := obj[k]
		if ps, ok := props[k].(map[string]any); ok {
			c.validate(val, ps, at+"."+k, errs, true)
			continue
		}
		switch ex := extra.(type) {
		case map[string]any:
			c.validate(val, ex, at+"."+k, errs, true)
		case bool:
			if !ex {
				*errs = append(*errs, fmt.Sprintf("%s: member %q is not in the schema", at, k))
			}
		case nil:
			if hasProps && closed {
				*errs = append(*errs, fmt.Sprintf("%s: member %q is not in the schema", at, k))
			}
		}
	}
	if min, ok := num(schema["minProperties"]); ok && float64(len(obj)) < min {
		*errs = append(*errs, fmt.Sprintf("%s: fewer than %v members", at, min))
	}
}

func (c *contract) validateString(s string, schema map[string]any, at string, errs *[]string) {
	n := float64(len([]rune(s)))
	if min, ok := num(schema["minLength"]); ok && n < min {
		*errs = append(*errs, fmt.Sprintf("%s: %q is shorter than minLength %v", at, s, min))
	}
	if max, ok := num(schema["maxLength"]); ok && n > max {
		*errs = append(*errs, fmt.Sprintf("%s: %q is longer than maxLength %v", at, s, max))
	}
	if p, ok := schema["pattern"].(string); ok {
		c.mu.Lock()
		re, cached := c.res[p]
		if !cached {
			var err error
			re, err = regexp.Compile(p)
			if err != nil {
				re = nil
			}
			c.res[p] = re
		}
		c.mu.Unlock()
		if re == nil {
			*errs = append(*errs, fmt.Sprintf("%s: pattern %q does not compile", at, p))
		} else if !re.MatchString(s) {
			*errs = append(*errs, fmt.Sprintf("%s: %q does not match %s", at, s, p))
		}
	}
	bad := false
	switch schema["format"] {
	case "uuid":
		_, err := uuid.Parse(s)
		bad = err != nil || len(s) != 36
	case "date-time":
		_, err := time.Parse(time.RFC3339Nano, s)
		bad = err != nil
	case "date":
		_, err := time.Parse(time.DateOnly, s)
		bad = err != nil
	case "email":
		_, err := mail.ParseAddress(s)
		bad = err != nil
	case "uri":
		u, err := url.Parse(s)
		bad = err != nil || u.Scheme == ""
	}
	if bad {
		*errs = append(*errs, fmt.Sprintf("%s: %q is not a %v", at, s, schema["format"]))
	}
}

func num(v any) (float64, bool) {
	f, ok := v.(float64)
	return f, ok
}

func jsonType(v any, t string) bool {
	switch t {
	case "null":
		return v == nil
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "number":
		_, ok := v.(json.Number)
		return ok
	case "integer":
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		_, err := strconv.ParseInt(n.String(), 10, 64)
		return err == nil
	}
	return false
}

func jsonEqual(a, b any) bool {
	if n, ok := a.(json.Number); ok {
		f, _ := n.Float64()
		bf, ok := b.(float64)
		return ok && f == bf
	}
	return fmt.Sprint(a) == fmt.Sprint(b)
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return strconv.Quote(x)
	}
	return fmt.Sprint(v)
}

// capture records a response while it is written to the client.
type capture struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *capture) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *capture) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.body.Len() < 4<<20 {
		w.body.Write(p)
	}
	return w.ResponseWriter.Write(p)
}

// Flush keeps streaming responses streaming.
func (w *capture) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w *capture) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// checkedHandler validates every response next sends against the contract
// and reports each breach as an error of t.
func checkedHandler(t testing.TB, next http.Handler) http.Handler {
	c, err := loadContract()
	if err != nil {
		t.Fatalf("contract: %v", err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &capture{ResponseWriter: w}
		next.ServeHTTP(cw, r)
		status := cw.status
		if status == 0 {
			status = http.StatusOK
		}
		for _, e := range c.checkResponse(r.Method, r.URL.Path, status, cw.Header(), cw.body.Bytes()) {
			t.Errorf("contract: %s", e)
		}
	})
}

// TestContractCheckCatchesBreaches holds the contract check itself to
// account: an undocumented member, a wrong type, a missing required member,
// an undeclared status and an undeclared content type are each caught, and
// a conforming response passes.
func TestContractCheckCatchesBreaches(t *testing.T) {
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	jsonH := http.Header{"Content-Type": {"application/json"}}
	probH := http.Header{"Content-Type": {"application/problem+json"}}
	good := `{"id":"0190b5a4-1c2d-7e3f-8a9b-0c1d2e3f4a5b","version":1,"position":"12","events":[{"type":"lead.captured.v1","id":"0190b5a4-1c2d-7e3f-8a9b-0c1d2e3f4a5c","stream":"lead-0190b5a4-1c2d-7e3f-8a9b-0c1d2e3f4a5b"}]}`
	cases := []struct {
		name    string
		status  int
		header  http.Header
		body    string
		wantErr string
	}{
		{"conforming", 201, jsonH, good, ""},
		{"undocumented member", 201, jsonH, strings.Replace(good, `"version":1`, `"version":1,"secret":"x"`, 1), `member "secret" is not in the schema`},
		{"wrong type", 201, jsonH, strings.Replace(good, `"version":1`, `"version":"1"`, 1), `is not of type [integer]`},
		{"missing member", 201, jsonH, strings.Replace(good, `"version":1,`, ``, 1), `required member "version" is missing`},
		{"undeclared status", 418, jsonH, good, "status 418 is not declared"},
		{"undeclared content type", 201, http.Header{"Content-Type": {"text/html"}}, good, "text/html is not declared"},
		{"problem", 400, probH, `{"type":"about:blank","title":"Bad Request","status":400,"errors":[{"field":"email","message":"required"}]}`, ""},
		{"problem with a stray member", 400, probH, `{"type":"about:blank","title":"Bad Request","status":400,"oops":true}`, `member "oops"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errs := c.checkResponse("POST", "/v1/leads", tc.status, tc.header, []byte(tc.body))
			if tc.wantErr == "" {
				if len(errs) > 0 {
					t.Fatalf("conforming response refused: %v", errs)
				}
				return
			}
			if !strings.Contains(strings.Join(errs, "\n"), tc.wantErr) {
				t.Fatalf("breach not caught: want %q, got %v", tc.wantErr, errs)
			}
		})
	}
}

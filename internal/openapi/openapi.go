package openapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Document is a parsed OpenAPI document with its operations indexed. It
// does not change after Parse, so it is safe for concurrent use.
type Document struct {
	doc      map[string]any
	paths    []path
	ops      map[string]*Operation // "METHOD template"
	patterns map[string]*regexp.Regexp
}

type path struct {
	template string
	re       *regexp.Regexp
	params   int
}

// Operation is one method of one path.
type Operation struct {
	// Method is upper case; Template is the path as the document writes
	// it ("/v1/leads/{id}").
	Method, Template string
	doc              *Document
	op               map[string]any
	query            []string
	body             map[string]any // the JSON request body's schema, or nil
}

// Problem is one way a value breaks a schema: Field is the dotted path of
// the offending member ("opportunity.name", "rules[0].owners[1]"), empty
// for the value itself.
type Problem struct {
	Field, Message string
}

func (p Problem) String() string {
	if p.Field == "" {
		return p.Message
	}
	return p.Field + ": " + p.Message
}

var templateParam = regexp.MustCompile(`\\\{[^}/]+\\\}`)

// Parse reads an OpenAPI document.
func Parse(raw []byte) (*Document, error) {
	d := &Document{ops: map[string]*Operation{}, patterns: map[string]*regexp.Regexp{}}
	if err := json.Unmarshal(raw, &d.doc); err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	if err := d.compilePatterns(d.doc); err != nil {
		return nil, err
	}
	paths, _ := d.doc["paths"].(map[string]any)
	for tpl, item := range paths {
		m, _ := item.(map[string]any)
		expr := "^" + templateParam.ReplaceAllString(regexp.QuoteMeta(tpl), "[^/]+") + "$"
		d.paths = append(d.paths, path{template: tpl, re: regexp.MustCompile(expr), params: strings.Count(tpl, "{")})
		shared := d.params(m["parameters"])
		for method, o := range m {
			op, ok := o.(map[string]any)
			if !ok || method == "parameters" {
				continue
			}
			oper := &Operation{Method: strings.ToUpper(method), Template: tpl, doc: d, op: op}
			for _, p := range append(slices.Clone(shared), d.params(op["parameters"])...) {
				if p["in"] == "query" {
					oper.query = append(oper.query, p["name"].(string))
				}
			}
			if rb, ok := op["requestBody"].(map[string]any); ok {
				rb = d.resolve(rb)
				if c, ok := rb["content"].(map[string]any); ok {
					if j, ok := c["application/json"].(map[string]any); ok {
						oper.body, _ = j["schema"].(map[string]any)
					}
				}
			}
			d.ops[oper.Method+" "+tpl] = oper
		}
	}
	// Literal paths win over templated ones (/v1/reports/custom over
	// /v1/reports/{name}).
	sort.Slice(d.paths, func(i, j int) bool {
		if d.paths[i].params != d.paths[j].params {
			return d.paths[i].params < d.paths[j].params
		}
		return d.paths[i].template < d.paths[j].template
	})
	return d, nil
}

func (d *Document) params(v any) []map[string]any {
	list, _ := v.([]any)
	var out []map[string]any
	for _, p := range list {
		if m, ok := p.(map[string]any); ok {
			out = append(out, d.resolve(m))
		}
	}
	return out
}

// Operation returns the operation of method on a path template as the
// document writes it.
func (d *Document) Operation(method, template string) (*Operation, bool) {
	o, ok := d.ops[strings.ToUpper(method)+" "+template]
	return o, ok
}

// Match returns the operation a request for method and a concrete path
// reaches; ok is false when the document has no such path or method.
func (d *Document) Match(method, rawPath string) (*Operation, bool) {
	for _, p := range d.paths {
		if !p.re.MatchString(rawPath) {
			continue
		}
		if o, ok := d.Operation(method, p.template); ok {
			return o, true
		}
	}
	return nil, false
}

// UnknownQuery returns the names in q the operation does not declare,
// sorted.
func (o *Operation) UnknownQuery(q url.Values) []string {
	var out []string
	for name := range q {
		if !slices.Contains(o.query, name) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// CheckBody returns every way a JSON request body breaks the operation's
// request schema (none when it declares no JSON body). A body that is not
// JSON is for the caller's decoder to report: it yields no problems.
func (o *Operation) CheckBody(body []byte) []Problem {
	if o.body == nil {
		return nil
	}
	v, err := decode(body)
	if err != nil {
		return nil
	}
	var ps []Problem
	o.doc.validate(v, o.body, "", &ps, true)
	return ps
}

func decode(body []byte) (any, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// CheckResponse returns every way a response breaks the document: a
// status or content type the operation does not declare, a body where it
// declares none, and a JSON body its schema refuses. A request the
// document has no operation for yields nothing.
func (d *Document) CheckResponse(method, rawPath string, status int, header http.Header, body []byte) []string {
	op, ok := d.Match(method, rawPath)
	if !ok {
		return nil
	}
	where := fmt.Sprintf("%s %s (%s) -> %d", method, rawPath, op.Template, status)
	responses, _ := op.op["responses"].(map[string]any)
	var resp map[string]any
	for _, key := range []string{strconv.Itoa(status), fmt.Sprintf("%dXX", status/100), "default"} {
		if r, ok := responses[key].(map[string]any); ok {
			resp = d.resolve(r)
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
	v, err := decode(body)
	if err != nil {
		return []string{fmt.Sprintf("%s: body is not JSON: %v", where, err)}
	}
	var ps []Problem
	d.validate(v, schema, "", &ps, true)
	if len(ps) == 0 {
		return nil
	}
	out := make([]string, 0, len(ps)+1)
	for _, p := range ps {
		f := p.Field
		if f == "" {
			f = "(body)"
		}
		out = append(out, fmt.Sprintf("%s: %s: %s", where, f, p.Message))
	}
	return append(out, fmt.Sprintf("%s: body %.600s", where, body))
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// resolve follows local $refs.
func (d *Document) resolve(node map[string]any) map[string]any {
	for range 16 {
		ref, ok := node["$ref"].(string)
		if !ok {
			return node
		}
		var cur any = d.doc
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			part = strings.NewReplacer("~1", "/", "~0", "~").Replace(part)
			m, _ := cur.(map[string]any)
			cur = m[part]
		}
		next, ok := cur.(map[string]any)
		if !ok {
			return map[string]any{"x-unresolved": ref}
		}
		node = next
	}
	return node
}

func join(at, key string) string {
	if at == "" {
		return key
	}
	return at + "." + key
}

// validate appends to ps every way v breaks schema. closed says whether an
// object schema's property list is the whole set of allowed members (false
// for the branches of an allOf, whose union is checked instead).
func (d *Document) validate(v any, schema map[string]any, at string, ps *[]Problem, closed bool) {
	add := func(format string, args ...any) {
		*ps = append(*ps, Problem{Field: at, Message: fmt.Sprintf(format, args...)})
	}
	schema = d.resolve(schema)
	if u, ok := schema["x-unresolved"]; ok {
		add("the document's $ref %v does not resolve", u)
		return
	}
	if all, ok := schema["allOf"].([]any); ok {
		union := map[string]bool{}
		open := false
		for _, b := range all {
			bs := d.resolve(b.(map[string]any))
			d.validate(v, bs, at, ps, false)
			props, hasProps := bs["properties"].(map[string]any)
			for k := range props {
				union[k] = true
			}
			if ap, ok := bs["additionalProperties"]; ok && ap != false || !hasProps && bs["allOf"] == nil {
				open = true
			}
		}
		if obj, ok := v.(map[string]any); ok && closed && !open {
			for _, k := range keys(obj) {
				if !union[k] {
					*ps = append(*ps, Problem{Field: join(at, k), Message: "is not a known field"})
				}
			}
		}
	}
	if one, ok := schema["oneOf"].([]any); ok {
		matched := 0
		var closest []Problem
		for _, b := range one {
			var e []Problem
			d.validate(v, b.(map[string]any), at, &e, closed)
			if len(e) == 0 {
				matched++
			} else if closest == nil || len(e) < len(closest) {
				closest = e
			}
		}
		switch {
		case matched == 0:
			*ps = append(*ps, closest...)
		case matched > 1:
			add("matches %d of %d alternatives, not exactly one", matched, len(one))
		}
	}
	if anyOf, ok := schema["anyOf"].([]any); ok {
		var first []Problem
		matched := false
		for _, b := range anyOf {
			var e []Problem
			d.validate(v, b.(map[string]any), at, &e, closed)
			if len(e) == 0 {
				matched = true
				break
			}
			if first == nil {
				first = e
			}
		}
		if !matched {
			*ps = append(*ps, first...)
		}
	}
	if cond, ok := schema["if"].(map[string]any); ok {
		var e []Problem
		d.validate(v, cond, at, &e, false)
		branch := "then"
		if len(e) > 0 {
			branch = "else"
		}
		if b, ok := schema[branch].(map[string]any); ok {
			d.validate(v, b, at, ps, false)
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
		if !slices.ContainsFunc(types, func(ty string) bool { return isType(v, ty) }) {
			add("must be %s", typeNames(types))
			return
		}
	}
	if cv, ok := schema["const"]; ok && !equal(v, cv) {
		add("must be %v", cv)
	}
	if enum, ok := schema["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return equal(v, e) }) {
		names := make([]string, len(enum))
		for i, e := range enum {
			names[i] = fmt.Sprint(e)
		}
		add("must be one of %s", strings.Join(names, ", "))
	}
	switch x := v.(type) {
	case map[string]any:
		d.validateObject(x, schema, at, ps, closed)
	case []any:
		if min, ok := schema["minItems"].(float64); ok && float64(len(x)) < min {
			add("must hold at least %v items", min)
		}
		if max, ok := schema["maxItems"].(float64); ok && float64(len(x)) > max {
			add("must hold at most %v items", max)
		}
		if items, ok := schema["items"].(map[string]any); ok {
			for i, it := range x {
				d.validate(it, items, at+"["+strconv.Itoa(i)+"]", ps, true)
			}
		}
	case string:
		d.validateString(x, schema, add)
	case json.Number:
		f, _ := x.Float64()
		if min, ok := schema["minimum"].(float64); ok && f < min {
			add("must be at least %v", min)
		}
		if max, ok := schema["maximum"].(float64); ok && f > max {
			add("must be at most %v", max)
		}
		if min, ok := schema["exclusiveMinimum"].(float64); ok && f <= min {
			add("must be more than %v", min)
		}
	}
}

func (d *Document) validateObject(obj map[string]any, schema map[string]any, at string, ps *[]Problem, closed bool) {
	props, hasProps := schema["properties"].(map[string]any)
	if req, ok := schema["required"].([]any); ok {
		for _, r := range req {
			if _, ok := obj[r.(string)]; !ok {
				*ps = append(*ps, Problem{Field: join(at, r.(string)), Message: "is required"})
			}
		}
	}
	extra := schema["additionalProperties"]
	for _, k := range keys(obj) {
		if p, ok := props[k].(map[string]any); ok {
			d.validate(obj[k], p, join(at, k), ps, true)
			continue
		}
		switch ex := extra.(type) {
		case map[string]any:
			d.validate(obj[k], ex, join(at, k), ps, true)
		case bool:
			if !ex {
				*ps = append(*ps, Problem{Field: join(at, k), Message: "is not a known field"})
			}
		case nil:
			if hasProps && closed {
				*ps = append(*ps, Problem{Field: join(at, k), Message: "is not a known field"})
			}
		}
	}
}

func (d *Document) validateString(s string, schema map[string]any, add func(string, ...any)) {
	n := float64(utf8.RuneCountInString(s))
	if min, ok := schema["minLength"].(float64); ok && n < min {
		if min == 1 {
			add("must not be empty")
		} else {
			add("must be at least %v characters", min)
		}
	}
	if max, ok := schema["maxLength"].(float64); ok && n > max {
		add("must be at most %v characters", max)
	}
	if p, ok := schema["pattern"].(string); ok {
		if re := d.pattern(p); re == nil {
			add("the document's pattern %q does not compile", p)
		} else if !re.MatchString(s) {
			add("must match %s", p)
		}
	}
	var bad bool
	what := ""
	switch schema["format"] {
	case "uuid":
		_, err := uuid.Parse(s)
		bad, what = err != nil || len(s) != 36, "a UUID"
	case "date-time":
		_, err := time.Parse(time.RFC3339Nano, s)
		bad, what = err != nil, "an RFC 3339 time such as 2027-03-31T23:59:59Z"
	case "date":
		_, err := time.Parse(time.DateOnly, s)
		bad, what = err != nil, "a date such as 2027-03-31"
	case "email":
		_, err := mail.ParseAddress(s)
		bad, what = err != nil, "an email address"
	case "uri":
		u, err := url.Parse(s)
		bad, what = err != nil || u.Scheme == "", "an absolute URI"
	}
	if bad {
		add("must be %s", what)
	}
}

// compilePatterns compiles every "pattern" of the document once.
func (d *Document) compilePatterns(node any) error {
	switch n := node.(type) {
	case map[string]any:
		for k, v := range n {
			if p, ok := v.(string); ok && k == "pattern" {
				re, err := regexp.Compile(p)
				if err != nil {
					return fmt.Errorf("openapi: pattern %q: %w", p, err)
				}
				d.patterns[p] = re
				continue
			}
			if err := d.compilePatterns(v); err != nil {
				return err
			}
		}
	case []any:
		for _, v := range n {
			if err := d.compilePatterns(v); err != nil {
				return err
			}
		}
	}
	return nil
}

func (d *Document) pattern(p string) *regexp.Regexp { return d.patterns[p] }

func isType(v any, t string) bool {
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

func typeNames(types []string) string {
	names := make([]string, len(types))
	for i, t := range types {
		switch t {
		case "object", "array", "integer":
			names[i] = "an " + t
		case "null":
			names[i] = "null"
		default:
			names[i] = "a " + t
		}
	}
	return strings.Join(names, " or ")
}

func equal(a, b any) bool {
	if n, ok := a.(json.Number); ok {
		f, _ := n.Float64()
		bf, ok := b.(float64)
		return ok && f == bf
	}
	switch a.(type) {
	case map[string]any, []any:
		return false
	}
	return a == b
}

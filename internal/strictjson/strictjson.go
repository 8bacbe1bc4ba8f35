package strictjson

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Body names the whole body when no single field is at fault.
const Body = "(body)"

// Error is a refused body: Field is the dotted path of the offending field
// ("opportunity.name", "rules[0].owners[1]") or Body.
type Error struct {
	Field   string
	Message string
}

func (e *Error) Error() string { return e.Field + ": " + e.Message }

func fail(field, format string, args ...any) error {
	if field == "" {
		field = Body
	}
	return &Error{Field: field, Message: fmt.Sprintf(format, args...)}
}

// join appends a key to a field path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// Check refuses a body that is not valid UTF-8, repeats a key within one
// object, or holds a NUL character in a key or a string, naming the field.
// A body that is not otherwise well-formed JSON passes: decoding reports
// that with its position.
func Check(body []byte) error {
	w := walker{badUTF8: -1}
	if !utf8.Valid(body) {
		w.badUTF8 = invalidAt(body)
	}
	w.dec = json.NewDecoder(bytes.NewReader(body))
	w.dec.UseNumber()
	err := w.value("")
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if w.badUTF8 >= 0 {
		return fail(Body, "must be valid UTF-8")
	}
	return nil
}

// invalidAt is the offset of the first byte of b that is not valid UTF-8.
func invalidAt(b []byte) int64 {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return int64(i)
		}
		i += size
	}
	return -1
}

// walker reads a body token by token.
type walker struct {
	dec *json.Decoder
	// badUTF8 is the offset of the first invalid UTF-8 byte (-1: none).
	badUTF8 int64
}

// text checks a key or string that ends at the decoder's offset.
func (w *walker) text(s, field, what string) error {
	if w.badUTF8 >= 0 && w.dec.InputOffset() > w.badUTF8 {
		return fail(field, "must be valid UTF-8")
	}
	if strings.ContainsRune(s, 0) {
		return fail(field, "%s must not contain a NUL character", what)
	}
	return nil
}

// value reads one value, checking keys and strings; path names it.
func (w *walker) value(path string) error {
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case string:
		return w.text(t, path, "the value")
	case json.Delim:
		switch t {
		case '{':
			seen := map[string]bool{}
			for w.dec.More() {
				kt, err := w.dec.Token()
				if err != nil {
					return err
				}
				key, _ := kt.(string)
				if err := w.text(key, path, "a field name"); err != nil {
					return err
				}
				field := join(path, key)
				if seen[key] {
					return fail(field, "appears more than once")
				}
				seen[key] = true
				if err := w.value(field); err != nil {
					return err
				}
			}
		case '[':
			for i := 0; w.dec.More(); i++ {
				if err := w.value(index(path, i)); err != nil {
					return err
				}
			}
		}
		if _, err := w.dec.Token(); err != nil {
			return err
		}
	}
	return nil
}

// Decode unmarshals one JSON object from body into v, a pointer to a
// struct or map. Beyond Check it refuses a body that is not an object,
// unknown fields, field names that match only when case is ignored (Go's
// encoding/json would accept "NAME" for "name"), wrong types and trailing
// data, each as an *Error naming the field.
func Decode(body []byte, v any) error {
	if err := Check(body); err != nil {
		return err
	}
	return DecodeChecked(body, v)
}

// DecodeChecked is Decode for a body Check has accepted already (it does
// not check again for invalid UTF-8, NUL characters or duplicate keys).
func DecodeChecked(body []byte, v any) error {
	if t := bytes.TrimSpace(body); len(t) == 0 || t[0] != '{' {
		return fail(Body, "must be a JSON object")
	}
	if err := exactFields(body, reflect.TypeOf(v), ""); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fail(Body, "unexpected data after the JSON object")
	}
	return nil
}

func decodeError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		return fail(typeErr.Field, "must be %s", kindName(typeErr.Type))
	case errors.As(err, &syntaxErr):
		return fail(Body, "malformed JSON at byte %d: %v", syntaxErr.Offset, err)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return fail(Body, "malformed JSON: unexpected end")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fail(strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`), "is not a known field")
	}
	return fail(Body, "malformed JSON: %v", err)
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map, reflect.Pointer:
		return "an object"
	}
	return "of another type"
}

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// exactFields refuses object keys of raw that name no field of t exactly.
// Values of the wrong shape are left to the decoder, which names them.
func exactFields(raw []byte, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		if reflect.PointerTo(t).Implements(unmarshalerType) || t.Implements(unmarshalerType) {
			return nil
		}
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return nil
		}
		fields := structFields(t)
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			ft, ok := fields[k]
			if !ok {
				return fail(join(path, k), "is not a known field")
			}
			if err := exactFields(obj[k], ft, join(path, k)); err != nil {
				return err
			}
		}
	case reflect.Map:
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return nil
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if err := exactFields(obj[k], t.Elem(), join(path, k)); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		var arr []json.RawMessage
		if json.Unmarshal(raw, &arr) != nil {
			return nil
		}
		for i, el := range arr {
			if err := exactFields(el, t.Elem(), index(path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// structFields maps the JSON names of t's fields (promoting untagged
// embedded structs, as encoding/json does) to their types.
func structFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				for k, v := range structFields(et) {
					if _, ok := out[k]; !ok {
						out[k] = v
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

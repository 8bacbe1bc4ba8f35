package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// maxBody is the largest request body accepted.
const maxBody = 1 << 20

// readBody returns the request body, refusing a wrong content type (415)
// and more than maxBody bytes (413). An empty body is allowed when
// emptyOK; it reads as "{}".
func readBody(r *http.Request, emptyOK bool) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, requestErr(kindTooLarge, fmt.Sprintf("the body exceeds %d bytes", maxBody))
	}
	if err != nil {
		return nil, requestErr(kindInvalid, "reading the body: "+err.Error())
	}
	if len(bytes.TrimSpace(body)) == 0 && emptyOK {
		return []byte("{}"), nil
	}
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return nil, requestErr(kindUnsupportedMedia, "send Content-Type: application/json")
	}
	return body, nil
}

// decodeStrict unmarshals one JSON object into v: unknown fields, wrong
// types, trailing data and a non-object are 400 errors naming the field.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if t := bytes.TrimSpace(body); len(t) == 0 || t[0] != '{' {
		return requestErr(kindInvalid, "the body must be a JSON object")
	}
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return requestErr(kindInvalid, "unexpected data after the JSON object")
	}
	return nil
}

func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "(body)"
		}
		return badField(field, "must be "+jsonKind(typeErr.Type.Kind().String()))
	case errors.As(err, &syntaxErr):
		return requestErr(kindInvalid, fmt.Sprintf("malformed JSON at byte %d: %v", syntaxErr.Offset, err))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return requestErr(kindInvalid, "malformed JSON: unexpected end")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return badField(field, "is not a known field")
	}
	return requestErr(kindInvalid, "malformed JSON: "+err.Error())
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "int", "int64", "int32", "uint", "uint64":
		return "an integer"
	case "float64":
		return "a number"
	case "bool":
		return "a boolean"
	case "slice":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	}
	return "of another type"
}

package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"crm/internal/strictjson"
)

// maxBody is the largest request body accepted.
const maxBody = 1 << 20

// readBody returns the request body, refusing more than maxBody bytes
// (413), a content type other than application/json (optionally with
// charset=utf-8; 415 naming Content-Type), and a body that is not valid
// UTF-8, repeats a key or holds a NUL character (400 naming the field).
// An empty body is allowed when emptyOK; it reads as "{}".
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
	if err := jsonContentType(r.Header.Get("Content-Type")); err != nil {
		return nil, err
	}
	if err := strictjson.Check(body); err != nil {
		return nil, jsonError(err)
	}
	return body, nil
}

// jsonContentType accepts application/json, alone or with charset=utf-8.
func jsonContentType(ct string) error {
	const want = "send Content-Type: application/json (optionally with ; charset=utf-8)"
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return &apiError{kind: kindUnsupportedMedia, detail: want, field: "Content-Type", message: "must be application/json"}
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return &apiError{kind: kindUnsupportedMedia, detail: want, field: "Content-Type", message: "must be application/json"}
		}
	}
	return nil
}

// decodeStrict unmarshals one JSON object into v: unknown fields (names
// are matched case-sensitively), wrong types, trailing data and a
// non-object are 400 errors naming the field. body is one readBody
// returned, so invalid UTF-8, NUL characters and duplicate keys were
// refused already and are not looked for again.
func decodeStrict(body []byte, v any) error {
	if err := strictjson.DecodeChecked(body, v); err != nil {
		return jsonError(err)
	}
	return nil
}

// jsonError turns a strictjson refusal into a 400 naming its field.
func jsonError(err error) error {
	var se *strictjson.Error
	if errors.As(err, &se) {
		if se.Field == strictjson.Body {
			// errors[] names the body itself, with what is wrong and,
			// for malformed JSON, the byte it went wrong at.
			detail := se.Message
			if strings.HasPrefix(se.Message, "must") {
				detail = "the body " + se.Message
			}
			return &apiError{kind: kindInvalid, detail: detail, field: strictjson.Body, message: se.Message}
		}
		return badField(se.Field, se.Message)
	}
	return &apiError{kind: kindInvalid, detail: "malformed JSON: " + err.Error(), field: strictjson.Body, message: "malformed JSON: " + err.Error()}
}

// storableText reports whether PostgreSQL text can hold s: valid UTF-8
// without NUL characters.
func storableText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// storableInput refuses a request whose path or query holds text
// PostgreSQL cannot store (invalid UTF-8 or NUL), naming the query
// parameter, or "path" for the path, before any handler passes it on.
func storableInput(fail func(http.ResponseWriter, *http.Request, error)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !storableText(r.URL.Path) {
				fail(w, r, badField("path", "must be valid UTF-8 without NUL characters"))
				return
			}
			q := r.URL.Query()
			for _, name := range slices.Sorted(maps.Keys(q)) {
				if !storableText(name) {
					fail(w, r, badField("query", "parameter names must be valid UTF-8 without NUL characters"))
					return
				}
				for _, v := range q[name] {
					if !storableText(v) {
						fail(w, r, badField(name, "must be valid UTF-8 without NUL characters"))
						return
					}
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

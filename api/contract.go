package api

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"crm/internal/openapi"
	"crm/internal/strictjson"
)

// contract is the parsed openapi.json. Requests are checked against it
// before a handler runs: every query parameter must be one the operation
// declares, and a JSON body must satisfy the operation's request schema,
// every breach reported at once, before any record is loaded (so a bad
// value is a 400 even where the record's state would refuse the command).
// It never changes after it is parsed.
var contract = mustParseContract()

func mustParseContract() *openapi.Document {
	d, err := openapi.Parse(openAPIDocument)
	if err != nil {
		panic("api: the embedded openapi.json does not parse: " + err.Error())
	}
	return d
}

// chiPattern matches a chi URL parameter with its optional regexp
// ({id:[0-9a-f-]+}), to be written the OpenAPI way ({id}).
var chiPattern = regexp.MustCompile(`\{([A-Za-z0-9_]+)(:[^}]*)?\}`)

// operationOf is the documented operation a routed request reached.
func operationOf(r *http.Request) (*openapi.Operation, bool) {
	rc := chi.RouteContext(r.Context())
	if rc == nil {
		return nil, false
	}
	route := strings.ReplaceAll(rc.RoutePattern(), "/*/", "/")
	route = strings.TrimSuffix(route, "/*")
	route = chiPattern.ReplaceAllString(route, "{$1}")
	return contract.Operation(r.Method, route)
}

// checkRequest refuses query parameters the operation does not declare
// and a JSON body its schema refuses, naming every field. A body that is
// not JSON, too large or malformed is left to the handler's decoding,
// which names that problem.
func checkRequest(r *http.Request) error {
	op, ok := operationOf(r)
	if !ok {
		return nil
	}
	var fields []FieldError
	for _, name := range op.UnknownQuery(r.URL.Query()) {
		fields = append(fields, FieldError{Field: name, Message: "is not a query parameter of " + r.Method + " " + op.Template})
	}
	if r.Body != nil && r.Body != http.NoBody {
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && mt == "application/json" {
			body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
			r.Body = readCloser{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
			if err == nil && len(body) <= maxBody && len(bytes.TrimSpace(body)) > 0 && strictjson.Check(body) == nil {
				for _, p := range op.CheckBody(body) {
					field := p.Field
					if field == "" {
						field = strictjson.Body
					}
					fields = append(fields, FieldError{Field: field, Message: p.Message})
				}
			}
		}
	}
	if len(fields) == 0 {
		return nil
	}
	detail := fields[0].Field + ": " + fields[0].Message
	if len(fields) > 1 {
		detail = strconv.Itoa(len(fields)) + " invalid fields; errors names each"
	}
	return &apiError{kind: kindInvalid, detail: detail, fields: fields}
}

// readCloser is a re-read body that still closes the original.
type readCloser struct {
	io.Reader
	io.Closer
}

// checked refuses a request checkRequest refuses before next sees it.
func checked(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := checkRequest(r); err != nil {
			errorWriter{}.write(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

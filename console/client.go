package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// apiClient calls the API handler in-process as a key.
type apiClient struct {
	h http.Handler
}

// reply is a buffered API response.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// problem is an RFC 9457 problem as the API writes it.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
	Errors []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
}

// Error implements error.
func (p *problem) Error() string {
	if p.Detail != "" {
		return p.Detail
	}
	return p.Title
}

// fields maps each named field to its message.
func (p *problem) fields() map[string]string {
	out := map[string]string{}
	for _, e := range p.Errors {
		if _, dup := out[e.Field]; !dup {
			out[e.Field] = e.Message
		}
	}
	return out
}

// asProblem returns the problem behind err, if any.
func asProblem(err error) (*problem, bool) {
	var p *problem
	ok := errors.As(err, &p)
	return p, ok
}

// bufferWriter collects a response in memory.
type bufferWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferWriter) Header() http.Header { return b.header }
func (b *bufferWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}
func (b *bufferWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

// request builds an in-process request to the API as the key.
func (c apiClient) request(ctx context.Context, from *http.Request, key, method, path string, body []byte, headers ...string) *http.Request {
	var rd io.Reader = http.NoBody
	if body != nil {
		rd = bytes.NewReader(body)
	}
	r, err := http.NewRequestWithContext(ctx, method, path, rd)
	if err != nil {
		// Paths are built from escaped parts; one that still does not
		// parse reaches the API as a path it has no route for.
		r, _ = http.NewRequestWithContext(ctx, method, "/v1/unparsable-path", rd)
	}
	r.Header.Set("Authorization", "Bearer "+key)
	r.Header.Set("Accept", "application/json")
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
		r.ContentLength = int64(len(body))
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	if id := correlationOf(ctx); id != "" {
		r.Header.Set(correlationHeader, id)
	}
	if from != nil {
		r.RemoteAddr = from.RemoteAddr
		r.Header.Set("User-Agent", from.UserAgent())
	}
	r.RequestURI = r.URL.RequestURI()
	return r
}

// do sends one request and buffers the response.
func (c apiClient) do(ctx context.Context, from *http.Request, key, method, path string, body []byte, headers ...string) reply {
	w := &bufferWriter{header: http.Header{}}
	c.h.ServeHTTP(w, c.request(ctx, from, key, method, path, body, headers...))
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return reply{Status: w.status, Header: w.header, Body: w.body.Bytes()}
}

// err turns a non-2xx reply into a *problem.
func (r reply) err() error {
	if r.Status >= 200 && r.Status < 300 {
		return nil
	}
	p := &problem{Status: r.Status}
	if json.Unmarshal(r.Body, p) != nil || p.Status == 0 {
		p.Status, p.Title = r.Status, http.StatusText(r.Status)
	}
	return p
}

// version is the reply's ETag as a number (0 without one).
func (r reply) version() int64 {
	v, _ := strconv.ParseInt(strings.Trim(r.Header.Get("ETag"), `"W/`), 10, 64)
	return v
}

// getJSON reads path into out; a non-2xx answer is a *problem.
func (c apiClient) getJSON(ctx context.Context, from *http.Request, key, path string, out any) (reply, error) {
	rep := c.do(ctx, from, key, http.MethodGet, path, nil)
	if err := rep.err(); err != nil {
		return rep, err
	}
	if out != nil {
		if err := json.Unmarshal(rep.Body, out); err != nil {
			return rep, fmt.Errorf("decode %s: %w", path, err)
		}
	}
	return rep, nil
}

// withQuery appends the non-empty values to path.
func withQuery(path string, q url.Values) string {
	clean := url.Values{}
	for k, vs := range q {
		for _, v := range vs {
			if v != "" {
				clean.Add(k, v)
			}
		}
	}
	if len(clean) == 0 {
		return path
	}
	return path + "?" + clean.Encode()
}

// jsonInto decodes b into out.
func jsonInto(b []byte, out any) error { return json.Unmarshal(b, out) }

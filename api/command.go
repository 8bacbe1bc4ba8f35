package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"crm/commands"
)

// Responses looks up idempotency records.
type Responses interface {
	// LookupResponse returns the record stored under an idempotency key;
	// ok is false when there is none.
	LookupResponse(ctx context.Context, scope, key string) (rec commands.Replay, ok bool, err error)
}

// commandResponse is the body of every successful command.
type commandResponse struct {
	ID       string         `json:"id"`
	Version  int64          `json:"version"`
	Position *string        `json:"position"`
	Events   []eventSummary `json:"events"`
}

type eventSummary struct {
	Type   string `json:"type"`
	ID     string `json:"id"`
	Stream string `json:"stream"`
}

// IdempotencyHeader names the client's idempotency key.
const IdempotencyHeader = "Idempotency-Key"

// commandSpec describes one command route.
type commandSpec struct {
	// emptyBody allows a request without a body.
	emptyBody bool
	// decode parses the body into the command.
	decode func(r *http.Request, body []byte) error
	// exec runs the command with env filled in.
	exec func(ctx context.Context, env *commands.Envelope) error
	// render adds command-specific fields to the response.
	render func(res commands.Result, base commandResponse) any
}

// runCommand is the shared path of every command route: body, decoding,
// metadata, If-Match, idempotency, execution and the response.
func (s *server) runCommand(w http.ResponseWriter, r *http.Request, spec commandSpec) {
	cmdID := uuid.Must(uuid.NewV7()).String()
	var (
		failure  error
		replayed bool
		res      *commands.Result
	)
	if s.observer != nil {
		ctx, done := s.observer.StartCommand(r.Context(), chi.RouteContext(r.Context()).RoutePattern(), cmdID)
		r = r.WithContext(ctx)
		defer func() {
			outcome, code := commandOutcome(failure, replayed)
			var stream string
			var version int64
			if res != nil {
				version = res.Version
				if len(res.Events) > 0 {
					stream = res.Events[0].Stream
				}
			}
			done(outcome, code, stream, version)
		}()
	}
	fail := func(err error) {
		failure = err
		s.errs.write(w, r, err)
	}
	body, err := readBody(r, spec.emptyBody)
	if err != nil {
		fail(err)
		return
	}
	if err := spec.decode(r, body); err != nil {
		fail(err)
		return
	}
	p := principalOf(r.Context())
	env := commands.Envelope{Metadata: commands.Metadata{Actor: p.Actor(), CommandID: cmdID,
		CorrelationID: CorrelationID(r.Context()), CausationID: cmdID}}
	if im := r.Header.Get("If-Match"); im != "" {
		v, err := strconv.ParseInt(strings.Trim(strings.TrimPrefix(strings.TrimSpace(im), "W/"), `"`), 10, 64)
		if err != nil || v < 0 {
			fail(badField("If-Match", `must be a version such as "3"`))
			return
		}
		env.IfMatch = &v
	}
	key := r.Header.Get(IdempotencyHeader)
	var hash string
	if key != "" {
		if len(key) > 255 || strings.ContainsFunc(key, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
			fail(badField(IdempotencyHeader, "must be 1 to 255 visible ASCII characters"))
			return
		}
		sum := sha256.Sum256([]byte(r.Method + " " + chi.RouteContext(r.Context()).RoutePattern() + " " + r.URL.Path + "\n" + string(body)))
		hash = hex.EncodeToString(sum[:])
		done, err := s.replay(w, r, spec, p.KeyID, key, hash)
		if err != nil {
			fail(err)
			return
		}
		if done {
			replayed = true
			return
		}
		env.Idempotency = &commands.Idempotency{Scope: p.KeyID, Key: key, RequestHash: hash}
	}
	err = spec.exec(r.Context(), &env)
	if errors.Is(err, commands.ErrIdempotencyRace) {
		done, rerr := s.replay(w, r, spec, p.KeyID, key, hash)
		if rerr != nil {
			fail(rerr)
			return
		}
		if done {
			replayed = true
			return
		}
	}
	if err != nil {
		fail(err)
		return
	}
	res = &env.Result
	status, b := spec.response(env.Result)
	writeCommandResponse(w, status, env.Result.Version, b)
}

// commandOutcome names how a command ended, for its observer.
func commandOutcome(err error, replayed bool) (outcome, code string) {
	if replayed {
		return "replayed", ""
	}
	if err == nil {
		return "accepted", ""
	}
	var ke kindedError
	if !errors.As(err, &ke) {
		return "failed", ""
	}
	if c, ok := ke.(codedError); ok {
		code = c.ErrorCode()
	}
	switch ke.ErrorKind() {
	case kindConflict:
		return "refused", code
	case kindPrecondition:
		return "conflict", code
	case kindUnavailable:
		if code == "busy" {
			return "conflict", code
		}
		return "failed", code
	case kindInternal:
		return "failed", ""
	}
	return "invalid", code
}

// response renders a command's result: the first answer and every
// idempotent replay of it come from here.
func (spec commandSpec) response(res commands.Result) (status int, body []byte) {
	base := commandResponse{ID: res.ID, Version: res.Version, Events: make([]eventSummary, len(res.Events))}
	if res.Position != "" {
		pos := res.Position
		base.Position = &pos
	}
	for i, e := range res.Events {
		base.Events[i] = eventSummary{Type: e.Type, ID: e.ID, Stream: e.Stream}
	}
	var v any = base
	if spec.render != nil {
		v = spec.render(res, base)
	}
	b, _ := json.Marshal(v)
	status = http.StatusOK
	if res.Created {
		status = http.StatusCreated
	}
	return status, b
}

// replay answers from a stored idempotency record, if there is one
// (done). An error is for the caller to answer: the lookup failed, or
// the key was used with another request.
func (s *server) replay(w http.ResponseWriter, r *http.Request, spec commandSpec, scope, key, hash string) (done bool, err error) {
	rec, ok, err := s.responses.LookupResponse(r.Context(), scope, key)
	if err != nil {
		return false, err
	}
	if !ok {
		return false, nil
	}
	if rec.RequestHash != hash {
		return false, codedErr(kindUnprocessable, "idempotency_key_reused",
			"this Idempotency-Key was used with a different request")
	}
	w.Header().Set("Idempotent-Replayed", "true")
	if rec.Result != nil {
		status, body := spec.response(*rec.Result)
		writeCommandResponse(w, status, rec.Result.Version, body)
		return true, nil
	}
	// A record stored before results were kept holds its rendered answer.
	var v struct {
		Version int64 `json:"version"`
	}
	_ = json.Unmarshal(rec.Body, &v)
	writeCommandResponse(w, rec.Status, v.Version, rec.Body)
	return true, nil
}

func writeCommandResponse(w http.ResponseWriter, status int, version int64, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("ETag", etag(version))
	w.WriteHeader(status)
	_, _ = w.Write(body)
	_, _ = w.Write([]byte("\n"))
}

func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// pathID returns the {id} URL parameter when it is a UUID; anything else
// cannot name an entity and answers 404.
func pathID(r *http.Request, name string) (string, error) {
	v := chi.URLParam(r, name)
	if _, err := uuid.Parse(v); err != nil || len(v) != 36 {
		return "", codedErr(kindNotFound, "not_found", "no entity with id "+strconv.Quote(v))
	}
	return strings.ToLower(v), nil
}

// enveloped is a pointer to any command struct (they embed
// commands.Envelope).
type enveloped[C any] interface {
	*C
	Env() *commands.Envelope
}

// bind returns an execution of command c by handle that takes the
// request's envelope in and gives the result back.
func bind[C any, P enveloped[C]](c P, handle func(context.Context, P) error) func(context.Context, *commands.Envelope) error {
	return func(ctx context.Context, env *commands.Envelope) error {
		*c.Env() = *env
		err := handle(ctx, c)
		env.Result = c.Env().Result
		return err
	}
}

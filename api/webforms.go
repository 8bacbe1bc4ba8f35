package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"crm/aggregates"
	"crm/commands"
	"crm/internal/strictjson"
)

// WebFormLimits bound the public web form posts. Zero rates take the
// defaults: per client address 5 posts a minute (burst 5), per form 120 a
// minute (burst 60); MaxBody defaults to 16 KiB.
type WebFormLimits struct {
	PerIP, PerForm RateLimit
	MaxBody        int64
}

// defaultWebFormLimits fills in the zero limits.
func (l WebFormLimits) withDefaults() WebFormLimits {
	if l.PerIP.PerSecond <= 0 {
		l.PerIP = RateLimit{PerSecond: 5.0 / 60, Burst: 5}
	}
	if l.PerForm.PerSecond <= 0 {
		l.PerForm = RateLimit{PerSecond: 2, Burst: 60}
	}
	if l.MaxBody <= 0 {
		l.MaxBody = 16 << 10
	}
	return l
}

// webForms holds the public form route's limiters.
type webForms struct {
	limits WebFormLimits
	perIP  *keyLimiter
	perFrm *keyLimiter
	posts  atomic.Int64
}

// pruneEvery is how many posts pass between two prunings of the
// limiters' idle buckets.
const pruneEvery = 1024

// take spends a token of key's bucket in l, pruning the buckets that
// have refilled (they hold nothing a new bucket would not) now and then,
// so addresses seen once do not pile up.
func (f *webForms) take(l *keyLimiter, key string) (bool, time.Duration) {
	if f.posts.Add(1)%pruneEvery == 0 {
		f.perIP.prune()
		f.perFrm.prune()
	}
	return l.take(key)
}

// prune drops the buckets that are full again.
func (l *keyLimiter) prune() {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	refill := time.Duration(float64(l.limit.Burst) / l.limit.PerSecond * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.last) >= refill {
			delete(l.buckets, k)
		}
	}
}

func newWebForms(l WebFormLimits, now func() time.Time) *webForms {
	l = l.withDefaults()
	f := &webForms{limits: l, perIP: newKeyLimiter(l.PerIP), perFrm: newKeyLimiter(l.PerForm)}
	f.perIP.now, f.perFrm.now = now, now
	return f
}

// limited is the 429 of a post beyond a limit.
func limited(what string, wait time.Duration) error {
	return &apiError{kind: kindTooManyRequests, code: "rate_limited",
		detail: "too many submissions from " + what + "; retry later", retryAfter: max(wait, time.Second)}
}

// clientAddress is the address the post came from (the connection's,
// without its port).
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

type createWebFormRequest struct {
	Name           string   `json:"name"`
	CampaignID     string   `json:"campaign_id"`
	Fields         []string `json:"fields"`
	AllowedOrigins []string `json:"allowed_origins"`
	Honeypot       string   `json:"honeypot"`
}

type createWebFormResponse struct {
	commandResponse
	Token string `json:"token"`
	URL   string `json:"url"`
}

// webFormAdminRoutes mounts POST /webforms (admin) and GET /webforms/{id}.
func (s *server) webFormAdminRoutes(r chi.Router) {
	r.With(require(permForms)).Post("/webforms", func(w http.ResponseWriter, r *http.Request) {
		var c commands.CreateWebForm
		s.runCommand(w, r, commandSpec{
			decode: func(_ *http.Request, body []byte) error {
				var req createWebFormRequest
				if err := decodeStrict(body, &req); err != nil {
					return err
				}
				if req.CampaignID != "" && !isUUID(req.CampaignID) {
					return badField("campaign_id", "must be a campaign id")
				}
				c.Name, c.CampaignID, c.Fields, c.AllowedOrigins, c.Honeypot = req.Name, strings.ToLower(req.CampaignID),
					req.Fields, req.AllowedOrigins, req.Honeypot
				return nil
			},
			exec: bind(&c, s.cmds.CreateWebForm),
			render: func(res commands.Result, base commandResponse) any {
				return createWebFormResponse{commandResponse: base, Token: res.Extra["token"], URL: "/f/" + res.Extra["token"]}
			},
		})
	})
	r.With(require(permForms)).Post("/webforms/{id}/disable", s.entityCommand(false, func(id string, body []byte) (func(context.Context, *commands.Envelope) error, error) {
		var req struct {
			Reason string `json:"reason"`
		}
		if err := decodeStrict(body, &req); err != nil {
			return nil, err
		}
		c := commands.DisableWebForm{FormID: id, Reason: req.Reason}
		return bind(&c, s.cmds.DisableWebForm), nil
	}))
	r.With(require(permForms)).Get("/webforms/{id}", readByID(s, s.cmds.WebForm))
}

// formTokenOK reports whether a token can be one of ours (32 base64url
// characters).
func formTokenOK(t string) bool {
	if len(t) != 32 {
		return false
	}
	for _, c := range t {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// publicFormRoutes mounts POST and OPTIONS /f/{form_token}: the public
// web-to-lead endpoint, without an API key.
func (s *server) publicFormRoutes(r chi.Router) {
	r.With(s.recordRequests).Post("/f/{form_token}", s.submitForm)
	r.Options("/f/{form_token}", func(w http.ResponseWriter, r *http.Request) {
		form, err := s.formFor(r)
		if err != nil {
			s.errs.write(w, r, err)
			return
		}
		if err := allowOrigin(w, r, form); err != nil {
			s.errs.write(w, r, err)
			return
		}
		w.Header().Set("Access-Control-Allow-Methods", "POST")
		w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
		w.Header().Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
	})
}

// formFor finds the form a request's token opens.
func (s *server) formFor(r *http.Request) (aggregates.WebFormView, error) {
	token := chi.URLParam(r, "form_token")
	if !formTokenOK(token) {
		return aggregates.WebFormView{}, codedErr(kindNotFound, "not_found", "no web form with that token")
	}
	form, err := s.cmds.WebFormByToken(r.Context(), token)
	if err != nil {
		return form, err
	}
	if !form.Active {
		return form, codedErr(kindNotFound, "not_found", "this web form no longer accepts submissions")
	}
	return form, nil
}

// allowOrigin answers the CORS headers of an allowed browser origin; a
// post from another origin is refused (403). A request without an Origin
// (a server posting) passes.
func allowOrigin(w http.ResponseWriter, r *http.Request, form aggregates.WebFormView) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	w.Header().Add("Vary", "Origin")
	if !slices.Contains(form.AllowedOrigins, strings.ToLower(origin)) {
		return &apiError{kind: kindForbidden, code: "origin_not_allowed", detail: "this form does not accept posts from " + strconv.Quote(origin)}
	}
	w.Header().Set("Access-Control-Allow-Origin", origin)
	return nil
}

// submission is the body of a web form post.
type submission struct {
	values map[string]string
}

// parseSubmission reads a form post (application/x-www-form-urlencoded
// or application/json with string values): only the form's fields and
// its honeypot, each once.
func parseSubmission(r *http.Request, body []byte, form aggregates.WebFormView) (submission, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		mt = ""
	}
	sub := submission{values: map[string]string{}}
	allowed := func(k string) bool { return slices.Contains(form.Fields, k) || k == form.Honeypot }
	switch mt {
	case "application/x-www-form-urlencoded":
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return sub, requestErr(kindInvalid, "the body is not a well-formed form post")
		}
		for k, vs := range vals {
			if !allowed(k) {
				return sub, badField(k, "is not a field of this form")
			}
			if len(vs) > 1 {
				return sub, badField(k, "is given more than once")
			}
			if !storableText(vs[0]) {
				return sub, badField(k, "must be valid UTF-8 without NUL characters")
			}
			sub.values[k] = vs[0]
		}
	case "application/json":
		if err := strictjson.Check(body); err != nil {
			return sub, jsonError(err)
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(body, &raw); err != nil {
			return sub, requestErr(kindInvalid, "the body must be a JSON object")
		}
		for k, v := range raw {
			if !allowed(k) {
				return sub, badField(k, "is not a field of this form")
			}
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return sub, badField(k, "must be a string")
			}
			sub.values[k] = s
		}
	default:
		return sub, &apiError{kind: kindUnsupportedMedia, field: "Content-Type", message: "must be application/x-www-form-urlencoded or application/json",
			detail: "send Content-Type: application/x-www-form-urlencoded or application/json"}
	}
	return sub, nil
}

// submitForm serves POST /f/{form_token}.
func (s *server) submitForm(w http.ResponseWriter, r *http.Request) {
	noteCaller(r.Context(), Principal{Role: "public"})
	if ok, wait := s.forms.take(s.forms.perIP, clientAddress(r)); !ok {
		s.errs.write(w, r, limited("this address", wait))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, s.forms.limits.MaxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		s.errs.write(w, r, requestErr(kindTooLarge, fmt.Sprintf("a form post is at most %d bytes", s.forms.limits.MaxBody)))
		return
	}
	if err != nil {
		s.errs.write(w, r, requestErr(kindInvalid, "reading the body: "+err.Error()))
		return
	}
	form, err := s.formFor(r)
	if err != nil {
		s.errs.write(w, r, err)
		return
	}
	if err := allowOrigin(w, r, form); err != nil {
		s.errs.write(w, r, err)
		return
	}
	if ok, wait := s.forms.take(s.forms.perFrm, form.ID); !ok {
		s.errs.write(w, r, limited("all senders to this form", wait))
		return
	}
	sub, err := parseSubmission(r, body, form)
	if err != nil {
		s.errs.write(w, r, err)
		return
	}
	if sub.values[form.Honeypot] != "" {
		// A bot filled the field people never see: answered as a success,
		// kept nowhere.
		writeJSON(w, http.StatusOK, map[string]string{"status": "received"})
		return
	}
	v := sub.values
	cmdID := uuid.Must(uuid.NewV7()).String()
	c := commands.SubmitWebForm{FormID: form.ID, Submission: aggregates.Submission{Name: v["name"], Company: v["company"],
		Email: v["email"], Phone: v["phone"], Region: v["region"], Industry: v["industry"], CompanySize: v["company_size"],
		Message: v["message"]}}
	c.Metadata = commands.Metadata{Actor: "webform:" + form.ID, CommandID: cmdID, CorrelationID: CorrelationID(r.Context()), CausationID: cmdID}
	if err := s.cmds.SubmitWebForm(r.Context(), &c); err != nil {
		s.errs.write(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "received"})
}

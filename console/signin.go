package console

import (
	"net/http"
	"net/url"
	"strings"
)

// whoami is GET /v1/whoami.
type whoami struct {
	KeyID       string   `json:"key_id"`
	Name        string   `json:"name"`
	Role        string   `json:"role"`
	Permissions []string `json:"permissions"`
}

// signinData is the sign-in page's content.
type signinData struct {
	Token string
	Next  string
}

func (c *Console) signinPage(w http.ResponseWriter, r *http.Request) {
	if c.sessions.get(r) != nil {
		http.Redirect(w, r, localPath(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	c.renderSignin(w, r, http.StatusOK, r.URL.Query().Get("next"), nil)
}

// renderSignin shows the form with a fresh sign-in token (double-submitted
// through a cookie, so a sign-in cannot be forged from another site).
func (c *Console) renderSignin(w http.ResponseWriter, r *http.Request, status int, next string, errs map[string]string) {
	tok := token()
	setCookie(w, r, signinCookie, tok, 3600)
	c.render(w, r, status, "signin", &page{Title: "Sign in", Errors: errs, Data: signinData{Token: tok, Next: localPath(next)}})
}

func (c *Console) signin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	next := r.PostFormValue("next")
	ck, err := r.Cookie(signinCookie)
	if err != nil || !sameOrigin(r) || !sameToken(r.PostFormValue("csrf"), ck.Value) {
		c.renderSignin(w, r, http.StatusForbidden, next, map[string]string{"key": "This form has expired. Try again."})
		return
	}
	key := strings.TrimSpace(r.PostFormValue("key"))
	if key == "" {
		c.renderSignin(w, r, http.StatusBadRequest, next, map[string]string{"key": "Enter an API key."})
		return
	}
	var me whoami
	if _, err := c.api.getJSON(r.Context(), r, key, "/v1/whoami", &me); err != nil {
		p, ok := asProblem(err)
		if ok && p.Status == http.StatusUnauthorized {
			c.renderSignin(w, r, http.StatusUnauthorized, next, map[string]string{"key": "This key is unknown or revoked."})
			return
		}
		c.failProblem(w, r, nil, err)
		return
	}
	ss := c.sessions.create(key, me.KeyID, me.Name, me.Role, me.Permissions)
	setCookie(w, r, sessionCookie, ss.id, 0)
	setCookie(w, r, signinCookie, "", -1)
	http.Redirect(w, r, localPath(next), http.StatusSeeOther)
}

func (c *Console) signout(w http.ResponseWriter, r *http.Request, ss *session) {
	c.sessions.end(ss)
	setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, "/signin?"+url.Values{"signed_out": {"1"}}.Encode(), http.StatusSeeOther)
}

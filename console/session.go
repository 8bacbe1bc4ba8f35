package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Cookie names.
const (
	sessionCookie = "crm_session"
	signinCookie  = "crm_signin"
	langCookie    = "crm_lang"
)

// session is one signed-in browser. The key never leaves the server.
type session struct {
	id       string
	key      string
	KeyID    string
	Name     string
	Role     string
	perms    []string
	CSRF     string
	expires  time.Time
	position string // the newest log position a command of this session returned
}

// Can reports whether the session's key holds perm.
func (s *session) Can(perm string) bool { return s != nil && slices.Contains(s.perms, perm) }

// sessions holds the signed-in sessions of this process in memory.
type sessions struct {
	mu   sync.Mutex
	byID map[string]*session
	ttl  time.Duration
	now  func() time.Time
}

func newSessions(ttl time.Duration) *sessions {
	return &sessions{byID: map[string]*session{}, ttl: ttl, now: time.Now}
}

// token returns 32 random bytes, base64url-encoded.
func token() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session for a key.
func (s *sessions) create(key, keyID, name, role string, perms []string) *session {
	ss := &session{id: token(), key: key, KeyID: keyID, Name: name, Role: role, perms: perms, CSRF: token(),
		expires: s.now().Add(s.ttl)}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for id, old := range s.byID { // drop expired sessions as new ones arrive
		if now.After(old.expires) {
			delete(s.byID, id)
		}
	}
	s.byID[ss.id] = ss
	return ss
}

// get returns the request's live session, extending it, or nil.
func (s *sessions) get(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.byID[c.Value]
	if ss == nil {
		return nil
	}
	if s.now().After(ss.expires) {
		delete(s.byID, ss.id)
		return nil
	}
	ss.expires = s.now().Add(s.ttl)
	return ss
}

// notePosition remembers a command's log position, so the session's next
// read-model reads wait for it (read-your-writes).
func (s *sessions) notePosition(ss *session, pos string) {
	if pos == "" {
		return
	}
	s.mu.Lock()
	ss.position = pos
	s.mu.Unlock()
}

// positionOf returns the session's newest command position.
func (s *sessions) positionOf(ss *session) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ss.position
}

// end removes a session.
func (s *sessions) end(ss *session) {
	s.mu.Lock()
	delete(s.byID, ss.id)
	s.mu.Unlock()
}

// sameToken compares two tokens in constant time; empty never matches.
func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// setCookie writes an HttpOnly, SameSite=Strict cookie for the whole site.
func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
}

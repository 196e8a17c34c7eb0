package pages

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"sync"
	"time"
)

// CookieName is the session cookie. The __Host- prefix makes browsers
// refuse it unless it is Secure, host-only and for Path=/.
const CookieName = "__Host-bankguard_session"

// stage is how far a session's sign-in has come.
type stage int

const (
	stagePassword stage = iota // anonymous: the password is next
	stageTOTP                  // password proved: the second factor is next
	stageDone                  // signed in
)

// pending is a validated authorization request waiting for the user. It
// lives only server-side, so the user cannot edit it (RFC 6749 §10.12).
type pending struct {
	appID, appName string
	redirectURI    string
	state          string
	challenge      string
	scopes         []string
	fund           bool
	deadline       time.Time // the request is forgotten after it
}

// session is a browser's server-side state. The cookie holds a random
// 256-bit id; the store knows only its SHA-256, so a copy of the store's
// memory holds no usable cookie.
type session struct {
	key      [32]byte
	ref      string // a public handle for consents and events: never the cookie
	csrf     string
	created  time.Time
	lastSeen time.Time
	stage    stage
	pending  *pending // nil: a self-service (account) session
	userID   string
	acr      string
	authAt   time.Time
	notice   *msg // shown once by the next page
}

// expired reports whether s ended by idleness or by age at now
// (T/PCAC 0008-2020 5.3.1-3, 5.2.1 d).
func (s *session) expired(now time.Time, idle, lifetime time.Duration) bool {
	return now.Sub(s.lastSeen) >= idle || now.Sub(s.created) >= lifetime
}

var errBusy = errors.New("pages: session store full")

// sessions is the in-memory session store.
type sessions struct {
	idle, lifetime time.Duration
	max            int

	mu      sync.Mutex
	m       map[[32]byte]*session
	creates int
}

func newSessions(idle, lifetime time.Duration, max int) *sessions {
	return &sessions{idle: idle, lifetime: lifetime, max: max, m: map[[32]byte]*session{}}
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails: crypto/rand.Read crashes the program rather than return an error (Go 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}

func keyOf(id string) [32]byte { return sha256.Sum256([]byte(id)) }

// create stores a copy of s under a fresh id, with a fresh CSRF token, and
// returns the id for the cookie.
func (st *sessions) create(s session, now time.Time) (string, error) {
	id := randomToken()
	s.key = keyOf(id)
	s.csrf = randomToken()
	s.lastSeen = now
	if s.created.IsZero() {
		s.created = now
	}
	if s.ref == "" {
		r := make([]byte, 12)
		_, _ = rand.Read(r)
		s.ref = "s-" + hex.EncodeToString(r)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.creates++
	if len(st.m) >= st.max || st.creates%256 == 0 {
		st.sweepLocked(now)
	}
	if len(st.m) >= st.max {
		return "", errBusy
	}
	st.m[s.key] = &s
	return id, nil
}

// sweepLocked drops sessions that ended and hold no request still waiting.
func (st *sessions) sweepLocked(now time.Time) {
	for k, s := range st.m {
		if s.expired(now, st.idle, st.lifetime) && (s.pending == nil || !now.Before(s.pending.deadline)) {
			delete(st.m, k)
		}
	}
}

// get returns a copy of the session with cookie id, or false.
func (st *sessions) get(id string) (session, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.m[keyOf(id)]
	if !ok {
		return session{}, false
	}
	return *s, true
}

// touch records activity on a live session.
func (st *sessions) touch(key [32]byte, now time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if s, ok := st.m[key]; ok {
		s.lastSeen = now
	}
}

// update applies fn to the stored session; false if it is gone.
func (st *sessions) update(key [32]byte, fn func(*session)) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.m[key]
	if ok {
		fn(s)
	}
	return ok
}

// takePending removes and returns the session's pending request, so that of
// concurrent submissions exactly one proceeds.
func (st *sessions) takePending(key [32]byte) *pending {
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.m[key]
	if !ok || s.pending == nil {
		return nil
	}
	p := s.pending
	s.pending = nil
	return p
}

// rotate replaces the session with key by a new one under a new id and a
// new CSRF token (session fixation defence), after fn changed it. It fails
// if the old session is gone, e.g. taken by a concurrent rotation.
func (st *sessions) rotate(key [32]byte, now time.Time, fn func(*session)) (string, error) {
	st.mu.Lock()
	old, ok := st.m[key]
	if ok {
		delete(st.m, key)
	}
	st.mu.Unlock()
	if !ok {
		return "", errGone
	}
	s := *old
	fn(&s)
	return st.create(s, now)
}

var errGone = errors.New("pages: session gone")

func (st *sessions) delete(key [32]byte) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.m, key)
}

func (st *sessions) len() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.m)
}

// csrfOK compares a submitted token with the session's in constant time.
func csrfOK(s *session, got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) == 1
}

func setCookie(w http.ResponseWriter, id string) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: id, Path: "/",
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

func clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

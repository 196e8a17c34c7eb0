// Package pages serves the bank-hosted pages of the authorization flow:
// sign-in with a password (argon2id) and, for fund scopes, a TOTP second
// factor (RFC 6238); the consent page where the user picks the accounts to
// share, the validity and acknowledges the risk of fund transfers; and the
// self-service page where the user sees and revokes consents and reads
// their history (the close-service channel).
//
// User authentication happens at the bank: T/PCAC 0008-2020 3.2.2 and
// 5.3.1-1; two factors for fund transactions: 3.2.2-2; idle sessions end:
// 5.3.1-3; explicit consent with its validity: 11.3.2; the user's own
// authorization and a risk warning before fund transactions: 6.2.2-2/4;
// per-user and per-address brute-force protection: 3.3.2.
//
// The pages are server-rendered HTML with embedded CSS, no scripts and no
// external assets, under a strict Content-Security-Policy. The gateway mounts
// the Handler on its TLS listener for the paths Routes returns.
package pages

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/bankguard/bankguard/oauth"
)

// Routes are the paths the Handler serves; the gateway mounts it on them.
func Routes() []string {
	return []string{pathAuthorize, pathLogin, pathTOTP, pathConsent, pathAccount, pathRevoke, pathLogout}
}

const (
	pathAuthorize = "/oauth/authorize"
	pathLogin     = "/oauth/login"
	pathTOTP      = "/oauth/totp"
	pathConsent   = "/oauth/consent"
	pathAccount   = "/account"
	pathRevoke    = "/account/revoke"
	pathLogout    = "/account/logout"
)

// maxForm bounds a posted form.
const maxForm = 16 << 10

// Handler serves the pages. It is safe for concurrent use.
type Handler struct {
	cfg      Config
	users    Users
	accounts Accounts
	apps     oauth.Apps
	consents oauth.Consents
	events   EventSink
	history  EventsSource // nil: no history section
	now      func() time.Time
	log      *slog.Logger

	sessions  *sessions
	limiter   *limiter
	steps     TOTPSteps
	hashSlots chan struct{}
	dummyHash string
	fund      map[string]bool
	view      *views
}

// New returns a Handler. events may be nil (nothing is recorded); when it
// also implements EventsSource the self-service page shows the history.
// now is the clock (nil: time.Now).
func New(cfg Config, users Users, accounts Accounts, apps oauth.Apps, consents oauth.Consents, events EventSink, now func() time.Time) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if users == nil || accounts == nil || apps == nil || consents == nil {
		return nil, errors.New("pages: users, accounts, apps and consents are required")
	}
	if now == nil {
		now = time.Now
	}
	if events == nil {
		events = nopEvents{}
	}
	dummy, err := HashPassword(randomToken())
	if err != nil {
		return nil, err
	}
	v, err := newViews()
	if err != nil {
		return nil, err
	}
	h := &Handler{
		cfg: cfg, users: users, accounts: accounts, apps: apps, consents: consents, events: events, now: now,
		log: cfg.Logger, sessions: newSessions(cfg.IdleTimeout, cfg.SessionLifetime, cfg.MaxSessions),
		steps: cfg.Steps, hashSlots: make(chan struct{}, cfg.HashConcurrency), dummyHash: dummy,
		fund: map[string]bool{}, view: v,
	}
	h.limiter = newLimiter(&h.cfg)
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.steps == nil {
		h.steps = newMemSteps()
	}
	if src, ok := events.(EventsSource); ok {
		h.history = src
	}
	for _, s := range cfg.FundScopes {
		h.fund[s] = true
	}
	return h, nil
}

type nopEvents struct{}

func (nopEvents) AddEvent(context.Context, string, string, string) {}

// ServeHTTP routes a request to its page. Every response carries the
// security headers (setHeaders).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.setHeaders(w, "")
	type route struct {
		method string
		fn     func(http.ResponseWriter, *http.Request)
	}
	var rt []route
	switch r.URL.Path {
	case pathAuthorize:
		rt = []route{{http.MethodGet, h.authorize}}
	case pathLogin:
		rt = []route{{http.MethodGet, h.loginPage}, {http.MethodPost, h.login}}
	case pathTOTP:
		rt = []route{{http.MethodGet, h.totpPage}, {http.MethodPost, h.totp}}
	case pathConsent:
		rt = []route{{http.MethodGet, h.consentPage}, {http.MethodPost, h.consent}}
	case pathAccount:
		rt = []route{{http.MethodGet, h.accountPage}}
	case pathRevoke:
		rt = []route{{http.MethodPost, h.revoke}}
	case pathLogout:
		rt = []route{{http.MethodPost, h.logout}}
	default:
		h.message(w, http.StatusNotFound, codeNotFound, msgNotFound)
		return
	}
	allow := ""
	for _, x := range rt {
		if r.Method == x.method {
			x.fn(w, r)
			return
		}
		if allow != "" {
			allow += ", "
		}
		allow += x.method
	}
	w.Header().Set("Allow", allow)
	h.message(w, http.StatusMethodNotAllowed, codeMethodNotAllowed, msgMethodNotAllowed)
}

// setHeaders sets the headers every page carries: a strict CSP (no script,
// styles only the embedded sheet by its hash, forms only to the bank — plus
// formOrigin, the origin a form's answer redirects to, since browsers apply
// form-action to redirects — no framing, no base), no caching, no referrer.
func (h *Handler) setHeaders(w http.ResponseWriter, formOrigin string) {
	hd := w.Header()
	formAction := "'self'"
	if formOrigin != "" {
		formAction += " " + formOrigin
	}
	hd.Set("Content-Security-Policy", fmt.Sprintf(
		"default-src 'none'; style-src '%s'; form-action %s; frame-ancestors 'none'; base-uri 'none'",
		h.view.styleHash, formAction))
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Pragma", "no-cache")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
}

// load returns the request's session. A session that timed out is handled
// by restart (which writes the response) and load reports false; so is a
// missing one, with account telling whether to start a self-service sign-in
// or to show that the authorization request is gone.
func (h *Handler) load(w http.ResponseWriter, r *http.Request, account bool) (*session, bool) {
	now := h.now()
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		h.restart(w, r, nil, account)
		return nil, false
	}
	s, ok := h.sessions.get(c.Value)
	if !ok {
		h.restart(w, r, nil, account)
		return nil, false
	}
	if s.expired(now, h.cfg.IdleTimeout, h.cfg.SessionLifetime) {
		h.sessions.delete(s.key)
		h.restart(w, r, &s, account)
		return nil, false
	}
	h.sessions.touch(s.key, now)
	return &s, true
}

// restart answers a request whose session is missing or ended: back to the
// sign-in page with a fresh anonymous session, keeping an authorization
// request that is still waiting (never the sign-in itself); or, with
// nothing to go back to, a page saying so.
func (h *Handler) restart(w http.ResponseWriter, r *http.Request, old *session, account bool) {
	now := h.now()
	var ns session
	switch {
	case old != nil && old.pending != nil && now.Before(old.pending.deadline):
		ns.pending = old.pending
	case account || (old != nil && old.pending == nil):
	default:
		clearCookie(w)
		h.message(w, http.StatusBadRequest, codeSessionExpired, msgSessionExpired)
		return
	}
	if old != nil {
		ns.notice = &msgTimedOut
	}
	h.startSession(w, r, ns)
}

// startSession stores ns as a new anonymous session and sends the browser
// to sign in.
func (h *Handler) startSession(w http.ResponseWriter, r *http.Request, ns session) {
	id, err := h.sessions.create(ns, h.now())
	if err != nil {
		h.message(w, http.StatusServiceUnavailable, codeBusy, msgBusy)
		return
	}
	setCookie(w, id)
	http.Redirect(w, r, pathLogin, http.StatusSeeOther)
}

// post loads the session of a form submission and checks its CSRF token;
// on refusal it has written the response.
func (h *Handler) post(w http.ResponseWriter, r *http.Request, account bool) (*session, bool) {
	s, ok := h.load(w, r, account)
	if !ok {
		return nil, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		h.message(w, http.StatusBadRequest, codeRequestInvalid, msgRequestInvalid)
		return nil, false
	}
	if !csrfOK(s, r.PostForm.Get("csrf")) {
		h.message(w, http.StatusForbidden, codeCSRF, msgCSRF)
		return nil, false
	}
	return s, true
}

// next is where a session goes from here.
func next(s *session) string {
	switch {
	case s.stage == stagePassword:
		return pathLogin
	case s.stage == stageTOTP:
		return pathTOTP
	case s.pending != nil:
		return pathConsent
	default:
		return pathAccount
	}
}

// end deletes the session and its cookie.
func (h *Handler) end(w http.ResponseWriter, s *session) {
	h.sessions.delete(s.key)
	clearCookie(w)
}

// internal logs err (never a secret: callers pass store errors) and shows
// the generic error page.
func (h *Handler) internal(w http.ResponseWriter, r *http.Request, what string, err error) {
	h.log.ErrorContext(r.Context(), "pages: "+what, slog.String("path", r.URL.Path), slog.Any("error", err))
	h.message(w, http.StatusInternalServerError, codeInternal, msgInternal)
}

// clientIP is the address the request came from.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// maskIP keeps the network part of an address for the user's history: the
// last octet of IPv4, the last 80 bits of IPv6 are hidden.
func maskIP(ip string) string {
	a := net.ParseIP(ip)
	if a == nil {
		return "unknown"
	}
	if v4 := a.To4(); v4 != nil {
		return fmt.Sprintf("%d.%d.%d.*", v4[0], v4[1], v4[2])
	}
	return fmt.Sprintf("%x:%x:%x::*", uint16(a[0])<<8|uint16(a[1]), uint16(a[2])<<8|uint16(a[3]), uint16(a[4])<<8|uint16(a[5]))
}

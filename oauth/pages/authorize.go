package pages

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bankguard/bankguard/oauth"
)

// Limits on the authorization request.
const (
	maxState  = 512
	maxScopes = 16
)

// authzRequest is an authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3)
// after validation.
type authzRequest struct {
	app         *oauth.AppInfo
	redirectURI string
	state       string
	challenge   string
	scopes      []string
	fund        bool
}

// authzError is a refusal of an authorization request. With redirect set it
// goes back to the app's (registered) redirect URI as RFC 6749 §4.1.2.1
// says; otherwise the bank shows it and never redirects.
type authzError struct {
	redirect bool
	// for the redirect
	code, desc, state string
	// for the page
	status   int
	pageCode string
	page     msg
	internal error
}

// authorize answers GET /oauth/authorize: it validates the request, keeps it
// in a new anonymous session and sends the browser to sign in.
func (h *Handler) authorize(w http.ResponseWriter, r *http.Request) {
	req, aerr := h.validateAuthz(r)
	if aerr != nil {
		switch {
		case aerr.internal != nil:
			h.internal(w, r, "authorize: app lookup", aerr.internal)
		case aerr.redirect:
			v := url.Values{"error": {aerr.code}}
			if aerr.desc != "" {
				v.Set("error_description", aerr.desc)
			}
			if aerr.state != "" {
				v.Set("state", aerr.state)
			}
			http.Redirect(w, r, withQuery(req.redirectURI, v), http.StatusFound)
		default:
			h.message(w, aerr.status, aerr.pageCode, aerr.page)
		}
		return
	}
	// A browser starting an authorization leaves whatever session it had:
	// each authorization is signed in for on its own.
	if c, err := r.Cookie(CookieName); err == nil {
		h.sessions.delete(keyOf(c.Value))
	}
	h.startSession(w, r, session{pending: &pending{
		appID: req.app.ID, appName: req.app.Name, redirectURI: req.redirectURI, state: req.state,
		challenge: req.challenge, scopes: req.scopes, fund: req.fund,
		deadline: h.now().Add(h.cfg.SessionLifetime),
	}})
}

// validateAuthz checks the request in the order RFC 6749 §4.1.2.1 needs:
// first the client and the redirect URI, which decide whether an error may
// be redirected at all, then everything else. req is non-nil (with the
// redirect URI) whenever the error is to be redirected.
func (h *Handler) validateAuthz(r *http.Request) (*authzRequest, *authzError) {
	page := func(status int, code string, m msg) *authzError {
		return &authzError{status: status, pageCode: code, page: m}
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, page(http.StatusBadRequest, codeRequestInvalid, msgRequestInvalid)
	}
	one := func(name string) (string, bool) {
		v := q[name]
		if len(v) > 1 {
			return "", false
		}
		if len(v) == 0 {
			return "", true
		}
		return v[0], true
	}
	clientID, ok := one("client_id")
	if !ok || clientID == "" {
		return nil, page(http.StatusBadRequest, codeClientUnknown, msgClientUnknown)
	}
	app, err := h.apps.App(r.Context(), clientID)
	if errors.Is(err, oauth.ErrNotFound) || (err == nil && app == nil) {
		return nil, page(http.StatusBadRequest, codeClientUnknown, msgClientUnknown)
	}
	if err != nil {
		return nil, &authzError{internal: err}
	}
	redirectURI, ok := one("redirect_uri")
	if !ok || !registered(app, redirectURI) {
		return nil, page(http.StatusBadRequest, codeRedirectURIInvalid, msgRedirectInvalid)
	}

	// From here on, errors go back to the app.
	req := &authzRequest{app: app, redirectURI: redirectURI}
	fail := func(code, desc string) (*authzRequest, *authzError) {
		return req, &authzError{redirect: true, code: code, desc: desc, state: req.state}
	}
	state, ok := one("state")
	if !ok || len(state) > maxState {
		return fail("invalid_request", "state must appear once and be at most 512 characters")
	}
	req.state = state
	rt, ok := one("response_type")
	switch {
	case !ok || rt == "":
		return fail("invalid_request", "response_type is required once")
	case rt != "code":
		return fail("unsupported_response_type", "only response_type=code is supported")
	}
	method, ok1 := one("code_challenge_method")
	challenge, ok2 := one("code_challenge")
	switch {
	case !ok1 || !ok2 || method != "S256":
		return fail("invalid_request", "PKCE with code_challenge_method=S256 is required")
	case !validChallenge(challenge):
		return fail("invalid_request", "code_challenge must be a base64url SHA-256 (43 characters)")
	}
	req.challenge = challenge
	scope, ok := one("scope")
	if !ok {
		return fail("invalid_request", "scope must appear once")
	}
	seen := map[string]bool{}
	for _, s := range strings.Split(scope, " ") {
		if s == "" || seen[s] {
			continue
		}
		if _, known := h.cfg.ScopeText[s]; !known {
			return fail("invalid_scope", "unknown scope")
		}
		seen[s] = true
		req.scopes = append(req.scopes, s)
		req.fund = req.fund || h.fund[s]
	}
	if len(req.scopes) == 0 || len(req.scopes) > maxScopes {
		return fail("invalid_scope", "scope is required")
	}
	if !agreementOpen(app, h.now()) {
		return fail("unauthorized_client", "the application's agreement has ended")
	}
	return req, nil
}

// registered reports whether uri is exactly one of the app's registered
// redirect URIs (simple string comparison, RFC 6749 §3.1.2 and the OAuth
// 2.0 Security BCP §4.1.3). A URI with a fragment is never valid.
func registered(app *oauth.AppInfo, uri string) bool {
	if uri == "" || strings.Contains(uri, "#") {
		return false
	}
	for _, u := range app.RedirectURIs {
		if u == uri {
			return true
		}
	}
	return false
}

// agreementOpen reports whether the app's agreement runs at now. An app
// without an agreement end cannot be given consent: fail closed.
func agreementOpen(app *oauth.AppInfo, now time.Time) bool {
	return !app.AgreementEnd.IsZero() && now.Before(app.AgreementEnd)
}

// validChallenge reports whether c can be an S256 code challenge: the
// unpadded base64url of 32 bytes (RFC 7636 §4.2).
func validChallenge(c string) bool {
	if len(c) != 43 {
		return false
	}
	for i := 0; i < len(c); i++ {
		b := c[i]
		if !('A' <= b && b <= 'Z' || 'a' <= b && b <= 'z' || '0' <= b && b <= '9' || b == '-' || b == '_') {
			return false
		}
	}
	return true
}

// withQuery appends v to uri's query, keeping the query it already has
// (RFC 6749 §3.1.2).
func withQuery(uri string, v url.Values) string {
	sep := "?"
	if strings.Contains(uri, "?") {
		sep = "&"
	}
	return uri + sep + v.Encode()
}

// formOrigin is the CSP source of the origin a redirect to uri goes to, or
// "" if it cannot be written safely (then the browser blocks the redirect:
// fail closed).
func formOrigin(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme == "" {
		return ""
	}
	src := u.Scheme + ":"
	if u.Host != "" {
		src = u.Scheme + "://" + u.Host
	}
	for i := 0; i < len(src); i++ {
		b := src[i]
		if !('A' <= b && b <= 'Z' || 'a' <= b && b <= 'z' || '0' <= b && b <= '9' || strings.IndexByte("+-.:/[]", b) >= 0) {
			return ""
		}
	}
	return strings.ToLower(src)
}

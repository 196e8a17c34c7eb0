// Package usertoken is the gateway's enforcement of user authorization on
// user-bound APIs (those whose x-bankguard block names a consent scope).
//
// A call to such an API must carry the user's access token (RFC 6750
// bearer), issued by the bank's authorization server to the same App_ID
// that signed the request, bound to the app's client certificate where the
// token says so (RFC 8705), under a consent that is active, covers the API's
// scope and shares the account the call acts on; fund APIs need a token from
// a two-factor login. Controls: user authentication at the bank and two
// factors for fund transactions, T/PCAC 0008-2020 3.2.2, 5.3.1, 6.2.2;
// limited token lifetime and revocation, 5.2.1 d/e; least privilege by
// App_ID, API and user, and single-use consents, 5.3.2; unauthorized
// access, 3.3.2; a token presented by another app raises an alert, 6.1.2-3.
//
// The stage runs after signature verification (it needs the verified App)
// and request validation (it reads the validated body). It never logs, and
// its errors never carry the token.
package usertoken

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/jsonptr"
	"github.com/bankguard/bankguard/oauth"
	"github.com/bankguard/bankguard/problem"
)

// internalPrefix starts every header the gateway sets for backends.
const internalPrefix = "Bankguard-"

// AlertOtherApp is the Alert kind raised when an app presents a token that
// was issued to another app (T/PCAC 0008-2020 6.1.2-3).
const AlertOtherApp = "token_other_app"

// Handler is the user token stage.
type Handler struct {
	// Introspector resolves access tokens: the bank's authorization server.
	Introspector oauth.Introspector
	// Now is the clock (nil means time.Now).
	Now func() time.Time
}

// Client-safe details. A refusal says which rule failed only through its
// code; none names the token, the user or the consent.
const (
	detailMissing  = "this API acts for a user: send the user's access token as Authorization: Bearer <token> (RFC 6750)"
	detailAccount  = "the account is not among those the user shared with this application"
	detailFund     = "fund transactions need an access token from a login with a second factor"
	detailInternal = "the access token cannot be checked at the moment; retry later"
)

// WWW-Authenticate challenges (RFC 6750 §3, RFC 9470 §3).
const (
	challengeMissing = `Bearer`
	challengeInvalid = `Bearer error="invalid_token"`
	challengeFund    = `Bearer error="insufficient_user_authentication", acr_values="` + oauth.ACRTwoFactor + `"`
)

// ServeHTTP removes client-sent Bankguard- headers and, for a user-bound
// API, admits the call only with an access token that authorizes it.
// Refusals: 401 token_missing, token_invalid, token_expired, token_revoked
// (with WWW-Authenticate); 403 consent_missing, second_factor_required,
// resource_forbidden; 503 internal when the token cannot be checked.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next stage.Handler) error {
	StripInternal(r.Header)
	ex := stage.FromContext(r.Context())
	if ex.API == nil || !ex.API.UserBound() {
		return next.ServeHTTP(w, r)
	}
	g, err := h.authorize(r, ex)
	if err != nil {
		return err
	}
	if err := record(ex, g); err != nil {
		return err
	}
	// The backend learns who the user is from the proxy's Bankguard- headers
	// (from ex); the token itself goes no further than the gateway.
	r.Header.Del("Authorization")
	return next.ServeHTTP(w, r)
}

// authorize checks the call's token against the API and returns its grant.
// The order matters only for ConsumeOnce, which comes last: a refused call
// never uses up a one-time consent.
func (h *Handler) authorize(r *http.Request, ex *stage.Exchange) (*oauth.Grant, error) {
	if ex.App == nil || h.Introspector == nil {
		// The stage runs after signature verification; without a verified
		// app there is nothing to bind the token to.
		return nil, problem.Wrap(errors.New("usertoken: no verified app or no introspector"), problem.Internal, detailInternal).
			WithStatus(http.StatusServiceUnavailable)
	}
	token, err := bearer(r.Header)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	g, err := h.Introspector.Introspect(ctx, token)
	if err != nil {
		return nil, introspectionError(err, token)
	}
	if g == nil || g.UserID == "" || g.ConsentID == "" || g.AppID == "" {
		return nil, invalid(errors.New("usertoken: the introspector returned an incomplete grant"))
	}
	if g.AppID != ex.App.ID {
		// Not a mistake an honest app makes: a leaked or stolen token. The
		// alert is raised even if the caller has gone away meanwhile.
		h.Introspector.Alert(context.WithoutCancel(ctx), AlertOtherApp, ex.App.ID, otherAppDetail(ex, g))
		return nil, invalid(errors.New("usertoken: token of another app"))
	}
	now := time.Now()
	if h.Now != nil {
		now = h.Now()
	}
	if g.ExpiresAt.IsZero() {
		return nil, invalid(errors.New("usertoken: grant without expiry"))
	}
	if !now.Before(g.ExpiresAt) { // the introspector checks too; a cache in front might not
		return nil, unauthorized(problem.TokenExpired, oauth.ErrTokenExpired.Error(), nil)
	}
	if g.CertThumbprint != "" && !certMatches(r, g.CertThumbprint) {
		return nil, invalid(errors.New("usertoken: the TLS client certificate is not the one the token is bound to"))
	}
	if err := checkConsent(ex, r, g); err != nil {
		return nil, err
	}
	if g.OneTime {
		if err := h.Introspector.ConsumeOnce(ctx, g.ConsentID); err != nil {
			return nil, consumeError(err, token)
		}
	}
	return g, nil
}

// checkConsent applies what the consent allows: the API's scope, a second
// factor for fund APIs, and the accounts the call acts on.
func checkConsent(ex *stage.Exchange, r *http.Request, g *oauth.Grant) error {
	p := ex.API.Protection
	if !slices.Contains(g.Scopes, p.Scope) {
		return problem.Newf(problem.ConsentMissing, "the user's consent does not cover this API (scope %s)", p.Scope).
			WithHeader("WWW-Authenticate", `Bearer error="insufficient_scope", scope="`+p.Scope+`"`)
	}
	if p.Fund && g.ACR != oauth.ACRTwoFactor {
		return problem.New(problem.SecondFactorRequired, detailFund).WithHeader("WWW-Authenticate", challengeFund)
	}
	if p.AccountParam != "" {
		id, ok := ex.PathParams[p.AccountParam]
		if !ok || !slices.Contains(g.Accounts, id) {
			return problem.New(problem.ResourceForbidden, detailAccount)
		}
	}
	if p.AccountField != "" {
		id, err := jsonptr.String(ex.Body, p.AccountField)
		if err != nil || !slices.Contains(g.Accounts, id) {
			return problem.New(problem.ResourceForbidden, detailAccount)
		}
	}
	return nil
}

// bearer returns the access token of an Authorization: Bearer header
// (RFC 6750 §2.1). No header, or another scheme, is token_missing; a
// malformed bearer credential or several Authorization headers are
// token_invalid.
func bearer(h http.Header) (string, error) {
	values := h.Values("Authorization")
	if len(values) == 0 {
		return "", unauthorized(problem.TokenMissing, detailMissing, nil)
	}
	if len(values) > 1 {
		return "", invalid(errors.New("usertoken: several Authorization headers"))
	}
	scheme, token, found := strings.Cut(values[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", unauthorized(problem.TokenMissing, detailMissing, nil)
	}
	token = strings.TrimLeft(token, " ")
	if !found || !b64token(token) {
		return "", invalid(errors.New("usertoken: malformed bearer credential"))
	}
	return token, nil
}

// b64token reports whether s is an RFC 6750 b64token:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func b64token(s string) bool {
	if len(s) == 0 || len(s) > 4096 {
		return false
	}
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~+/", c) >= 0) {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// certMatches reports whether the TLS client certificate's SHA-256
// thumbprint (base64url, RFC 8705 x5t#S256) is want.
func certMatches(r *http.Request, want string) bool {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return false
	}
	sum := sha256.Sum256(r.TLS.PeerCertificates[0].Raw)
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(strings.TrimRight(want, "="))) == 1
}

// record keeps the grant on the exchange, for the proxy's headers to the
// backend and the audit record. Values the authorization server returned
// that could not travel safely in a header (or, for accounts, in a
// comma-separated list) fail the call closed.
func record(ex *stage.Exchange, g *oauth.Grant) error {
	if !headerSafe(g.UserID) || !headerSafe(g.ConsentID) {
		return problem.Wrap(errors.New("usertoken: user or consent id unfit for a header"), problem.Internal, "the request could not be processed")
	}
	for _, a := range g.Accounts {
		if !headerSafe(a) {
			return problem.Wrap(errors.New("usertoken: account id unfit for a header"), problem.Internal, "the request could not be processed")
		}
	}
	ex.User, ex.Consent, ex.Accounts = g.UserID, g.ConsentID, g.Accounts
	return nil
}

// headerSafe reports whether s is a non-empty run of visible ASCII other
// than the list separator.
func headerSafe(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == ',' {
			return false
		}
	}
	return true
}

// StripInternal removes every header under the Bankguard- prefix, whatever
// its letter case: only the gateway sets those.
func StripInternal(h http.Header) {
	for k := range h {
		if len(k) >= len(internalPrefix) && strings.EqualFold(k[:len(internalPrefix)], internalPrefix) {
			delete(h, k)
		}
	}
}

// otherAppDetail describes a token presented by the wrong app for the
// alert: which app it was issued to, the consent to look at, the API and
// the transaction. Never the token, never the user.
func otherAppDetail(ex *stage.Exchange, g *oauth.Grant) string {
	api := ""
	if ex.API != nil {
		api = ex.API.ID
	}
	return fmt.Sprintf("access token issued to app %s (consent %s) presented by app %s for API %s, txn %s",
		g.AppID, g.ConsentID, ex.App.ID, api, ex.ID)
}

// introspectionError maps the authorization server's answer to a refusal.
// Anything it does not explain fails closed with 503.
func introspectionError(err error, token string) error {
	switch {
	case errors.Is(err, oauth.ErrTokenExpired):
		return unauthorized(problem.TokenExpired, oauth.ErrTokenExpired.Error(), nil)
	case errors.Is(err, oauth.ErrTokenRevoked), errors.Is(err, oauth.ErrConsentUsed):
		return unauthorized(problem.TokenRevoked, oauth.ErrTokenRevoked.Error(), nil)
	case errors.Is(err, oauth.ErrTokenInvalid), errors.Is(err, oauth.ErrNotFound):
		return invalid(nil)
	}
	return problem.Wrap(redacted{err: err, secret: token}, problem.Internal, detailInternal).WithStatus(http.StatusServiceUnavailable)
}

// consumeError maps a failed ConsumeOnce. A one-time consent already used
// leaves the token good for nothing: 401 token_revoked, so that the app
// asks the user again rather than retrying (RFC 6750 invalid_token).
func consumeError(err error, token string) error {
	if errors.Is(err, oauth.ErrConsentUsed) || errors.Is(err, oauth.ErrNotFound) || errors.Is(err, oauth.ErrTokenRevoked) {
		return unauthorized(problem.TokenRevoked, oauth.ErrTokenRevoked.Error(), nil)
	}
	return problem.Wrap(redacted{err: err, secret: token}, problem.Internal, detailInternal).WithStatus(http.StatusServiceUnavailable)
}

// invalid is 401 token_invalid; cause is kept internal.
func invalid(cause error) *problem.Error {
	return unauthorized(problem.TokenInvalid, oauth.ErrTokenInvalid.Error(), cause)
}

// unauthorized is a 401 with the RFC 6750 challenge: no error attribute
// when the request carried no bearer token (§3.1), invalid_token otherwise.
func unauthorized(code problem.Code, detail string, cause error) *problem.Error {
	challenge := challengeInvalid
	if code == problem.TokenMissing {
		challenge = challengeMissing
	}
	return (&problem.Error{Code: code, Detail: detail, Err: cause}).WithHeader("WWW-Authenticate", challenge)
}

// redacted is an internal cause whose text never holds the token, should
// the authorization server's error have quoted it: 5xx causes are logged.
type redacted struct {
	err    error
	secret string
}

func (e redacted) Error() string {
	msg := e.err.Error()
	if e.secret != "" {
		msg = strings.ReplaceAll(msg, e.secret, "[token]")
	}
	return msg
}

func (e redacted) Unwrap() error { return e.err }

var _ stage.Middleware = (*Handler)(nil)

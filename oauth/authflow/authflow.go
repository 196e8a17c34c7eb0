// Package authflow drives the bank's user-authorization flow from the
// outside, as a user's browser and an application would: it sends the
// browser to the bank's authorization endpoint with PKCE (RFC 7636, S256)
// and a state, signs in on the bank's pages with a password and, when the
// bank asks for it, a TOTP code (RFC 6238), approves the consent with the
// accounts and validity asked for, reads the authorization code from the
// bank's redirect to the application without following it, and exchanges
// the code at the token endpoint with a request signed as the application
// (RFC 9421).
//
// It serves `bankguard call --user`, end-to-end tests and the assessor:
// user authentication happens at the bank (T/PCAC 0008-2020 3.2.2, 5.3.1),
// never in the application, so a client that needs a user's token has to go
// through the bank's own pages. Nothing this package returns as an error or
// prints holds a password, TOTP code, authorization code, verifier or token.
package authflow

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"

	"github.com/bankguard/bankguard/oauth"
	"github.com/bankguard/bankguard/oauth/pages"
	"github.com/bankguard/bankguard/sdk"
)

// The bank's paths the flow uses (oauth/pages and the gateway's built-in
// OAuth APIs).
const (
	PathAuthorize  = "/oauth/authorize"
	PathLogin      = "/oauth/login"
	PathTOTP       = "/oauth/totp"
	PathConsent    = "/oauth/consent"
	PathToken      = "/oauth/token"
	PathRevoke     = "/oauth/revoke"
	PathIntrospect = "/oauth/introspect"
)

// maxPages bounds the pages one authorization visits (redirects included):
// a bank that keeps sending the browser around is refused, not followed.
const maxPages = 12

// totpPeriod is RFC 6238's time step, as the bank uses it.
const totpPeriod = 30 * time.Second

// Flow drives the bank's authorization pages as the user would in a
// browser, then exchanges the code for tokens as the app. A Flow holds no
// state between calls: each Authorize starts a new browser (a new cookie
// jar) and returns everything the exchange needs in a Grant, so one Flow
// may run several authorizations, also concurrently.
type Flow struct {
	// BaseURL is the gateway's https URL: the pages and the token endpoint
	// live there. Plain http is refused (a password never travels in clear).
	BaseURL string
	// HTTP is the user's browser: a TLS client trusting the gateway, without
	// the app's client certificate (nil: a default client). Each run uses a
	// copy with a fresh cookie jar that never follows redirects by itself.
	HTTP *http.Client
	// App signs the token, refresh and revocation requests as the app; its
	// HTTP client carries the app's client certificate, if any.
	App *sdk.Client
	// AppID and RedirectURI are the app's client_id and one of its
	// registered redirect URIs (matched exactly by the bank).
	AppID, RedirectURI string
	// Username and Password sign the user in.
	Username, Password string
	// TOTPSecret is the user's RFC 6238 secret (raw bytes); nil when the
	// flow has no second factor to give: then a page asking for one is
	// ErrSecondFactorRequired.
	TOTPSecret []byte
	// RetryTOTP: when the bank refuses a code as wrong or already used
	// (second_factor_failed) — another sign-in of the same user took this
	// 30-second step, and a code is accepted once — wait for the next step
	// and answer once more with its code, as a user would. The refused code
	// still counts towards the user's lockout.
	RetryTOTP bool
	// Now is the clock for TOTP codes (nil: time.Now).
	Now func() time.Time
	// Sleep waits d or until ctx ends (nil: a timer); tests advance their
	// clock in it.
	Sleep func(ctx context.Context, d time.Duration) error
	// Progress, if set, receives a line for each step the flow takes
	// (never a secret), for a command line to show.
	Progress func(msg string)
}

// Request is what the user is asked to authorize and how they answer.
type Request struct {
	// Scopes are the scopes the app asks for, e.g. "accounts", "transfers".
	Scopes []string
	// Accounts are the account ids to tick on the consent page; empty: every
	// account the page offers. Ids the page does not offer are sent anyway,
	// so that the bank's refusal can be shown.
	Accounts []string
	// Validity is the user's choice (empty: the agreement term).
	Validity oauth.Validity
	// Until is the last day of a ValidityUntil consent, as a calendar date
	// in the bank's time zone (its year, month and day are sent).
	Until time.Time
	// AcknowledgeRisk ticks the fund-transfer risk warning (6.2.2); the bank
	// refuses a consent to a fund scope without it.
	AcknowledgeRisk bool
	// SkipSecondFactor refuses to answer a second-factor page, to obtain a
	// one-factor (acr 1fa) authorization where the bank allows one (scopes
	// without fund APIs) and to show that it asks for two factors otherwise.
	SkipSecondFactor bool
	// Deny answers the consent page with "deny" instead of "approve".
	Deny bool
}

// Grant is an authorization code the bank issued, with what its exchange
// needs. Code and Verifier are secrets: Grant's String leaves them out.
type Grant struct {
	Code string
	// Verifier is the PKCE code_verifier whose S256 challenge the
	// authorization request carried.
	Verifier string
	// RedirectURI is the redirect_uri of the authorization request.
	RedirectURI string
	// State is the state the bank returned (checked equal to the one sent).
	State string
}

// String describes the grant without its secrets.
func (g *Grant) String() string {
	if g == nil {
		return "<nil>"
	}
	return "authflow.Grant{redirect_uri: " + g.RedirectURI + "}"
}

// GoString is String, so that %#v does not print the secrets either.
func (g *Grant) GoString() string { return g.String() }

// Tokens is the token endpoint's answer (RFC 6749 §5.1 plus the consent id
// and the acr of the sign-in). AccessToken and RefreshToken are secrets:
// String leaves them out.
type Tokens struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope"`
	ConsentID    string `json:"consent_id"`
	ACR          string `json:"acr"`
}

// String describes the tokens without the tokens themselves.
func (t *Tokens) String() string {
	if t == nil {
		return "<nil>"
	}
	return fmt.Sprintf("authflow.Tokens{consent: %s, scope: %q, acr: %s, expires_in: %d, refresh: %t}",
		t.ConsentID, t.Scope, t.ACR, t.ExpiresIn, t.RefreshToken != "")
}

// GoString is String, so that %#v does not print the tokens either.
func (t *Tokens) GoString() string { return t.String() }

// ErrSecondFactorRequired is the flow's refusal to go on when the bank asks
// for a second factor and the flow has none to give (no TOTPSecret, or
// Request.SkipSecondFactor).
var ErrSecondFactorRequired = errors.New("authflow: the bank asks for a second factor and the flow has none to give")

// PageError is a refusal shown by one of the bank's pages: Code is the
// stable code the page names in <main data-error>, Step the page it came
// from ("authorization request", "sign-in", "second factor", "consent").
type PageError struct {
	Step   string
	Status int
	Code   string
}

// Error says which page refused and its code.
func (e *PageError) Error() string {
	return "authflow: the bank refused the " + e.Step + ": " + e.Code
}

// RedirectError is an OAuth error the bank sent back to the app's redirect
// URI (RFC 6749 §4.1.2.1): access_denied, invalid_scope, …
type RedirectError struct {
	Code, Description string
}

// Error says the code and the bank's description.
func (e *RedirectError) Error() string {
	s := "authflow: the bank returned an authorization error: " + e.Code
	if e.Description != "" {
		s += " (" + e.Description + ")"
	}
	return s
}

// Run authorizes req and exchanges the code for tokens.
func (f *Flow) Run(ctx context.Context, req Request) (*Tokens, error) {
	g, err := f.Authorize(ctx, req)
	if err != nil {
		return nil, err
	}
	return f.Exchange(ctx, g)
}

// Authorize runs the browser's part of the flow and returns the code the
// bank issued: GET /oauth/authorize with a fresh state and PKCE S256
// challenge, then each page the bank shows — sign-in, second factor,
// consent — answered once, until the bank redirects to RedirectURI. Every
// refusal is an error: a page's data-error (*PageError), an OAuth error on
// the redirect (*RedirectError), ErrSecondFactorRequired, a state that does
// not match (a mix-up or forgery: the code is not returned), or a redirect
// anywhere but to RedirectURI, which is never followed.
func (f *Flow) Authorize(ctx context.Context, req Request) (*Grant, error) {
	base, err := f.base()
	if err != nil {
		return nil, err
	}
	if f.AppID == "" || f.RedirectURI == "" {
		return nil, errors.New("authflow: an app id and a redirect uri are required")
	}
	r := &run{f: f, req: req, base: base, client: f.browser(), answered: map[string]int{}}
	r.verifier, r.state = randomString(32), randomString(16)
	q := url.Values{
		"response_type": {"code"}, "client_id": {f.AppID}, "redirect_uri": {f.RedirectURI},
		"scope": {strings.Join(req.Scopes, " ")}, "state": {r.state},
		"code_challenge": {challengeOf(r.verifier)}, "code_challenge_method": {"S256"},
	}
	f.progress("authorization request for " + strings.Join(req.Scopes, ","))
	resp, err := r.get(ctx, base.ResolveReference(&url.URL{Path: PathAuthorize, RawQuery: q.Encode()}))
	if err != nil {
		return nil, err
	}
	for i := 0; i < maxPages; i++ {
		var done *Grant
		if resp, done, err = r.step(ctx, resp); err != nil || done != nil {
			return done, err
		}
	}
	return nil, errors.New("authflow: the bank sent the browser through too many pages")
}

// base returns BaseURL parsed, refusing anything but https.
func (f *Flow) base() (*url.URL, error) {
	u, err := url.Parse(strings.TrimSuffix(f.BaseURL, "/"))
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, errors.New("authflow: the base url must be an https url")
	}
	u.Path, u.RawQuery, u.Fragment = "", "", ""
	return u, nil
}

// browser is a copy of f.HTTP with a fresh cookie jar that returns every
// redirect to the caller instead of following it.
func (f *Flow) browser() *http.Client {
	var c http.Client
	if f.HTTP != nil {
		c = *f.HTTP
	}
	c.Jar, _ = cookiejar.New(nil) // never fails without options
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func (f *Flow) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

func (f *Flow) sleep(ctx context.Context, d time.Duration) error {
	if f.Sleep != nil {
		return f.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *Flow) progress(msg string) {
	if f.Progress != nil {
		f.Progress(msg)
	}
}

// totpCode is the code to answer with now.
func (f *Flow) totpCode() string { return pages.TOTP(f.TOTPSecret, f.now()) }

// untilNextStep is how long until the next TOTP step begins.
func (f *Flow) untilNextStep() time.Duration {
	now := f.now()
	return now.Truncate(totpPeriod).Add(totpPeriod).Sub(now)
}

// finish checks the bank's redirect to the app and takes the code from it.
func (r *run) finish(loc *url.URL) (*Grant, error) {
	q := loc.Query()
	state := q.Get("state")
	if len(q["state"]) != 1 || subtle.ConstantTimeCompare([]byte(state), []byte(r.state)) != 1 {
		return nil, errors.New("authflow: the state returned by the bank does not match the one sent; the code is not used")
	}
	if e := q.Get("error"); e != "" {
		return nil, &RedirectError{Code: clip(e, 64), Description: clip(q.Get("error_description"), 256)}
	}
	code := q.Get("code")
	if len(q["code"]) != 1 || code == "" {
		return nil, errors.New("authflow: the bank's redirect carries no authorization code")
	}
	r.f.progress("authorization code received")
	return &Grant{Code: code, Verifier: r.verifier, RedirectURI: r.f.RedirectURI, State: state}, nil
}

// toApp reports whether loc is the app's redirect URI (with the bank's
// parameters added to its query).
func toApp(loc *url.URL, redirectURI string) bool {
	want, err := url.Parse(redirectURI)
	if err != nil {
		return false
	}
	if loc.Scheme != want.Scheme || loc.Host != want.Host || loc.Path != want.Path || loc.Fragment != "" {
		return false
	}
	got := loc.Query()
	for k, vs := range want.Query() {
		for _, v := range vs {
			if !contains(got[k], v) {
				return false
			}
		}
	}
	return true
}

// randomString returns n random bytes in base64url.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}

// challengeOf is the S256 code challenge of a verifier (RFC 7636 §4.2).
func challengeOf(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// clip shortens text from the bank to n bytes and keeps it printable, so
// that an error message stays one short line.
func clip(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
}

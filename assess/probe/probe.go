// Package probe holds the assessor's dynamic checks: each sends a handful of
// requests to the target a profile describes (CONTRACT.md §6) and decides
// from the answers whether a control of T/PCAC 0008-2020 works. A check that
// lacks what it needs in the profile gives not_tested, never pass; a target
// that cannot be reached gives error.
//
// Every exchange is kept as evidence, redacted: signatures, secrets, tokens
// and passwords are replaced, personal data is masked.
package probe

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bankguard/bankguard/assess"
	"github.com/bankguard/bankguard/oauth"
	"github.com/bankguard/bankguard/oauth/authflow"
	"github.com/bankguard/bankguard/pii"
	"github.com/bankguard/bankguard/profile"
	"github.com/bankguard/bankguard/sdk"
)

// Target is the system under test, as its profile describes it.
type Target struct {
	// Profile describes the target.
	Profile *profile.Profile
	// pii masks personal data in evidence.
	pii *pii.Engine

	mu      sync.Mutex
	clients map[string]*sdk.Client

	// Tokens caches the users' access tokens; targets of one run may share
	// one (a user's TOTP code is accepted once, so each sign-in costs up to
	// 30 s of waiting).
	Tokens *TokenCache
}

// TokenCache holds access tokens by app, user and scopes.
type TokenCache struct {
	mu sync.Mutex
	m  map[string]*cachedToken
}

// cachedToken is a user's tokens and the flow that refreshes them.
type cachedToken struct {
	flow    *authflow.Flow
	tokens  *authflow.Tokens
	expires time.Time
}

// NewTokenCache returns an empty cache.
func NewTokenCache() *TokenCache { return &TokenCache{m: map[string]*cachedToken{}} }

// bankZone is the time zone of the bank's consent page, whose "until" date
// it reads.
var bankZone = time.FixedZone("CST", 8*3600)

// NewTarget returns a Target for the profile. It does not contact the target:
// a target that cannot be reached shows as error results of the checks.
func NewTarget(p *profile.Profile) (*Target, error) {
	key := make([]byte, pii.MinKeyLen)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	e, err := pii.NewEngine(key)
	if err != nil {
		return nil, err
	}
	return &Target{Profile: p, pii: e, clients: map[string]*sdk.Client{}, Tokens: NewTokenCache()}, nil
}

// Checks returns every dynamic check against t.
func Checks(t *Target) []assess.Check {
	var cs []assess.Check
	for _, group := range []func(*Target) []assess.Check{
		channelChecks, surfaceChecks, dataChecks, authnChecks, authzChecks, trafficChecks, tokenChecks,
	} {
		cs = append(cs, group(t)...)
	}
	return cs
}

// Client returns an SDK client signing as the app's first credential, over
// TLS with the app's client certificate if it has one. Clients are cached.
// It fetches the bank's response keys on first use, so its error may be the
// target's: callers turn it into an error result.
func (t *Target) Client(ctx context.Context, appID string) (*sdk.Client, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c, ok := t.clients[appID]; ok {
		return c, nil
	}
	c, err := t.Profile.Client(ctx, appID)
	if err != nil {
		return nil, err
	}
	t.clients[appID] = c
	return c, nil
}

// AppFor returns the app an endpoint is called as: the one it names, or the
// first app whose level reaches the endpoint's (A1 when it names none).
func (t *Target) AppFor(ep *profile.Endpoint) (*profile.App, error) {
	if ep.App != "" {
		a, ok := t.Profile.App(ep.App)
		if !ok {
			return nil, fmt.Errorf("the profile has no app %q", ep.App)
		}
		return a, nil
	}
	for i := range t.Profile.Apps {
		a := &t.Profile.Apps[i]
		if ep.Level != "A2" || a.Level == "A2" {
			return a, nil
		}
	}
	return nil, fmt.Errorf("the profile has no %s app", ep.Level)
}

// Request builds the endpoint's request (unsigned). For an endpoint that
// acts for a user it carries the user's access token, obtained once through
// the bank's authorization pages.
func (t *Target) Request(ctx context.Context, ep *profile.Endpoint) (*http.Request, error) {
	var body []byte
	if len(ep.Body) > 0 {
		body = slices.Clone(ep.Body)
	}
	req, err := sdk.NewRequest(ctx, ep.Method, t.Profile.URL(ep.Path), body)
	if err != nil || ep.User == "" {
		return req, err
	}
	tok, err := t.UserToken(ctx, ep)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return req, nil
}

// UserToken returns an access token for the endpoint's app and user with its
// scopes. The first time, it signs in at the bank's pages and consents until
// the end of the day (every account offered), so that an assessment leaves
// no lasting authorization behind; later it refreshes the token before it
// expires. A fund scope needs the user's TOTP secret in the profile.
func (t *Target) UserToken(ctx context.Context, ep *profile.Endpoint) (string, error) {
	app, err := t.AppFor(ep)
	if err != nil {
		return "", err
	}
	key := app.AppID + "\x00" + ep.User + "\x00" + strings.Join(ep.Scopes, " ")
	c := t.Tokens
	c.mu.Lock() // one sign-in at a time: a TOTP code is accepted once
	defer c.mu.Unlock()
	now := time.Now()
	if ct, ok := c.m[key]; ok {
		if now.Add(30 * time.Second).Before(ct.expires) {
			return ct.tokens.AccessToken, nil
		}
		if ct.tokens.RefreshToken != "" {
			if tokens, err := ct.flow.Refresh(ctx, ct.tokens.RefreshToken); err == nil {
				ct.tokens, ct.expires = tokens, now.Add(time.Duration(tokens.ExpiresIn)*time.Second)
				return tokens.AccessToken, nil
			}
		}
	}
	f, err := authflow.FromProfile(ctx, t.Profile, app.AppID, ep.User, app.RedirectURI)
	if err != nil {
		return "", fmt.Errorf("the user's sign-in could not be prepared: %w", err)
	}
	f.RetryTOTP = true
	tokens, err := f.Run(ctx, authflow.Request{Scopes: ep.Scopes, AcknowledgeRisk: true,
		Validity: oauth.ValidityUntil, Until: now.In(bankZone)})
	if err != nil {
		return "", fmt.Errorf("the user's authorization failed: %w", err)
	}
	c.m[key] = &cachedToken{flow: f, tokens: tokens, expires: now.Add(time.Duration(tokens.ExpiresIn) * time.Second)}
	return tokens.AccessToken, nil
}

// Authorize signs in every user the profile's endpoints act for and keeps
// their tokens, before the checks run: a sign-in that waits for the next
// TOTP code then counts against no check's time limit.
func (t *Target) Authorize(ctx context.Context) error {
	var errs []error
	t.Profile.Endpoints.Each(func(name string, ep *profile.Endpoint) {
		if ep.User != "" {
			if _, err := t.UserToken(ctx, ep); err != nil {
				errs = append(errs, fmt.Errorf("endpoints.%s: %w", name, err))
			}
		}
	})
	return errors.Join(errs...)
}

// Exchange is one request and its answer, with its redacted transcript.
type Exchange struct {
	Status   int
	Header   http.Header
	Body     []byte
	Evidence assess.Evidence
}

// Problem is the RFC 9457 body of an error answer.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
}

// Problem decodes the answer as problem+json; ok is false when it is not.
func (x *Exchange) Problem() (p Problem, ok bool) {
	if !strings.HasPrefix(x.Header.Get("Content-Type"), "application/problem+json") {
		return p, false
	}
	return p, json.Unmarshal(x.Body, &p) == nil
}

// Code is the problem's stable code, or "" when the answer is not a problem.
func (x *Exchange) Code() string {
	p, _ := x.Problem()
	return p.Code
}

// Send sends req with hc as it is (signed or not) and records the exchange.
// A transport error is returned with the evidence of the request alone.
func (t *Target) Send(hc *http.Client, title string, req *http.Request) (*Exchange, error) {
	reqText := t.requestTranscript(req)
	resp, err := hc.Do(req)
	if err != nil {
		return &Exchange{Evidence: assess.Evidence{Title: title, Request: reqText, Note: "no answer: " + err.Error()}}, err
	}
	defer resp.Body.Close()
	body, err := readBody(resp)
	x := &Exchange{Status: resp.StatusCode, Header: resp.Header, Body: body}
	x.Evidence = assess.Evidence{Title: title, Request: reqText, Response: t.responseTranscript(resp, body)}
	return x, err
}

// Call signs the request as appID with the app's SDK client and sends it.
// The bank signature of the answer is not judged here: the checks that need
// it call the client's VerifyResponse.
func (t *Target) Call(ctx context.Context, appID, title string, req *http.Request) (*Exchange, error) {
	c, err := t.Client(ctx, appID)
	if err != nil {
		return nil, err
	}
	if err := c.Sign(req); err != nil {
		return nil, err
	}
	return t.Send(c.HTTP, title, req)
}

package oauth_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bankguard/bankguard/oauth"
	"github.com/bankguard/bankguard/oauth/oauthtest"
)

var t0 = oauthtest.T0

// Test applications: app-a is A2 with a client certificate, app-b A1
// without, app-old's agreement has ended.
const (
	appA, appB, appOld = "app-a", "app-b", "app-old"
	thumbA             = "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"
	redirectA          = "https://a.example/cb"
	redirectB          = "https://b.example/cb"
	verifier           = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	alice, bob         = "cust-0001", "cust-0002"
)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// apps is a settable oauth.Apps.
type apps struct {
	mu sync.Mutex
	m  map[string]oauth.AppInfo
}

func (a *apps) App(_ context.Context, id string) (*oauth.AppInfo, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	info, ok := a.m[id]
	if !ok {
		return nil, oauth.ErrNotFound
	}
	return &info, nil
}

func (a *apps) remove(id string) { a.mu.Lock(); delete(a.m, id); a.mu.Unlock() }

type harness struct {
	srv  *oauth.Server
	st   *oauth.MemStore
	apps *apps
	clk  *clock
	logs *bytes.Buffer
}

// subjectKey is a subject key for tests only.
var subjectKey = []byte("a subject key of 32 bytes or more, tests only")

func newHarness(t testing.TB) *harness {
	t.Helper()
	return newHarnessConfig(t, oauth.Config{})
}

func newHarnessConfig(t testing.TB, cfg oauth.Config) *harness {
	t.Helper()
	h := &harness{st: oauth.NewMemStore(), clk: &clock{t: t0}, logs: &bytes.Buffer{}}
	h.apps = &apps{m: map[string]oauth.AppInfo{
		appA: {ID: appA, Name: "App A", Level: "A2", RedirectURIs: []string{redirectA, "https://a.example/other"},
			AgreementEnd: t0.Add(365 * 24 * time.Hour), CertThumbprint: thumbA},
		appB: {ID: appB, Name: "App B", Level: "A1", RedirectURIs: []string{redirectB},
			AgreementEnd: t0.Add(90 * 24 * time.Hour)},
		appOld: {ID: appOld, Name: "Old", Level: "A1", RedirectURIs: []string{"https://old.example/cb"},
			AgreementEnd: t0.Add(-time.Hour)},
	}}
	cfg.SubjectKey = subjectKey
	cfg.Logger = slog.New(slog.NewTextHandler(&syncWriter{w: h.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.srv = oauth.NewServer(h.st, h.apps, cfg, h.clk.Now)
	return h
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// consent creates a consent of user for app with scopes.
func (h *harness) consent(t *testing.T, app, user string, v oauth.Validity, scopes ...string) *oauth.Consent {
	t.Helper()
	c := oauth.Consent{AppID: app, UserID: user, Scopes: scopes, Accounts: []string{"acc-" + user + "-1"},
		Validity: v, SessionID: "sess-1", RiskAcknowledged: true}
	if v == oauth.ValidityUntil {
		c.ExpiresAt = h.clk.Now().Add(2 * time.Hour)
	}
	out, err := h.srv.CreateConsent(context.Background(), c)
	if err != nil {
		t.Fatalf("CreateConsent: %v", err)
	}
	return out
}

func challenge(v string) string {
	s := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(s[:])
}

// code issues a code for the consent with the test verifier.
func (h *harness) code(t *testing.T, c *oauth.Consent, acr string) string {
	t.Helper()
	code, err := h.srv.IssueCode(context.Background(), oauth.CodeRequest{
		AppID: c.AppID, RedirectURI: redirectOf(c.AppID), CodeChallenge: challenge(verifier),
		CodeChallengeMethod: "S256", ConsentID: c.ID, UserID: c.UserID, ACR: acr, SessionID: "sess-1",
		AuthenticatedAt: h.clk.Now(),
	})
	if err != nil {
		t.Fatalf("IssueCode: %v", err)
	}
	return code
}

func redirectOf(app string) string {
	if app == appA {
		return redirectA
	}
	return redirectB
}

func thumbOf(app string) string {
	if app == appA {
		return thumbA
	}
	return ""
}

// tokenBody is the token endpoint's JSON, success or error.
type tokenBody struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
	ConsentID    string `json:"consent_id"`
	ACR          string `json:"acr"`
	Error        string `json:"error"`
	Description  string `json:"error_description"`
}

func (h *harness) token(t *testing.T, app, thumb string, form url.Values) (int, tokenBody) {
	t.Helper()
	status, body := h.srv.Token(context.Background(), app, thumb, form)
	var b tokenBody
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatalf("token body %q: %v", body, err)
	}
	return status, b
}

func codeForm(code, redirect, verifier string) url.Values {
	f := url.Values{"grant_type": {"authorization_code"}}
	for k, v := range map[string]string{"code": code, "redirect_uri": redirect, "code_verifier": verifier} {
		if v != "" {
			f.Set(k, v)
		}
	}
	return f
}

func refreshForm(rt string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
}

// authorize runs the whole flow for user and app and returns the tokens.
func (h *harness) authorize(t *testing.T, app, user string, v oauth.Validity, scopes ...string) (*oauth.Consent, tokenBody) {
	t.Helper()
	c := h.consent(t, app, user, v, scopes...)
	code := h.code(t, c, oauth.ACRTwoFactor)
	status, b := h.token(t, app, thumbOf(app), codeForm(code, redirectOf(app), verifier))
	if status != 200 {
		t.Fatalf("token: %d %+v", status, b)
	}
	return c, b
}

// active reports whether an access token introspects as active.
func (h *harness) active(t *testing.T, at string) bool {
	t.Helper()
	_, err := h.srv.Introspect(context.Background(), at)
	return err == nil
}

// events returns every event in the store of user (or all alerts if "").
func (h *harness) events(t *testing.T, user string) []oauth.Event {
	t.Helper()
	q := oauth.EventQuery{UserID: user, Limit: 1000}
	if user == "" {
		q = oauth.EventQuery{Kind: oauth.EventAlert, Limit: 1000}
	}
	evs, err := h.st.Events(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func hasEvent(evs []oauth.Event, kind string) bool {
	for _, e := range evs {
		if e.Kind == kind {
			return true
		}
	}
	return false
}

// noSecrets fails the test if any of secrets appears in the logs or events.
func (h *harness) noSecrets(t *testing.T, secrets ...string) {
	t.Helper()
	var all strings.Builder
	all.WriteString(h.logs.String())
	for _, u := range []string{alice, bob, ""} {
		for _, e := range h.events(t, u) {
			all.WriteString(e.Kind + e.Detail + e.AppID + e.ConsentID)
		}
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(all.String(), s) {
			t.Errorf("a secret (%.6s…) appears in the logs or events", s)
		}
	}
}

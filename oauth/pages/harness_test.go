package pages

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bankguard/bankguard/oauth"
)

// Test fixtures: two customers, one app.
const (
	alicePassword = "correct horse battery staple"
	bobPassword   = "bob's own password"
	appRedirect   = "https://app.example/cb"
	testChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" // RFC 7636 Appendix B
)

var (
	aliceSecret = []byte("12345678901234567890")
	start       = time.Date(2026, 3, 2, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))
	agreement   = time.Date(2027, 1, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))

	hashOnce             sync.Once
	aliceHash, bobHash   string
	aliceAccts, bobAccts = []Account{{"acc-a1", "借记卡 6219 **** 0120"}, {"acc-a2", "信用卡 6225 **** 8841"}},
		[]Account{{"acc-b1", "借记卡 6217 **** 5531"}}
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeApps is an oauth.Apps over a map.
type fakeApps struct {
	mu   sync.Mutex
	apps map[string]*oauth.AppInfo
}

func (f *fakeApps) App(_ context.Context, id string) (*oauth.AppInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.apps[id]
	if a == nil {
		return nil, oauth.ErrNotFound
	}
	c := *a
	c.RedirectURIs = slices.Clone(a.RedirectURIs)
	return &c, nil
}

func (f *fakeApps) set(a oauth.AppInfo) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.apps[a.ID] = &a
}

// fakeConsents is an oauth.Consents that records every call.
type fakeConsents struct {
	mu       sync.Mutex
	consents []oauth.Consent
	codes    []oauth.CodeRequest
	revoked  []string
	failNext error
	now      func() time.Time
}

func (f *fakeConsents) CreateConsent(_ context.Context, c oauth.Consent) (*oauth.Consent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.failNext; err != nil {
		f.failNext = nil
		return nil, err
	}
	c.ID = fmt.Sprintf("c-%d", len(f.consents)+1)
	f.consents = append(f.consents, c)
	return &c, nil
}

func (f *fakeConsents) IssueCode(_ context.Context, r oauth.CodeRequest) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.codes = append(f.codes, r)
	return fmt.Sprintf("code-%d", len(f.codes)), nil
}

func (f *fakeConsents) ConsentsOf(_ context.Context, userID string) ([]oauth.Consent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []oauth.Consent
	for i := len(f.consents) - 1; i >= 0; i-- {
		if f.consents[i].UserID == userID {
			out = append(out, f.consents[i])
		}
	}
	return out, nil
}

func (f *fakeConsents) RevokeConsent(_ context.Context, userID, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.consents {
		if c := &f.consents[i]; c.ID == id && c.UserID == userID {
			c.RevokedAt = f.now()
			f.revoked = append(f.revoked, id)
			return nil
		}
	}
	return oauth.ErrNotFound
}

func (f *fakeConsents) snapshot() ([]oauth.Consent, []oauth.CodeRequest, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.consents), slices.Clone(f.codes), slices.Clone(f.revoked)
}

// env is a Handler behind a TLS test server with its fakes.
type env struct {
	t        *testing.T
	h        *Handler
	srv      *httptest.Server
	clock    *clock
	apps     *fakeApps
	consents *fakeConsents
	events   *MemEvents
	logs     *bytes.Buffer
}

func newEnv(t *testing.T, mutate func(*Config)) *env {
	t.Helper()
	hashOnce.Do(func() {
		var err error
		if aliceHash, err = HashPassword(alicePassword); err != nil {
			panic(err)
		}
		if bobHash, err = HashPassword(bobPassword); err != nil {
			panic(err)
		}
	})
	users, err := NewMemUsers(
		User{ID: "cust-alice", Username: "alice", PasswordHash: aliceHash, TOTPSecret: aliceSecret, Name: "张三丰"},
		User{ID: "cust-bob", Username: "bob", PasswordHash: bobHash, Name: "李四"},
	)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: start}
	e := &env{t: t, clock: clk, logs: &bytes.Buffer{}, events: &MemEvents{Now: clk.now},
		apps:     &fakeApps{apps: map[string]*oauth.AppInfo{}},
		consents: &fakeConsents{now: clk.now}}
	e.apps.set(oauth.AppInfo{ID: "app-1", Name: "好记账 GoodLedger", Level: "A2",
		RedirectURIs: []string{appRedirect, "https://app.example/cb2?tenant=7"}, AgreementEnd: agreement})
	cfg := Config{Issuer: "示例银行 Example Bank", Logger: slog.New(slog.NewTextHandler(e.logs, nil))}
	if mutate != nil {
		mutate(&cfg)
	}
	accts := MemAccounts{"cust-alice": aliceAccts, "cust-bob": bobAccts}
	if e.h, err = New(cfg, users, accts, e.apps, e.consents, e.events, clk.now); err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewTLSServer(e.h)
	t.Cleanup(e.srv.Close)
	return e
}

// browser is a cookie-keeping client that does not follow redirects by
// itself, so tests see every hop.
type browser struct {
	e    *env
	c    *http.Client
	jar  *cookiejar.Jar
	page string // the body of the last response
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	c := e.srv.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{e: e, c: c, jar: jar}
}

// response is one answer, its body read.
type response struct {
	*http.Response
	body string
}

func (r *response) location() string { return r.Header.Get("Location") }

// errorCode is the data-error code of a page, or "".
func (r *response) errorCode() string {
	m := regexp.MustCompile(`data-error="([a-z_0-9]+)"`).FindStringSubmatch(r.body)
	if m == nil {
		return ""
	}
	return m[1]
}

func (b *browser) do(req *http.Request) *response {
	b.e.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	b.page = string(body)
	return &response{resp, string(body)}
}

func (b *browser) get(path string) *response {
	b.e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.e.srv.URL+path, nil)
	return b.do(req)
}

// postRaw posts form as it is.
func (b *browser) postRaw(path string, form url.Values) *response {
	b.e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// post posts form with the CSRF token of the last page.
func (b *browser) post(path string, form url.Values) *response {
	b.e.t.Helper()
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	f.Set("csrf", csrfOf(b.page))
	return b.postRaw(path, f)
}

// follow follows redirects inside the bank, stopping at one that leaves it.
func (b *browser) follow(r *response) *response {
	b.e.t.Helper()
	for i := 0; i < 10 && r.StatusCode >= 300 && r.StatusCode < 400; i++ {
		loc := r.location()
		if !strings.HasPrefix(loc, "/") {
			return r
		}
		r = b.get(loc)
	}
	return r
}

func csrfOf(page string) string {
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return m[1]
}

// cookie returns the session cookie the browser holds, or "".
func (b *browser) cookie() string {
	u, _ := url.Parse(b.e.srv.URL)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == CookieName {
			return c.Value
		}
	}
	return ""
}

func (b *browser) setCookie(v string) {
	u, _ := url.Parse(b.e.srv.URL)
	b.jar.SetCookies(u, []*http.Cookie{{Name: CookieName, Value: v, Path: "/", Secure: true}})
}

// authzQuery is a valid authorization request for scope.
func authzQuery(scope string) url.Values {
	return url.Values{
		"response_type": {"code"}, "client_id": {"app-1"}, "redirect_uri": {appRedirect},
		"scope": {scope}, "state": {"st-123"}, "code_challenge": {testChallenge}, "code_challenge_method": {"S256"},
	}
}

// start begins an authorization for scope and returns the sign-in page.
func (b *browser) start(scope string) *response {
	b.e.t.Helper()
	r := b.follow(b.get("/oauth/authorize?" + authzQuery(scope).Encode()))
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, `action="/oauth/login"`) {
		b.e.t.Fatalf("authorize: want the sign-in page, got %d %q", r.StatusCode, r.errorCode())
	}
	return r
}

// login posts the sign-in form and follows the bank's redirects.
func (b *browser) login(user, pw string) *response {
	b.e.t.Helper()
	return b.follow(b.post("/oauth/login", url.Values{"username": {user}, "password": {pw}}))
}

// totp posts a code and follows the bank's redirects.
func (b *browser) totp(code string) *response {
	b.e.t.Helper()
	return b.follow(b.post("/oauth/totp", url.Values{"code": {code}}))
}

// toConsent signs alice (with her code) or bob in for scope and returns the
// consent page.
func (b *browser) toConsent(user, scope string) *response {
	b.e.t.Helper()
	b.start(scope)
	pw := map[string]string{"alice": alicePassword, "bob": bobPassword}[user]
	r := b.login(user, pw)
	if strings.Contains(r.body, `action="/oauth/totp"`) {
		r = b.totp(TOTP(aliceSecret, b.e.clock.now()))
	}
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, `action="/oauth/consent"`) {
		b.e.t.Fatalf("want the consent page, got %d %q", r.StatusCode, r.errorCode())
	}
	return r
}

func approveForm(accounts ...string) url.Values {
	return url.Values{"action": {"approve"}, "account": accounts, "validity": {"agreement"}, "risk_ack": {"yes"}}
}

// mustRedirectToApp checks r goes back to the app's redirect URI and
// returns the query it carries.
func mustRedirectToApp(t *testing.T, r *response) url.Values {
	t.Helper()
	if r.StatusCode != http.StatusSeeOther && r.StatusCode != http.StatusFound {
		t.Fatalf("status %d (%q), want a redirect to the app", r.StatusCode, r.errorCode())
	}
	u, err := url.Parse(r.location())
	if err != nil || u.Scheme+"://"+u.Host+u.Path != appRedirect {
		t.Fatalf("redirect to %q, want %s", r.location(), appRedirect)
	}
	return u.Query()
}

func (e *env) eventKinds(userID string) []string {
	evs, _ := e.events.Events(context.Background(), userID, 100)
	var out []string
	for i := len(evs) - 1; i >= 0; i-- {
		out = append(out, evs[i].Kind)
	}
	return out
}

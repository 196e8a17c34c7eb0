package authflow

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bankguard/bankguard/httpsig"
	"github.com/bankguard/bankguard/oauth"
	"github.com/bankguard/bankguard/oauth/pages"
	"github.com/bankguard/bankguard/sdk"
)

// Fixtures: one app, two customers — alice with a second factor, bob
// without.
const (
	testApp      = "app-1"
	testRedirect = "https://app-1.example/callback"
	alicePW      = "alice's correct horse battery staple"
	bobPW        = "bob's own password, long enough"
)

var (
	start       = time.Date(2026, 3, 2, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))
	aliceSecret = []byte("12345678901234567890")
	appKey      = []byte("the app's hmac key, 32 bytes or more, tests only")
	subjectKey  = []byte("a subject key of 32 bytes or more, tests only")

	hashOnce         sync.Once
	aliceHash, bHash string
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// apps is an oauth.Apps over a map.
type apps map[string]oauth.AppInfo

func (a apps) App(_ context.Context, id string) (*oauth.AppInfo, error) {
	info, ok := a[id]
	if !ok {
		return nil, oauth.ErrNotFound
	}
	info.RedirectURIs = slices.Clone(info.RedirectURIs)
	return &info, nil
}

// env is the bank in one TLS test server: the pages, and a token and
// revocation endpoint that check the app's signature (as the gateway
// does, in short) before the authorization server answers as testApp.
type env struct {
	t     *testing.T
	clock *clock
	srv   *oauth.Server
	http  *httptest.Server
	logs  *bytes.Buffer
	// forms records every form the pages received, to show what was sent.
	mu    sync.Mutex
	forms []url.Values
}

func newEnv(t *testing.T) *env {
	t.Helper()
	hashOnce.Do(func() {
		var err error
		if aliceHash, err = pages.HashPassword(alicePW); err != nil {
			panic(err)
		}
		if bHash, err = pages.HashPassword(bobPW); err != nil {
			panic(err)
		}
	})
	e := &env{t: t, clock: &clock{t: start}, logs: &bytes.Buffer{}}
	log := slog.New(slog.NewTextHandler(&syncWriter{w: e.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	registered := apps{testApp: {ID: testApp, Name: "好记账 GoodLedger", Level: "A2",
		RedirectURIs: []string{testRedirect}, AgreementEnd: start.AddDate(1, 0, 0)}}
	e.srv = oauth.NewServer(oauth.NewMemStore(), registered, oauth.Config{SubjectKey: subjectKey, Logger: log}, e.clock.now)
	users, err := pages.NewMemUsers(
		pages.User{ID: "cust-alice", Username: "alice", PasswordHash: aliceHash, TOTPSecret: aliceSecret, Name: "张三丰"},
		pages.User{ID: "cust-bob", Username: "bob", PasswordHash: bHash, Name: "李四"},
	)
	if err != nil {
		t.Fatal(err)
	}
	accounts := pages.MemAccounts{
		"cust-alice": {{ID: "acc-a1", Label: "借记卡 6219 **** 0120"}, {ID: "acc-a2", Label: "信用卡 6225 **** 8841"}},
		"cust-bob":   {{ID: "acc-b1", Label: "借记卡 6217 **** 5531"}},
	}
	h, err := pages.New(pages.Config{Logger: log}, users, accounts, registered, e.srv, e.srv, e.clock.now)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for _, p := range pages.Routes() {
		mux.Handle(p, e.recordForms(h))
	}
	mux.HandleFunc("POST "+PathToken, e.endpoint(func(ctx context.Context, f url.Values) (int, []byte) {
		return e.srv.Token(ctx, testApp, "", f)
	}))
	mux.HandleFunc("POST "+PathRevoke, e.endpoint(func(ctx context.Context, f url.Values) (int, []byte) {
		return e.srv.Revoke(ctx, testApp, f)
	}))
	e.http = httptest.NewTLSServer(mux)
	t.Cleanup(e.http.Close)
	return e
}

// recordForms keeps a copy of each form posted to the pages.
func (e *env) recordForms(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			b, _ := io.ReadAll(r.Body)
			f, _ := url.ParseQuery(string(b))
			e.mu.Lock()
			e.forms = append(e.forms, f)
			e.mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		h.ServeHTTP(w, r)
	})
}

// lastForm is the last form posted to the pages.
func (e *env) lastForm() url.Values {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.forms) == 0 {
		return nil
	}
	return e.forms[len(e.forms)-1]
}

// endpoint is a signed form endpoint: a request that is not a form, or
// whose RFC 9421 signature or Content-Digest does not verify under the
// app's key, gets the gateway's 401 problem.
func (e *env) endpoint(serve func(context.Context, url.Values) (int, []byte)) http.HandlerFunc {
	verifier, err := httpsig.NewVerifier(httpsig.AlgHMACSHA256, appKey)
	if err != nil {
		e.t.Fatal(err)
	}
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sigs, err := httpsig.ParseSignatures(r.Header)
		ok := err == nil && len(sigs) == 1 && sigs[0].Input.Covers(httpsig.Component{Name: "content-digest"}) &&
			httpsig.VerifyContentDigest(r.Header.Values("Content-Digest"), body) == nil &&
			sigs[0].Verify(httpsig.NewRequestMessage(r), verifier) == nil
		if !ok {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"type":"about:blank","title":"Unauthorized","status":401,"code":"signature_invalid","detail":"the request signature does not verify"}`))
			return
		}
		if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			w.WriteHeader(http.StatusUnsupportedMediaType)
			return
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		status, out := serve(r.Context(), form)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		_, _ = w.Write(out)
	}
}

// flow is a Flow for username/password against the env, with alice's TOTP
// secret when the user is alice.
func (e *env) flow(username, password string) *Flow {
	signer := mustSigner(e.t, appKey)
	f := &Flow{
		BaseURL: e.http.URL, HTTP: e.http.Client(),
		App:   &sdk.Client{HTTP: e.http.Client(), KeyID: "app-1-key", Signer: signer, Now: e.clock.now},
		AppID: testApp, RedirectURI: testRedirect, Username: username, Password: password,
		Now: e.clock.now,
		Sleep: func(_ context.Context, d time.Duration) error {
			e.clock.advance(d)
			return nil
		},
	}
	if username == "alice" {
		f.TOTPSecret = aliceSecret
	}
	return f
}

// fund is a request for every scope, transfers included.
func fund() Request {
	return Request{Scopes: []string{"accounts", "holdings", "transfers"}, AcknowledgeRisk: true}
}

// introspect returns what the authorization server makes of an access token.
func (e *env) introspect(token string) (*oauth.Grant, error) {
	return e.srv.Introspect(context.Background(), token)
}

// consent returns alice's consent id.
func (e *env) consent(id string) *oauth.Consent {
	e.t.Helper()
	cs, err := e.srv.ConsentsOf(context.Background(), "cust-alice")
	if err != nil {
		e.t.Fatal(err)
	}
	for i := range cs {
		if cs[i].ID == id {
			return &cs[i]
		}
	}
	e.t.Fatalf("no consent %s", id)
	return nil
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

// mustSigner is an hmac-sha256 signer with key.
func mustSigner(t *testing.T, key []byte) httpsig.Signer {
	t.Helper()
	s, err := httpsig.NewSigner(httpsig.AlgHMACSHA256, key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

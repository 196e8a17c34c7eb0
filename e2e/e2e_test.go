// Package e2e runs the demo in-process on loopback and talks to it over real
// TLS, as an application would.
package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bankguard/bankguard/audit"
	"github.com/bankguard/bankguard/config"
	"github.com/bankguard/bankguard/demo"
	"github.com/bankguard/bankguard/gateway/bankkeys"
	"github.com/bankguard/bankguard/httpsig"
	"github.com/bankguard/bankguard/node"
	"github.com/bankguard/bankguard/oauth/authflow"
	"github.com/bankguard/bankguard/pii"
	"github.com/bankguard/bankguard/profile"
	"github.com/bankguard/bankguard/sdk"
	"github.com/bankguard/bankguard/store/sqlite"
)

// sandbox is a running demo.
type sandbox struct {
	t       *testing.T
	dir     string
	node    *node.Node
	profile *profile.Profile
	logs    *syncWriter
	tokens  map[string]string // access tokens by App_ID, for the first customer
}

func startDemo(t *testing.T) *sandbox {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	cfgPath, err := demo.Prepare(ctx, demo.Options{Dir: dir, GatewayAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncWriter{w: &bytes.Buffer{}}
	n, err := node.Start(ctx, cfg, node.Options{Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := n.Wait(); err != nil {
			t.Errorf("node stopped with %v", err)
		}
		scanForPersonalData(t, dir, logs.String())
	})
	path, err := demo.WriteProfile(dir, "https://"+n.GatewayAddr.String(), "https://"+n.AdminAddr.String(), cfg, n.Sandbox.Users())
	if err != nil {
		t.Fatal(err)
	}
	p, err := profile.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return &sandbox{t: t, dir: dir, node: n, profile: p, logs: logs, tokens: map[string]string{}}
}

// client returns an SDK client signing as appID.
func (s *sandbox) client(appID string) *sdk.Client {
	s.t.Helper()
	c, err := s.profile.Client(context.Background(), appID)
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

// call sends a signed request and returns the response; verification errors
// of the bank signature fail the test.
func (s *sandbox) call(appID, method, path string, body []byte) *sdk.Response {
	s.t.Helper()
	req, err := sdk.NewRequest(context.Background(), method, s.profile.URL(path), body)
	if err != nil {
		s.t.Fatal(err)
	}
	if userBound(path) {
		req.Header.Set("Authorization", "Bearer "+s.token(appID))
	}
	resp, err := s.client(appID).Do(req)
	if err != nil {
		s.t.Fatalf("%s %s as %s: %v", method, path, appID, err)
	}
	checkCommon(s.t, resp.Response, resp.Body)
	return resp
}

// userBound reports whether a sandbox path acts for a customer.
func userBound(path string) bool {
	for _, p := range []string{"/v1/accounts", "/v1/holdings", "/v1/transfers"} {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// token returns an access token of appID for the first customer, obtained
// once through the bank's pages. demo-a2-ecdsa gets the fund scope (with the
// second factor); the other apps read only, so that the customer's TOTP code
// is used once per demo.
func (s *sandbox) token(appID string) string {
	s.t.Helper()
	if tok, ok := s.tokens[appID]; ok {
		return tok
	}
	ctx := context.Background()
	f, err := authflow.FromProfile(ctx, s.profile, appID, s.profile.Users[0].Username, demo.RedirectURI(appID))
	if err != nil {
		s.t.Fatal(err)
	}
	req := authflow.Request{Scopes: []string{"accounts", "holdings"}, SkipSecondFactor: true}
	if appID == "demo-a2-ecdsa" {
		req = authflow.Request{Scopes: []string{"accounts", "holdings", "transfers"}, AcknowledgeRisk: true}
	}
	tokens, err := f.Run(ctx, req)
	if err != nil {
		s.t.Fatalf("authorizing %s: %v", appID, err)
	}
	s.tokens[appID] = tokens.AccessToken
	return tokens.AccessToken
}

// checkCommon asserts what every response must have (CONTRACT.md §4).
func checkCommon(t *testing.T, resp *http.Response, body []byte) {
	t.Helper()
	if resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("%s: no X-Request-Id", resp.Request.URL.Path)
	}
	for _, h := range []string{"Server", "X-Powered-By"} {
		if v := resp.Header.Get(h); v != "" {
			t.Errorf("%s: %s header %q", resp.Request.URL.Path, h, v)
		}
	}
	if resp.StatusCode >= 400 {
		if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%s: error content type %q", resp.Request.URL.Path, ct)
		}
		for _, leak := range []string{"goroutine", ".go:", "panic", "sql", "127.0.0.1", "runtime."} {
			if bytes.Contains(bytes.ToLower(body), []byte(leak)) {
				t.Errorf("%s: error body leaks %q: %s", resp.Request.URL.Path, leak, body)
			}
		}
	}
}

// problemCode returns the problem+json code of a response body.
func problemCode(t *testing.T, body []byte) string {
	t.Helper()
	var p struct {
		Code      string `json:"code"`
		RequestID string `json:"request_id"`
		Detail    string `json:"detail"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("not problem+json: %s", body)
	}
	return p.Code
}

func expect(t *testing.T, resp *sdk.Response, status int, code string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, resp.Body)
	}
	if code != "" {
		if got := problemCode(t, resp.Body); got != code {
			t.Fatalf("code %q, want %q: %s", got, code, resp.Body)
		}
	}
}

// raw sends req over the app's TLS client without the SDK (for requests the SDK would not make).
func (s *sandbox) raw(appID string, req *http.Request) (*http.Response, []byte) {
	s.t.Helper()
	var app *profile.App
	if appID != "" {
		app, _ = s.profile.App(appID)
	}
	hc, err := s.profile.HTTPClient(app)
	if err != nil {
		s.t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	checkCommon(s.t, resp, b)
	return resp, b
}

func (s *sandbox) tlsConfig(appID string) *tls.Config {
	s.t.Helper()
	var app *profile.App
	if appID != "" {
		app, _ = s.profile.App(appID)
	}
	c, err := s.profile.TLSConfig(app)
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

func (s *sandbox) file(name string) string { return filepath.Join(s.dir, name) }

// syncWriter serializes writes to the log buffer.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.String()
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError}))
}

func httpsigVerifier(k bankkeys.Key) (httpsig.Verifier, error) {
	return httpsig.NewVerifier(k.Signer.Alg(), k.Public)
}

// seal seals a payment password to the bank's published encryption key.
func (s *sandbox) seal(t *testing.T, password string) string {
	t.Helper()
	hc, err := s.profile.HTTPClient(nil)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := s.profile.EncryptionKeys(context.Background(), hc)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := keys.Seal([]byte(password), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return sealed
}

// scanForPersonalData checks every log line and every audit record a demo
// wrote for an unmasked card, resident ID or mobile number (T/PCAC 0008-2020
// 9.2.1): it runs after every end-to-end test.
func scanForPersonalData(t *testing.T, dir, logs string) {
	t.Helper()
	st, err := sqlite.OpenAudit(context.Background(), filepath.Join(dir, node.AuditDatabaseFile))
	if err != nil {
		t.Error(err)
		return
	}
	defer st.Close()
	var records bytes.Buffer
	if _, err := audit.Export(context.Background(), st, audit.Filter{}, &records); err != nil {
		t.Error(err)
		return
	}
	for what, text := range map[string]string{"the logs": logs, "the audit records": records.String()} {
		if hits := pii.Find(text); len(hits) != 0 {
			h := hits[0]
			t.Errorf("%s hold an unmasked %s: …%s…", what, h.Kind, pii.MaskText(text[max(0, h.Start-40):min(len(text), h.End+40)]))
		}
	}
}

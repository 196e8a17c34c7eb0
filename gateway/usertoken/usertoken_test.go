package usertoken

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/oauth"
	"github.com/bankguard/bankguard/problem"
	"github.com/bankguard/bankguard/registry"
)

var testNow = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

// The APIs of the sandbox, as the registry imports them.
var (
	apiAccounts = &registry.API{ID: "ACCOUNTS", Level: registry.A2, Protection: registry.Protection{Scope: "accounts"}}
	apiBalance  = &registry.API{ID: "BALANCE", Level: registry.A2, Protection: registry.Protection{Scope: "accounts", AccountParam: "account_id"}}
	apiHoldings = &registry.API{ID: "HOLDINGS", Level: registry.A2, Protection: registry.Protection{Scope: "holdings"}}
	apiTransfer = &registry.API{ID: "TRANSFER", Level: registry.A2, Protection: registry.Protection{Scope: "transfers", Fund: true, AccountField: "/from_account_id"}}
	apiRecon    = &registry.API{ID: "RECON", Level: registry.A2}
)

const (
	appID     = "APP0000000001"
	otherApp  = "APP0000000002"
	goodToken = "tok-2fa.good_Token~123"
	mine      = "AC1000000001"
	mine2     = "AC1000000002"
	unshared  = "AC1000000003" // the user's, not shared
	theirs    = "AC2000000001" // another user's
)

// fakeIntrospector is an authorization server with a table of tokens.
type fakeIntrospector struct {
	mu       sync.Mutex
	grants   map[string]*oauth.Grant
	errs     map[string]error
	consumed map[string]bool
	consumes int
	alerts   []string // kind|app|detail
}

func newIntrospector() *fakeIntrospector {
	return &fakeIntrospector{grants: map[string]*oauth.Grant{}, errs: map[string]error{}, consumed: map[string]bool{}}
}

func (f *fakeIntrospector) Introspect(_ context.Context, token string) (*oauth.Grant, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.errs[token]; err != nil {
		return nil, err
	}
	g, ok := f.grants[token]
	if !ok {
		return nil, oauth.ErrTokenInvalid
	}
	c := *g
	return &c, nil
}

func (f *fakeIntrospector) ConsumeOnce(_ context.Context, consentID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.consumes++
	if f.consumed[consentID] {
		return oauth.ErrConsentUsed
	}
	f.consumed[consentID] = true
	return nil
}

func (f *fakeIntrospector) Alert(_ context.Context, kind, app, detail string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.alerts = append(f.alerts, kind+"|"+app+"|"+detail)
}

// grant is a valid two-factor grant of appID for all scopes, sharing mine and mine2.
func grant() *oauth.Grant {
	return &oauth.Grant{
		AppID: appID, UserID: "U100000001", ConsentID: "CNS-1",
		Scopes:   []string{"accounts", "holdings", "transfers"},
		Accounts: []string{mine, mine2},
		ACR:      oauth.ACRTwoFactor, ExpiresAt: testNow.Add(5 * time.Minute),
	}
}

// call is one request through the stage.
type call struct {
	api     *registry.API
	app     string // the app that signed; "" none
	auth    []string
	params  map[string]string
	body    string
	cert    *x509.Certificate
	headers map[string]string
}

type result struct {
	err     error
	called  bool
	forward http.Header     // the request headers next saw
	ex      *stage.Exchange // the exchange next saw
}

func (c call) run(t *testing.T, in *fakeIntrospector) result {
	t.Helper()
	method := http.MethodGet
	if c.body != "" {
		method = http.MethodPost
	}
	r := httptest.NewRequest(method, "/v1/x", strings.NewReader(c.body))
	for _, a := range c.auth {
		r.Header.Add("Authorization", a)
	}
	for k, v := range c.headers {
		r.Header[k] = []string{v} // as sent, not canonicalized
	}
	if c.cert != nil {
		r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{c.cert}}
	} else {
		r.TLS = nil
	}
	ex := &stage.Exchange{ID: "TXN-1", API: c.api, PathParams: c.params, Body: []byte(c.body)}
	if c.app != "" {
		ex.App = &registry.App{ID: c.app, Status: registry.AppActive}
	}
	r = r.WithContext(stage.WithExchange(context.Background(), ex))
	h := &Handler{Introspector: in, Now: func() time.Time { return testNow }}
	var res result
	res.err = h.ServeHTTP(httptest.NewRecorder(), r, stage.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) error {
		res.called, res.forward, res.ex = true, r.Header.Clone(), stage.FromContext(r.Context())
		return nil
	}))
	return res
}

func newCert(t *testing.T) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "app"},
		NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func thumbprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func transferBody(from string) string {
	return `{"from_account_id":"` + from + `","to_card_number":"6218881234567890125","to_name":"李四","amount":"1.00"}`
}

func TestRefusals(t *testing.T) {
	bound, other := newCert(t), newCert(t)
	in := newIntrospector()
	in.grants[goodToken] = grant()
	in.errs["expired"] = oauth.ErrTokenExpired
	in.errs["revoked"] = oauth.ErrTokenRevoked
	in.errs["wrapped-revoked"] = errors.Join(errors.New("consent revoked"), oauth.ErrTokenRevoked)
	in.errs["used"] = oauth.ErrConsentUsed
	set := func(token string, edit func(*oauth.Grant)) string {
		g := grant()
		edit(g)
		in.grants[token] = g
		return token
	}
	stale := set("stale", func(g *oauth.Grant) { g.ExpiresAt = testNow })
	noExpiry := set("noexpiry", func(g *oauth.Grant) { g.ExpiresAt = time.Time{} })
	theirsTok := set("theirs", func(g *oauth.Grant) { g.AppID = otherApp; g.ConsentID = "CNS-OTHER" })
	certTok := set("certbound", func(g *oauth.Grant) { g.CertThumbprint = thumbprint(bound) })
	readOnly := set("readonly", func(g *oauth.Grant) { g.Scopes = []string{"accounts"} })
	oneFactor := set("onefactor", func(g *oauth.Grant) { g.ACR = oauth.ACROneFactor })
	noACR := set("noacr", func(g *oauth.Grant) { g.ACR = "" })
	once := set("once", func(g *oauth.Grant) { g.OneTime = true; g.ConsentID = "CNS-ONCE" })
	in.consumed["CNS-ONCE"] = true // already used by an earlier call
	noUser := set("nouser", func(g *oauth.Grant) { g.UserID = "" })

	B := func(tok string) []string { return []string{"Bearer " + tok} }
	acct := func(id string) map[string]string { return map[string]string{"account_id": id} }
	for _, tc := range []struct {
		name   string
		c      call
		status int
		code   problem.Code
	}{
		{"missing token", call{api: apiAccounts, app: appID}, 401, problem.TokenMissing},
		{"another scheme", call{api: apiAccounts, app: appID, auth: []string{"Basic dXNlcjpwdw=="}}, 401, problem.TokenMissing},
		{"empty bearer", call{api: apiAccounts, app: appID, auth: []string{"Bearer "}}, 401, problem.TokenInvalid},
		{"bearer without token", call{api: apiAccounts, app: appID, auth: []string{"Bearer"}}, 401, problem.TokenInvalid},
		{"malformed token", call{api: apiAccounts, app: appID, auth: B("a b")}, 401, problem.TokenInvalid},
		{"two Authorization headers", call{api: apiAccounts, app: appID, auth: []string{"Bearer " + goodToken, "Bearer " + goodToken}}, 401, problem.TokenInvalid},
		{"unknown token", call{api: apiAccounts, app: appID, auth: B("nosuchtoken")}, 401, problem.TokenInvalid},
		{"expired token", call{api: apiAccounts, app: appID, auth: B("expired")}, 401, problem.TokenExpired},
		{"grant expired by the clock", call{api: apiAccounts, app: appID, auth: B(stale)}, 401, problem.TokenExpired},
		{"grant without expiry", call{api: apiAccounts, app: appID, auth: B(noExpiry)}, 401, problem.TokenInvalid},
		{"grant without user", call{api: apiAccounts, app: appID, auth: B(noUser)}, 401, problem.TokenInvalid},
		{"revoked token", call{api: apiAccounts, app: appID, auth: B("revoked")}, 401, problem.TokenRevoked},
		{"revoked consent", call{api: apiAccounts, app: appID, auth: B("wrapped-revoked")}, 401, problem.TokenRevoked},
		{"used one-time consent at introspection", call{api: apiAccounts, app: appID, auth: B("used")}, 401, problem.TokenRevoked},
		{"another app's token", call{api: apiAccounts, app: appID, auth: B(theirsTok)}, 401, problem.TokenInvalid},
		{"bound token without a certificate", call{api: apiAccounts, app: appID, auth: B(certTok)}, 401, problem.TokenInvalid},
		{"bound token with another certificate", call{api: apiAccounts, app: appID, auth: B(certTok), cert: other}, 401, problem.TokenInvalid},
		{"scope not consented", call{api: apiHoldings, app: appID, auth: B(readOnly)}, 403, problem.ConsentMissing},
		{"fund scope not consented", call{api: apiTransfer, app: appID, auth: B(readOnly), body: transferBody(mine)}, 403, problem.ConsentMissing},
		{"unshared account in path", call{api: apiBalance, app: appID, auth: B(goodToken), params: acct(unshared)}, 403, problem.ResourceForbidden},
		{"another user's account in path", call{api: apiBalance, app: appID, auth: B(goodToken), params: acct(theirs)}, 403, problem.ResourceForbidden},
		{"path parameter missing", call{api: apiBalance, app: appID, auth: B(goodToken)}, 403, problem.ResourceForbidden},
		{"another user's account in body", call{api: apiTransfer, app: appID, auth: B(goodToken), body: transferBody(theirs)}, 403, problem.ResourceForbidden},
		{"unshared account in body", call{api: apiTransfer, app: appID, auth: B(goodToken), body: transferBody(unshared)}, 403, problem.ResourceForbidden},
		{"account twice in body", call{api: apiTransfer, app: appID, auth: B(goodToken), body: `{"from_account_id":"` + mine + `","from_account_id":"` + theirs + `"}`}, 403, problem.ResourceForbidden},
		{"account in another case in body", call{api: apiTransfer, app: appID, auth: B(goodToken), body: `{"from_account_id":"` + mine + `","From_Account_ID":"` + theirs + `"}`}, 403, problem.ResourceForbidden},
		{"account not a string", call{api: apiTransfer, app: appID, auth: B(goodToken), body: `{"from_account_id":["` + mine + `"]}`}, 403, problem.ResourceForbidden},
		{"no account in body", call{api: apiTransfer, app: appID, auth: B(goodToken), body: `{"amount":"1.00"}`}, 403, problem.ResourceForbidden},
		{"body not JSON", call{api: apiTransfer, app: appID, auth: B(goodToken), body: `from_account_id=` + mine}, 403, problem.ResourceForbidden},
		{"one factor on a fund API", call{api: apiTransfer, app: appID, auth: B(oneFactor), body: transferBody(mine)}, 403, problem.SecondFactorRequired},
		{"no acr on a fund API", call{api: apiTransfer, app: appID, auth: B(noACR), body: transferBody(mine)}, 403, problem.SecondFactorRequired},
		{"one-time consent reused", call{api: apiAccounts, app: appID, auth: B(once)}, 401, problem.TokenRevoked},
		{"no verified app", call{api: apiAccounts, auth: B(goodToken)}, 503, problem.Internal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := tc.c.run(t, in)
			pe := wantRefusal(t, res, tc.status, tc.code)
			if tc.status == 401 {
				want := `Bearer error="invalid_token"`
				if tc.code == problem.TokenMissing {
					want = `Bearer` // RFC 6750 §3.1: no error code without a token
				}
				if got := pe.Header.Get("WWW-Authenticate"); got != want {
					t.Errorf("WWW-Authenticate = %q, want %q", got, want)
				}
			}
		})
	}
	// Only the other app's token raised an alert, naming the presenting app.
	if len(in.alerts) != 1 || !strings.HasPrefix(in.alerts[0], AlertOtherApp+"|"+appID+"|") ||
		!strings.Contains(in.alerts[0], otherApp) || strings.Contains(in.alerts[0], theirsTok) {
		t.Errorf("alerts = %q", in.alerts)
	}
	// Only the reused once-consent was offered for consumption.
	if in.consumes != 1 {
		t.Errorf("ConsumeOnce called %d times", in.consumes)
	}
}

// wantRefusal checks that the stage refused with status and code, did not
// call the next stage, and did not reveal the token.
func wantRefusal(t *testing.T, res result, status int, code problem.Code) *problem.Error {
	t.Helper()
	var pe *problem.Error
	if !errors.As(res.err, &pe) {
		t.Fatalf("err = %v, want %s", res.err, code)
	}
	if pe.Code != code || pe.HTTPStatus() != status {
		t.Fatalf("refused with %d %s (%v), want %d %s", pe.HTTPStatus(), pe.Code, res.err, status, code)
	}
	if res.called {
		t.Fatal("the next stage ran")
	}
	for _, tok := range []string{goodToken, "certbound", "readonly", "onefactor"} {
		if strings.Contains(res.err.Error(), tok) || strings.Contains(pe.Detail, tok) {
			t.Fatalf("the refusal quotes a token: %v", res.err)
		}
	}
	return pe
}

func TestAllowed(t *testing.T) {
	cert := newCert(t)
	in := newIntrospector()
	in.grants[goodToken] = grant()
	bound := grant()
	bound.CertThumbprint = thumbprint(cert)
	in.grants["certbound"] = bound
	spoofed := map[string]string{
		"Bankguard-User": "U999999999", "Bankguard-Accounts": theirs, "bankguard-consent": "CNS-FAKE", "BANKGUARD-APP-ID": otherApp,
	}
	for _, tc := range []struct {
		name string
		c    call
	}{
		{"accounts list", call{api: apiAccounts, app: appID, auth: []string{"Bearer " + goodToken}, headers: spoofed}},
		{"lower-case scheme", call{api: apiHoldings, app: appID, auth: []string{"bearer " + goodToken}}},
		{"shared account in path", call{api: apiBalance, app: appID, auth: []string{"Bearer " + goodToken}, params: map[string]string{"account_id": mine2}, headers: spoofed}},
		{"fund transfer from a shared account", call{api: apiTransfer, app: appID, auth: []string{"Bearer " + goodToken}, body: transferBody(mine), headers: spoofed}},
		{"bound token with its certificate", call{api: apiAccounts, app: appID, auth: []string{"Bearer certbound"}, cert: cert}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := tc.c.run(t, in)
			if res.err != nil || !res.called {
				t.Fatalf("err = %v, called = %v", res.err, res.called)
			}
			f, ex := res.forward, res.ex
			if ex.User != "U100000001" || ex.Consent != "CNS-1" || strings.Join(ex.Accounts, ",") != mine+","+mine2 {
				t.Fatalf("grant on the exchange: %q %q %v", ex.User, ex.Consent, ex.Accounts)
			}
			// The client's Bankguard- headers are gone (the proxy sets the real ones from ex).
			for k := range f {
				if strings.HasPrefix(strings.ToLower(k), "bankguard-") {
					t.Fatalf("a client-sent %s reached the backend: %v", k, f)
				}
			}
			if f.Get("Authorization") != "" {
				t.Fatal("the access token was forwarded to the backend")
			}
		})
	}
	if len(in.alerts) != 0 || in.consumes != 0 {
		t.Fatalf("alerts %v, consumes %d", in.alerts, in.consumes)
	}
}

func TestAppLevelAPIUntouched(t *testing.T) {
	in := newIntrospector()
	for _, api := range []*registry.API{apiRecon, nil} {
		res := call{api: api, app: appID, auth: []string{"Bearer whatever"}, headers: map[string]string{"Bankguard-User": "U100000001", "bankguard-accounts": theirs}}.run(t, in)
		if res.err != nil || !res.called {
			t.Fatalf("err = %v, called = %v", res.err, res.called)
		}
		for k := range res.forward {
			if strings.HasPrefix(strings.ToLower(k), "bankguard-") {
				t.Fatalf("client-sent %s reached the backend of an app-level API", k)
			}
		}
		if res.forward.Get("Authorization") != "Bearer whatever" {
			t.Fatal("an app-level API lost its Authorization header")
		}
	}
}

func TestOneTimeConsentIsConsumedOnce(t *testing.T) {
	in := newIntrospector()
	g := grant()
	g.OneTime, g.ConsentID = true, "CNS-ONCE"
	in.grants["once"] = g
	c := call{api: apiTransfer, app: appID, auth: []string{"Bearer once"}, body: transferBody(mine)}

	// A refused call does not use the consent up.
	refused := c
	refused.body = transferBody(theirs)
	wantRefusal(t, refused.run(t, in), 403, problem.ResourceForbidden)
	if in.consumes != 0 {
		t.Fatal("a refused call consumed the one-time consent")
	}
	if res := c.run(t, in); res.err != nil || !res.called {
		t.Fatalf("first use: %v", res.err)
	}
	wantRefusal(t, c.run(t, in), 401, problem.TokenRevoked)
}

func TestConcurrentOneTimeUse(t *testing.T) {
	in := newIntrospector()
	g := grant()
	g.OneTime = true
	in.grants["once"] = g
	c := call{api: apiAccounts, app: appID, auth: []string{"Bearer once"}}
	var wg sync.WaitGroup
	var mu sync.Mutex
	passed := 0
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if res := c.run(t, in); res.called {
				mu.Lock()
				passed++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if passed != 1 {
		t.Fatalf("a one-time consent let %d calls through", passed)
	}
}

func TestIntrospectionFailureFailsClosed(t *testing.T) {
	in := newIntrospector()
	tok := "db-down-token"
	in.errs[tok] = errors.New("sqlite: database is locked while looking up " + tok)
	res := call{api: apiAccounts, app: appID, auth: []string{"Bearer " + tok}}.run(t, in)
	var pe *problem.Error
	if !errors.As(res.err, &pe) || pe.HTTPStatus() != 503 || pe.Code != problem.Internal || res.called {
		t.Fatalf("err = %v, called = %v", res.err, res.called)
	}
	// The cause is logged for a 5xx: it must not quote the token.
	if strings.Contains(res.err.Error(), tok) || !strings.Contains(res.err.Error(), "database is locked") {
		t.Fatalf("cause = %v", res.err)
	}

	in.grants["once"] = &oauth.Grant{AppID: appID, UserID: "U1", ConsentID: "CNS-X", Scopes: []string{"accounts"}, OneTime: true, ExpiresAt: testNow.Add(time.Minute)}
	failing := &failingConsume{fakeIntrospector: in}
	h := &Handler{Introspector: failing, Now: func() time.Time { return testNow }}
	r := httptest.NewRequest("GET", "/v1/accounts", nil)
	r.Header.Set("Authorization", "Bearer once")
	r = r.WithContext(stage.WithExchange(context.Background(), &stage.Exchange{API: apiAccounts, App: &registry.App{ID: appID}}))
	err := h.ServeHTTP(httptest.NewRecorder(), r, stage.HandlerFunc(func(http.ResponseWriter, *http.Request) error {
		t.Fatal("called")
		return nil
	}))
	if !errors.As(err, &pe) || pe.HTTPStatus() != 503 {
		t.Fatalf("ConsumeOnce failure: %v", err)
	}
}

type failingConsume struct{ *fakeIntrospector }

func (failingConsume) ConsumeOnce(context.Context, string) error {
	return errors.New("store unavailable")
}

func TestUnsafeGrantValuesFailClosed(t *testing.T) {
	in := newIntrospector()
	g := grant()
	g.Accounts = []string{mine, "AC1,AC2"}
	in.grants["comma"] = g
	res := call{api: apiAccounts, app: appID, auth: []string{"Bearer comma"}}.run(t, in)
	var pe *problem.Error
	if !errors.As(res.err, &pe) || pe.HTTPStatus() != 500 || res.called {
		t.Fatalf("err = %v, called = %v", res.err, res.called)
	}
}

func TestChallenges(t *testing.T) {
	in := newIntrospector()
	g := grant()
	g.Scopes, g.ACR = []string{"transfers"}, oauth.ACROneFactor
	in.grants["t"] = g
	res := call{api: apiHoldings, app: appID, auth: []string{"Bearer t"}}.run(t, in)
	pe := wantRefusal(t, res, 403, problem.ConsentMissing)
	if got := pe.Header.Get("WWW-Authenticate"); got != `Bearer error="insufficient_scope", scope="holdings"` {
		t.Errorf("insufficient scope challenge %q", got)
	}
	res = call{api: apiTransfer, app: appID, auth: []string{"Bearer t"}, body: transferBody(mine)}.run(t, in)
	pe = wantRefusal(t, res, 403, problem.SecondFactorRequired)
	if got := pe.Header.Get("WWW-Authenticate"); !strings.Contains(got, "insufficient_user_authentication") || !strings.Contains(got, oauth.ACRTwoFactor) {
		t.Errorf("step-up challenge %q", got)
	}
}

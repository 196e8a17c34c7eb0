package signature

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/httpsig"
	"github.com/bankguard/bankguard/problem"
	"github.com/bankguard/bankguard/registry"
	"github.com/bankguard/bankguard/sdk"
	"github.com/bankguard/bankguard/store/memory"
)

var testNow = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

// keyring is a map-backed Keys.
type keyring map[string]*Key

func (k keyring) Key(id string) (*Key, bool) { v, ok := k[id]; return v, ok }

type fixture struct {
	t       testing.TB
	keys    keyring
	signers map[string]httpsig.Signer // by keyid
	h       *Handler
	cert    *x509.Certificate // the client certificate registered for "cert-app"
}

var (
	apiA1 = &registry.API{ID: "A1API", Level: registry.A1, Status: registry.APIActive}
	apiA2 = &registry.API{ID: "A2API", Level: registry.A2, Status: registry.APIActive}
)

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{t: t, keys: keyring{}, signers: map[string]httpsig.Signer{}}
	hmacKey := bytes.Repeat([]byte{7}, 32)
	f.add("hmac-app", "hmac-k", httpsig.AlgHMACSM3, hmacKey, hmacKey, registry.AppActive, nil)
	sm2Key, _ := sm2.GenerateKey(rand.Reader)
	f.add("sm2-app", "sm2-k", httpsig.AlgSM2SM3, sm2Key, &sm2Key.PublicKey, registry.AppActive, nil)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	f.cert = selfSigned(t, "cert-app", testNow.Add(-time.Hour), testNow.Add(time.Hour))
	sum := sha256.Sum256(f.cert.Raw)
	f.add("cert-app", "cert-k", httpsig.AlgECDSAP256SHA256, ecKey, &ecKey.PublicKey, registry.AppActive, sum[:])
	f.add("suspended-app", "suspended-k", httpsig.AlgHMACSHA256, hmacKey, hmacKey, registry.AppSuspended, nil)
	revoked, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	f.add("sm2-app", "revoked-k", httpsig.AlgECDSAP256SHA256, revoked, &revoked.PublicKey, registry.AppActive, nil)
	f.keys["revoked-k"].Credential.Status = registry.CredentialRevoked
	expired, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	f.add("sm2-app", "expired-k", httpsig.AlgECDSAP256SHA256, expired, &expired.PublicKey, registry.AppActive, nil)
	f.keys["expired-k"].Credential.NotAfter = testNow.Add(-time.Minute)
	cfg := Config{}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	f.h = &Handler{Config: cfg, Keys: f.keys, Nonces: memory.NewNonces(0, func() time.Time { return testNow }), Now: func() time.Time { return testNow }}
	return f
}

func (f *fixture) add(appID, keyID, alg string, priv, pub any, status registry.AppStatus, thumb []byte) {
	f.t.Helper()
	s, err := httpsig.NewSigner(alg, priv)
	if err != nil {
		f.t.Fatal(err)
	}
	v, err := httpsig.NewVerifier(alg, pub)
	if err != nil {
		f.t.Fatal(err)
	}
	f.signers[keyID] = s
	app := &registry.App{ID: appID, Status: status}
	f.keys[keyID] = &Key{Credential: &registry.Credential{KeyID: keyID, AppID: appID, Alg: alg, Status: registry.CredentialActive},
		App: app, Verifier: v, ClientCert: thumb}
}

func selfSigned(t testing.TB, cn string, from, until time.Time) *x509.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, NotBefore: from, NotAfter: until}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

// request is a signed request as the gateway receives it.
type request struct {
	keyID     string
	method    string
	target    string
	body      string
	signedAt  time.Time
	sign      func(c *sdk.Client, r *http.Request) // replaces the normal signing
	beforeSig func(r *http.Request)                // runs before signing
	afterSig  func(r *http.Request)                // tampering after signing
	peer      *x509.Certificate
}

func (f *fixture) build(rq request) *http.Request {
	f.t.Helper()
	if rq.method == "" {
		rq.method = "GET"
	}
	if rq.target == "" {
		rq.target = "https://bank.example/v1/accounts/AC1/balance?from=2026-01-01"
	}
	if rq.signedAt.IsZero() {
		rq.signedAt = testNow
	}
	var body []byte
	if rq.body != "" {
		body = []byte(rq.body)
	}
	out, err := sdk.NewRequest(context.Background(), rq.method, rq.target, body)
	if err != nil {
		f.t.Fatal(err)
	}
	if rq.beforeSig != nil {
		rq.beforeSig(out)
	}
	c := &sdk.Client{KeyID: rq.keyID, Signer: f.signers[rq.keyID], Now: func() time.Time { return rq.signedAt }}
	if c.Signer == nil {
		c.Signer = f.signers["hmac-k"]
	}
	if rq.sign != nil {
		rq.sign(c, out)
	} else if err := c.Sign(out); err != nil {
		f.t.Fatal(err)
	}
	if rq.afterSig != nil {
		rq.afterSig(out)
	}
	// What the server sees.
	if out.Body != nil {
		buf := new(bytes.Buffer)
		buf.ReadFrom(out.Body)
		body = buf.Bytes()
	}
	in := httptest.NewRequest(out.Method, out.URL.String(), bytes.NewReader(body))
	in.Header = out.Header.Clone()
	if rq.peer != nil {
		in.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{rq.peer}}
	}
	return in
}

// serve runs the handler on r for api and reports whether it let the request through.
func (f *fixture) serve(r *http.Request, api *registry.API) (*stage.Exchange, bool, error) {
	var body []byte
	if r.Body != nil {
		buf := new(bytes.Buffer)
		buf.ReadFrom(r.Body)
		body = buf.Bytes()
	}
	ex := &stage.Exchange{API: api, Body: body}
	r = r.WithContext(stage.WithExchange(r.Context(), ex))
	called := false
	err := f.h.ServeHTTP(httptest.NewRecorder(), r, stage.HandlerFunc(func(http.ResponseWriter, *http.Request) error {
		called = true
		return nil
	}))
	return ex, called, err
}

func TestAccepts(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		rq   request
		api  *registry.API
	}{
		{name: "A1 with hmac-sm3", rq: request{keyID: "hmac-k"}, api: apiA1},
		{name: "A2 with sm2-sm3", rq: request{keyID: "sm2-k"}, api: apiA2},
		{name: "A2 with registered client certificate", rq: request{keyID: "cert-k", peer: f.cert}, api: apiA2},
		{name: "A1 with a key pair", rq: request{keyID: "sm2-k"}, api: apiA1},
		{name: "body with digest", rq: request{keyID: "sm2-k", method: "POST", target: "https://bank.example/v1/transfers", body: `{"amount":"1.00"}`}, api: apiA2},
		{name: "created 299 s ago", rq: request{keyID: "hmac-k", signedAt: testNow.Add(-299 * time.Second)}, api: apiA1},
		{name: "created 59 s ahead", rq: request{keyID: "hmac-k", signedAt: testNow.Add(59 * time.Second)}, api: apiA1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex, called, err := f.serve(f.build(tt.rq), tt.api)
			if err != nil || !called {
				t.Fatalf("refused: %v", err)
			}
			if ex.App == nil || ex.Credential.KeyID != tt.rq.keyID || ex.SignatureLabel != sdk.RequestLabel {
				t.Fatalf("exchange not filled: %+v", ex)
			}
		})
	}
}

func TestRefuses(t *testing.T) {
	f := newFixture(t)
	other, _ := sm2.GenerateKey(rand.Reader)
	wrongSM2, _ := httpsig.NewSigner(httpsig.AlgSM2SM3, other)
	strangerCert := selfSigned(t, "cert-app", testNow.Add(-time.Hour), testNow.Add(time.Hour))
	tests := []struct {
		name string
		rq   request
		api  *registry.API
		code problem.Code
		at   time.Time // the gateway's clock, if not testNow
	}{
		{name: "no signature", api: apiA1, code: problem.SignatureMissing,
			rq: request{keyID: "hmac-k", sign: func(*sdk.Client, *http.Request) {}}},
		{name: "unknown keyid", api: apiA1, code: problem.AppUnknown,
			rq: request{keyID: "nobody", sign: func(c *sdk.Client, r *http.Request) { c.Signer = f.signers["hmac-k"]; c.Sign(r) }}},
		{name: "revoked credential", api: apiA1, code: problem.AppUnknown, rq: request{keyID: "revoked-k"}},
		{name: "expired credential", api: apiA1, code: problem.SignatureInvalid, rq: request{keyID: "expired-k"}},
		{name: "wrong key", api: apiA2, code: problem.SignatureInvalid,
			rq: request{keyID: "sm2-k", sign: func(c *sdk.Client, r *http.Request) { c.Signer = wrongSM2; c.Sign(r) }}},
		{name: "tampered method", api: apiA1, code: problem.SignatureInvalid,
			rq: request{keyID: "hmac-k", afterSig: func(r *http.Request) { r.Method = "DELETE" }}},
		{name: "tampered path", api: apiA1, code: problem.SignatureInvalid,
			rq: request{keyID: "hmac-k", afterSig: func(r *http.Request) { r.URL.Path = "/v1/accounts/AC2/balance" }}},
		{name: "tampered query", api: apiA1, code: problem.SignatureInvalid,
			rq: request{keyID: "hmac-k", afterSig: func(r *http.Request) { r.URL.RawQuery = "from=2020-01-01" }}},
		{name: "tampered covered header", api: apiA1, code: problem.SignatureInvalid,
			rq: request{keyID: "hmac-k", beforeSig: func(r *http.Request) { r.Header.Set("Authorization", "Bearer a") },
				afterSig: func(r *http.Request) { r.Header.Set("Authorization", "Bearer b") }}},
		{name: "tampered host", api: apiA1, code: problem.SignatureInvalid,
			rq: request{keyID: "hmac-k", afterSig: func(r *http.Request) { r.URL.Host = "evil.example" }}},
		{name: "tampered body", api: apiA2, code: problem.DigestMismatch,
			rq: request{keyID: "sm2-k", method: "POST", target: "https://bank.example/v1/transfers", body: `{"amount":"1.00"}`,
				afterSig: func(r *http.Request) { r.Body = nopCloser(`{"amount":"9.00"}`) }}},
		{name: "tampered body and digest", api: apiA2, code: problem.SignatureInvalid,
			rq: request{keyID: "sm2-k", method: "POST", target: "https://bank.example/v1/transfers", body: `{"amount":"1.00"}`,
				afterSig: func(r *http.Request) {
					r.Body = nopCloser(`{"amount":"9.00"}`)
					d, _ := httpsig.ContentDigest("sha-256", []byte(`{"amount":"9.00"}`))
					r.Header.Set("Content-Digest", d)
				}}},
		{name: "body without content-digest", api: apiA2, code: problem.SignatureInvalid,
			rq: request{keyID: "sm2-k", method: "POST", target: "https://bank.example/v1/transfers",
				afterSig: func(r *http.Request) { r.Body = nopCloser(`{"amount":"1.00"}`) }}},
		{name: "digest with unsupported algorithm only", api: apiA2, code: problem.DigestMismatch,
			rq: request{keyID: "sm2-k", method: "POST", target: "https://bank.example/v1/transfers", body: `{}`,
				afterSig: func(r *http.Request) { r.Header.Set("Content-Digest", "md5=:AAAA:") }}},
		{name: "created too old", api: apiA1, code: problem.TimestampOutOfWindow,
			rq: request{keyID: "hmac-k", signedAt: testNow.Add(-301 * time.Second)}},
		{name: "created too far ahead", api: apiA1, code: problem.TimestampOutOfWindow,
			rq: request{keyID: "hmac-k", signedAt: testNow.Add(61 * time.Second)}},
		{name: "expires passed", api: apiA1, code: problem.TimestampOutOfWindow,
			rq: request{keyID: "hmac-k", sign: signWith(f, "hmac-k", func(in *httpsig.Input) { in.Params.Expires = testNow.Add(-time.Second) })}},
		{name: "nonce missing", api: apiA1, code: problem.SignatureInvalid,
			rq: request{keyID: "hmac-k", sign: signWith(f, "hmac-k", func(in *httpsig.Input) { in.Params.Nonce = "" })}},
		{name: "nonce too short", api: apiA1, code: problem.SignatureInvalid,
			rq: request{keyID: "hmac-k", sign: signWith(f, "hmac-k", func(in *httpsig.Input) { in.Params.Nonce = "short" })}},
		{name: "created missing", api: apiA1, code: problem.SignatureInvalid,
			rq: request{keyID: "hmac-k", sign: signWith(f, "hmac-k", func(in *httpsig.Input) { in.Params.Created = time.Time{} })}},
		{name: "keyid missing", api: apiA1, code: problem.SignatureInvalid,
			rq: request{keyID: "hmac-k", sign: signWith(f, "hmac-k", func(in *httpsig.Input) { in.Params.KeyID = "" })}},
		{name: "alg mismatch", api: apiA1, code: problem.SignatureInvalid,
			rq: request{keyID: "hmac-k", sign: func(c *sdk.Client, r *http.Request) {
				c.Signer, _ = httpsig.NewSigner(httpsig.AlgHMACSHA256, bytes.Repeat([]byte{7}, 32))
				c.Sign(r)
			}}},
		{name: "query not covered", api: apiA1, code: problem.SignatureInvalid,
			rq: request{keyID: "hmac-k", sign: signWith(f, "hmac-k", func(in *httpsig.Input) { in.Components = in.Components[:3] })}},
		{name: "authorization not covered", api: apiA1, code: problem.SignatureInvalid,
			rq: request{keyID: "hmac-k", afterSig: func(r *http.Request) { r.Header.Set("Authorization", "Bearer x") }}},
		{name: "two signatures, none labelled sig", api: apiA1, code: problem.SignatureInvalid,
			rq: request{keyID: "hmac-k", sign: func(c *sdk.Client, r *http.Request) {
				signWith(f, "hmac-k", func(in *httpsig.Input) { in.Label = "a" })(c, r)
				signWith(f, "hmac-k", func(in *httpsig.Input) { in.Label = "b" })(c, r)
			}}},
		{name: "malformed Signature-Input", api: apiA1, code: problem.SignatureInvalid,
			rq: request{keyID: "hmac-k", afterSig: func(r *http.Request) { r.Header.Set("Signature-Input", "sig=(@method") }}},
		{name: "suspended app", api: apiA1, code: problem.AppSuspended, rq: request{keyID: "suspended-k"}},
		{name: "A2 with an HMAC app", api: apiA2, code: problem.LevelInsufficient, rq: request{keyID: "hmac-k"}},
		{name: "A2 without the registered client certificate", api: apiA2, code: problem.LevelInsufficient, rq: request{keyID: "cert-k"}},
		{name: "A2 with another client certificate", api: apiA2, code: problem.LevelInsufficient, rq: request{keyID: "cert-k", peer: strangerCert}},
		{name: "A2 with an expired registered certificate", api: apiA2, code: problem.LevelInsufficient,
			rq: request{keyID: "cert-k", peer: f.cert, signedAt: testNow.Add(2 * time.Hour)}, at: testNow.Add(2 * time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.at.IsZero() {
				saved := f.h
				f.h = &Handler{Config: saved.Config, Keys: f.keys, Nonces: memory.NewNonces(0, nil), Now: func() time.Time { return tt.at }}
				defer func() { f.h = saved }()
			}
			_, called, err := f.serve(f.build(tt.rq), tt.api)
			var pe *problem.Error
			if !errors.As(err, &pe) || pe.Code != tt.code {
				t.Fatalf("err = %v, want %s", err, tt.code)
			}
			if called {
				t.Fatal("refused request reached the next stage")
			}
			if status := pe.HTTPStatus(); status != 401 && status != 403 {
				t.Fatalf("status %d", status)
			}
		})
	}
}

// signWith signs with the keyid's signer after letting edit change the input.
func signWith(f *fixture, keyID string, edit func(*httpsig.Input)) func(*sdk.Client, *http.Request) {
	return func(_ *sdk.Client, r *http.Request) {
		nonce, _ := sdk.Nonce()
		in := httpsig.Input{Label: "sig",
			Components: []httpsig.Component{{Name: "@method"}, {Name: "@authority"}, {Name: "@path"}, {Name: "@query"}},
			Params:     httpsig.Params{Created: testNow, Nonce: nonce, KeyID: keyID}}
		edit(&in)
		if err := httpsig.SignHeader(r.Header, httpsig.NewRequestMessage(r), in, f.signers[keyID]); err != nil {
			f.t.Fatal(err)
		}
	}
}

func nopCloser(s string) *readCloser { return &readCloser{strings.NewReader(s)} }

type readCloser struct{ *strings.Reader }

func (readCloser) Close() error { return nil }

func TestReplayRefused(t *testing.T) {
	f := newFixture(t)
	r := f.build(request{keyID: "sm2-k"})
	if _, called, err := f.serve(r.Clone(context.Background()), apiA2); !called {
		t.Fatalf("first use refused: %v", err)
	}
	_, called, err := f.serve(r.Clone(context.Background()), apiA2)
	var pe *problem.Error
	if called || !errors.As(err, &pe) || pe.Code != problem.ReplayDetected {
		t.Fatalf("replay: called=%v err=%v", called, err)
	}
}

func TestRefusedRequestDoesNotBurnNonce(t *testing.T) {
	f := newFixture(t)
	// The same signed request first fails the level check, then passes on A1:
	// a refusal must not have consumed the nonce.
	r := f.build(request{keyID: "hmac-k"})
	if _, called, _ := f.serve(r.Clone(context.Background()), apiA2); called {
		t.Fatal("A2 accepted HMAC")
	}
	if _, called, err := f.serve(r.Clone(context.Background()), apiA1); !called {
		t.Fatalf("nonce burnt by a refused request: %v", err)
	}
}

func TestConcurrentCopiesExactlyOneAccepted(t *testing.T) {
	f := newFixture(t)
	r := f.build(request{keyID: "sm2-k"})
	var accepted, replays atomic.Int32
	var wg sync.WaitGroup
	for range 100 {
		c := r.Clone(context.Background())
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, called, err := f.serve(c, apiA2)
			var pe *problem.Error
			switch {
			case called:
				accepted.Add(1)
			case errors.As(err, &pe) && pe.Code == problem.ReplayDetected:
				replays.Add(1)
			}
		}()
	}
	wg.Wait()
	if accepted.Load() != 1 || replays.Load() != 99 {
		t.Fatalf("accepted %d, replays %d; want 1 and 99", accepted.Load(), replays.Load())
	}
}

func TestRequiredClientCertificatePolicy(t *testing.T) {
	f := newFixture(t)
	f.h.Config.A2ClientCert = CertRequired
	_, called, err := f.serve(f.build(request{keyID: "sm2-k"}), apiA2)
	var pe *problem.Error
	if called || !errors.As(err, &pe) || pe.Code != problem.LevelInsufficient {
		t.Fatalf("app without certificate on A2 under 'required': called=%v err=%v", called, err)
	}
	if _, called, err := f.serve(f.build(request{keyID: "cert-k", peer: f.cert}), apiA2); !called {
		t.Fatalf("registered certificate refused: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{{MaxAge: -1}, {MaxAge: 2 * time.Hour}, {A2ClientCert: "sometimes"}} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

package respsign

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/httpsig"
	"github.com/bankguard/bankguard/problem"
	"github.com/bankguard/bankguard/registry"
	"github.com/bankguard/bankguard/sdk"
)

type oneKey struct {
	id string
	s  httpsig.Signer
}

func (k oneKey) Signer(time.Time) (string, httpsig.Signer, bool) { return k.id, k.s, true }

type bank struct {
	srv    *httptest.Server
	client *sdk.Client
}

// newBank serves final behind the signing stage, as an A2 or A1 API, and
// returns a client holding the bank's public key.
func newBank(t *testing.T, level registry.Level, final stage.HandlerFunc) *bank {
	t.Helper()
	priv, _ := sm2.GenerateKey(rand.Reader)
	signer, _ := httpsig.NewSigner(httpsig.AlgSM2SM3, priv)
	verifier, _ := httpsig.NewVerifier(httpsig.AlgSM2SM3, &priv.PublicKey)
	chain := stage.Chain(final, &Handler{Keys: oneKey{"bank-k", signer}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ex := &stage.Exchange{ID: "TXN-1", API: &registry.API{ID: "X", Level: level}, SignatureLabel: "sig"}
		w.Header().Set("X-Request-Id", ex.ID)
		r = r.WithContext(stage.WithExchange(r.Context(), ex))
		if err := chain.ServeHTTP(w, r); err != nil {
			problem.Write(w, ex.ID, err)
		}
	}))
	t.Cleanup(srv.Close)
	appKey := bytes.Repeat([]byte{1}, 32)
	appSigner, _ := httpsig.NewSigner(httpsig.AlgHMACSM3, appKey)
	return &bank{srv: srv, client: &sdk.Client{HTTP: srv.Client(), KeyID: "app-k", Signer: appSigner,
		BankKeys: sdk.KeySet{"bank-k": verifier}, RequireBankSignature: true}}
}

func (b *bank) get(t *testing.T, path string) (*sdk.Response, error) {
	t.Helper()
	req, _ := sdk.NewRequest(context.Background(), "GET", b.srv.URL+path, nil)
	return b.client.Do(req)
}

func ok(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Server", "should-not-matter")
	_, err := io.WriteString(w, `{"balance":"100.00"}`)
	return err
}

func TestSignedResponseVerifies(t *testing.T) {
	b := newBank(t, registry.A2, ok)
	resp, err := b.get(t, "/v1/accounts/A/balance?x=1")
	if err != nil {
		t.Fatal(err)
	}
	if resp.BankSignature == nil || resp.BankSignature.KeyID != "bank-k" || string(resp.Body) != `{"balance":"100.00"}` {
		t.Fatalf("resp = %+v", resp.BankSignature)
	}
	sigs, err := httpsig.ParseSignatures(resp.Header)
	if err != nil || len(sigs) != 1 || sigs[0].Input.Label != Label {
		t.Fatalf("signatures = %v, %v", sigs, err)
	}
	for _, c := range Components("sig") {
		if !sigs[0].Input.Covers(c) {
			t.Errorf("bank signature does not cover %s", c)
		}
	}
	if !sigs[0].Input.Covers(httpsig.Component{Name: "signature", Key: "sig", Req: true}) {
		t.Error("bank signature is not bound to the request signature")
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Digest"), "sm3=") {
		t.Errorf("Content-Digest = %q", resp.Header.Get("Content-Digest"))
	}
}

func TestErrorsAreSigned(t *testing.T) {
	b := newBank(t, registry.A2, func(http.ResponseWriter, *http.Request) error {
		return problem.New(problem.ResourceForbidden, "not yours")
	})
	resp, err := b.get(t, "/v1/accounts/B/balance")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 403 || resp.BankSignature == nil || !strings.Contains(string(resp.Body), "resource_forbidden") {
		t.Fatalf("status %d signature %v body %s", resp.StatusCode, resp.BankSignature, resp.Body)
	}
	if resp.Header.Get("X-Request-Id") != "TXN-1" {
		t.Fatal("X-Request-Id lost")
	}
}

func TestPartialWriteThenErrorIsReplaced(t *testing.T) {
	b := newBank(t, registry.A2, func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("X-Upstream-Secret", "internal")
		io.WriteString(w, `{"partial":`)
		return problem.New(problem.UpstreamUnavailable, "backend failed")
	})
	resp, err := b.get(t, "/v1/x")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 502 || bytes.Contains(resp.Body, []byte("partial")) || resp.Header.Get("X-Upstream-Secret") != "" {
		t.Fatalf("status %d headers %v body %s", resp.StatusCode, resp.Header, resp.Body)
	}
}

func TestA1NotSigned(t *testing.T) {
	b := newBank(t, registry.A1, ok)
	b.client.RequireBankSignature = false
	resp, err := b.get(t, "/v1/products")
	if err != nil || resp.BankSignature != nil || resp.Header.Get("Signature") != "" {
		t.Fatalf("err=%v sig=%v", err, resp.BankSignature)
	}
}

// tamper sits between client and bank and edits the response.
type tamper struct {
	rt   http.RoundTripper
	edit func(*http.Response)
}

func (tr tamper) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := tr.rt.RoundTrip(r)
	if err == nil {
		tr.edit(resp)
	}
	return resp, err
}

func TestClientRefusesBadResponses(t *testing.T) {
	var captured *http.Response
	var capturedBody []byte
	tests := []struct {
		name  string
		edit  func(*http.Response)
		setup func(*sdk.Client)
	}{
		{name: "tampered body", edit: func(r *http.Response) {
			r.Body = io.NopCloser(strings.NewReader(`{"balance":"999999.00"}`))
		}},
		{name: "tampered body and digest", edit: func(r *http.Response) {
			body := []byte(`{"balance":"999999.00"}`)
			d, _ := httpsig.ContentDigest("sm3", body)
			r.Header.Set("Content-Digest", d)
			r.Body = io.NopCloser(bytes.NewReader(body))
		}},
		{name: "tampered status", edit: func(r *http.Response) { r.StatusCode = 201 }},
		{name: "tampered request id", edit: func(r *http.Response) { r.Header.Set("X-Request-Id", "TXN-2") }},
		{name: "signature stripped", edit: func(r *http.Response) {
			r.Header.Del("Signature")
			r.Header.Del("Signature-Input")
		}},
		{name: "unknown bank key", edit: func(*http.Response) {}, setup: func(c *sdk.Client) { c.BankKeys = sdk.KeySet{} }},
		{name: "bank clock far off", edit: func(*http.Response) {}, setup: func(c *sdk.Client) {
			c.Now = func() time.Time { return time.Now().Add(time.Hour) }
		}},
		{name: "response to another request", edit: func(r *http.Response) {
			// Replace the answer with one the bank gave to an earlier request.
			r.Header, r.StatusCode = captured.Header.Clone(), captured.StatusCode
			r.Body = io.NopCloser(bytes.NewReader(capturedBody))
		}},
	}
	b := newBank(t, registry.A2, ok)
	// Capture a genuine response to the same method and path.
	first, err := b.get(t, "/v1/accounts/A/balance")
	if err != nil {
		t.Fatal(err)
	}
	captured, capturedBody = first.Response, first.Body
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := *b.client
			c.HTTP = &http.Client{Transport: tamper{rt: b.srv.Client().Transport, edit: tt.edit}}
			if tt.setup != nil {
				tt.setup(&c)
			}
			req, _ := sdk.NewRequest(context.Background(), "GET", b.srv.URL+"/v1/accounts/A/balance", nil)
			_, err := c.Do(req)
			if !errors.Is(err, sdk.ErrBankSignature) {
				t.Fatalf("err = %v, want ErrBankSignature", err)
			}
		})
	}
}

func TestOversizedResponseIsNotSent(t *testing.T) {
	b := newBank(t, registry.A2, func(w http.ResponseWriter, r *http.Request) error {
		_, err := w.Write(make([]byte, DefaultMaxBody+1))
		if err == nil {
			t.Error("write beyond the buffer accepted")
		}
		return nil
	})
	resp, err := b.get(t, "/v1/big")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 502 {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

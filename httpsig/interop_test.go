package httpsig_test

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/bankguard/bankguard/httpsig"
	"github.com/yaronf/httpsign"
)

// Interoperability with github.com/yaronf/httpsign, an independent RFC 9421
// implementation: each side verifies what the other signed.

// interopKeys holds one key pair per algorithm both implementations support,
// with the matching httpsign constructors.
type interopKey struct {
	alg        string
	priv, pub  any
	signer     func(fields httpsign.Fields) (*httpsign.Signer, error)
	verifier   func(fields httpsign.Fields) (*httpsign.Verifier, error)
	signConfig *httpsign.SignConfig
}

func interopKeys(t *testing.T) []interopKey {
	t.Helper()
	secret := make([]byte, 64) // httpsign wants 64 bytes or more
	rand.Read(secret)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	rsaKey := privateKey(t, "test-key-rsa-pss").(*rsa.PrivateKey)
	sc := func() *httpsign.SignConfig {
		return httpsign.NewSignConfig().SetKeyID("k1").SetNonce("nonce-0123456789abcdef").SetTag("bankguard")
	}
	vc := func() *httpsign.VerifyConfig { return httpsign.NewVerifyConfig().SetKeyID("k1") }
	return []interopKey{
		{httpsig.AlgHMACSHA256, secret, secret,
			func(f httpsign.Fields) (*httpsign.Signer, error) {
				return httpsign.NewHMACSHA256Signer(secret, sc(), f)
			},
			func(f httpsign.Fields) (*httpsign.Verifier, error) {
				return httpsign.NewHMACSHA256Verifier(secret, vc(), f)
			}, nil},
		{httpsig.AlgECDSAP256SHA256, p256, &p256.PublicKey,
			func(f httpsign.Fields) (*httpsign.Signer, error) { return httpsign.NewP256Signer(*p256, sc(), f) },
			func(f httpsign.Fields) (*httpsign.Verifier, error) {
				return httpsign.NewP256Verifier(p256.PublicKey, vc(), f)
			}, nil},
		{httpsig.AlgEd25519, edPriv, edPub,
			func(f httpsign.Fields) (*httpsign.Signer, error) { return httpsign.NewEd25519Signer(edPriv, sc(), f) },
			func(f httpsign.Fields) (*httpsign.Verifier, error) {
				return httpsign.NewEd25519Verifier(edPub, vc(), f)
			}, nil},
		{httpsig.AlgRSAPSSSHA512, rsaKey, &rsaKey.PublicKey,
			func(f httpsign.Fields) (*httpsign.Signer, error) { return httpsign.NewRSAPSSSigner(*rsaKey, sc(), f) },
			func(f httpsign.Fields) (*httpsign.Verifier, error) {
				return httpsign.NewRSAPSSVerifier(rsaKey.PublicKey, vc(), f)
			}, nil},
	}
}

var interopBody = []byte(`{"amount":"100.00","payee":"张三"}`)

// clientRequest is the SDK's outgoing request, with its Content-Digest.
func clientRequest(t *testing.T) *http.Request {
	t.Helper()
	r, err := http.NewRequest("POST", "https://api.bank.example/v1/transfers?acct=6222&memo=rent%20may", bytes.NewReader(interopBody))
	if err != nil {
		t.Fatal(err)
	}
	d, err := httpsig.ContentDigest(httpsig.DigestSHA256, interopBody)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Digest", d)
	r.Header.Set("Content-Type", "application/json")
	return r
}

// overTheWire sends a client request through HTTP/1.1 serialization and
// returns it as a server receives it.
func overTheWire(t *testing.T, r *http.Request) *http.Request {
	t.Helper()
	var buf bytes.Buffer
	if err := r.Write(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := http.ReadRequest(bufio.NewReader(&buf))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestInteropVerifyHTTPSign: requests signed by httpsign verify on the gateway side.
func TestInteropVerifyHTTPSign(t *testing.T) {
	fieldSets := map[string]httpsign.Fields{
		"profile": httpsign.Headers("@method", "@authority", "@path", "@query", "content-digest"),
		"query-param sf key": *httpsign.NewFields().AddHeaders("@method", "@target-uri").AddQueryParam("memo").
			AddStructuredField("content-digest").AddDictHeader("content-digest", "sha-256"),
	}
	for _, k := range interopKeys(t) {
		for name, fields := range fieldSets {
			t.Run(k.alg+"/"+name, func(t *testing.T) {
				r := clientRequest(t)
				s, err := k.signer(fields)
				if err != nil {
					t.Fatal(err)
				}
				sigInput, sig, err := httpsign.SignRequest("sig", *s, r)
				if err != nil {
					t.Fatal(err)
				}
				r.Header.Set("Signature-Input", sigInput)
				r.Header.Set("Signature", sig)

				// Client-side view (the SDK checking its own request) and server-side view.
				server := overTheWire(t, r)
				for _, view := range []*http.Request{r, server} {
					m := httpsig.NewRequestMessage(view)
					if name != "profile" && view == server {
						// @target-uri needs the scheme, which a plain-HTTP test server cannot see.
						m.Scheme = "https"
					}
					sigs, err := httpsig.ParseSignatures(view.Header)
					if err != nil {
						t.Fatal(err)
					}
					err = sigs[0].Verify(m, mustVerifier(t, k.alg, k.pub))
					if k.alg == httpsig.AlgRSAPSSSHA512 {
						// httpsign v0.3.2 signs RSASSA-PSS with the maximal salt
						// (190 bytes for a 2048-bit key), not the 64 bytes RFC 9421
						// §3.3.1 fixes; we verify with sLen = 64 and refuse it.
						if !errors.Is(err, httpsig.ErrVerification) {
							t.Fatalf("httpsign rsa-pss signature: %v, want ErrVerification", err)
						}
						// The base is right: with any salt length it verifies.
						base, _ := httpsig.SignatureBase(m, sigs[0].Input)
						d := sha512.Sum512(base)
						if err := rsa.VerifyPSS(k.pub.(*rsa.PublicKey), crypto.SHA512, d[:], sigs[0].Value,
							&rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}); err != nil {
							t.Fatalf("rsa-pss with any salt: %v", err)
						}
						continue
					}
					if err != nil {
						t.Fatalf("%s\n%s: %v", sigInput, view.RequestURI, err)
					}
					if sigs[0].Input.Params.KeyID != "k1" || sigs[0].Input.Params.Alg != k.alg {
						t.Fatalf("params %+v", sigs[0].Input.Params)
					}
				}
				body, _ := io.ReadAll(server.Body)
				if err := httpsig.VerifyContentDigest(server.Header.Values("Content-Digest"), body); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// TestInteropHTTPSignVerifies: requests and responses we sign verify with httpsign.
func TestInteropHTTPSignVerifies(t *testing.T) {
	for _, k := range interopKeys(t) {
		t.Run(k.alg+"/request", func(t *testing.T) {
			r := clientRequest(t)
			in := httpsig.Input{Label: "sig",
				Components: comps(t, `"@method"`, `"@authority"`, `"@path"`, `"@query"`, `"content-digest"`,
					`"@query-param";name="memo"`, `"content-digest";sf`),
				Params: httpsig.Params{Created: time.Now(), KeyID: "k1", Nonce: "nonce-0123456789abcdef", Alg: k.alg}}
			if err := httpsig.SignHeader(r.Header, httpsig.NewRequestMessage(r), in, mustSigner(t, k.alg, k.priv)); err != nil {
				t.Fatal(err)
			}
			v, err := k.verifier(httpsign.Headers("@method", "@authority", "@path", "@query", "content-digest"))
			if err != nil {
				t.Fatal(err)
			}
			if err := httpsign.VerifyRequest("sig", *v, r); err != nil {
				t.Fatalf("httpsign: %v\n%s", err, r.Header.Get("Signature-Input"))
			}
			r.Header.Set("Content-Digest", "sha-256=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:")
			if err := httpsign.VerifyRequest("sig", *v, r); err == nil {
				t.Fatal("httpsign accepted a tampered request")
			}
		})
		t.Run(k.alg+"/response", func(t *testing.T) {
			req := clientRequest(t)
			body := []byte(`{"status":"accepted"}`)
			h := http.Header{}
			d, _ := httpsig.ContentDigest(httpsig.DigestSHA512, body)
			h.Set("Content-Digest", d)
			h.Set("Content-Type", "application/json")
			in := httpsig.Input{Label: "bank",
				Components: comps(t, `"@status"`, `"content-digest"`, `"@method";req`, `"@path";req`, `"@query";req`,
					`"@authority";req`, `"content-digest";req`),
				Params: httpsig.Params{Created: time.Now(), KeyID: "k1", Alg: k.alg}}
			m := httpsig.NewResponseMessage(202, h, httpsig.NewRequestMessage(req))
			if err := httpsig.SignHeader(h, m, in, mustSigner(t, k.alg, k.priv)); err != nil {
				t.Fatal(err)
			}
			res := &http.Response{StatusCode: 202, Header: h, Body: io.NopCloser(bytes.NewReader(body))}
			v, err := k.verifier(*httpsign.NewFields().AddHeaders("@status", "content-digest").
				AddHeaderExt("@method", false, false, true, false).AddHeaderExt("@path", false, false, true, false))
			if err != nil {
				t.Fatal(err)
			}
			if err := httpsign.VerifyResponse("bank", *v, res, req); err != nil {
				t.Fatalf("httpsign: %v\n%s", err, h.Get("Signature-Input"))
			}
			other := clientRequest(t)
			other.Method = "PUT"
			if err := httpsign.VerifyResponse("bank", *v, res, other); err == nil {
				t.Fatal("httpsign accepted the response for another request")
			}
		})
	}
}

// TestInteropHTTPSignResponse: a response httpsign signs with ;req
// components verifies on the SDK side.
func TestInteropHTTPSignResponse(t *testing.T) {
	k := interopKeys(t)[1] // ecdsa-p256-sha256
	req := clientRequest(t)
	h := http.Header{}
	d, _ := httpsig.ContentDigest(httpsig.DigestSHA256, []byte("ok"))
	h.Set("Content-Digest", d)
	res := &http.Response{StatusCode: 200, Header: h, Body: io.NopCloser(bytes.NewReader([]byte("ok")))}
	s, err := k.signer(*httpsign.NewFields().AddHeaders("@status", "content-digest").
		AddHeaderExt("@method", false, false, true, false).AddHeaderExt("@query", false, false, true, false).
		AddHeaderExt("content-type", false, false, true, false))
	if err != nil {
		t.Fatal(err)
	}
	sigInput, sig, err := httpsign.SignResponse("bank", *s, res, req)
	if err != nil {
		t.Fatal(err)
	}
	h.Set("Signature-Input", sigInput)
	h.Set("Signature", sig)
	sigs, err := httpsig.ParseSignatures(h)
	if err != nil {
		t.Fatal(err)
	}
	m := httpsig.NewResponseMessage(200, h, httpsig.NewRequestMessage(req))
	if err := sigs[0].Verify(m, mustVerifier(t, k.alg, k.pub)); err != nil {
		t.Fatalf("%s: %v", sigInput, err)
	}
}

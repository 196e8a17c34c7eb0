package probe_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bankguard/bankguard/assess"
	"github.com/bankguard/bankguard/assess/internal/weak"
	"github.com/bankguard/bankguard/config"
	"github.com/bankguard/bankguard/demo"
	"github.com/bankguard/bankguard/httpsig"
	"github.com/bankguard/bankguard/sdk"
)

// authnMutants are the mutants of the checks in authn.go and signature.go.
// Most switch a refusal of the gateway's signature stage into 200 OK; the
// client-certificate mutant lends the caller a certificate, and the
// response-signature mutants strip, break or re-sign the bank's signature.
var authnMutants = []mutant{
	{check: "signature.unsigned", onDemo: assess.Pass, name: "unsigned requests accepted",
		mutation: weak.Mutation{Response: weak.AcceptRefusals("signature_missing")}},
	{check: "signature.unknown-app", onDemo: assess.Pass, name: "unknown keyids accepted",
		mutation: weak.Mutation{Response: weak.AcceptRefusals("app_unknown")}},
	{check: "signature.wrong-key", onDemo: assess.Pass, name: "signatures not verified",
		mutation: weak.Mutation{Response: weak.AcceptRefusals("signature_invalid")}},
	{check: "signature.tampered-body", onDemo: assess.Pass, name: "Content-Digest not checked",
		mutation: weak.Mutation{Response: weak.AcceptRefusals("digest_mismatch")}},
	{check: "signature.tampered-query", onDemo: assess.Pass, name: "query not covered",
		mutation: weak.Mutation{Response: weak.AcceptRefusals("signature_invalid")}},
	{check: "signature.tampered-header", onDemo: assess.Pass, name: "content-digest not covered",
		mutation: weak.Mutation{Response: weak.AcceptRefusals("signature_invalid")}},
	{check: "signature.missing-digest", onDemo: assess.Pass, name: "bodies without digest accepted",
		mutation: weak.Mutation{Response: weak.AcceptRefusals("signature_invalid")}},
	{check: "signature.stale", onDemo: assess.Pass, name: "created not checked",
		mutation: weak.Mutation{Response: weak.AcceptRefusals("timestamp_out_of_window")}},
	{check: "signature.replay", onDemo: assess.Pass, name: "nonces not remembered",
		mutation: weak.Mutation{Response: weak.AcceptRefusals("replay_detected")}},
	{check: "level.a2-secret-only", onDemo: assess.Pass, name: "HMAC accepted on A2",
		mutation: weak.Mutation{Response: weak.AcceptRefusals("level_insufficient")}},
	{check: "level.a2-client-certificate", onDemo: assess.Pass, name: "certificate lent to callers without one",
		mutation: weak.Mutation{Request: lendCertificate}},
	{check: "response.signature", onDemo: assess.Pass, name: "bank signature stripped",
		mutation: weak.Mutation{Response: stripBankSignature}},
	{check: "response.signature", onDemo: assess.Pass, name: "answer changed after signing",
		mutation: weak.Mutation{Response: changeSignedBody}},
	{check: "response.signature", onDemo: assess.Pass, name: "signed for another request",
		mutation: weak.Mutation{Response: resignBank(bankComponents, "/v1/another-request")}},
	{check: "response.signature", onDemo: assess.Pass, name: "signature not bound to the request",
		mutation: weak.Mutation{Response: resignBank(bankComponents[:2], "")}},
	{check: "response.signature", onDemo: assess.Pass, name: "bank signs with ECDSA",
		mutation: weak.Mutation{Response: signWithECDSA}},
}

// bankComponents are what CONTRACT.md §3 asks a bank signature to cover;
// the first two do not bind the answer to the request.
var bankComponents = []httpsig.Component{
	{Name: "@status"}, {Name: "content-digest"},
	{Name: "@method", Req: true}, {Name: "@path", Req: true}, {Name: "@query", Req: true},
}

// lendCertificate forwards a request that came without a client certificate
// as if it had presented the demo A2 app's: a gateway that takes any
// certificate from its front for the caller's.
func lendCertificate(r *http.Request) {
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		return
	}
	cert, err := demoKeys().clientCert()
	if err != nil {
		return // the check then passes, and the mutant's test says so
	}
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}}
}

func bankSigned(resp *http.Response) bool {
	return strings.Contains(resp.Header.Get("Signature-Input"), sdk.BankLabel+"=")
}

func stripBankSignature(resp *http.Response) error {
	resp.Header.Del("Signature")
	resp.Header.Del("Signature-Input")
	return nil
}

// changeSignedBody adds a space to a signed answer's body: its
// Content-Digest no longer matches.
func changeSignedBody(resp *http.Response) error {
	if !bankSigned(resp) {
		return nil
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	setResponseBody(resp, append(b, ' '))
	return nil
}

// resignBank replaces the bank signature by one of the bank's key over
// comps, for the answer to a request to path (the real one if "").
func resignBank(comps []httpsig.Component, path string) func(*http.Response) error {
	return func(resp *http.Response) error {
		if !bankSigned(resp) {
			return nil
		}
		k := demoKeys()
		if k.bankErr != nil {
			return k.bankErr
		}
		return resign(resp, k.bankID, k.bank, comps, path)
	}
}

// ecdsaKeyID names the key signWithECDSA publishes in place of the bank's.
const ecdsaKeyID = "bank-ecdsa-probe"

// signWithECDSA publishes an ECDSA P-256 key as the bank's only response
// key and signs A2 answers with it: sound signatures, but not SM2.
func signWithECDSA(resp *http.Response) error {
	k := demoKeys()
	if resp.Request != nil && resp.Request.URL.Path == sdk.KeysPath && resp.StatusCode == http.StatusOK {
		pub, err := httpsig.MarshalPublicKeyPEM(k.ecdsa.Public())
		if err != nil {
			return err
		}
		doc, err := json.Marshal(map[string]any{"keys": []map[string]string{{
			"keyid": ecdsaKeyID, "alg": httpsig.AlgECDSAP256SHA256, "public_key_pem": string(pub),
		}}})
		if err != nil {
			return err
		}
		resp.Body.Close()
		setResponseBody(resp, doc)
		return nil
	}
	if !bankSigned(resp) {
		return nil
	}
	signer, err := httpsig.NewSigner(httpsig.AlgECDSAP256SHA256, k.ecdsa)
	if err != nil {
		return err
	}
	return resign(resp, ecdsaKeyID, signer, bankComponents, "")
}

// resign signs resp anew as label "bank" with s over comps, as the answer to
// a request to path (the real request's if "").
func resign(resp *http.Response, keyID string, s httpsig.Signer, comps []httpsig.Component, path string) error {
	if resp.Request == nil {
		return errors.New("resign: the answer has no request")
	}
	req := resp.Request.Clone(resp.Request.Context())
	if path != "" {
		// The proxy's outgoing request keeps the incoming RequestURI, which
		// NewRequestMessage prefers to the URL.
		req.URL.Path, req.URL.RawPath, req.RequestURI = path, "", ""
	}
	resp.Header.Del("Signature")
	resp.Header.Del("Signature-Input")
	in := httpsig.Input{Label: sdk.BankLabel, Components: comps,
		Params: httpsig.Params{Created: time.Now(), KeyID: keyID, Alg: s.Alg()}}
	msg := httpsig.NewResponseMessage(resp.StatusCode, resp.Header, httpsig.NewRequestMessage(req))
	return httpsig.SignHeader(resp.Header, msg, in, s)
}

func setResponseBody(resp *http.Response, b []byte) {
	resp.Body = io.NopCloser(strings.NewReader(string(b)))
	resp.ContentLength = int64(len(b))
	resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
}

// mutantKeys are the keys the mutations sign and lend with, read from the
// running demo once.
type mutantKeys struct {
	bankID  string
	bank    httpsig.Signer
	bankErr error
	ecdsa   *ecdsa.PrivateKey

	certOnce sync.Once
	cert     *x509.Certificate
	certErr  error
}

var (
	keysOnce sync.Once
	theKeys  *mutantKeys
)

func demoKeys() *mutantKeys {
	keysOnce.Do(func() {
		theKeys = &mutantKeys{}
		var err error
		if theKeys.ecdsa, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err) // crypto/rand does not fail
		}
		theKeys.bankID, theKeys.bank, theKeys.bankErr = bankSigner()
	})
	return theKeys
}

// bankSigner loads the demo bank's response-signing key.
func bankSigner() (string, httpsig.Signer, error) {
	if theDemo == nil {
		return "", nil, errors.New("the demo is not running")
	}
	cfg, err := config.Load(filepath.Join(theDemo.Dir, demo.ConfigFile))
	if err != nil {
		return "", nil, err
	}
	if len(cfg.ResponseSigning) == 0 {
		return "", nil, errors.New("the demo has no response-signing key")
	}
	k := cfg.ResponseSigning[0]
	s, err := sdk.LoadSigner(k.Alg, "", cfg.Path(k.PrivateKeyFile))
	return k.KeyID, s, err
}

// clientCert is the certificate of the demo's first A2 app that has one.
func (k *mutantKeys) clientCert() (*x509.Certificate, error) {
	k.certOnce.Do(func() {
		if theDemo == nil {
			k.certErr = errors.New("the demo is not running")
			return
		}
		for _, a := range theDemo.Profile.Apps {
			if a.Level == "A2" && a.ClientCert != "" {
				pair, err := tls.LoadX509KeyPair(theDemo.Profile.Path(a.ClientCert), theDemo.Profile.Path(a.ClientKey))
				if err != nil {
					k.certErr = err
					return
				}
				k.cert, k.certErr = x509.ParseCertificate(pair.Certificate[0])
				return
			}
		}
		k.certErr = fmt.Errorf("no A2 app of the demo has a client certificate")
	})
	return k.cert, k.certErr
}

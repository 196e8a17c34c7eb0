// Package signature authenticates the calling application by its RFC 9421
// request signature (CONTRACT.md §2).
//
// App identity: T/PCAC 0008-2020 3.2.1, 5.2.1. Integrity by MAC (A1) and
// digital signature (A2): 3.2.4, 5.2.2. Replay protection: 3.3.2.
package signature

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/httpsig"
	"github.com/bankguard/bankguard/problem"
	"github.com/bankguard/bankguard/registry"
)

// Key is a registered credential ready for verification.
type Key struct {
	Credential *registry.Credential
	App        *registry.App
	Verifier   httpsig.Verifier
	// ClientCert is the SHA-256 of the app's registered client certificate
	// (DER), or nil if it has none.
	ClientCert []byte
}

// Keys finds credentials by keyid.
type Keys interface {
	Key(keyID string) (*Key, bool)
}

// Nonces remembers used nonces. Use must be atomic: of concurrent calls with
// the same key, exactly one reports true.
type Nonces interface {
	Use(ctx context.Context, key string, until time.Time) (fresh bool, err error)
}

// ClientCertPolicy says when an A2 call needs a TLS client certificate.
type ClientCertPolicy string

// The client certificate policies for A2 APIs.
const (
	// CertIfRegistered: an app with a registered certificate must present it.
	CertIfRegistered ClientCertPolicy = "if_registered"
	// CertRequired: every A2 call must present the app's registered certificate.
	CertRequired ClientCertPolicy = "required"
)

// Config holds the verification policy.
type Config struct {
	// MaxAge is how old created may be (default 300 s).
	MaxAge time.Duration `yaml:"max_age"`
	// MaxFuture is how far created may be ahead of the gateway's clock (default 60 s).
	MaxFuture time.Duration `yaml:"max_future"`
	// A2ClientCert is the client certificate policy of A2 APIs (default if_registered).
	A2ClientCert ClientCertPolicy `yaml:"a2_client_certificate"`
}

// Validate checks the configuration and fills in defaults.
func (c *Config) Validate() error {
	if c.MaxAge == 0 {
		c.MaxAge = 300 * time.Second
	}
	if c.MaxFuture == 0 {
		c.MaxFuture = 60 * time.Second
	}
	if c.A2ClientCert == "" {
		c.A2ClientCert = CertIfRegistered
	}
	if c.MaxAge < 0 || c.MaxAge > time.Hour || c.MaxFuture < 0 || c.MaxFuture > 10*time.Minute {
		return fmt.Errorf("signature: max_age must be within 1h and max_future within 10m")
	}
	if c.A2ClientCert != CertIfRegistered && c.A2ClientCert != CertRequired {
		return fmt.Errorf("signature: a2_client_certificate must be %q or %q", CertIfRegistered, CertRequired)
	}
	return nil
}

// Handler is the signature stage.
type Handler struct {
	Config Config
	Keys   Keys
	Nonces Nonces
	// Now is the clock (nil means time.Now).
	Now func() time.Time
}

// Nonce length bounds (CONTRACT.md §2).
const (
	minNonce = 16
	maxNonce = 128
)

// The components every request signature must cover.
var required = []httpsig.Component{{Name: "@method"}, {Name: "@authority"}, {Name: "@path"}, {Name: "@query"}}

var (
	coverDigest        = httpsig.Component{Name: "content-digest"}
	coverAuthorization = httpsig.Component{Name: "authorization"}
)

// ServeHTTP verifies the request signature, or refuses with 401/403.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next stage.Handler) error {
	ex := stage.FromContext(r.Context())
	now := time.Now()
	if h.Now != nil {
		now = h.Now()
	}
	sig, err := pick(r.Header)
	if err != nil {
		return err
	}
	p := sig.Input.Params
	ex.KeyID = p.KeyID
	if err := checkParams(p); err != nil {
		return err
	}
	key, ok := h.Keys.Key(p.KeyID)
	if !ok || key.Credential.Status != registry.CredentialActive {
		return problem.New(problem.AppUnknown, "the keyid is not registered to any application")
	}
	cred := key.Credential
	if !cred.ValidAt(now) {
		return problem.New(problem.SignatureInvalid, "the credential named by keyid is not valid at this time")
	}
	if p.Alg != "" && p.Alg != cred.Alg {
		return problem.New(problem.SignatureInvalid, "the alg parameter does not match the credential's algorithm")
	}
	if err := h.checkFreshness(p, now); err != nil {
		return err
	}
	if err := checkCoverage(sig.Input, r, len(ex.Body) > 0); err != nil {
		return err
	}
	if len(ex.Body) > 0 || r.Header.Get("Content-Digest") != "" {
		if err := httpsig.VerifyContentDigest(r.Header.Values("Content-Digest"), ex.Body); err != nil {
			return digestError(err)
		}
	}
	if err := sig.Verify(httpsig.NewRequestMessage(r), key.Verifier); err != nil {
		if errors.Is(err, httpsig.ErrComponent) {
			return problem.Wrap(err, problem.SignatureInvalid, "a covered component is absent from the request")
		}
		return problem.Wrap(err, problem.SignatureInvalid, "the signature does not verify")
	}
	// The caller is who it says it is; what follows decides whether it may
	// call this API now. Refusals from here on are attributed to the app.
	ex.App, ex.Credential, ex.SignatureLabel = key.App, cred, sig.Input.Label
	if key.App.Status != registry.AppActive {
		return problem.Newf(problem.AppSuspended, "the application is %s and may not call APIs", key.App.Status)
	}
	if ex.API != nil && ex.API.Level == registry.A2 {
		if err := h.checkA2(r, key, now); err != nil {
			return err
		}
	}
	fresh, err := h.Nonces.Use(r.Context(), p.KeyID+"\x00"+p.Nonce, p.Created.Add(h.Config.MaxAge))
	if err != nil {
		return problem.Wrap(err, problem.Internal, "requests cannot be verified at the moment; retry later").
			WithStatus(http.StatusServiceUnavailable)
	}
	if !fresh {
		return problem.New(problem.ReplayDetected, "this keyid and nonce were already used")
	}
	return next.ServeHTTP(w, r)
}

// pick returns the signature to verify: the only one, or the one labelled "sig".
func pick(h http.Header) (httpsig.Signature, error) {
	sigs, err := httpsig.ParseSignatures(h)
	switch {
	case errors.Is(err, httpsig.ErrMissing):
		return httpsig.Signature{}, problem.New(problem.SignatureMissing,
			"this API needs an RFC 9421 request signature (Signature-Input and Signature header fields)")
	case err != nil:
		return httpsig.Signature{}, problem.Wrap(err, problem.SignatureInvalid, "Signature-Input or Signature is malformed")
	case len(sigs) == 1:
		return sigs[0], nil
	}
	for _, s := range sigs {
		if s.Input.Label == "sig" {
			return s, nil
		}
	}
	return httpsig.Signature{}, problem.New(problem.SignatureInvalid,
		`the request carries several signatures and none is labelled "sig"`)
}

func checkParams(p httpsig.Params) error {
	switch {
	case p.KeyID == "":
		return problem.New(problem.SignatureInvalid, "the keyid signature parameter is required")
	case p.Created.IsZero():
		return problem.New(problem.SignatureInvalid, "the created signature parameter is required")
	case len(p.Nonce) < minNonce || len(p.Nonce) > maxNonce:
		return problem.Newf(problem.SignatureInvalid, "the nonce signature parameter is required, %d to %d characters", minNonce, maxNonce)
	}
	return nil
}

func (h *Handler) checkFreshness(p httpsig.Params, now time.Time) error {
	if age := now.Sub(p.Created); age > h.Config.MaxAge {
		return problem.Newf(problem.TimestampOutOfWindow, "created is %s old; at most %s is accepted", age.Truncate(time.Second), h.Config.MaxAge)
	}
	if ahead := p.Created.Sub(now); ahead > h.Config.MaxFuture {
		return problem.Newf(problem.TimestampOutOfWindow, "created is %s ahead of the bank's clock; at most %s is accepted", ahead.Truncate(time.Second), h.Config.MaxFuture)
	}
	if !p.Expires.IsZero() && !now.Before(p.Expires) {
		return problem.New(problem.TimestampOutOfWindow, "the signature has expired")
	}
	return nil
}

func checkCoverage(in httpsig.Input, r *http.Request, hasBody bool) error {
	for _, c := range required {
		if !in.Covers(c) {
			return problem.Newf(problem.SignatureInvalid, "the signature must cover %s", c)
		}
	}
	if hasBody && !in.Covers(coverDigest) {
		return problem.New(problem.SignatureInvalid, `a request with a body must carry Content-Digest and the signature must cover "content-digest"`)
	}
	if r.Header.Get("Authorization") != "" && !in.Covers(coverAuthorization) {
		return problem.New(problem.SignatureInvalid, `the signature must cover "authorization" when the request carries one`)
	}
	return nil
}

func digestError(err error) error {
	switch {
	case errors.Is(err, httpsig.ErrDigestMissing):
		return problem.Wrap(err, problem.DigestMismatch, "Content-Digest must use sha-256, sha-512 or sm3")
	case errors.Is(err, httpsig.ErrDigestMismatch):
		return problem.Wrap(err, problem.DigestMismatch, "Content-Digest does not match the request body")
	}
	return problem.Wrap(err, problem.DigestMismatch, "Content-Digest is malformed")
}

// checkA2 applies the A2 policy: an asymmetric signature, and the registered
// client certificate on the TLS connection.
func (h *Handler) checkA2(r *http.Request, key *Key, now time.Time) error {
	if httpsig.Symmetric(key.Credential.Alg) {
		return problem.New(problem.LevelInsufficient,
			"A2 APIs need an asymmetric request signature (sm2-sm3, ecdsa-p256-sha256, ed25519 or rsa-pss-sha512); HMAC keys are for A1 APIs only")
	}
	if key.ClientCert == nil {
		if h.Config.A2ClientCert == CertRequired {
			return problem.New(problem.LevelInsufficient, "A2 APIs need a registered TLS client certificate; this application has none")
		}
		return nil
	}
	leaf := peerCertificate(r)
	if leaf == nil {
		return problem.New(problem.LevelInsufficient, "this application must present its registered TLS client certificate for A2 APIs")
	}
	sum := sha256.Sum256(leaf.Raw)
	if subtle.ConstantTimeCompare(sum[:], key.ClientCert) != 1 {
		return problem.New(problem.LevelInsufficient, "the TLS client certificate is not the one registered for this application")
	}
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return problem.New(problem.LevelInsufficient, "the TLS client certificate is outside its validity period")
	}
	return nil
}

func peerCertificate(r *http.Request) *x509.Certificate {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil
	}
	return r.TLS.PeerCertificates[0]
}

var _ stage.Middleware = (*Handler)(nil)

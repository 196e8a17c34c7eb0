// Package gateway assembles bankguard's API service layer (接口服务层): the TLS
// listeners, the pipeline of stages each request passes through, and the
// proxy to the bank's backends. pipeline.go is the one place the stages are
// ordered.
package gateway

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bankguard/bankguard/alert"
	"github.com/bankguard/bankguard/audit"
	"github.com/bankguard/bankguard/metrics"
	"github.com/emmansun/gmsm/sm2"

	"github.com/bankguard/bankguard/gateway/bankkeys"
	"github.com/bankguard/bankguard/gateway/blacklist"
	"github.com/bankguard/bankguard/gateway/fieldenc"
	"github.com/bankguard/bankguard/gateway/proxy"
	"github.com/bankguard/bankguard/gateway/ratelimit"
	"github.com/bankguard/bankguard/gateway/risk"
	"github.com/bankguard/bankguard/gateway/signature"
	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/gateway/waf"
	"github.com/bankguard/bankguard/httpsig"
	"github.com/bankguard/bankguard/oauth"
	"github.com/bankguard/bankguard/pii"
	"github.com/bankguard/bankguard/registry"
)

// Options configure a Gateway.
type Options struct {
	// Store is where apps, credentials and APIs are read from on (re)load.
	Store registry.Reader
	// Nonces is the replay store shared by every gateway node.
	Nonces signature.Nonces
	// BankKeys sign A2 responses.
	BankKeys *bankkeys.Set
	// Audit stores one record per request before its response leaves; nil
	// turns the audit log off (benchmarks only).
	Audit Auditor
	// AuditKeys are the audit public keys, published at AuditKeysPath.
	AuditKeys http.Handler
	// EncryptionKeys are the bank's encryption public keys, to which
	// applications seal sensitive inputs; published at EncryptionKeysPath.
	EncryptionKeys bankkeys.Document
	// PII masks personal data in responses and audit bodies; nil turns
	// masking off (benchmarks only).
	PII *pii.Engine
	// Upstreams are the backends by name.
	Upstreams map[string]proxy.Upstream
	// Signature is the request-signature policy.
	Signature signature.Config
	// MaxBodyBytes bounds request bodies.
	MaxBodyBytes int64
	// InterfaceVersion is reported by the connectivity check.
	InterfaceVersion string
	// Builtin APIs served by the gateway itself (the connectivity check, the
	// authorization server's endpoints).
	Builtin []registry.API
	// OAuth serves the builtin:oauth APIs; nil answers them 404.
	OAuth OAuthEndpoints
	// Introspector checks the access tokens of user-bound APIs; nil refuses
	// every token, so such APIs fail closed.
	Introspector oauth.Introspector
	// Pages are the bank's sign-in, consent and self-service pages, served
	// at PageRoutes; nil answers those paths as unknown APIs.
	Pages http.Handler
	// PageRoutes are the paths Pages serves.
	PageRoutes []string
	// Blacklist refuses blocked addresses and apps and blocks sources that
	// keep failing signatures or replaying; nil turns it off.
	Blacklist *blacklist.Blacklist
	// RateLimit enforces rate and concurrency limits, pauses and operator
	// throttles; nil turns it off.
	RateLimit *ratelimit.Handler
	// Risk applies the transaction risk rules to fund APIs; nil turns them off.
	Risk *risk.Handler
	// Metrics counts every outcome for Prometheus; nil counts nothing.
	Metrics *metrics.Metrics
	// WAF filters injections (Coraza with the OWASP CRS); nil turns it off.
	WAF *waf.Handler
	// Alerts receives the gateway's own alerts (backends failing); nil
	// drops them.
	Alerts alert.Raiser
	// UserEvents receives the entries of users' histories the gateway sees
	// (fund transactions made for them); nil keeps none.
	UserEvents UserEvents
	Logger     *slog.Logger
	// Now is the clock (nil means time.Now).
	Now func() time.Time
}

// UserEvents records an entry of a user's history, shown to them on the
// bank's self-service page.
type UserEvents interface {
	AddEvent(ctx context.Context, userID, kind, detail string)
}

// Auditor stores audit records durably: Append returns once the record is
// committed (audit.Writer).
type Auditor interface {
	Append(ctx context.Context, r audit.Record) error
}

// Gateway is the request pipeline over a snapshot of the registry.
type Gateway struct {
	opts    Options
	log     *slog.Logger
	proxy   *proxy.Proxy
	current atomic.Pointer[snapshot]
	reload  sync.Mutex
}

// New returns a Gateway and loads the registry once.
func New(ctx context.Context, opts Options) (*Gateway, error) {
	if opts.Store == nil || opts.Nonces == nil || opts.BankKeys == nil {
		return nil, errors.New("gateway: store, nonces and bank keys are required")
	}
	if opts.AuditKeys == nil {
		opts.AuditKeys = http.NotFoundHandler()
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := opts.Signature.Validate(); err != nil {
		return nil, err
	}
	px, err := proxy.NewWithOptions(opts.Upstreams, proxy.Options{Logger: opts.Logger, Alerts: opts.Alerts, Now: opts.Now})
	if err != nil {
		return nil, err
	}
	g := &Gateway{opts: opts, log: opts.Logger, proxy: px}
	if err := g.Reload(ctx); err != nil {
		return nil, err
	}
	return g, nil
}

// Reload reads the registry and swaps in a new pipeline. Requests in flight
// finish on the old one.
func (g *Gateway) Reload(ctx context.Context) error {
	g.reload.Lock()
	defer g.reload.Unlock()
	s, err := g.load(ctx)
	if err != nil {
		return fmt.Errorf("gateway: reload: %w", err)
	}
	g.current.Store(s)
	g.log.Info("registry loaded", "apps", s.apps, "credentials", len(s.keys), "apis", len(s.apis))
	return nil
}

// snapshot is an immutable view of the registry with the pipeline built on it.
type snapshot struct {
	keys       keyring
	recipients map[string]fieldenc.RecipientKey // apps' encryption keys by App_ID
	apis       []*registry.API
	apps       int
	pipeline   stage.Handler
	// auditBodies select what the audit record keeps of a request body, by U_API_ID.
	auditBodies map[string]*pii.Compiled
}

// keyring implements signature.Keys.
type keyring map[string]*signature.Key

func (k keyring) Key(id string) (*signature.Key, bool) {
	key, ok := k[id]
	return key, ok
}

func (g *Gateway) load(ctx context.Context) (*snapshot, error) {
	apps, err := g.opts.Store.Apps(ctx)
	if err != nil {
		return nil, err
	}
	creds, err := g.opts.Store.Credentials(ctx)
	if err != nil {
		return nil, err
	}
	stored, err := g.opts.Store.APIs(ctx)
	if err != nil {
		return nil, err
	}
	s := &snapshot{keys: keyring{}, recipients: map[string]fieldenc.RecipientKey{}, apps: len(apps)}
	byID := map[string]*registry.App{}
	thumbs := map[string][]byte{}
	for i := range apps {
		a := &apps[i]
		byID[a.ID] = a
		if len(a.EncryptionKeyPEM) > 0 {
			if k, err := encryptionKey(a.EncryptionKeyPEM); err != nil {
				g.log.Error("app encryption key unreadable; its encrypted APIs will be refused", "app_id", a.ID, "err", err)
			} else {
				s.recipients[a.ID] = fieldenc.RecipientKey{ID: a.EncryptionKeyID, Key: k}
			}
		}
		if len(a.ClientCertPEM) > 0 {
			sum, err := certThumbprint(a.ClientCertPEM)
			if err != nil {
				// Fail closed: without its certificate the app cannot pass A2 checks.
				g.log.Error("app client certificate unreadable; A2 calls will be refused", "app_id", a.ID, "err", err)
				sum = []byte("unreadable")
			}
			thumbs[a.ID] = sum
		}
	}
	for i := range creds {
		c := &creds[i]
		app := byID[c.AppID]
		if app == nil {
			continue
		}
		v, err := verifier(c)
		if err != nil {
			g.log.Error("credential unusable; skipped", "keyid", c.KeyID, "app_id", c.AppID, "err", err)
			continue
		}
		s.keys[c.KeyID] = &signature.Key{Credential: c, App: app, Verifier: v, ClientCert: thumbs[app.ID]}
	}
	for i := range g.opts.Builtin {
		s.apis = append(s.apis, &g.opts.Builtin[i])
	}
	for i := range stored {
		s.apis = append(s.apis, &stored[i])
	}
	if s.pipeline, err = g.pipeline(ctx, s); err != nil {
		return nil, err
	}
	return s, nil
}

func verifier(c *registry.Credential) (httpsig.Verifier, error) {
	if httpsig.Symmetric(c.Alg) {
		return httpsig.NewVerifier(c.Alg, c.Secret)
	}
	pub, err := httpsig.ParsePublicKeyPEM(c.PublicKeyPEM)
	if err != nil {
		return nil, err
	}
	return httpsig.NewVerifier(c.Alg, pub)
}

// encryptionKey parses an SM2 encryption public key.
func encryptionKey(pemBytes []byte) (*ecdsa.PublicKey, error) {
	pub, err := httpsig.ParsePublicKeyPEM(pemBytes)
	if err != nil {
		return nil, err
	}
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok || k.Curve != sm2.P256() {
		return nil, errors.New("not an SM2 public key")
	}
	return k, nil
}

// knownEncryptionKey reports whether keyID is one of the bank's encryption
// keys valid now.
func (g *Gateway) knownEncryptionKey(keyID string) bool {
	now := g.opts.Now()
	for _, k := range g.opts.EncryptionKeys.Keys {
		if k.KeyID == keyID && !now.Before(k.NotBefore) && now.Before(k.NotAfter) {
			return true
		}
	}
	return false
}

func certThumbprint(pemBytes []byte) ([]byte, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM certificate")
	}
	if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(block.Bytes)
	return sum[:], nil
}

// RunHealthChecks probes the backends that have health checks configured
// until ctx ends.
func (g *Gateway) RunHealthChecks(ctx context.Context) { g.proxy.RunHealthChecks(ctx) }

// BreakerStates is each backend's circuit breaker state, for metrics.
func (g *Gateway) BreakerStates() map[string]string { return g.proxy.BreakerStates() }

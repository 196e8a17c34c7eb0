// Package node runs one bankguard node from a configuration file: the store,
// the gateway with its admin API, and (for the sandbox) the demo bank. Both
// `bankguard serve` and `bankguard demo` start a node; so do the end-to-end
// tests and the benchmarks.
package node

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"github.com/bankguard/bankguard/alert"
	"github.com/bankguard/bankguard/audit"
	"github.com/bankguard/bankguard/config"
	"github.com/bankguard/bankguard/fieldcrypt"
	"github.com/bankguard/bankguard/gateway"
	"github.com/bankguard/bankguard/gateway/bankkeys"
	"github.com/bankguard/bankguard/gateway/blacklist"
	"github.com/bankguard/bankguard/gateway/proxy"
	"github.com/bankguard/bankguard/gateway/ratelimit"
	"github.com/bankguard/bankguard/gateway/risk"
	"github.com/bankguard/bankguard/gateway/waf"
	"github.com/bankguard/bankguard/httpsig"
	"github.com/bankguard/bankguard/metrics"
	"github.com/bankguard/bankguard/oauth"
	"github.com/bankguard/bankguard/oauth/pages"
	"github.com/bankguard/bankguard/pii"
	"github.com/bankguard/bankguard/registry"
	"github.com/bankguard/bankguard/sandbox"
	"github.com/bankguard/bankguard/secret"
	"github.com/bankguard/bankguard/store/memory"
	"github.com/bankguard/bankguard/store/sqlite"
)

// DatabaseFile is the embedded store's file name in the data directory.
const DatabaseFile = "bankguard.db"

// SandboxSeed seeds the built-in sandbox bank's data.
const SandboxSeed = 20200904

// Options tune how a node runs.
type Options struct {
	// Plaintext serves the gateway over plain HTTP (development only).
	Plaintext bool
	Logger    *slog.Logger
	// WithoutAuditAndMasking runs the gateway with no audit log and no
	// response masking. It exists only for the benchmark that measures what
	// those two cost; neither the command line nor the configuration can
	// set it.
	WithoutAuditAndMasking bool
}

// Node is a running bankguard node.
type Node struct {
	Gateway *gateway.Gateway
	// Sandbox is the built-in demo bank, if the configuration uses it.
	Sandbox *sandbox.Bank
	// Authorization is the bank's authorization server; nil without the
	// sandbox (see authorization).
	Authorization *oauth.Server
	// GatewayAddr and AdminAddr are where the node listens.
	GatewayAddr, AdminAddr net.Addr

	done    chan error
	cleanup []func()
}

// Start builds and starts a node; it returns once the listeners accept
// connections. The node stops when ctx is cancelled; Wait reports how.
func Start(ctx context.Context, cfg *config.File, o Options) (n *Node, err error) {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	// Whatever the node logs, cards, ID and phone numbers are masked first
	// (T/PCAC 0008-2020 9.2.1).
	log = slog.New(pii.NewSlogHandler(log.Handler()))
	n = &Node{done: make(chan error, 1)}
	defer func() {
		if err != nil {
			n.close()
		}
	}()
	key, err := secret.Load(cfg.Path(cfg.MasterKeyFile))
	if err != nil {
		return nil, err
	}
	dataDir := cfg.Path(cfg.DataDir)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	st, err := sqlite.Open(ctx, filepath.Join(dataDir, DatabaseFile), key)
	if err != nil {
		return nil, err
	}
	n.cleanup = append(n.cleanup, func() { st.Close() })
	upstreams, err := n.upstreams(cfg, log)
	if err != nil {
		return nil, err
	}
	if err := syncAPIs(ctx, st, cfg); err != nil {
		return nil, err
	}
	keys, err := LoadBankKeys(cfg)
	if err != nil {
		return nil, err
	}
	m, err := metrics.NewFromConfig(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	mgr, err := alert.New(cfg.Alerts, alert.Env{Logger: log, Path: cfg.Path})
	if err != nil {
		return nil, err
	}
	n.cleanup = append(n.cleanup, func() {
		c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = mgr.Close(c)
	})
	if cfg.Alerts.DailyReportAt != "" {
		go mgr.RunDailyReport(ctx, cfg.Alerts.DailyReportAt)
	}
	alerts := countingRaiser{m: m, next: mgr}
	al, err := n.startAudit(ctx, cfg, keys, m, log)
	if err != nil {
		return nil, err
	}
	auditKeys, err := bankkeys.NewSet([]bankkeys.Key{al.key})
	if err != nil {
		return nil, err
	}
	encKeys, err := encryptionKeys(cfg)
	if err != nil {
		return nil, err
	}
	pseudonymKey, err := key.Derive("bankguard pii pseudonym v1", 32)
	if err != nil {
		return nil, err
	}
	masker, err := pii.NewEngine(pseudonymKey)
	if err != nil {
		return nil, err
	}
	bl, err := blacklist.New(ctx, cfg.Blacklist, blacklist.Options{Alerts: alerts})
	if err != nil {
		return nil, err
	}
	notices := appNotices{apps: st, keys: keys, alerts: alerts, log: log}
	rl, err := ratelimit.New(cfg.RateLimit, alerts, notices)
	if err != nil {
		return nil, err
	}
	authServer, authPages, err := n.authorization(cfg.Authorization, st, key, log)
	if err != nil {
		return nil, err
	}
	n.Authorization = authServer
	var wf *waf.Handler
	if cfg.WAF.Enabled {
		if wf, err = waf.New(cfg.WAF); err != nil {
			return nil, fmt.Errorf("waf: %w", err)
		}
		wf.Alerts, wf.Log = alerts, log.With("stage", "waf")
	}
	var rs *risk.Handler
	if cfg.Risk.Enabled {
		// The same pseudonym key as the audit log: alert subjects match the
		// audit record's user.
		if rs, err = risk.New(cfg.Risk, risk.Options{Pseudonyms: masker, Alerts: alerts, RiskFlag: m.RiskFlag}); err != nil {
			return nil, err
		}
	}
	opts := gateway.Options{
		EncryptionKeys:   encKeys,
		PII:              masker,
		Store:            st,
		Nonces:           memory.NewNonces(0, nil),
		BankKeys:         keys,
		Audit:            al.writer,
		AuditKeys:        auditKeys,
		Upstreams:        upstreams,
		Signature:        cfg.Signature,
		MaxBodyBytes:     cfg.Limits.MaxBodyBytes,
		InterfaceVersion: cfg.InterfaceVersion,
		Builtin:          []registry.API{gateway.PingAPI(cfg.BankCode)},
		Blacklist:        bl,
		RateLimit:        rl,
		Risk:             rs,
		WAF:              wf,
		Alerts:           alerts,
		Metrics:          m,
		Logger:           log,
	}
	if authServer != nil {
		opts.Builtin = append(opts.Builtin, gateway.OAuthAPIs(cfg.BankCode)...)
		opts.OAuth, opts.Introspector, opts.UserEvents = authServer, authServer, authServer
		opts.Pages, opts.PageRoutes = authPages, pages.Routes()
	}
	if o.WithoutAuditAndMasking {
		opts.Audit, opts.PII = nil, nil
		log.Warn("audit log and masking are off (benchmark build)")
	}
	gw, err := gateway.New(ctx, opts)
	if err != nil {
		return nil, err
	}
	n.Gateway = gw
	m.SetBreakerStates(gw.BreakerStates)
	go gw.RunHealthChecks(ctx)
	var tokens gateway.TokenRevoker
	if authServer != nil {
		tokens = authServer
	}
	parts := adminParts{tokens: tokens, blacklist: bl.Admin, alerts: mgr, metrics: m.Handler(),
		throttles: &ratelimit.Admin{Throttles: rl.Throttles, Notifier: notices, Logger: log, AppsForAPI: activeApps(st)}}
	if rs != nil {
		parts.risk = rs.Admin()
	}
	srv, err := server(cfg, o, gw, st, al, parts, log)
	if err != nil {
		return nil, err
	}
	ready := make(chan struct{})
	srv.Ready = func(g, a net.Addr) {
		n.GatewayAddr, n.AdminAddr = g, a
		close(ready)
	}
	go func() {
		err := srv.Run(ctx)
		n.close()
		if err != nil {
			log.Error("bankguard stopped", "err", err)
		} else {
			log.Info("bankguard stopped: requests drained, store closed")
		}
		n.done <- err
	}()
	select {
	case <-ready:
		return n, nil
	case err := <-n.done:
		n.done <- err
		if err == nil {
			err = errors.New("node: stopped before it was ready")
		}
		return nil, err
	}
}

// Wait blocks until the node has stopped and returns why.
func (n *Node) Wait() error {
	err := <-n.done
	n.done <- err
	return err
}

func (n *Node) close() {
	for i := len(n.cleanup) - 1; i >= 0; i-- {
		n.cleanup[i]()
	}
	n.cleanup = nil
}

// upstreams resolves the configured backends, starting the built-in sandbox
// on a loopback port if it is used.
func (n *Node) upstreams(cfg *config.File, log *slog.Logger) (map[string]proxy.Upstream, error) {
	out := map[string]proxy.Upstream{}
	for name, u := range cfg.Upstreams {
		target := u.URL
		if u.URL == config.BuiltinSandbox {
			addr, err := n.startSandbox(cfg, log)
			if err != nil {
				return nil, err
			}
			target = "http://" + addr
		}
		pu, err := url.Parse(target)
		if err != nil {
			return nil, fmt.Errorf("node: upstream %s: %w", name, err)
		}
		out[name] = u.Proxy(pu)
	}
	return out, nil
}

func (n *Node) startSandbox(cfg *config.File, log *slog.Logger) (string, error) {
	if n.Sandbox != nil {
		return "", errors.New("node: the built-in sandbox may back one upstream only")
	}
	// The gateway names the user of every user-bound call; the sandbox
	// refuses such a call without one.
	opts := sandbox.Options{Seed: SandboxSeed, RequireUser: true}
	// The sandbox plays the bank's backend: it opens the payment passwords
	// sealed to the bank's encryption key, which the gateway never does.
	if len(cfg.EncryptionKeys) > 0 && cfg.EncryptionKeys[0].PrivateKeyFile != "" {
		k := cfg.EncryptionKeys[0]
		b, err := secret.ReadPrivateFile(cfg.Path(k.PrivateKeyFile))
		if err != nil {
			return "", fmt.Errorf("node: sandbox encryption key: %w", err)
		}
		priv, err := httpsig.ParsePrivateKeyPEM(b)
		if err != nil {
			return "", fmt.Errorf("node: sandbox encryption key: %w", err)
		}
		sk, ok := priv.(*sm2.PrivateKey)
		if !ok {
			return "", fmt.Errorf("node: sandbox encryption key %s is not an SM2 key", k.KeyID)
		}
		opts.PaymentKey, opts.PaymentKeyID = sk, k.KeyID
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("node: sandbox: %w", err)
	}
	n.Sandbox = sandbox.New(opts)
	srv := &http.Server{Handler: n.Sandbox, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l)
	n.cleanup = append(n.cleanup, func() { srv.Close() })
	log.Info("sandbox bank listening", "addr", l.Addr().String())
	return l.Addr().String(), nil
}

// syncAPIs imports the configured OpenAPI documents into the registry.
func syncAPIs(ctx context.Context, st registry.Writer, cfg *config.File) error {
	for i, src := range cfg.APIs {
		var doc []byte
		if src.OpenAPI == config.BuiltinSandbox {
			doc = sandbox.OpenAPI()
		} else {
			b, err := os.ReadFile(cfg.Path(src.OpenAPI))
			if err != nil {
				return fmt.Errorf("node: apis[%d]: %w", i, err)
			}
			doc = b
		}
		apis, err := registry.ImportOpenAPI(ctx, doc, src.Upstream)
		if err != nil {
			return fmt.Errorf("node: apis[%d] (%s): %w", i, src.OpenAPI, err)
		}
		for _, a := range apis {
			if err := st.PutAPI(ctx, a); err != nil {
				return err
			}
		}
	}
	return nil
}

// LoadBankKeys reads the bank's response-signing keys named by cfg.
func LoadBankKeys(cfg *config.File) (*bankkeys.Set, error) {
	var keys []bankkeys.Key
	for _, k := range cfg.ResponseSigning {
		key, err := LoadSigningKey(cfg, k)
		if err != nil {
			return nil, fmt.Errorf("node: response signing key %s: %w", k.KeyID, err)
		}
		keys = append(keys, key)
	}
	return bankkeys.NewSet(keys)
}

// LoadSigningKey reads a private key file (mode 0600) named by cfg.
func LoadSigningKey(cfg *config.File, k config.SigningKey) (bankkeys.Key, error) {
	b, err := secret.ReadPrivateFile(cfg.Path(k.PrivateKeyFile))
	if err != nil {
		return bankkeys.Key{}, err
	}
	priv, err := httpsig.ParsePrivateKeyPEM(b)
	if err != nil {
		return bankkeys.Key{}, err
	}
	signer, err := httpsig.NewSigner(k.Alg, priv)
	if err != nil {
		return bankkeys.Key{}, err
	}
	return bankkeys.Key{KeyID: k.KeyID, Signer: signer, Public: priv.Public(), NotBefore: k.NotBefore, NotAfter: k.NotAfter}, nil
}

// encryptionKeys reads the bank's encryption public keys for publication.
func encryptionKeys(cfg *config.File) (bankkeys.Document, error) {
	var doc bankkeys.Document
	for _, k := range cfg.EncryptionKeys {
		b, err := os.ReadFile(cfg.Path(k.PublicKeyFile))
		if err != nil {
			return doc, fmt.Errorf("node: encryption key %s: %w", k.KeyID, err)
		}
		pub, err := httpsig.ParsePublicKeyPEM(b)
		if err != nil {
			return doc, fmt.Errorf("node: encryption key %s: %w", k.KeyID, err)
		}
		if ek, ok := pub.(*ecdsa.PublicKey); !ok || ek.Curve != sm2.P256() {
			return doc, fmt.Errorf("node: encryption key %s is not an SM2 key", k.KeyID)
		}
		p, err := bankkeys.Publish(k.KeyID, fieldcrypt.KeyAlg, pub, k.NotBefore, k.NotAfter)
		if err != nil {
			return doc, err
		}
		doc.Keys = append(doc.Keys, p)
	}
	return doc, nil
}

// AuditDatabaseFile is the audit store's file name in the data directory.
const AuditDatabaseFile = "audit.db"

// auditLog is a node's audit log: its checkpoint key, store and writer.
type auditLog struct {
	key    bankkeys.Key
	store  audit.Store
	hasher *audit.Hasher
	writer *audit.Writer
}

// startAudit opens the audit store and starts its writer; both close with the node.
func (n *Node) startAudit(ctx context.Context, cfg *config.File, bank *bankkeys.Set, m *metrics.Metrics, log *slog.Logger) (*auditLog, error) {
	key, err := LoadSigningKey(cfg, cfg.Audit.SigningKey)
	if err != nil {
		return nil, fmt.Errorf("node: audit key: %w", err)
	}
	if bank.Has(key.Public) {
		return nil, errors.New("node: the audit key is also a response-signing key; it must be a key of its own")
	}
	h, err := audit.NewHasher(cfg.Audit.Hash)
	if err != nil {
		return nil, err
	}
	witness := cfg.Path(cfg.Audit.WitnessDir)
	if witness != "" {
		if err := os.MkdirAll(witness, 0o700); err != nil {
			return nil, fmt.Errorf("node: audit witness directory: %w", err)
		}
	}
	st, err := sqlite.OpenAudit(ctx, filepath.Join(cfg.Path(cfg.DataDir), AuditDatabaseFile))
	if err != nil {
		return nil, err
	}
	n.cleanup = append(n.cleanup, func() { st.Close() })
	w, err := audit.NewWriter(ctx, audit.WriterConfig{
		Store: st, Hasher: h, KeyID: key.KeyID, Signer: key.Signer, WitnessDir: witness,
		CheckpointEvery: cfg.Audit.CheckpointEvery, CheckpointInterval: cfg.Audit.CheckpointInterval, Logger: log,
		OnCommit: m.OnAuditCommit,
	})
	if err != nil {
		return nil, err
	}
	n.cleanup = append(n.cleanup, func() { w.Close() })
	arch := NewArchiver(cfg, st, h, key)
	go archiveHourly(ctx, arch, log)
	return &auditLog{key: key, store: st, hasher: h, writer: w}, nil
}

// NewArchiver returns the archiver of cfg's retention policy.
func NewArchiver(cfg *config.File, st audit.Store, h *audit.Hasher, key bankkeys.Key) *audit.Archiver {
	dir := cfg.Path(cfg.Audit.ArchiveDir)
	if dir == "" {
		dir = filepath.Join(cfg.Path(cfg.DataDir), "archive")
	}
	v, _ := httpsig.NewVerifier(key.Signer.Alg(), key.Public)
	day := 24 * time.Hour
	return &audit.Archiver{
		Store: st, Hasher: h, KeyID: key.KeyID, Signer: key.Signer, Keys: audit.KeySet{key.KeyID: v},
		Dir: dir, WitnessDir: cfg.Path(cfg.Audit.WitnessDir),
		Retention: map[string]time.Duration{
			audit.LogTransaction: time.Duration(cfg.Audit.TransactionDays) * day,
			audit.LogInterface:   time.Duration(cfg.Audit.InterfaceDays) * day,
		},
	}
}

// archiveHourly applies the retention policy a minute after start and then
// every hour, until ctx ends.
func archiveHourly(ctx context.Context, a *audit.Archiver, log *slog.Logger) {
	wait := time.Minute
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = time.Hour
		done, err := a.Run(ctx)
		if err != nil {
			log.Error("audit archival failed; records stay in the live store", "err", err)
		}
		for _, d := range done {
			log.Info("audit records archived", "log", d.Log, "from", d.From, "to", d.To, "file", d.File)
		}
	}
}

// adminParts are the controls the admin API manages besides the registry.
type adminParts struct {
	tokens    gateway.TokenRevoker
	blacklist *blacklist.Admin
	throttles *ratelimit.Admin
	alerts    *alert.Manager
	risk      *risk.Admin
	metrics   http.Handler
}

func server(cfg *config.File, o Options, gw *gateway.Gateway, st registry.Store, al *auditLog, parts adminParts, log *slog.Logger) (*gateway.Server, error) {
	gwTLS, err := listenerTLS(cfg, cfg.Gateway.TLS, false)
	if err != nil {
		return nil, fmt.Errorf("node: gateway TLS: %w", err)
	}
	srv := &gateway.Server{
		Gateway:           gw,
		GatewayAddr:       cfg.Gateway.Addr,
		GatewayTLS:        gwTLS,
		Plaintext:         o.Plaintext,
		ReadHeaderTimeout: cfg.Limits.ReadHeaderTimeout,
		ReadTimeout:       cfg.Limits.ReadTimeout,
		WriteTimeout:      cfg.Limits.WriteTimeout,
		IdleTimeout:       cfg.Limits.IdleTimeout,
		Logger:            log,
	}
	if cfg.Admin.Addr != "" {
		if srv.AdminTLS, err = listenerTLS(cfg, cfg.Admin.TLS, true); err != nil {
			return nil, fmt.Errorf("node: admin TLS: %w", err)
		}
		srv.AdminAddr = cfg.Admin.Addr
		srv.Admin = (&gateway.Admin{Store: st, Gateway: gw, AllowedClients: cfg.Admin.AllowedClients, Logger: log,
			Audit: al.store, AuditHasher: al.hasher, Tokens: parts.tokens, Blacklist: parts.blacklist,
			Throttles: parts.throttles, Alerts: parts.alerts, Risk: parts.risk, Metrics: parts.metrics}).Handler()
	}
	return srv, nil
}

func listenerTLS(cfg *config.File, t config.TLS, admin bool) (*tls.Config, error) {
	keyPEM, err := secret.ReadPrivateFile(cfg.Path(t.KeyFile))
	if err != nil {
		return nil, err
	}
	certPEM, err := os.ReadFile(cfg.Path(t.CertFile))
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	var pool *x509.CertPool
	if t.ClientCAFile != "" {
		b, err := os.ReadFile(cfg.Path(t.ClientCAFile))
		if err != nil {
			return nil, err
		}
		pool = x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("%s holds no PEM certificate", t.ClientCAFile)
		}
	}
	if admin {
		return gateway.AdminTLS(cert, pool), nil
	}
	return gateway.ServerTLS(cert, pool), nil
}

// Package demo prepares the sandbox bank that `bankguard demo` runs: a data
// directory with a master key, a demo CA with server and client
// certificates, the bank's response-signing key, demo applications with their
// credentials, a configuration file and an assessor profile. Generated keys
// live only in the data directory, never in the repository.
package demo

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"go.yaml.in/yaml/v3"

	"github.com/bankguard/bankguard/alert"
	"github.com/bankguard/bankguard/config"
	"github.com/bankguard/bankguard/gateway/blacklist"
	"github.com/bankguard/bankguard/gateway/ratelimit"
	"github.com/bankguard/bankguard/gateway/risk"
	"github.com/bankguard/bankguard/gateway/signature"
	"github.com/bankguard/bankguard/gateway/waf"
	"github.com/bankguard/bankguard/httpsig"
	"github.com/bankguard/bankguard/node"
	"github.com/bankguard/bankguard/registry"
	"github.com/bankguard/bankguard/secret"
	"github.com/bankguard/bankguard/store/sqlite"
)

// Files of the data directory, relative to it.
const (
	ConfigFile    = "bankguard.yaml"
	MasterKeyFile = "master.key"
	ProfileFile   = "demo/profile.json"
	caCert        = "pki/ca.pem"
	caKey         = "pki/ca-key.pem"
	serverCert    = "pki/server.pem"
	serverKey     = "pki/server-key.pem"
	adminCert     = "pki/admin.pem"
	adminKey      = "pki/admin-key.pem"
	// AdminCommonName is the operator certificate's subject, allowed on the admin API.
	AdminCommonName = "bankguard-admin"
	// BankCode is the sandbox bank's code in U_API_IDs.
	BankCode = "C99999"
)

// App is a demo application.
type App struct {
	ID, Name string
	Level    registry.Level
	Alg      string
	Status   registry.AppStatus
	// ClientCert: the app has a registered TLS client certificate.
	ClientCert bool
}

// KeyID is the app's credential keyid.
func (a App) KeyID() string { return a.ID + "-k1" }

// EncryptionKeyID is the id of the app's encryption key; A2 apps have one,
// to receive clearing data.
func (a App) EncryptionKeyID() string {
	if a.Level != registry.A2 {
		return ""
	}
	return a.ID + "-enc1"
}

// Apps are the demo applications.
var Apps = []App{
	{ID: "demo-a1-hmac", Name: "Demo Wealth Info (A1, HMAC-SM3)", Level: registry.A1, Alg: httpsig.AlgHMACSM3, Status: registry.AppActive},
	{ID: "demo-a2-sm2", Name: "Demo Wallet (A2, SM2 key pair)", Level: registry.A2, Alg: httpsig.AlgSM2SM3, Status: registry.AppActive},
	{ID: "demo-a2-ecdsa", Name: "Demo Payments (A2, ECDSA P-256 and client certificate)", Level: registry.A2, Alg: httpsig.AlgECDSAP256SHA256, Status: registry.AppActive, ClientCert: true},
	{ID: "demo-suspended", Name: "Demo Suspended App (A1, HMAC-SHA256, suspended)", Level: registry.A1, Alg: httpsig.AlgHMACSHA256, Status: registry.AppSuspended},
}

// Options say where the demo listens.
type Options struct {
	Dir         string
	GatewayAddr string
	AdminAddr   string
}

// Prepare creates what is missing in the data directory and returns the path
// of its configuration file. It is idempotent: keys, certificates and apps
// made on the first run are reused. The profile is written by WriteProfile
// once the gateway listens.
func Prepare(ctx context.Context, o Options) (string, error) {
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return "", err
	}
	for _, d := range []string{dir, filepath.Join(dir, "pki"), filepath.Join(dir, "keys"), filepath.Join(dir, "demo", "apps")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return "", fmt.Errorf("demo: %w", err)
		}
	}
	at := func(name string) string { return filepath.Join(dir, name) }
	key, err := masterKey(at(MasterKeyFile))
	if err != nil {
		return "", err
	}
	ca, err := loadOrCreateCA(at(caCert), at(caKey))
	if err != nil {
		return "", err
	}
	hosts := serverHosts(o.GatewayAddr, o.AdminAddr)
	if !coversHosts(at(serverCert), hosts) {
		if err := ca.issue(at(serverCert), at(serverKey), "bankguard sandbox gateway", hosts, 365*24*time.Hour); err != nil {
			return "", fmt.Errorf("demo: server certificate: %w", err)
		}
	}
	if !exists(at(adminCert)) {
		if err := ca.issue(at(adminCert), at(adminKey), AdminCommonName, nil, 365*24*time.Hour); err != nil {
			return "", fmt.Errorf("demo: admin certificate: %w", err)
		}
	}
	cfg, err := loadOrCreateConfig(dir, o)
	if err != nil {
		return "", err
	}
	if err := bankKeys(dir, cfg); err != nil {
		return "", err
	}
	st, err := sqlite.Open(ctx, at(node.DatabaseFile), key)
	if err != nil {
		return "", err
	}
	defer st.Close()
	for _, app := range Apps {
		if err := seedApp(ctx, st, ca, dir, app); err != nil {
			return "", fmt.Errorf("demo: app %s: %w", app.ID, err)
		}
	}
	if err := seedUsers(ctx, st, dir); err != nil {
		return "", err
	}
	if err := writeConfig(at(ConfigFile), cfg); err != nil {
		return "", err
	}
	return at(ConfigFile), nil
}

func masterKey(path string) (*secret.MasterKey, error) {
	if exists(path) {
		return secret.LoadFile(path)
	}
	return secret.Generate(path)
}

func serverHosts(addrs ...string) []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	for _, a := range addrs {
		h, _, err := net.SplitHostPort(a)
		if err != nil || h == "" || h == "0.0.0.0" || h == "::" {
			continue
		}
		if !contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// loadOrCreateConfig returns the existing configuration with the listen
// addresses of this run, or a new one.
func loadOrCreateConfig(dir string, o Options) (*config.File, error) {
	path := filepath.Join(dir, ConfigFile)
	now := time.Now().UTC().Truncate(time.Second)
	if exists(path) {
		// Decoded without validation: a configuration written by an older
		// demo may lack a section this one adds.
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		cfg := &config.File{}
		if err := yaml.Unmarshal(b, cfg); err != nil {
			return nil, fmt.Errorf("demo: %s: %w (delete the data directory to start afresh)", path, err)
		}
		if cfg.Audit.SigningKey.KeyID == "" {
			cfg.Audit = auditConfig(now)
		}
		if len(cfg.EncryptionKeys) == 0 {
			cfg.EncryptionKeys = []config.EncryptionKey{encryptionConfig(now)}
		}
		if cfg.Blacklist.Auto.Exempt == nil {
			cfg.Blacklist = blacklistConfig()
		}
		if len(cfg.RateLimit.Rules) == 0 && len(cfg.Risk.Rules) == 0 && !cfg.WAF.Enabled {
			cfg.RateLimit, cfg.Risk, cfg.WAF = rateLimitConfig(), riskConfig(), wafConfig()
		}
		cfg.SetDir(dir)
		cfg.Gateway.Addr, cfg.Admin.Addr = o.GatewayAddr, o.AdminAddr
		return cfg, nil
	}
	listener := func(addr string) config.Listener {
		return config.Listener{Addr: addr, TLS: config.TLS{CertFile: serverCert, KeyFile: serverKey, ClientCAFile: caCert}}
	}
	cfg := &config.File{
		DataDir:          ".",
		MasterKeyFile:    MasterKeyFile,
		BankCode:         BankCode,
		InterfaceVersion: "1.0.0",
		Gateway:          listener(o.GatewayAddr),
		Admin:            listener(o.AdminAddr),
		Signature:        signature.Config{MaxAge: 300 * time.Second, MaxFuture: 60 * time.Second, A2ClientCert: signature.CertIfRegistered},
		ResponseSigning: []config.SigningKey{{
			KeyID: "bank-sm2-" + now.Format("200601"), Alg: httpsig.AlgSM2SM3,
			PrivateKeyFile: "keys/bank-sm2-" + now.Format("200601") + ".pem",
			NotBefore:      now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0),
		}},
		Audit:          auditConfig(now),
		EncryptionKeys: []config.EncryptionKey{encryptionConfig(now)},
		Blacklist:      blacklistConfig(),
		RateLimit:      rateLimitConfig(),
		Risk:           riskConfig(),
		WAF:            wafConfig(),
		Upstreams:      map[string]config.Upstream{"sandbox": {URL: config.BuiltinSandbox, Timeout: 10 * time.Second}},
		APIs:           []config.APISource{{OpenAPI: config.BuiltinSandbox, Upstream: "sandbox"}},
	}
	cfg.Admin.AllowedClients = []string{AdminCommonName}
	return cfg, nil
}

// blacklistConfig exempts the demo's own machine from automatic blocks —
// address blocks and the block of an app that presents another app's token
// alike: the assessor and `bankguard call` probe those refusals from
// loopback again and again (a bank exempts its assessor's address the same
// way during a test). Automatic blocks apply to every other source; the
// end-to-end tests run a demo without the exemption to show them.
func blacklistConfig() blacklist.Config {
	return blacklist.Config{Auto: blacklist.AutoConfig{Exempt: []string{"127.0.0.0/8", "::1/128"}}}
}

// The demo's rate limits show each action: a limit the assessor measures
// (reject), an alarm, and a pause.
const (
	// RateLimitedPath is the API whose limit the assessor's profile names:
	// 10 calls per second for demo-a1-hmac, then 429.
	RateLimitedPath  = "/v1/products/WMP001"
	RateLimitedLimit = 10
)

func rateLimitConfig() ratelimit.Config {
	rate := func(s string) ratelimit.Rate {
		r, err := ratelimit.ParseRate(s)
		if err != nil {
			panic(err)
		}
		return r
	}
	return ratelimit.Config{Rules: []ratelimit.Rule{
		{Name: "product", App: "demo-a1-hmac", API: "OPC999990104010100000002", Rate: rate(fmt.Sprintf("%d/1s", RateLimitedLimit))},
		{Name: "accounts", App: "*", API: "OPC999990201010100000001", Rate: rate("60/1m"), Action: ratelimit.Alarm},
		{Name: "holdings", App: "demo-a2-ecdsa", API: "OPC999990204020100000001", Rate: rate("30/1m"),
			Action: ratelimit.Pause, PauseFor: time.Minute},
	}}
}

// wafConfig filters injections at paranoia level 1. The demo is addressed
// by IP (127.0.0.1), which CRS rule 920350 scores as suspicious on every
// request; a bank's gateway has a host name and keeps the rule.
func wafConfig() waf.Config {
	return waf.Config{Enabled: true, Exclusions: []string{"920350"}}
}

// riskConfig flags large transfers with a risk notice the app must show,
// holds very large ones for the bank's confirmation, and alerts on bursts
// and first transfers to a payee (T/PCAC 0008-2020 6.2.3).
func riskConfig() risk.Config {
	return risk.Config{Enabled: true, Rules: []risk.Rule{
		{Name: "large_transfer", Kind: risk.SingleAmount, Threshold: "50000.00", Action: risk.ActionNotice},
		{Name: "very_large_transfer", Kind: risk.SingleAmount, Threshold: "200000.00", Action: risk.ActionHold, Severity: alert.Critical},
		{Name: "burst", Kind: risk.Velocity, Count: 10, Window: 10 * time.Minute, Action: risk.ActionAlert},
		{Name: "first_payee", Kind: risk.NewPayee, Action: risk.ActionAlert},
	}}
}

// auditConfig is the demo's audit log: an SM2 checkpoint key of its own and a
// witness directory beside the store (on a real deployment, put the witness
// on storage the gateway's host cannot rewrite).
func auditConfig(now time.Time) config.Audit {
	id := "audit-sm2-" + now.Format("200601")
	return config.Audit{
		SigningKey: config.SigningKey{KeyID: id, Alg: httpsig.AlgSM2SM3, PrivateKeyFile: "keys/" + id + ".pem",
			NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(2, 0, 0)},
		Hash:       "sm3",
		WitnessDir: "witness",
		// Sooner than the 10 s default, so that a demo call can be proved at once.
		CheckpointInterval: 2 * time.Second,
	}
}

// encryptionConfig is the bank's encryption key, to which apps seal payment
// passwords. The demo names its private half too, because the built-in
// sandbox plays the bank's backend, which opens them.
func encryptionConfig(now time.Time) config.EncryptionKey {
	id := "bank-enc-" + now.Format("200601")
	return config.EncryptionKey{KeyID: id, PublicKeyFile: "keys/" + id + ".pub.pem", PrivateKeyFile: "keys/" + id + ".pem",
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(2, 0, 0)}
}

func writeConfig(path string, cfg *config.File) error {
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return err
	}
	head := "# Written by `bankguard demo`. It holds no secret: the master key, TLS keys and the\n" +
		"# bank's signing key are files beside it. Run it with: bankguard serve --config " + path + "\n"
	if _, err := config.Parse(b, path); err != nil {
		return fmt.Errorf("demo: generated configuration is invalid: %w", err)
	}
	return os.WriteFile(path, append([]byte(head), b...), 0o644)
}

// bankKeys creates the key files named by the config: response-signing,
// audit and encryption keys, each a key pair of its own.
func bankKeys(dir string, cfg *config.File) error {
	for _, k := range cfg.EncryptionKeys {
		path := filepath.Join(dir, k.PrivateKeyFile)
		if exists(path) {
			continue
		}
		priv, err := sm2.GenerateKey(rand.Reader)
		if err != nil {
			return err
		}
		if err := writeKey(path, priv); err != nil {
			return fmt.Errorf("demo: bank encryption key: %w", err)
		}
		pub, err := httpsig.MarshalPublicKeyPEM(priv.Public())
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, k.PublicKeyFile), pub, 0o644); err != nil {
			return err
		}
	}
	for _, k := range append(cfg.ResponseSigning, cfg.Audit.SigningKey) {
		path := filepath.Join(dir, k.PrivateKeyFile)
		if exists(path) {
			continue
		}
		priv, err := sm2.GenerateKey(rand.Reader)
		if err != nil {
			return err
		}
		if err := writeKey(path, priv); err != nil {
			return fmt.Errorf("demo: bank signing key: %w", err)
		}
	}
	return nil
}

// seedApp registers app and writes its client-side credential files, once.
func seedApp(ctx context.Context, st *sqlite.Store, ca *ca, dir string, app App) error {
	appDir := filepath.Join(dir, "demo", "apps", app.ID)
	if rec, err := st.App(ctx, app.ID); err == nil {
		// Registered by an earlier run; add what a newer demo gives apps.
		changed := authorizationFields(&rec)
		if app.EncryptionKeyID() != "" && len(rec.EncryptionKeyPEM) == 0 {
			if err := addEncryptionKey(&rec, app, appDir); err != nil {
				return err
			}
			changed = true
		}
		if !changed {
			return nil
		}
		return st.PutApp(ctx, rec)
	}
	if err := os.MkdirAll(appDir, 0o700); err != nil {
		return err
	}
	rec := registry.App{ID: app.ID, Name: app.Name, Status: app.Status}
	authorizationFields(&rec)
	if app.EncryptionKeyID() != "" {
		if err := addEncryptionKey(&rec, app, appDir); err != nil {
			return err
		}
	}
	if app.ClientCert {
		certFile, keyFile := filepath.Join(appDir, "client.pem"), filepath.Join(appDir, "client-key.pem")
		if err := ca.issue(certFile, keyFile, app.ID, nil, 365*24*time.Hour); err != nil {
			return err
		}
		var err error
		if rec.ClientCertPEM, err = os.ReadFile(certFile); err != nil {
			return err
		}
	}
	cred := registry.Credential{KeyID: app.KeyID(), AppID: app.ID, Alg: app.Alg, Status: registry.CredentialActive,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0)}
	if httpsig.Symmetric(app.Alg) {
		cred.Secret = make([]byte, 32)
		_, _ = rand.Read(cred.Secret)
		enc := base64.StdEncoding.EncodeToString(cred.Secret) + "\n"
		if err := writePrivate(filepath.Join(appDir, "secret"), []byte(enc)); err != nil {
			return err
		}
	} else {
		priv, err := newSigningKey(app.Alg)
		if err != nil {
			return err
		}
		if err := writeKey(filepath.Join(appDir, "signing-key.pem"), priv); err != nil {
			return err
		}
		if cred.PublicKeyPEM, err = httpsig.MarshalPublicKeyPEM(priv.Public()); err != nil {
			return err
		}
	}
	if err := st.PutApp(ctx, rec); err != nil {
		return err
	}
	return st.PutCredential(ctx, cred)
}

// addEncryptionKey gives app an SM2 encryption key pair of its own: the
// public half registered, the private half in the app's directory.
func addEncryptionKey(rec *registry.App, app App, appDir string) error {
	priv, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	if err := writeKey(filepath.Join(appDir, EncryptionKeyFile), priv); err != nil {
		return err
	}
	pub, err := httpsig.MarshalPublicKeyPEM(priv.Public())
	if err != nil {
		return err
	}
	rec.EncryptionKeyID, rec.EncryptionKeyPEM = app.EncryptionKeyID(), pub
	return nil
}

// EncryptionKeyFile is an A2 demo app's encryption private key, in its directory.
const EncryptionKeyFile = "encryption-key.pem"

// newSigningKey generates an app key pair for alg.
func newSigningKey(alg string) (crypto.Signer, error) {
	switch alg {
	case httpsig.AlgSM2SM3:
		return sm2.GenerateKey(rand.Reader)
	case httpsig.AlgECDSAP256SHA256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case httpsig.AlgEd25519:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	case httpsig.AlgRSAPSSSHA512:
		return rsa.GenerateKey(rand.Reader, 3072)
	}
	return nil, fmt.Errorf("no key pair for %s", alg)
}

// Package config reads bankguard's declarative YAML configuration. It is
// strict: unknown fields are refused, and so is any secret. Secrets and
// private keys live in files of the data directory or in the environment;
// the configuration only names those files (T/PCAC 0008-2020 3.3.4, 9.2.2).
package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/bankguard/bankguard/alert"
	"github.com/bankguard/bankguard/gateway/blacklist"
	"github.com/bankguard/bankguard/gateway/proxy"
	"github.com/bankguard/bankguard/gateway/ratelimit"
	"github.com/bankguard/bankguard/gateway/risk"
	"github.com/bankguard/bankguard/gateway/signature"
	"github.com/bankguard/bankguard/gateway/waf"
	"github.com/bankguard/bankguard/httpsig"
	"github.com/bankguard/bankguard/metrics"
	"github.com/bankguard/bankguard/registry"
)

// File is the configuration file.
type File struct {
	// DataDir holds the store and generated keys (relative paths are relative to the file).
	DataDir string `yaml:"data_dir"`
	// MasterKeyFile names the master key file; BANKGUARD_MASTER_KEY overrides it.
	MasterKeyFile string `yaml:"master_key_file"`
	// BankCode is the 6-character bank code of U_API_IDs.
	BankCode string `yaml:"bank_code"`
	// InterfaceVersion is what the connectivity check (GET /v1/ping) reports.
	InterfaceVersion string `yaml:"interface_version"`

	Gateway         Listener            `yaml:"gateway"`
	Admin           Listener            `yaml:"admin"`
	Limits          Limits              `yaml:"limits"`
	Signature       signature.Config    `yaml:"signature"`
	ResponseSigning []SigningKey        `yaml:"response_signing"`
	EncryptionKeys  []EncryptionKey     `yaml:"encryption_keys"`
	Audit           Audit               `yaml:"audit"`
	Authorization   Authorization       `yaml:"authorization"`
	Blacklist       blacklist.Config    `yaml:"blacklist"`
	RateLimit       ratelimit.Config    `yaml:"ratelimit"`
	Alerts          alert.Config        `yaml:"alerts"`
	Metrics         metrics.Config      `yaml:"metrics"`
	Risk            risk.Config         `yaml:"risk"`
	WAF             waf.Config          `yaml:"waf"`
	Upstreams       map[string]Upstream `yaml:"upstreams"`
	APIs            []APISource         `yaml:"apis"`

	// dir is the directory of the file, for relative paths.
	dir string
}

// Listener is an HTTPS listener.
type Listener struct {
	Addr string `yaml:"addr"`
	TLS  TLS    `yaml:"tls"`
	// AllowedClients lists the client certificate subject common names that
	// may use the admin listener.
	AllowedClients []string `yaml:"allowed_clients"`
}

// TLS names the listener's certificate files.
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ClientCAFile, if set, verifies client certificates against these CAs.
	// Without it, client certificates are accepted only by exact match with
	// the one registered for the app.
	ClientCAFile string `yaml:"client_ca_file"`
}

// Limits bound requests.
type Limits struct {
	MaxBodyBytes      int64         `yaml:"max_body_bytes"`
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	ReadTimeout       time.Duration `yaml:"read_timeout"`
	WriteTimeout      time.Duration `yaml:"write_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
}

// SigningKey is a bank response-signing key. The private key is read from
// PrivateKeyFile; only the newest valid key signs, all are published.
type SigningKey struct {
	KeyID          string    `yaml:"key_id"`
	Alg            string    `yaml:"alg"`
	PrivateKeyFile string    `yaml:"private_key_file"`
	NotBefore      time.Time `yaml:"not_before"`
	NotAfter       time.Time `yaml:"not_after"`
}

// EncryptionKey is one of the bank's SM2 encryption keys: applications seal
// sensitive inputs (payment passwords) to it, and the bank's backend opens
// them. The gateway itself needs only the public key.
type EncryptionKey struct {
	KeyID         string `yaml:"key_id"`
	PublicKeyFile string `yaml:"public_key_file"`
	// PrivateKeyFile is read only by the built-in sandbox, which plays the
	// bank's backend. Leave it out on a production gateway.
	PrivateKeyFile string    `yaml:"private_key_file"`
	NotBefore      time.Time `yaml:"not_before"`
	NotAfter       time.Time `yaml:"not_after"`
}

// Audit configures the tamper-evident audit log.
type Audit struct {
	// SigningKey signs checkpoints: an SM2 key used for nothing else.
	SigningKey SigningKey `yaml:"signing_key"`
	// Hash is the Merkle tree hash: sm3 (default) or sha-256.
	Hash string `yaml:"hash"`
	// WitnessDir receives a copy of every checkpoint as it is made: put it on
	// storage the gateway's host cannot rewrite (WORM, another machine).
	WitnessDir string `yaml:"witness_dir"`
	// CheckpointEvery and CheckpointInterval: a checkpoint after this many
	// records or this long, whichever comes first (defaults 1000, 10s).
	CheckpointEvery    int           `yaml:"checkpoint_every"`
	CheckpointInterval time.Duration `yaml:"checkpoint_interval"`
	// Retention in days per record class (defaults 400 and 200).
	TransactionDays int `yaml:"transaction_days"`
	InterfaceDays   int `yaml:"interface_days"`
	// ArchiveDir receives the archived segments (default DATA_DIR/archive).
	ArchiveDir string `yaml:"archive_dir"`
}

// Authorization configures user sign-in, consent and tokens (T/PCAC
// 0008-2020 5.2.1 d, 5.3.1). Zero values take the defaults.
type Authorization struct {
	// AccessTTL is the access-token lifetime by the app's level: A1 and A2
	// (defaults 30m and 5m).
	AccessTTL map[string]time.Duration `yaml:"access_ttl"`
	// RefreshTTL bounds refresh tokens (default 720h); none outlives its consent.
	RefreshTTL time.Duration `yaml:"refresh_ttl"`
	// IdleTimeout and SessionLifetime end sign-in sessions at the bank's
	// pages (defaults 5m and 30m).
	IdleTimeout     time.Duration `yaml:"idle_timeout"`
	SessionLifetime time.Duration `yaml:"session_lifetime"`
	// MaxFailures is how many failed sign-ins lock a user name (default 5).
	MaxFailures int `yaml:"max_failures"`
}

func (a *Authorization) validate() error {
	var errs []error
	for level, d := range a.AccessTTL {
		if level != "A1" && level != "A2" {
			errs = append(errs, fmt.Errorf("authorization.access_ttl: unknown level %q (A1 or A2)", level))
		}
		if d < time.Minute || d > 24*time.Hour {
			errs = append(errs, fmt.Errorf("authorization.access_ttl.%s: must be between 1m and 24h", level))
		}
	}
	for name, d := range map[string]time.Duration{"refresh_ttl": a.RefreshTTL, "idle_timeout": a.IdleTimeout, "session_lifetime": a.SessionLifetime} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("authorization.%s: must not be negative", name))
		}
	}
	if a.MaxFailures < 0 {
		errs = append(errs, errors.New("authorization.max_failures: must not be negative"))
	}
	return errors.Join(errs...)
}

func (a *Audit) validate() error {
	var errs []error
	k := a.SigningKey
	if k.KeyID == "" || k.PrivateKeyFile == "" || k.Alg != "sm2-sm3" {
		errs = append(errs, errors.New("audit.signing_key: key_id, private_key_file and alg sm2-sm3 are required (checkpoints are signed with SM2)"))
	}
	if a.Hash == "" {
		a.Hash = "sm3"
	}
	if a.Hash != "sm3" && a.Hash != "sha-256" {
		errs = append(errs, errors.New("audit.hash must be sm3 or sha-256"))
	}
	if a.CheckpointEvery == 0 {
		a.CheckpointEvery = 1000
	}
	if a.CheckpointInterval == 0 {
		a.CheckpointInterval = 10 * time.Second
	}
	if a.TransactionDays == 0 {
		a.TransactionDays = 400
	}
	if a.InterfaceDays == 0 {
		a.InterfaceDays = 200
	}
	if a.CheckpointEvery < 1 || a.CheckpointInterval < time.Second {
		errs = append(errs, errors.New("audit: checkpoint_every must be ≥ 1 and checkpoint_interval ≥ 1s"))
	}
	// T/PCAC 0008-2020 6.1.1: transaction logs ≥ 1 year; JR/T 0185: interface logs ≥ 6 months.
	if a.TransactionDays < 366 || a.InterfaceDays < 183 {
		errs = append(errs, errors.New("audit: transaction_days must be ≥ 366 and interface_days ≥ 183 (T/PCAC 0008-2020 6.1.1)"))
	}
	return errors.Join(errs...)
}

// Upstream is a backend. URL "builtin:sandbox" runs the demo bank in process.
type Upstream struct {
	URL     string        `yaml:"url"`
	Timeout time.Duration `yaml:"timeout"`
	// Fault isolation (T/PCAC 0008-2020 6.1.2): see proxy.Upstream.
	ConnectTimeout time.Duration       `yaml:"connect_timeout"`
	MaxConns       int                 `yaml:"max_conns"`
	Retries        *int                `yaml:"retries"`
	RetryMethods   []string            `yaml:"retry_methods"`
	RetryBackoff   time.Duration       `yaml:"retry_backoff"`
	Breaker        proxy.BreakerConfig `yaml:"breaker"`
	Health         *proxy.HealthConfig `yaml:"health"`
}

// Proxy returns the upstream's proxy settings for the backend at u.
func (up Upstream) Proxy(u *url.URL) proxy.Upstream {
	return proxy.Upstream{URL: u, Timeout: up.Timeout, ConnectTimeout: up.ConnectTimeout, MaxConns: up.MaxConns,
		Retries: up.Retries, RetryMethods: up.RetryMethods, RetryBackoff: up.RetryBackoff, Breaker: up.Breaker, Health: up.Health}
}

// BuiltinSandbox is the upstream URL of the in-process sandbox bank.
const BuiltinSandbox = "builtin:sandbox"

// APISource is an OpenAPI document whose operations (each with an
// x-bankguard block) are published, served by Upstream.
type APISource struct {
	// OpenAPI is a file, or "builtin:sandbox" for the sandbox bank's document.
	OpenAPI  string `yaml:"openapi"`
	Upstream string `yaml:"upstream"`
}

// Load reads and validates a configuration file.
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	f, err := Parse(b, filepath.Base(path))
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	f.dir = abs
	return f, nil
}

// Parse decodes and validates configuration bytes; name is used in errors.
func Parse(b []byte, name string) (*File, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, fmt.Errorf("config: %s: %w", name, err)
	}
	if err := refuseSecrets(&root, name); err != nil {
		return nil, err
	}
	f := &File{}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(f); err != nil {
		return nil, fmt.Errorf("config: %s: %w", name, err)
	}
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("config: %s: %w", name, err)
	}
	return f, nil
}

// Path resolves a path from the file against the file's directory.
func (f *File) Path(p string) string {
	if p == "" || filepath.IsAbs(p) || strings.HasPrefix(p, "builtin:") {
		return p
	}
	return filepath.Join(f.dir, p)
}

// SetDir sets the directory relative paths are resolved against.
func (f *File) SetDir(dir string) { f.dir = dir }

// Validate checks the configuration and fills in defaults.
func (f *File) Validate() error {
	var errs []error
	if f.DataDir == "" {
		errs = append(errs, errors.New("data_dir is required"))
	}
	if len(f.BankCode) != 6 || strings.ToUpper(f.BankCode) != f.BankCode {
		errs = append(errs, errors.New("bank_code must be 6 upper-case characters (the first 6 of the JR/T 0124 institution code)"))
	}
	if f.InterfaceVersion == "" {
		f.InterfaceVersion = "1.0.0"
	}
	errs = append(errs, f.Gateway.validate("gateway", false))
	if f.Admin.Addr != "" {
		errs = append(errs, f.Admin.validate("admin", true))
	}
	errs = append(errs, f.Limits.validate(), f.Signature.Validate())
	if len(f.ResponseSigning) == 0 {
		errs = append(errs, errors.New("response_signing: at least one key is required (A2 responses are signed)"))
	}
	for i, k := range f.ResponseSigning {
		if k.KeyID == "" || k.PrivateKeyFile == "" || !httpsig.Supported(k.Alg) || httpsig.Symmetric(k.Alg) {
			errs = append(errs, fmt.Errorf("response_signing[%d]: key_id, private_key_file and an asymmetric alg are required", i))
		}
		if k.PrivateKeyFile == f.Audit.SigningKey.PrivateKeyFile {
			errs = append(errs, fmt.Errorf("response_signing[%d]: the audit key must be a key of its own", i))
		}
	}
	errs = append(errs, f.Audit.validate(), f.Authorization.validate(), f.Blacklist.Validate(),
		f.RateLimit.Validate(), f.Alerts.Validate(), f.Metrics.Validate(), f.Risk.Validate(),
		f.WAF.Validate(), f.validateUpstreams())
	for i, k := range f.EncryptionKeys {
		if k.KeyID == "" || k.PublicKeyFile == "" || !k.NotAfter.After(k.NotBefore) {
			errs = append(errs, fmt.Errorf("encryption_keys[%d]: key_id, public_key_file and not_before < not_after are required", i))
		}
		if k.PrivateKeyFile != "" && k.PrivateKeyFile == f.Audit.SigningKey.PrivateKeyFile {
			errs = append(errs, fmt.Errorf("encryption_keys[%d]: an encryption key must not be a signing key", i))
		}
		for _, s := range f.ResponseSigning {
			if k.PrivateKeyFile != "" && k.PrivateKeyFile == s.PrivateKeyFile {
				errs = append(errs, fmt.Errorf("encryption_keys[%d]: an encryption key must not be a signing key", i))
			}
		}
	}
	for name, u := range f.Upstreams {
		if u.URL == BuiltinSandbox {
			continue
		}
		pu, err := url.Parse(u.URL)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			errs = append(errs, fmt.Errorf("upstreams.%s.url must be an http(s) URL or %s", name, BuiltinSandbox))
		}
	}
	if len(f.APIs) == 0 {
		errs = append(errs, errors.New("apis: at least one OpenAPI document is required"))
	}
	for i, a := range f.APIs {
		if a.OpenAPI == "" {
			errs = append(errs, fmt.Errorf("apis[%d].openapi is required", i))
		}
		if _, ok := f.Upstreams[a.Upstream]; !ok {
			errs = append(errs, fmt.Errorf("apis[%d].upstream %q is not defined under upstreams", i, a.Upstream))
		}
	}
	return errors.Join(errs...)
}

func (l *Listener) validate(name string, admin bool) error {
	var errs []error
	if _, _, err := net.SplitHostPort(l.Addr); err != nil {
		errs = append(errs, fmt.Errorf("%s.addr must be host:port", name))
	}
	if l.TLS.CertFile == "" || l.TLS.KeyFile == "" {
		errs = append(errs, fmt.Errorf("%s.tls.cert_file and key_file are required (the gateway speaks TLS only)", name))
	}
	if admin && (l.TLS.ClientCAFile == "" || len(l.AllowedClients) == 0) {
		errs = append(errs, fmt.Errorf("%s: tls.client_ca_file and allowed_clients are required (operators authenticate with client certificates)", name))
	}
	return errors.Join(errs...)
}

func (l *Limits) validate() error {
	if l.MaxBodyBytes == 0 {
		l.MaxBodyBytes = 1 << 20
	}
	defaults := []struct {
		d   *time.Duration
		def time.Duration
	}{{&l.ReadHeaderTimeout, 5 * time.Second}, {&l.ReadTimeout, 30 * time.Second},
		{&l.WriteTimeout, 60 * time.Second}, {&l.IdleTimeout, 120 * time.Second}}
	for _, d := range defaults {
		if *d.d == 0 {
			*d.d = d.def
		}
	}
	if l.MaxBodyBytes < 1024 || l.MaxBodyBytes > 64<<20 {
		return errors.New("limits.max_body_bytes must be between 1 KiB and 64 MiB")
	}
	return nil
}

// APIID returns the U_API_ID of an API the gateway provides itself.
func (f *File) APIID(level registry.Level, category, seq string) string {
	return registry.APIID{BankCode: f.BankCode, Level: level, Category: category, Sequence: seq}.String()
}

// secretName matches field names that would hold a secret: any name with
// secret or password in it, and names ending in key or token words
// (access_token_ttl is a duration, not a token).
var secretName = regexp.MustCompile(`(?i)(secret|passw(or)?d|passphrase|(private|api|master|hmac|signing|encryption)_?key|token|credentials?)$|secret|passw(or)?d`)

// fileSuffix marks fields that name a file or variable rather than hold a value.
var fileSuffix = regexp.MustCompile(`(?i)_(file|path|env|dir)$`)

// refuseSecrets walks the YAML tree and refuses secrets in it, naming the
// field and line but never the value.
func refuseSecrets(root *yaml.Node, name string) error {
	var walk func(n *yaml.Node, path string) error
	walk = func(n *yaml.Node, path string) error {
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for i, c := range n.Content {
				p := path
				if n.Kind == yaml.SequenceNode {
					p = fmt.Sprintf("%s[%d]", path, i)
				}
				if err := walk(c, p); err != nil {
					return err
				}
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := strings.TrimPrefix(path+"."+k.Value, ".")
				if v.Kind == yaml.ScalarNode && v.Value != "" && secretName.MatchString(k.Value) && !fileSuffix.MatchString(k.Value) {
					return fmt.Errorf("config: %s:%d: %s holds a secret; secrets are never read from the configuration file — put it in a file with mode 0600 and name the file (%s_file), or use the environment", name, v.Line, p, k.Value)
				}
				if err := walk(v, p); err != nil {
					return err
				}
			}
		case yaml.ScalarNode:
			if strings.Contains(n.Value, "PRIVATE KEY-----") {
				return fmt.Errorf("config: %s:%d: %s holds a private key; keys are never read from the configuration file — put it in a file with mode 0600 and name the file", name, n.Line, path)
			}
		}
		return nil
	}
	return walk(root, "")
}

// validateUpstreams checks the fault-isolation settings of every upstream
// (the built-in sandbox with a placeholder address).
func (f *File) validateUpstreams() error {
	ups := map[string]proxy.Upstream{}
	for name, u := range f.Upstreams {
		target, err := url.Parse(u.URL)
		if u.URL == BuiltinSandbox || err != nil {
			target = &url.URL{Scheme: "http", Host: "sandbox"}
		}
		ups[name] = u.Proxy(target)
	}
	return proxy.ValidateUpstreams(ups)
}

package blacklist

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/bankguard/bankguard/problem"
)

// Config is the blacklist's configuration, under the key "blacklist".
// Zero values take the defaults; the automatic rules are on by default.
type Config struct {
	// MaxEntries bounds the in-process list (default 100000).
	MaxEntries int `yaml:"max_entries"`
	// Static entries are loaded at start (and again at every start: an
	// operator's removal through the admin API lasts until then).
	Static []StaticEntry `yaml:"static"`
	// Auto configures the Detector's automatic blocks.
	Auto AutoConfig `yaml:"auto"`
}

// StaticEntry is a configured entry.
type StaticEntry struct {
	Kind   Kind   `yaml:"kind"`
	Value  string `yaml:"value"`
	Reason string `yaml:"reason"`
	// Until is when the entry lapses (zero: permanent).
	Until time.Time `yaml:"until"`
}

// Target is what an automatic block is put on.
type Target string

// The block targets.
const (
	// TargetIP blocks the source address (or its network, see
	// AutoConfig.IPv4Prefix and IPv6Prefix).
	TargetIP Target = "ip"
	// TargetApp blocks the verified app when the outcome names one, else
	// the source address.
	TargetApp Target = "app"
)

// AutoConfig configures the automatic rules (T/PCAC 0008-2020 6.1.2-3, 6.1.2-4).
type AutoConfig struct {
	// Enabled switches every automatic rule (default true).
	Enabled *bool `yaml:"enabled"`
	// BlockFor is how long an automatic block lasts (default 15m), unless
	// a rule says otherwise.
	BlockFor time.Duration `yaml:"block_for"`
	// IPv4Prefix and IPv6Prefix are the networks sources are counted and
	// blocked by: 32 (one address) and 64 (one IPv6 subnet, which one
	// client commonly holds) by default.
	IPv4Prefix int `yaml:"ipv4_prefix"`
	IPv6Prefix int `yaml:"ipv6_prefix"`
	// Exempt ranges are never counted nor blocked automatically: the
	// bank's own monitoring, say. (Manual entries still apply to them.)
	Exempt []string `yaml:"exempt"`
	// MaxSources bounds the sources counted at once (default 100000).
	MaxSources int `yaml:"max_sources"`
	// AuthFailures counts failed authentication from one source: by
	// default 20 of signature_invalid, signature_missing, app_unknown and
	// digest_mismatch within 1m block the source address.
	AuthFailures BurstRule `yaml:"auth_failures"`
	// Replays counts replay_detected: by default 3 within 1m block the
	// source address.
	Replays BurstRule `yaml:"replays"`
	// Impersonation blocks at once an app that presents a token issued to
	// another app.
	Impersonation ImpersonationRule `yaml:"impersonation"`
}

// BurstRule blocks a source after Threshold counted outcomes within Window.
type BurstRule struct {
	// Enabled switches the rule (default true).
	Enabled   *bool         `yaml:"enabled"`
	Threshold int           `yaml:"threshold"`
	Window    time.Duration `yaml:"window"`
	// BlockFor overrides auto.block_for.
	BlockFor time.Duration `yaml:"block_for"`
	// Block is the target: ip (default) or app.
	Block Target `yaml:"block"`
	// Codes are the error codes counted (defaults per rule).
	Codes []problem.Code `yaml:"codes"`
}

// ImpersonationRule configures the block of an app that presented another
// app's token.
type ImpersonationRule struct {
	// Enabled switches the rule (default true).
	Enabled *bool `yaml:"enabled"`
	// BlockFor overrides auto.block_for.
	BlockFor time.Duration `yaml:"block_for"`
}

// Defaults.
const (
	DefaultBlockFor   = 15 * time.Minute
	DefaultMaxSources = 100_000
	defaultWindow     = time.Minute
)

// The codes counted by default.
var (
	defaultAuthCodes   = []problem.Code{problem.SignatureInvalid, problem.SignatureMissing, problem.AppUnknown, problem.DigestMismatch}
	defaultReplayCodes = []problem.Code{problem.ReplayDetected}
)

// Bounds.
const (
	maxThreshold = 10_000
	maxWindow    = 24 * time.Hour
	maxBlockFor  = 30 * 24 * time.Hour
	maxSources   = 10_000_000
	// maxCounterBytes bounds the Detector's counters in the worst case.
	maxCounterBytes = 512 << 20
)

// on reports a switch, nil meaning on.
func on(b *bool) bool { return b == nil || *b }

// Validate checks the configuration and fills in defaults. Messages name
// the field by its path.
func (c *Config) Validate() error {
	var errs []error
	if c.MaxEntries == 0 {
		c.MaxEntries = DefaultMaxEntries
	}
	if c.MaxEntries < 0 {
		errs = append(errs, errors.New("blacklist.max_entries: must be positive"))
	}
	for i := range c.Static {
		s := &c.Static[i]
		at := fmt.Sprintf("blacklist.static[%d]", i)
		v, err := ParseValue(s.Kind, s.Value)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", at, err))
		}
		s.Value = v
		if err := checkReason(s.Reason); err != nil {
			errs = append(errs, fmt.Errorf("%s.reason: %w", at, err))
		}
	}
	if len(c.Static) > c.MaxEntries && c.MaxEntries > 0 {
		errs = append(errs, errors.New("blacklist.static: more entries than blacklist.max_entries"))
	}
	errs = append(errs, c.Auto.validate())
	return errors.Join(errs...)
}

func (a *AutoConfig) validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("blacklist.auto."+field+": "+format, args...))
	}
	if a.BlockFor == 0 {
		a.BlockFor = DefaultBlockFor
	}
	if a.BlockFor < 0 || a.BlockFor > maxBlockFor {
		bad("block_for", "must be positive and at most %s", maxBlockFor)
	}
	if a.IPv4Prefix == 0 {
		a.IPv4Prefix = 32
	}
	if a.IPv6Prefix == 0 {
		a.IPv6Prefix = 64
	}
	if a.IPv4Prefix < 16 || a.IPv4Prefix > 32 {
		bad("ipv4_prefix", "must be 16 to 32")
	}
	if a.IPv6Prefix < 32 || a.IPv6Prefix > 128 {
		bad("ipv6_prefix", "must be 32 to 128")
	}
	for i, s := range a.Exempt {
		p, err := parseExempt(s)
		if err != nil {
			bad(fmt.Sprintf("exempt[%d]", i), "%v", err)
			continue
		}
		a.Exempt[i] = p.String()
	}
	if a.MaxSources == 0 {
		a.MaxSources = DefaultMaxSources
	}
	if a.MaxSources < 0 || a.MaxSources > maxSources {
		bad("max_sources", "must be 1 to %d", maxSources)
	}
	errs = append(errs,
		a.AuthFailures.validate("auth_failures", 20, defaultAuthCodes),
		a.Replays.validate("replays", 3, defaultReplayCodes))
	// A counter holds up to threshold times of 8 bytes.
	if worst := int64(a.MaxSources) * int64(max(a.AuthFailures.Threshold, a.Replays.Threshold)) * 8; worst > maxCounterBytes {
		bad("max_sources", "max_sources × threshold could hold %d MiB of counters; at most %d MiB", worst>>20, maxCounterBytes>>20)
	}
	if b := a.Impersonation.BlockFor; b < 0 || b > maxBlockFor {
		bad("impersonation.block_for", "must be positive and at most %s", maxBlockFor)
	}
	seen := map[problem.Code]bool{}
	for _, c := range a.AuthFailures.Codes {
		seen[c] = true
	}
	for _, c := range a.Replays.Codes {
		if seen[c] {
			bad("replays.codes", "%s is already counted by auth_failures", c)
		}
	}
	return errors.Join(errs...)
}

func (r *BurstRule) validate(name string, threshold int, codes []problem.Code) error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("blacklist.auto."+name+"."+field+": "+format, args...))
	}
	if r.Threshold == 0 {
		r.Threshold = threshold
	}
	if r.Window == 0 {
		r.Window = defaultWindow
	}
	if r.Block == "" {
		r.Block = TargetIP
	}
	if len(r.Codes) == 0 {
		r.Codes = codes
	}
	if r.Threshold < 1 || r.Threshold > maxThreshold {
		bad("threshold", "must be 1 to %d", maxThreshold)
	}
	if r.Window < time.Second || r.Window > maxWindow {
		bad("window", "must be 1s to %s", maxWindow)
	}
	if r.BlockFor < 0 || r.BlockFor > maxBlockFor {
		bad("block_for", "must be positive and at most %s", maxBlockFor)
	}
	if r.Block != TargetIP && r.Block != TargetApp {
		bad("block", "must be %q or %q", TargetIP, TargetApp)
	}
	for i, c := range r.Codes {
		switch {
		case !problem.ValidCode(string(c)):
			bad(fmt.Sprintf("codes[%d]", i), "%q is not an error code", c)
		case c == problem.Blacklisted:
			// Counting its own refusals would renew a block for ever.
			bad(fmt.Sprintf("codes[%d]", i), "%s cannot be counted", c)
		}
	}
	return errors.Join(errs...)
}

// parseExempt parses an exempt range: any width is allowed.
func parseExempt(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		if p.Addr().Is4In6() {
			return p, errors.New("write IPv4 ranges in IPv4 form, not as IPv4-mapped IPv6")
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, errors.New("must be an IP address or a CIDR range")
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

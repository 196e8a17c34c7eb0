package oauth

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Default lifetimes: limited token and session lifetimes, T/PCAC 0008-2020
// 5.2.1 d.
const (
	DefaultAccessTTLA1 = 30 * time.Minute
	DefaultAccessTTLA2 = 5 * time.Minute
	DefaultRefreshTTL  = 30 * 24 * time.Hour
	DefaultCodeTTL     = 60 * time.Second
	DefaultOnceTTL     = 10 * time.Minute
	// MaxCodeTTL is RFC 6749 §4.1.2's recommended upper bound.
	MaxCodeTTL = 10 * time.Minute
)

// Config is the authorization server's configuration.
type Config struct {
	// AccessTTL is the access-token lifetime by the app's level ("A1",
	// "A2"); defaults 30 min and 5 min. An app of another level gets the
	// shortest lifetime configured.
	AccessTTL map[string]time.Duration `json:"access_ttl,omitempty" yaml:"access_ttl,omitempty"`
	// RefreshTTL is the refresh-token lifetime (default 30 days); a refresh
	// token never outlives its consent.
	RefreshTTL time.Duration `json:"refresh_ttl,omitempty" yaml:"refresh_ttl,omitempty"`
	// CodeTTL is the authorization-code lifetime (default 60 s, at most 10 min).
	CodeTTL time.Duration `json:"code_ttl,omitempty" yaml:"code_ttl,omitempty"`
	// OnceTTL is how long a once-consent may wait for its first use
	// (default 10 min).
	OnceTTL time.Duration `json:"once_ttl,omitempty" yaml:"once_ttl,omitempty"`
	// FundScopes are the scopes of fund transactions: a consent holding one
	// needs the user's acknowledgement of the risk warning (6.2.2). Default
	// ["transfers"].
	FundScopes []string `json:"fund_scopes,omitempty" yaml:"fund_scopes,omitempty"`
	// AccountScopes are the scopes that reach accounts: a consent holding
	// one must name the accounts shared (5.3.2). Default ["accounts",
	// "transfers"].
	AccountScopes []string `json:"account_scopes,omitempty" yaml:"account_scopes,omitempty"`
	// SubjectKey keys the HMAC that turns a user id into the pseudonym
	// introspection returns as sub (at least 32 bytes; derive it from the
	// master key). Never in a configuration file.
	SubjectKey []byte `json:"-" yaml:"-"`
	// Logger receives alerts (at warn) and store failures; default
	// slog.Default().
	Logger *slog.Logger `json:"-" yaml:"-"`
}

// withDefaults returns c with every unset field at its default.
func (c Config) withDefaults() Config {
	ttl := map[string]time.Duration{"A1": DefaultAccessTTLA1, "A2": DefaultAccessTTLA2}
	for k, v := range c.AccessTTL {
		ttl[k] = v
	}
	c.AccessTTL = ttl
	if c.RefreshTTL == 0 {
		c.RefreshTTL = DefaultRefreshTTL
	}
	if c.CodeTTL == 0 {
		c.CodeTTL = DefaultCodeTTL
	}
	if c.OnceTTL == 0 {
		c.OnceTTL = DefaultOnceTTL
	}
	if c.FundScopes == nil {
		c.FundScopes = []string{"transfers"}
	}
	if c.AccountScopes == nil {
		c.AccountScopes = []string{"accounts", "transfers"}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports the first problem of the configuration, defaults applied.
func (c Config) Validate() error {
	c = c.withDefaults()
	for level, d := range c.AccessTTL {
		if d <= 0 {
			return fmt.Errorf("oauth: access_ttl for %s must be positive", level)
		}
	}
	switch {
	case c.RefreshTTL < 0:
		return errors.New("oauth: refresh_ttl must be positive")
	case c.CodeTTL < 0 || c.CodeTTL > MaxCodeTTL:
		return fmt.Errorf("oauth: code_ttl must be positive and at most %s", MaxCodeTTL)
	case c.OnceTTL < 0:
		return errors.New("oauth: once_ttl must be positive")
	case len(c.SubjectKey) < 32:
		return errors.New("oauth: a subject key of at least 32 bytes is required")
	}
	return nil
}

// accessTTL is the access-token lifetime for an app of level.
func (c *Config) accessTTL(level string) time.Duration {
	if d, ok := c.AccessTTL[level]; ok {
		return d
	}
	var min time.Duration
	for _, d := range c.AccessTTL {
		if min == 0 || d < min {
			min = d
		}
	}
	return min
}

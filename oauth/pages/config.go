package pages

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/bankguard/bankguard/oauth"
)

// Config holds the policy of the bank-hosted pages. The zero value is
// completed by Validate with the defaults below.
type Config struct {
	// IdleTimeout ends a session that saw no request for this long
	// (default 5 min; T/PCAC 0008-2020 5.3.1: idle sessions end).
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// SessionLifetime ends a session this long after it began, however busy
	// (default 30 min; 5.2.1 d). It also bounds how long a pending
	// authorization request waits for the user.
	SessionLifetime time.Duration `yaml:"session_lifetime"`
	// MaxFailures is how many failed sign-ins (password or second factor)
	// a user name may have before it is locked (default 5; 3.3.2).
	MaxFailures int `yaml:"max_failures"`
	// LockoutBase is the first lockout; each further lockout doubles it up
	// to LockoutMax (defaults 1 min and 1 h).
	LockoutBase time.Duration `yaml:"lockout_base"`
	LockoutMax  time.Duration `yaml:"lockout_max"`
	// IPMaxFailures is how many failed sign-ins one client address may have
	// within IPWindow before it is refused (defaults 20 per 15 min).
	IPMaxFailures int           `yaml:"ip_max_failures"`
	IPWindow      time.Duration `yaml:"ip_window"`
	// Issuer is the bank's name as the pages show it.
	Issuer string `yaml:"issuer"`
	// ScopeText says in plain words, Chinese and English, what each scope
	// lets the app do (11.3.2). Its keys are the scopes an app may request.
	ScopeText map[string]string `yaml:"scope_text"`
	// FundScopes are the scopes of fund transactions: they need a second
	// factor and the user's acknowledgement of a risk warning (6.2.2).
	// Default ["transfers"].
	FundScopes []string `yaml:"fund_scopes"`
	// OneTimeValidity bounds a one-time consent that is never used, as the
	// consent page states it (default oauth.DefaultOnceTTL, the server's
	// bound: keep the two equal).
	OneTimeValidity time.Duration `yaml:"one_time_validity"`
	// Location is the time zone of the dates the user picks (default
	// China Standard Time, UTC+8).
	Location *time.Location `yaml:"-"`
	// MaxSessions bounds the sessions kept in memory, signed in or not
	// (default 100000); beyond it new visitors get 503.
	MaxSessions int `yaml:"max_sessions"`
	// HashConcurrency bounds the argon2id computations running at once,
	// each using 19 MiB (default 4).
	HashConcurrency int `yaml:"hash_concurrency"`
	// Steps remembers the TOTP steps used (nil: in memory).
	Steps TOTPSteps `yaml:"-"`
	// Logger receives internal errors; never secrets (nil: slog.Default()).
	Logger *slog.Logger `yaml:"-"`
}

// DefaultScopeText is the plain-words text of the sandbox's scopes.
func DefaultScopeText() map[string]string {
	return map[string]string{
		"accounts":  "查询您的账户信息、余额和交易明细 / View your account details, balances and transactions",
		"holdings":  "查询您的理财持仓 / View your wealth-management holdings",
		"transfers": "从您的账户向他人转账 / Transfer money from your accounts to others",
	}
}

// Validate checks the configuration and fills in defaults.
func (c *Config) Validate() error {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.IdleTimeout, 5*time.Minute)
	def(&c.SessionLifetime, 30*time.Minute)
	def(&c.LockoutBase, time.Minute)
	def(&c.LockoutMax, time.Hour)
	def(&c.IPWindow, 15*time.Minute)
	def(&c.OneTimeValidity, oauth.DefaultOnceTTL)
	defInt := func(n *int, v int) {
		if *n == 0 {
			*n = v
		}
	}
	defInt(&c.MaxFailures, 5)
	defInt(&c.IPMaxFailures, 20)
	defInt(&c.MaxSessions, 100000)
	defInt(&c.HashConcurrency, 4)
	if c.Issuer == "" {
		c.Issuer = "bankguard"
	}
	if c.ScopeText == nil {
		c.ScopeText = DefaultScopeText()
	}
	if c.FundScopes == nil {
		c.FundScopes = []string{"transfers"}
	}
	if c.Location == nil {
		c.Location = time.FixedZone("CST", 8*3600)
	}
	switch {
	case c.IdleTimeout < 0 || c.SessionLifetime < 0 || c.LockoutBase < 0 || c.LockoutMax < 0 || c.IPWindow < 0 || c.OneTimeValidity < 0:
		return fmt.Errorf("pages: durations must not be negative")
	case c.IdleTimeout > c.SessionLifetime:
		return fmt.Errorf("pages: idle_timeout must not exceed session_lifetime")
	case c.LockoutMax < c.LockoutBase:
		return fmt.Errorf("pages: lockout_max must not be shorter than lockout_base")
	case c.MaxFailures < 1 || c.IPMaxFailures < 1 || c.MaxSessions < 1 || c.HashConcurrency < 1:
		return fmt.Errorf("pages: max_failures, ip_max_failures, max_sessions and hash_concurrency must be positive")
	case len(c.ScopeText) == 0:
		return fmt.Errorf("pages: scope_text names no scope")
	}
	for s, text := range c.ScopeText {
		if !oauth.ValidScope(s) || text == "" {
			return fmt.Errorf("pages: scope %q needs a valid name and a text", s)
		}
	}
	for _, s := range c.FundScopes {
		if _, ok := c.ScopeText[s]; !ok {
			return fmt.Errorf("pages: fund scope %q has no scope_text", s)
		}
	}
	return nil
}

package ratelimit

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"time"

	"github.com/bankguard/bankguard/registry"
)

// Config is the traffic control configuration: the rules that limit calls
// per time unit and calls in flight (T/PCAC 0008-2020 4.1, 6.1.2-2).
type Config struct {
	// Rules are checked together on every call; each one that matches the
	// call's app, API or client address applies.
	Rules []Rule `yaml:"rules" json:"rules"`
	// MaxKeys bounds the in-process state: how many rate and concurrency
	// counters may exist at once (default 100000). Idle counters are swept;
	// past the bound, calls that would need a new counter are refused.
	MaxKeys int `yaml:"max_keys" json:"max_keys,omitempty"`
}

// Rule is one limit. It names what it counts — an app (App), an API
// (API), both, or the client address (ClientIP) — and how much: a rate
// (calls per window, with a burst) and/or a concurrency cap.
type Rule struct {
	// Name identifies the rule in the RateLimit headers (draft-ietf-httpapi-
	// ratelimit-headers) and in alerts. It is sent to clients, so it should
	// say nothing internal: lower-case letters, digits, '-' and '_', at most
	// 32. Default: the rule's scope and window, e.g. "app-1s", "app-api-1m".
	Name string `yaml:"name" json:"name,omitempty"`
	// App is an App_ID, "*" for each app separately, or empty when the rule
	// does not count by app.
	App string `yaml:"app" json:"app,omitempty"`
	// API is a U_API_ID, "*" for each API separately, or empty when the
	// rule does not count by API. A rule with API and no App counts the
	// calls of every app to the API together.
	API string `yaml:"api" json:"api,omitempty"`
	// ClientIP counts by client address (optionally per API); App must be
	// empty. Meant for a stage instance placed before authentication.
	ClientIP bool `yaml:"client_ip" json:"client_ip,omitempty"`
	// Rate is "N/window", e.g. "100/1s", "6000/1m", "50000/24h"; the window
	// is a whole number of seconds, 1s to 24h. Empty: no rate limit.
	Rate Rate `yaml:"rate" json:"rate,omitzero"`
	// Burst is how many calls may pass at once (default: N of Rate). With a
	// burst B, any interval of length L admits at most B + L·N/window calls;
	// burst 1 makes "at most N in any window" hold for sliding windows too.
	Burst int64 `yaml:"burst" json:"burst,omitempty"`
	// Concurrency is the most calls in flight at once (0: no cap).
	Concurrency int64 `yaml:"concurrency" json:"concurrency,omitempty"`
	// Action is what a call beyond the limit meets (default reject).
	Action Action `yaml:"action" json:"action,omitempty"`
	// PauseFor is how long the app stays paused (action pause only).
	PauseFor time.Duration `yaml:"pause_for" json:"pause_for,omitempty"`
}

// Action is what happens to a call beyond a rule's limit (T/PCAC 0008-2020
// 6.1.2-2: alarm, pause, reject).
type Action string

// The actions.
const (
	// Alarm lets the call pass and raises an alert.Warning "ratelimit.alarm".
	Alarm Action = "alarm"
	// Pause refuses the call, suspends the app for PauseFor (429
	// app_paused), raises an alert.Critical "ratelimit.pause" and notifies
	// the app.
	Pause Action = "pause"
	// Reject refuses the call: 429 rate_limited with Retry-After.
	Reject Action = "reject"
)

// Wildcard in App or API makes a rule count each app or API separately.
const Wildcard = "*"

// Bounds of the configuration.
const (
	DefaultMaxKeys = 100000
	maxWindow      = 24 * time.Hour
	maxName        = 32
)

// Validate checks the configuration and fills in defaults. Its messages name
// the field: "ratelimit: rules[2].pause_for: …".
func (c *Config) Validate() error {
	var errs []error
	if c.MaxKeys == 0 {
		c.MaxKeys = DefaultMaxKeys
	}
	if c.MaxKeys < 0 {
		errs = append(errs, errors.New("ratelimit: max_keys: must be positive"))
	}
	names := map[string]int{}
	for i := range c.Rules {
		r := &c.Rules[i]
		for _, err := range r.validate() {
			errs = append(errs, fmt.Errorf("ratelimit: rules[%d].%w", i, err))
		}
		if r.Name == "" {
			continue
		}
		if j, dup := names[r.Name]; dup {
			errs = append(errs, fmt.Errorf("ratelimit: rules[%d].name: %q is already the name of rules[%d]", i, r.Name, j))
		}
		names[r.Name] = i
	}
	return errors.Join(errs...)
}

// validate checks one rule and fills in its defaults; each error starts
// with the field's name.
func (r *Rule) validate() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if r.Action == "" {
		r.Action = Reject
	}
	switch {
	case r.ClientIP && r.App != "":
		bad("app", "must be empty when client_ip is set")
	case !r.ClientIP && r.App == "" && r.API == "":
		bad("app", "a rule needs app, api or client_ip")
	}
	if r.App != "" && r.App != Wildcard && !validID(r.App) {
		bad("app", "%q is not an App_ID or %q", r.App, Wildcard)
	}
	if r.API != "" && r.API != Wildcard {
		if _, err := registry.ParseAPIID(r.API); err != nil {
			bad("api", "must be a U_API_ID or %q: %v", Wildcard, err)
		}
	}
	if r.Rate.IsZero() && r.Concurrency == 0 {
		bad("rate", "a rule needs a rate, a concurrency cap or both")
	}
	if !r.Rate.IsZero() {
		if err := r.Rate.check(); err != nil {
			bad("rate", "%v", err)
		}
	}
	switch {
	case r.Burst < 0:
		bad("burst", "must not be negative")
	case r.Burst > 0 && r.Rate.IsZero():
		bad("burst", "needs a rate")
	case r.Burst == 0 && !r.Rate.IsZero():
		r.Burst = r.Rate.Count
	}
	if !r.Rate.IsZero() && r.Rate.check() == nil && r.Burst > 0 && !fits(r.Rate, r.Burst) {
		bad("burst", "%d with rate %s is too large to count exactly; use a shorter window", r.Burst, r.Rate)
	}
	if r.Concurrency < 0 {
		bad("concurrency", "must not be negative")
	}
	switch r.Action {
	case Alarm, Reject:
		if r.PauseFor != 0 {
			bad("pause_for", "only applies to action pause")
		}
	case Pause:
		if r.App == "" {
			bad("action", "pause needs a rule that counts by app (the app is what is paused)")
		}
		if r.PauseFor < time.Second || r.PauseFor > 7*24*time.Hour {
			bad("pause_for", "must be 1s to 168h for action pause")
		}
	default:
		bad("action", "%q is not alarm, pause or reject", r.Action)
	}
	if r.Name != "" && !validName(r.Name) {
		bad("name", "%q must be 1 to %d lower-case letters, digits, '-' or '_'", r.Name, maxName)
	}
	return errs
}

// scope is the rule's default name prefix: what it counts by.
func (r *Rule) scope() string {
	var parts []string
	if r.ClientIP {
		parts = append(parts, "ip")
	}
	if r.App != "" {
		parts = append(parts, "app")
	}
	if r.API != "" {
		parts = append(parts, "api")
	}
	return strings.Join(parts, "-")
}

// validID accepts identifiers that cannot break a counter key: printable
// ASCII without spaces or the key separator.
func validID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c > '~' || c == '|' || c == '*' {
			return false
		}
	}
	return true
}

func validName(s string) bool {
	if s == "" || len(s) > maxName {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// Rate is a number of calls per window, written "N/window": "100/1s",
// "6000/1m", "20/s", "50000/24h". It reads and writes itself as text
// (YAML and JSON strings).
type Rate struct {
	Count int64
	Per   time.Duration
}

// ParseRate reads "N/window".
func ParseRate(s string) (Rate, error) {
	n, w, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Rate{}, fmt.Errorf("%q is not N/window, e.g. 100/1s or 6000/1m", s)
	}
	count, err := strconv.ParseInt(strings.TrimSpace(n), 10, 64)
	if err != nil {
		return Rate{}, fmt.Errorf("%q: the count is not a whole number", s)
	}
	w = strings.TrimSpace(w)
	if w == "s" || w == "m" || w == "h" {
		w = "1" + w
	}
	per, err := time.ParseDuration(w)
	if err != nil {
		return Rate{}, fmt.Errorf("%q: the window is not a duration such as 1s, 1m or 24h", s)
	}
	r := Rate{Count: count, Per: per}
	if err := r.check(); err != nil {
		return Rate{}, err
	}
	return r, nil
}

// check enforces the bounds: 1 ≤ N ≤ 10⁹ calls per 1s to 24h, whole seconds.
func (r Rate) check() error {
	switch {
	case r.Count < 1 || r.Count > 1e9:
		return fmt.Errorf("%s: the count must be 1 to 1000000000", r)
	case r.Per < time.Second || r.Per > maxWindow:
		return fmt.Errorf("%s: the window must be 1s to 24h", r)
	case r.Per%time.Second != 0:
		return fmt.Errorf("%s: the window must be a whole number of seconds", r)
	}
	return nil
}

// IsZero reports whether no rate is set.
func (r Rate) IsZero() bool { return r.Count == 0 && r.Per == 0 }

// String formats the rate as "N/window".
func (r Rate) String() string {
	if r.IsZero() {
		return ""
	}
	return strconv.FormatInt(r.Count, 10) + "/" + shortDuration(r.Per)
}

// MarshalText implements encoding.TextMarshaler.
func (r Rate) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler; empty text is no rate.
func (r *Rate) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*r = Rate{}
		return nil
	}
	v, err := ParseRate(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// shortDuration writes 1m rather than 1m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// fits reports whether the counter arithmetic of a rate and burst stays
// well within int64: GCRA keeps time in units of 1/d ns, where d is N
// divided by gcd(N, window in ns), and looks at most burst+1 emission
// intervals ahead.
func fits(r Rate, burst int64) bool {
	p := newParams(r, burst)
	hi, lo := bits.Mul64(uint64(burst+1), uint64(p.interval))
	return hi == 0 && lo <= math.MaxInt64/2
}

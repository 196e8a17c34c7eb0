package proxy

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Defaults of an Upstream's fault-isolation settings (T/PCAC 0008-2020 6.1.2).
const (
	// DefaultTimeout is how long a backend has to start answering.
	DefaultTimeout = 30 * time.Second
	// DefaultConnectTimeout bounds connecting to a backend (TCP and TLS),
	// and waiting for one of its connection slots.
	DefaultConnectTimeout = 3 * time.Second
	// DefaultMaxConns is how many requests may be in flight to one backend.
	DefaultMaxConns = 256
	// DefaultRetries is how often an idempotent request is retried after a
	// connection error or timeout.
	DefaultRetries = 1
	// MaxRetries bounds Retries.
	MaxRetries = 3
	// DefaultRetryBackoff is the pause before the first retry (doubled, with
	// jitter, before each next one).
	DefaultRetryBackoff = 50 * time.Millisecond
)

// Upstream is a backend and how the gateway isolates its faults
// (T/PCAC 0008-2020 6.1.2: fault isolation and recovery). Zero values mean
// the defaults; Validate reports values that are out of range.
type Upstream struct {
	// URL is the backend's base URL; the request path is appended to its path.
	URL *url.URL `yaml:"-"`
	// Timeout is how long the backend has to start answering, per attempt
	// (default 30 s).
	Timeout time.Duration `yaml:"timeout"`
	// ConnectTimeout bounds the TCP connect and the TLS handshake, and how
	// long a request waits for a free connection slot (default 3 s).
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// MaxConns caps the requests in flight to this backend, so a slow
	// backend holds at most this many connections (default 256).
	MaxConns int `yaml:"max_conns"`
	// Retries is how often a GET, HEAD or OPTIONS request (and PUT or DELETE
	// if listed in RetryMethods) is retried after a connection error or a
	// timeout before any response byte: nil means 1, 0 none, at most 3.
	// POST and PATCH are never retried.
	Retries *int `yaml:"retries"`
	// RetryMethods adds PUT and/or DELETE to the retried methods, for
	// backends that implement them idempotently.
	RetryMethods []string `yaml:"retry_methods"`
	// RetryBackoff is the pause before the first retry (default 50 ms).
	RetryBackoff time.Duration `yaml:"retry_backoff"`
	// Breaker configures the backend's circuit breaker.
	Breaker BreakerConfig `yaml:"breaker"`
	// Health, if set, turns on active health checks.
	Health *HealthConfig `yaml:"health"`
	// Transport, if set, replaces the transport built from these settings:
	// for tests and benchmarks. Breaker, retries and health checks still apply.
	Transport http.RoundTripper `yaml:"-"`
}

// retriedAlways are the methods retried without being configured.
var retriedAlways = []string{http.MethodGet, http.MethodHead, http.MethodOptions}

// retriedIfConfigured are the methods RetryMethods may add.
var retriedIfConfigured = []string{http.MethodPut, http.MethodDelete}

// WithDefaults returns u with zero values replaced by the defaults and
// out-of-range values clamped (New does not validate).
func (u Upstream) WithDefaults() Upstream {
	if u.Timeout <= 0 {
		u.Timeout = DefaultTimeout
	}
	if u.ConnectTimeout <= 0 {
		u.ConnectTimeout = DefaultConnectTimeout
	}
	if u.MaxConns <= 0 {
		u.MaxConns = DefaultMaxConns
	}
	retries := DefaultRetries
	if u.Retries != nil {
		retries = min(max(*u.Retries, 0), MaxRetries)
	}
	u.Retries = &retries
	if u.RetryBackoff <= 0 {
		u.RetryBackoff = DefaultRetryBackoff
	}
	u.Breaker = u.Breaker.withDefaults()
	if u.Health != nil {
		h := u.Health.withDefaults()
		u.Health = &h
	}
	return u
}

// Validate reports settings out of range; field paths are relative to the
// upstream (ValidateUpstreams prefixes "upstreams.NAME.").
func (u Upstream) Validate() error {
	var errs []error
	if u.URL == nil || (u.URL.Scheme != "http" && u.URL.Scheme != "https") || u.URL.Host == "" {
		errs = append(errs, errors.New("url must be an absolute http(s) URL"))
	}
	if u.Timeout < 0 {
		errs = append(errs, errors.New("timeout must not be negative"))
	}
	if u.ConnectTimeout < 0 {
		errs = append(errs, errors.New("connect_timeout must not be negative"))
	}
	if u.MaxConns < 0 || u.MaxConns > 65535 {
		errs = append(errs, errors.New("max_conns must be between 0 (default 256) and 65535"))
	}
	if u.Retries != nil && (*u.Retries < 0 || *u.Retries > MaxRetries) {
		errs = append(errs, fmt.Errorf("retries must be between 0 and %d", MaxRetries))
	}
	for i, m := range u.RetryMethods {
		m = strings.ToUpper(m)
		if !slices.Contains(retriedIfConfigured, m) && !slices.Contains(retriedAlways, m) {
			errs = append(errs, fmt.Errorf("retry_methods[%d]: %q is never retried (only PUT and DELETE may be added)", i, m))
		}
	}
	if u.RetryBackoff < 0 {
		errs = append(errs, errors.New("retry_backoff must not be negative"))
	}
	if err := u.Breaker.Validate(); err != nil {
		errs = append(errs, prefix("breaker.", err))
	}
	if u.Health != nil {
		if err := u.Health.Validate(); err != nil {
			errs = append(errs, prefix("health.", err))
		}
	}
	return errors.Join(errs...)
}

// ValidateUpstreams validates each upstream, naming the failing fields
// "upstreams.NAME.FIELD".
func ValidateUpstreams(upstreams map[string]Upstream) error {
	names := make([]string, 0, len(upstreams))
	for name := range upstreams {
		names = append(names, name)
	}
	slices.Sort(names)
	var errs []error
	for _, name := range names {
		if err := upstreams[name].Validate(); err != nil {
			errs = append(errs, prefix("upstreams."+name+".", err))
		}
	}
	return errors.Join(errs...)
}

// prefix puts p before each message of a (possibly joined) error.
func prefix(p string, err error) error {
	var lines []string
	for line := range strings.SplitSeq(err.Error(), "\n") {
		lines = append(lines, p+line)
	}
	return errors.New(strings.Join(lines, "\n"))
}

// retriedMethods is the set of methods u retries.
func (u Upstream) retriedMethods() map[string]bool {
	m := map[string]bool{}
	for _, method := range retriedAlways {
		m[method] = true
	}
	for _, method := range u.RetryMethods {
		if method = strings.ToUpper(method); slices.Contains(retriedIfConfigured, method) {
			m[method] = true
		}
	}
	return m
}

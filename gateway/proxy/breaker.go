package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/bankguard/bankguard/alert"
	"github.com/bankguard/bankguard/gateway/stage"
)

// BreakerConfig configures an upstream's circuit breaker (T/PCAC 0008-2020
// 6.1.2: fault isolation; recovery through half-open). A failure is a
// connection error, a timeout or a 5xx answer; a 4xx answer is a success.
type BreakerConfig struct {
	// ConsecutiveFailures opens the breaker after that many failures in a
	// row (default 5).
	ConsecutiveFailures int `yaml:"consecutive_failures"`
	// FailureRatio, if set (0 < r ≤ 1), also opens it when at least that
	// share of the calls completed within Interval failed…
	FailureRatio float64 `yaml:"failure_ratio"`
	// …once MinRequests calls completed in it (default 20).
	MinRequests int `yaml:"min_requests"`
	// Interval is the rolling window the failure ratio is counted over
	// (default 60 s).
	Interval time.Duration `yaml:"interval"`
	// OpenTimeout is how long an open breaker refuses every call before it
	// lets probes through, half-open (default 30 s).
	OpenTimeout time.Duration `yaml:"open_timeout"`
	// HalfOpenRequests is how many probes a half-open breaker lets through;
	// as many successes close it, one failure opens it again (default 1).
	HalfOpenRequests int `yaml:"half_open_requests"`
}

// Breaker defaults.
const (
	DefaultConsecutiveFailures = 5
	DefaultMinRequests         = 20
	DefaultBreakerInterval     = 60 * time.Second
	DefaultOpenTimeout         = 30 * time.Second
	DefaultHalfOpenRequests    = 1
)

func (c BreakerConfig) withDefaults() BreakerConfig {
	if c.ConsecutiveFailures <= 0 {
		c.ConsecutiveFailures = DefaultConsecutiveFailures
	}
	if c.MinRequests <= 0 {
		c.MinRequests = DefaultMinRequests
	}
	if c.Interval <= 0 {
		c.Interval = DefaultBreakerInterval
	}
	if c.OpenTimeout <= 0 {
		c.OpenTimeout = DefaultOpenTimeout
	}
	if c.HalfOpenRequests <= 0 {
		c.HalfOpenRequests = DefaultHalfOpenRequests
	}
	return c
}

// Validate reports settings out of range (zero means the default).
func (c BreakerConfig) Validate() error {
	var errs []error
	if c.ConsecutiveFailures < 0 || c.ConsecutiveFailures > math.MaxInt32 {
		errs = append(errs, errors.New("consecutive_failures must be between 0 (default 5) and 2^31-1"))
	}
	if c.FailureRatio < 0 || c.FailureRatio > 1 || math.IsNaN(c.FailureRatio) {
		errs = append(errs, errors.New("failure_ratio must be between 0 (off) and 1"))
	}
	if c.MinRequests < 0 || c.MinRequests > math.MaxInt32 {
		errs = append(errs, errors.New("min_requests must be between 0 (default 20) and 2^31-1"))
	}
	if c.Interval < 0 {
		errs = append(errs, errors.New("interval must not be negative"))
	}
	if c.OpenTimeout < 0 {
		errs = append(errs, errors.New("open_timeout must not be negative"))
	}
	if c.HalfOpenRequests < 0 || c.HalfOpenRequests > 1000 {
		errs = append(errs, errors.New("half_open_requests must be between 0 (default 1) and 1000"))
	}
	return errors.Join(errs...)
}

// Breaker states as BreakerStates reports them.
const (
	StateClosed   = "closed"
	StateHalfOpen = "half-open"
	StateOpen     = "open"
	// StateDown is an upstream its active health check found unhealthy: it
	// is refused like an open breaker.
	StateDown = "down"
)

// guard is an upstream's transport wrapped in its fault isolation: the
// health checks' down flag, the circuit breaker, the connection slots and
// the retries. One guard per upstream: nothing is shared between backends.
type guard struct {
	name   string
	next   *retrier
	cb     *gobreaker.TwoStepCircuitBreaker[struct{}]
	slots  chan struct{}
	wait   time.Duration // for a slot
	open   time.Duration
	now    func() time.Time
	alerts alert.Raiser
	log    *slog.Logger

	down      atomic.Bool
	downRetry time.Duration // Retry-After while down: the health-check interval

	// openUntil is when the breaker lets probes through (unix nanoseconds).
	openUntil atomic.Int64
	// tripped is the counts that opened the breaker; only touched by the
	// breaker's callbacks, which run under its lock.
	tripped gobreaker.Counts
}

func newGuard(name string, u Upstream, next *retrier, opts Options) *guard {
	g := &guard{
		name: name, next: next,
		slots: make(chan struct{}, u.MaxConns), wait: u.ConnectTimeout, open: u.Breaker.OpenTimeout,
		now: opts.Now, alerts: opts.Alerts, log: opts.Logger,
	}
	if u.Health != nil {
		g.downRetry = u.Health.Interval
	}
	c := u.Breaker
	g.cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:         name,
		MaxRequests:  uint32(c.HalfOpenRequests),
		Interval:     c.Interval,
		BucketPeriod: c.Interval / 10,
		Timeout:      c.OpenTimeout,
		ReadyToTrip: func(n gobreaker.Counts) bool {
			trip := n.ConsecutiveFailures >= uint32(c.ConsecutiveFailures)
			if done := n.TotalSuccesses + n.TotalFailures; c.FailureRatio > 0 && done >= uint32(c.MinRequests) {
				trip = trip || float64(n.TotalFailures) >= c.FailureRatio*float64(done)
			}
			if trip {
				g.tripped = n
			}
			return trip
		},
		IsExcluded:    func(err error) bool { return errors.Is(err, errNotCounted) },
		OnStateChange: g.changed,
	})
	return g
}

// errNotCounted marks outcomes that say nothing about the backend's health:
// the client went away, or no connection slot was free.
var errNotCounted = errors.New("not counted")

// errBackendStatus is the breaker's outcome for a 5xx answer.
var errBackendStatus = errors.New("backend answered 5xx")

// unavailableError refuses a call without reaching the backend: 503
// upstream_unavailable with Retry-After.
type unavailableError struct {
	upstream   string
	why        string
	retryAfter time.Duration
}

func (e *unavailableError) Error() string {
	return "upstream " + e.upstream + " not called: " + e.why
}

// RoundTrip sends req unless the upstream is down, its breaker open or its
// connection slots taken, and reports the outcome to the breaker.
func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if g.down.Load() {
		closeBody(req)
		return nil, &unavailableError{upstream: g.name, why: "health check failing", retryAfter: g.downRetry}
	}
	if g.isOpen() {
		closeBody(req)
		return nil, &unavailableError{upstream: g.name, why: "breaker open", retryAfter: g.remaining()}
	}
	done, err := g.cb.Allow()
	if err != nil {
		closeBody(req)
		if errors.Is(err, gobreaker.ErrTooManyRequests) {
			return nil, &unavailableError{upstream: g.name, why: "breaker half-open, probe in flight", retryAfter: time.Second}
		}
		return nil, &unavailableError{upstream: g.name, why: "breaker open", retryAfter: g.remaining()}
	}
	release, err := g.acquire(req.Context())
	if err != nil {
		done(errNotCounted)
		closeBody(req)
		return nil, err
	}
	start := time.Now()
	resp, err := g.next.RoundTrip(req)
	// Time to the backend's response headers, retries included, for the
	// upstream latency metric.
	stage.FromContext(req.Context()).UpstreamLatency += time.Since(start)
	done(outcome(req, resp, err))
	if err != nil {
		release()
		return nil, err
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		release() // the body must stay an io.ReadWriteCloser
		return resp, nil
	}
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: release}
	return resp, nil
}

// outcome is what the breaker counts: 5xx and transport errors fail, a
// request the client abandoned does not count.
func outcome(req *http.Request, resp *http.Response, err error) error {
	switch {
	case err != nil && errors.Is(req.Context().Err(), context.Canceled):
		return errNotCounted
	case err != nil:
		return err
	case resp.StatusCode >= 500:
		return errBackendStatus
	}
	return nil
}

// acquire takes one of the upstream's connection slots, waiting at most
// the connect timeout: a backend that holds all its connections makes its
// own callers fail fast instead of queueing without bound.
func (g *guard) acquire(ctx context.Context) (release func(), err error) {
	release = func() { <-g.slots }
	select {
	case g.slots <- struct{}{}:
		return release, nil
	default:
	}
	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return release, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
		return nil, &unavailableError{upstream: g.name, why: "all connections busy", retryAfter: time.Second}
	}
}

// isOpen reports whether the breaker opened less than its open timeout ago
// by the injected clock. gobreaker keeps its own time (the wall clock);
// checking ours too lets tests hold a breaker open, and costs one atomic
// load.
func (g *guard) isOpen() bool {
	until := g.openUntil.Load()
	return until != 0 && g.now().UnixNano() < until
}

// remaining is how long the open breaker still refuses calls.
func (g *guard) remaining() time.Duration {
	return time.Unix(0, g.openUntil.Load()).Sub(g.now())
}

// changed alerts the bank to a state change (T/PCAC 0008-2020 6.1.1, 6.5):
// open is critical, closed again is info. It runs under the breaker's lock.
func (g *guard) changed(_ string, from, to gobreaker.State) {
	now := g.now()
	subject := "upstream:" + g.name
	switch to {
	case gobreaker.StateOpen:
		g.openUntil.Store(now.Add(g.open).UnixNano())
		detail := "a probe failed while half-open"
		if from == gobreaker.StateClosed {
			detail = fmt.Sprintf("%d consecutive failures, %d of %d calls failed",
				g.tripped.ConsecutiveFailures, g.tripped.TotalFailures, g.tripped.TotalSuccesses+g.tripped.TotalFailures)
		}
		g.log.Warn("circuit breaker opened", "upstream", g.name, "reason", detail, "open_for", g.open)
		g.alerts.Raise(context.Background(), alert.Alert{
			Rule: "breaker.open", Severity: alert.Critical, Subject: subject, Time: now,
			Summary: "backend " + g.name + " is failing: calls to it are refused for " + g.open.String(),
			Detail:  detail,
		})
	case gobreaker.StateHalfOpen:
		g.log.Info("circuit breaker half-open", "upstream", g.name)
	case gobreaker.StateClosed:
		g.openUntil.Store(0)
		g.log.Info("circuit breaker closed", "upstream", g.name)
		g.alerts.Raise(context.Background(), alert.Alert{
			Rule: "breaker.closed", Severity: alert.Info, Subject: subject, Time: now,
			Summary: "backend " + g.name + " recovered: calls to it pass again",
		})
	}
}

// state is the breaker's state, or StateDown.
func (g *guard) state() string {
	if g.down.Load() {
		return StateDown
	}
	st := g.cb.State()
	switch {
	case st == gobreaker.StateOpen, g.isOpen():
		return StateOpen
	case st == gobreaker.StateHalfOpen:
		return StateHalfOpen
	}
	return StateClosed
}

// BreakerStates reports each upstream's state for metrics: StateClosed,
// StateHalfOpen, StateOpen, or StateDown when its active health check
// failed (T/PCAC 0008-2020 6.1.1).
func (p *Proxy) BreakerStates() map[string]string {
	out := make(map[string]string, len(p.upstreams))
	for name, u := range p.upstreams {
		out[name] = u.guard.state()
	}
	return out
}

// retryAfter is the Retry-After value of d: whole seconds, rounded up, at least 1.
func retryAfter(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	return strconv.FormatInt(max(s, 1), 10)
}

// releasingBody frees the connection slot when the response body is closed.
type releasingBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// Package proxy forwards requests to the bank's backends with
// httputil.ReverseProxy (Rewrite, ModifyResponse, ErrorHandler — no fork).
// Backend failures become problem+json; backend headers that reveal software
// and backend error bodies never reach the application (T/PCAC 0008-2020 3.1-7).
//
// Each backend is isolated (T/PCAC 0008-2020 6.1.2): its own connection
// pool and slots, connect and response timeouts, a circuit breaker
// (github.com/sony/gobreaker/v2) that refuses calls with 503 while open and
// recovers through half-open, optional active health checks, and bounded
// retries of idempotent requests only.
package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bankguard/bankguard/alert"
	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/problem"
)

// Internal request headers the gateway sets for backends. Any the client
// sends are removed first, so a backend can trust them.
const (
	HeaderAppID = "Bankguard-App-Id"
	HeaderAPIID = "Bankguard-Api-Id"
	// HeaderUser is the bank's customer id a user-bound call is made for.
	HeaderUser = "Bankguard-User"
	// HeaderConsent is the id of the consent the call runs under.
	HeaderConsent = "Bankguard-Consent"
	// HeaderAccounts lists the account ids the user shared, comma-separated;
	// present and empty when the consent shares none.
	HeaderAccounts = "Bankguard-Accounts"
)

const internalPrefix = "Bankguard-"

// Response headers that disclose backend software or internals, and those
// the edge sets itself, which a backend's copy would duplicate (canonical keys).
var revealing = map[string]bool{
	"Server": true, "X-Powered-By": true, "X-Aspnet-Version": true, "X-Aspnetmvc-Version": true,
	"X-Runtime": true, "X-Generator": true, "X-Backend-Server": true, "X-Served-By": true,
	"Via": true, "Set-Cookie": true, "X-Request-Id": true,
	"X-Content-Type-Options": true, "Strict-Transport-Security": true,
}

// Backend 4xx statuses passed on to the application (with our body).
var passedStatuses = []int{400, 403, 404, 409, 410, 412, 422, 429}

// Proxy is the final handler of the pipeline for proxied APIs. Each
// upstream has its own transport, connection slots, circuit breaker and
// health check: one failing backend never slows the others (T/PCAC
// 0008-2020 6.1.2).
type Proxy struct {
	upstreams map[string]*upstream
}

type upstream struct {
	rp      *httputil.ReverseProxy
	guard   *guard
	checker *checker
}

// Options are what the proxy needs besides its upstreams.
type Options struct {
	// Logger receives breaker and health-check state changes; nil discards.
	Logger *slog.Logger
	// Alerts receives breaker.open (critical), breaker.closed (info),
	// health.down (critical) and health.up (info), subject "upstream:NAME";
	// nil discards them.
	Alerts alert.Raiser
	// Now is the clock of alerts, Retry-After and the breaker's open
	// timeout (nil means time.Now). gobreaker also times the open state on
	// the wall clock, which has no injection point: a breaker turns
	// half-open once both clocks say the open timeout passed.
	Now func() time.Time
}

// NewWithOptions validates the upstreams and builds a proxy for them. Call
// RunHealthChecks to start the active health checks.
func NewWithOptions(upstreams map[string]Upstream, opts Options) (*Proxy, error) {
	if err := ValidateUpstreams(upstreams); err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	return build(upstreams, opts), nil
}

// New builds a proxy for the named upstreams without validating them: zero
// and out-of-range settings take their defaults. Breaker state changes are
// logged, not alerted; prefer NewWithOptions.
func New(upstreams map[string]Upstream, logger *slog.Logger) *Proxy {
	return build(upstreams, Options{Logger: logger})
}

func build(upstreams map[string]Upstream, opts Options) *Proxy {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Alerts == nil {
		opts.Alerts = alert.Discard{}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	errLog := slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn)
	p := &Proxy{upstreams: map[string]*upstream{}}
	for name, u := range upstreams {
		u = u.WithDefaults()
		target := u.URL
		transport, probes := u.Transport, u.Transport
		if transport == nil {
			transport, probes = newTransport(u, u.MaxConns), newTransport(u, 2)
		}
		next := &retrier{next: transport, retries: *u.Retries, methods: u.retriedMethods(), backoff: u.RetryBackoff}
		g := newGuard(name, u, next, opts)
		up := &upstream{guard: g, rp: &httputil.ReverseProxy{
			Rewrite:        func(pr *httputil.ProxyRequest) { rewrite(pr, target) },
			Transport:      g,
			ModifyResponse: modifyResponse,
			ErrorHandler:   errorHandler,
			ErrorLog:       errLog,
			BufferPool:     Buffers,
		}}
		if u.Health != nil && target != nil {
			up.checker = newChecker(u, probes, g)
		}
		p.upstreams[name] = up
	}
	return p
}

// NewTransport returns a transport for backend connections with the
// default settings and the given response-header timeout (0: DefaultTimeout).
func NewTransport(timeout time.Duration) *http.Transport {
	u := Upstream{Timeout: timeout}.WithDefaults()
	return newTransport(u, u.MaxConns)
}

// newTransport returns a transport for u's connections: bounded connect,
// TLS-handshake and response-header timeouts, at most maxConns connections,
// keep-alive, no compression (the gateway signs and inspects bodies as the
// backend sent them).
func newTransport(u Upstream, maxConns int) *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: u.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   u.ConnectTimeout,
		MaxConnsPerHost:       maxConns,
		MaxIdleConns:          maxConns,
		MaxIdleConnsPerHost:   maxConns,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: u.Timeout,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
	}
}

// Buffers are the proxy's 32 KiB copy buffers, reused across requests.
var Buffers httputil.BufferPool = &bufferPool{pool: sync.Pool{New: func() any { return new([32 << 10]byte) }}}

type bufferPool struct{ pool sync.Pool }

func (b *bufferPool) Get() []byte  { return b.pool.Get().(*[32 << 10]byte)[:] }
func (b *bufferPool) Put(p []byte) { b.pool.Put((*[32 << 10]byte)(p)) }

// Has reports whether upstream name is configured.
func (p *Proxy) Has(name string) bool { return p.upstreams[name] != nil }

// ServeHTTP proxies the request to upstream name. While the upstream's
// breaker is open or its health check fails, it returns 503
// upstream_unavailable with Retry-After and the backend is not called.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request, name string) error {
	u := p.upstreams[name]
	if u == nil {
		return problem.Wrap(fmt.Errorf("unknown upstream %q", name), problem.Internal, "the request could not be processed")
	}
	ex := stage.FromContext(r.Context())
	u.rp.ServeHTTP(w, r)
	err := ex.UpstreamErr
	ex.UpstreamErr = nil
	return err
}

func rewrite(pr *httputil.ProxyRequest, target *url.URL) {
	pr.SetURL(target)
	pr.SetXForwarded()
	for k := range pr.Out.Header {
		if strings.HasPrefix(k, internalPrefix) {
			delete(pr.Out.Header, k)
		}
	}
	pr.Out.Header.Del("Accept-Encoding")
	ex := stage.FromContext(pr.In.Context())
	pr.Out.Header.Set("X-Request-Id", ex.ID)
	if ex.App != nil {
		pr.Out.Header.Set(HeaderAppID, ex.App.ID)
	}
	if ex.API != nil {
		pr.Out.Header.Set(HeaderAPIID, ex.API.ID)
	}
	if ex.User != "" {
		pr.Out.Header.Set(HeaderUser, ex.User)
		pr.Out.Header.Set(HeaderConsent, ex.Consent)
		pr.Out.Header.Set(HeaderAccounts, strings.Join(ex.Accounts, ","))
	}
}

// upstreamRefusal is a backend 4xx passed on with our own body.
type upstreamRefusal struct {
	status int
	code   problem.Code
}

func (e *upstreamRefusal) Error() string {
	return fmt.Sprintf("upstream refused the request: %d %s", e.status, e.code)
}

// upstreamFailure is a backend status the application must not see.
type upstreamFailure struct{ status int }

func (e *upstreamFailure) Error() string { return fmt.Sprintf("upstream answered %d", e.status) }

func modifyResponse(resp *http.Response) error {
	for k := range resp.Header { // keys from the transport are canonical
		if revealing[k] || strings.HasPrefix(k, internalPrefix) {
			delete(resp.Header, k)
		}
	}
	if resp.StatusCode < 400 {
		return nil
	}
	defer resp.Body.Close()
	if !slices.Contains(passedStatuses, resp.StatusCode) {
		return &upstreamFailure{status: resp.StatusCode}
	}
	return &upstreamRefusal{status: resp.StatusCode, code: refusalCode(resp)}
}

// refusalCode keeps the backend's error code if it sent a problem+json one
// that looks like a code; the rest of its body is dropped.
func refusalCode(resp *http.Response) problem.Code {
	fallback := map[int]problem.Code{400: problem.RequestInvalid, 403: problem.ResourceForbidden,
		404: problem.NotFound, 410: problem.ServiceTerminated, 429: problem.RateLimited}[resp.StatusCode]
	if fallback == "" {
		fallback = "request_refused"
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt != "application/problem+json" {
		return fallback
	}
	var doc struct {
		Code string `json:"code"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<10)).Decode(&doc); err != nil || !problem.ValidCode(doc.Code) {
		return fallback
	}
	return problem.Code(doc.Code)
}

// errorHandler classifies a backend failure and leaves it in the exchange
// for ServeHTTP to return; it writes nothing.
func errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	stage.FromContext(r.Context()).UpstreamErr = classify(r, err)
}

func classify(r *http.Request, err error) error {
	var refusal *upstreamRefusal
	var failure *upstreamFailure
	var unavailable *unavailableError
	var netErr net.Error
	switch {
	case errors.As(err, &unavailable):
		return problem.Wrap(err, problem.UpstreamUnavailable, "the bank's service is temporarily unavailable; retry later").
			WithStatus(http.StatusServiceUnavailable).WithHeader("Retry-After", retryAfter(unavailable.retryAfter))
	case errors.As(err, &refusal):
		return &problem.Error{Code: refusal.code, Status: refusal.status,
			Detail: "the bank declined the request (" + string(refusal.code) + ")", Err: err}
	case errors.As(err, &failure):
		return problem.Wrap(err, problem.UpstreamUnavailable, "the bank's service failed to answer; retry later")
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		return ErrClientGone
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return problem.Wrap(err, problem.UpstreamUnavailable, "the bank's service did not answer in time").
			WithStatus(http.StatusGatewayTimeout)
	}
	return problem.Wrap(err, problem.UpstreamUnavailable, "the bank's service is unavailable; retry later")
}

// ErrClientGone reports that the client went away before the backend answered.
var ErrClientGone = errors.New("proxy: client closed the request")

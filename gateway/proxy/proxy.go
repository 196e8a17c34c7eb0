// Package proxy forwards requests to the bank's backends with
// httputil.ReverseProxy (Rewrite, ModifyResponse, ErrorHandler — no fork).
// Backend failures become problem+json; backend headers that reveal software
// and backend error bodies never reach the application (T/PCAC 0008-2020 3.1-7).
package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
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

	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/problem"
)

// Upstream is a backend.
type Upstream struct {
	// URL is the backend's base URL; the request path is appended to its path.
	URL *url.URL
	// Timeout is how long the backend has to start answering (default 30 s).
	Timeout time.Duration
	// Transport, if set, replaces NewTransport(Timeout): for tests and benchmarks.
	Transport http.RoundTripper
}

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

// DefaultTimeout is how long a backend has to start answering, unless configured.
const DefaultTimeout = 30 * time.Second

// Proxy is the final handler of the pipeline for proxied APIs.
type Proxy struct {
	proxies map[string]*httputil.ReverseProxy
}

// New builds a proxy for the named upstreams. Each upstream gets its own
// transport, so that its timeout and connection pool are its own: one slow
// backend does not hold connections another needs.
func New(upstreams map[string]Upstream, logger *slog.Logger) *Proxy {
	p := &Proxy{proxies: map[string]*httputil.ReverseProxy{}}
	errLog := log.New(io.Discard, "", 0)
	if logger != nil {
		errLog = slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	}
	for name, u := range upstreams {
		target := u.URL
		transport := u.Transport
		if transport == nil {
			transport = NewTransport(u.Timeout)
		}
		p.proxies[name] = &httputil.ReverseProxy{
			Rewrite:        func(pr *httputil.ProxyRequest) { rewrite(pr, target) },
			Transport:      transport,
			ModifyResponse: modifyResponse,
			ErrorHandler:   errorHandler,
			ErrorLog:       errLog,
			BufferPool:     Buffers,
		}
	}
	return p
}

// NewTransport returns a transport for backend connections: bounded dial and
// response-header timeouts (timeout, or DefaultTimeout), keep-alive, no
// compression (the gateway signs and inspects bodies as the backend sent them).
func NewTransport(timeout time.Duration) *http.Transport {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: timeout,
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
func (p *Proxy) Has(name string) bool { return p.proxies[name] != nil }

// ServeHTTP proxies the request to upstream name.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request, name string) error {
	rp := p.proxies[name]
	if rp == nil {
		return problem.Wrap(fmt.Errorf("unknown upstream %q", name), problem.Internal, "the request could not be processed")
	}
	ex := stage.FromContext(r.Context())
	rp.ServeHTTP(w, r)
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
	var netErr net.Error
	switch {
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

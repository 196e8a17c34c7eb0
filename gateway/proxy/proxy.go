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
	"time"

	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/problem"
)

// Upstream is a backend.
type Upstream struct {
	// URL is the backend's base URL; the request path is appended to its path.
	URL *url.URL
	// Timeout bounds the whole exchange with the backend (default 30 s).
	Timeout time.Duration
}

// Internal request headers the gateway sets for backends. Any the client
// sends are removed first, so a backend can trust them.
const (
	HeaderAppID = "Bankguard-App-Id"
	HeaderAPIID = "Bankguard-Api-Id"
	HeaderUser  = "Bankguard-User"
)

const internalPrefix = "Bankguard-"

// Response headers that disclose backend software or internals.
var revealing = []string{
	"Server", "X-Powered-By", "X-Aspnet-Version", "X-Aspnetmvc-Version", "X-Runtime",
	"X-Generator", "X-Backend-Server", "X-Served-By", "Via", "Set-Cookie", "X-Request-Id",
}

// Backend 4xx statuses passed on to the application (with our body).
var passedStatuses = []int{400, 403, 404, 409, 410, 412, 422, 429}

// Proxy is the final handler of the pipeline for proxied APIs.
type Proxy struct {
	proxies  map[string]*httputil.ReverseProxy
	timeouts map[string]time.Duration
}

// New builds a proxy for the named upstreams sharing transport.
func New(upstreams map[string]Upstream, transport http.RoundTripper, logger *slog.Logger) *Proxy {
	p := &Proxy{proxies: map[string]*httputil.ReverseProxy{}, timeouts: map[string]time.Duration{}}
	errLog := log.New(io.Discard, "", 0)
	if logger != nil {
		errLog = slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	}
	for name, u := range upstreams {
		target := u.URL
		p.proxies[name] = &httputil.ReverseProxy{
			Rewrite:        func(pr *httputil.ProxyRequest) { rewrite(pr, target) },
			Transport:      transport,
			ModifyResponse: modifyResponse,
			ErrorHandler:   errorHandler,
			ErrorLog:       errLog,
		}
		p.timeouts[name] = u.Timeout
		if p.timeouts[name] <= 0 {
			p.timeouts[name] = 30 * time.Second
		}
	}
	return p
}

// NewTransport returns the transport for backend connections: bounded dial
// and header timeouts, keep-alive, no compression (the gateway signs and
// inspects bodies as the backend sent them).
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
	}
}

// Has reports whether upstream name is configured.
func (p *Proxy) Has(name string) bool { return p.proxies[name] != nil }

type slotKey struct{}

// slot carries the error ErrorHandler saw back to ServeHTTP.
type slot struct{ err error }

// ServeHTTP proxies the request to upstream name.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request, name string) error {
	rp := p.proxies[name]
	if rp == nil {
		return problem.Wrap(fmt.Errorf("unknown upstream %q", name), problem.Internal, "the request could not be processed")
	}
	ctx, cancel := context.WithTimeout(r.Context(), p.timeouts[name])
	defer cancel()
	s := &slot{}
	rp.ServeHTTP(w, r.WithContext(context.WithValue(ctx, slotKey{}, s)))
	return s.err
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
	for _, h := range revealing {
		resp.Header.Del(h)
	}
	for k := range resp.Header {
		if strings.HasPrefix(k, internalPrefix) {
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

func errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	s, _ := r.Context().Value(slotKey{}).(*slot)
	if s == nil {
		return
	}
	var refusal *upstreamRefusal
	var failure *upstreamFailure
	switch {
	case errors.As(err, &refusal):
		s.err = (&problem.Error{Code: refusal.code, Status: refusal.status,
			Detail: "the bank declined the request (" + string(refusal.code) + ")", Err: err})
	case errors.As(err, &failure):
		s.err = problem.Wrap(err, problem.UpstreamUnavailable, "the bank's service failed to answer; retry later")
	case errors.Is(err, context.DeadlineExceeded):
		s.err = problem.Wrap(err, problem.UpstreamUnavailable, "the bank's service did not answer in time").
			WithStatus(http.StatusGatewayTimeout)
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		s.err = ErrClientGone
	default:
		s.err = problem.Wrap(err, problem.UpstreamUnavailable, "the bank's service is unavailable; retry later")
	}
}

// ErrClientGone reports that the client went away before the backend answered.
var ErrClientGone = errors.New("proxy: client closed the request")

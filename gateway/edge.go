package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/bankguard/bankguard/gateway/bankkeys"
	"github.com/bankguard/bankguard/gateway/proxy"
	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/problem"
)

// HealthPath answers 200 once the gateway serves.
const HealthPath = "/healthz"

var (
	nosniff = []string{"nosniff"}
	hsts    = []string{"max-age=31536000"}
)

// ServeHTTP is the edge: every request gets a transaction serial number in
// X-Request-Id, errors are rendered once as problem+json, panics are
// contained, and the outcome is logged.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := g.current.Load()
	ex := &stage.Exchange{ID: NewRequestID(g.opts.Now()), Received: time.Now(), ClientIP: clientIP(r)}
	h := w.Header() // canonical keys, set directly: this runs on every request
	h["X-Request-Id"] = []string{ex.ID}
	h["X-Content-Type-Options"] = nosniff
	if r.TLS != nil {
		h["Strict-Transport-Security"] = hsts
	}
	rec := &recorder{ResponseWriter: w}
	r = r.WithContext(stage.WithExchange(r.Context(), ex))

	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			g.log.Error("panic serving request", "txn_id", ex.ID, "panic", p, "stack", string(debug.Stack()))
			err := problem.Wrap(errors.New("panic"), problem.Internal, "the request could not be processed")
			if !rec.wroteHeader {
				problem.Write(rec, ex.ID, err)
			}
			g.logOutcome(r.Context(), ex, rec, err)
		}
	}()

	var err error
	switch path := r.URL.Path; {
	case path != HealthPath && path != bankkeys.Path:
		err = s.pipeline.ServeHTTP(rec, r)
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		err = problem.New(problem.MethodNotAllowed, "this path accepts GET").WithHeader("Allow", "GET, HEAD")
	case path == HealthPath:
		rec.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = rec.Write([]byte("ok\n"))
	default:
		g.opts.BankKeys.ServeHTTP(rec, r)
	}
	if err != nil && !errors.Is(err, proxy.ErrClientGone) && !rec.wroteHeader {
		problem.Write(rec, ex.ID, err)
	}
	if err == nil {
		err = ex.Err
	}
	g.logOutcome(r.Context(), ex, rec, err)
}

func (g *Gateway) logOutcome(ctx context.Context, ex *stage.Exchange, rec *recorder, err error) {
	if err == nil && !g.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	status := rec.status
	if errors.Is(err, proxy.ErrClientGone) {
		status = 499
	}
	attrs := []slog.Attr{
		slog.String("txn_id", ex.ID),
		slog.Int("status", status),
		slog.Int64("latency_us", time.Since(ex.Received).Microseconds()),
		slog.String("client_ip", ex.ClientIP),
	}
	if ex.API != nil {
		attrs = append(attrs, slog.String("api_id", ex.API.ID))
	}
	if ex.App != nil {
		attrs = append(attrs, slog.String("app_id", ex.App.ID))
	}
	if err == nil {
		g.log.LogAttrs(ctx, slog.LevelDebug, "request served", attrs...)
		return
	}
	pe := problem.From(err)
	attrs = append(attrs, slog.String("code", string(pe.Code)), slog.String("detail", pe.Detail))
	if pe.HTTPStatus() >= 500 && pe.Err != nil {
		// Internal causes of 5xx carry no request data; 4xx causes may echo
		// what the client sent and are not logged.
		attrs = append(attrs, slog.String("cause", pe.Err.Error()))
		g.log.LogAttrs(ctx, slog.LevelWarn, "request failed", attrs...)
		return
	}
	g.log.LogAttrs(ctx, slog.LevelInfo, "request refused", attrs...)
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// recorder remembers the status written.
type recorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (r *recorder) WriteHeader(status int) {
	if !r.wroteHeader && status >= 200 {
		r.status, r.wroteHeader = status, true
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(p []byte) (int, error) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = http.StatusOK, true
	}
	return r.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection (flushes, deadlines).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

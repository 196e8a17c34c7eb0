package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"time"

	"github.com/bankguard/bankguard/audit"
	"github.com/bankguard/bankguard/gateway/bankkeys"
	"github.com/bankguard/bankguard/gateway/blacklist"
	"github.com/bankguard/bankguard/gateway/mask"
	"github.com/bankguard/bankguard/gateway/proxy"
	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/metrics"
	"github.com/bankguard/bankguard/oauth"
	"github.com/bankguard/bankguard/pii"
	"github.com/bankguard/bankguard/problem"
)

// System paths, answered by the edge itself and not audited.
const (
	// HealthPath answers 200 once the gateway serves.
	HealthPath = "/healthz"
	// AuditKeysPath publishes the audit public keys that sign checkpoints.
	AuditKeysPath = "/.well-known/bankguard/audit-keys"
	// EncryptionKeysPath publishes the bank's encryption public keys.
	EncryptionKeysPath = "/.well-known/bankguard/encryption-keys"
)

var (
	nosniff = []string{"nosniff"}
	hsts    = []string{"max-age=31536000"}
)

// errAudit refuses a response whose audit record could not be stored.
var errAudit = problem.New(problem.Internal, "the request could not be recorded; retry later").WithStatus(http.StatusServiceUnavailable)

// ServeHTTP is the edge: every request gets a transaction serial number in
// X-Request-Id, errors are rendered once as problem+json, panics are
// contained, the audit record is committed before the response leaves, and
// the outcome is logged.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := g.current.Load()
	ex := &stage.Exchange{ID: NewRequestID(g.opts.Now()), Received: time.Now(), ClientIP: clientIP(r)}
	defer g.opts.Metrics.InFlight()()
	h := w.Header() // canonical keys, set directly: this runs on every request
	h["X-Request-Id"] = []string{ex.ID}
	h["X-Content-Type-Options"] = nosniff
	if r.TLS != nil {
		h["Strict-Transport-Security"] = hsts
	}
	r = r.WithContext(stage.WithExchange(r.Context(), ex))
	rec := &recorder{ResponseWriter: w, g: g, s: s, r: r, ex: ex}

	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			g.log.Error("panic serving request", "txn_id", ex.ID, "panic", p, "stack", string(debug.Stack()))
			ex.Err = problem.Wrap(errors.New("panic"), problem.Internal, "the request could not be processed")
			g.finish(rec)
		}
	}()

	switch path := r.URL.Path; {
	case g.opts.Pages != nil && slices.Contains(g.opts.PageRoutes, path):
		// The bank's own pages for its users: they keep their own history
		// of sign-ins and consents rather than API audit records.
		rec.system = true
		g.opts.Pages.ServeHTTP(rec, r)
	case path != HealthPath && path != bankkeys.Path && path != AuditKeysPath && path != EncryptionKeysPath:
		if err := s.pipeline.ServeHTTP(rec, r); err != nil {
			ex.Err = err
		}
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		ex.Err = problem.New(problem.MethodNotAllowed, "this path accepts GET").WithHeader("Allow", "GET, HEAD")
	default:
		rec.system = true
		switch path {
		case HealthPath:
			rec.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = rec.Write([]byte("ok\n"))
		case bankkeys.Path:
			g.opts.BankKeys.ServeHTTP(rec, r)
		case EncryptionKeysPath:
			g.opts.EncryptionKeys.ServeHTTP(rec, r)
		default:
			g.opts.AuditKeys.ServeHTTP(rec, r)
		}
	}
	g.finish(rec)
}

// finish renders an error not yet written, makes sure the request has its
// audit record, and logs the outcome.
func (g *Gateway) finish(rec *recorder) {
	ex := rec.ex
	if ex.Err != nil && !errors.Is(ex.Err, proxy.ErrClientGone) && !rec.wroteHeader {
		problem.Write(rec, ex.ID, ex.Err)
	}
	if !rec.audited && !rec.system { // nothing was written: the client went away
		rec.audited = true
		rec.status = 499
		if err := g.audit(rec.r.Context(), rec.s, rec.r, ex, 499); err != nil {
			g.log.Error("audit record lost for a request the client abandoned", "txn_id", ex.ID, "err", err)
		}
	}
	g.logOutcome(rec.r.Context(), ex, rec)
	if rec.system {
		return
	}
	if bl := g.opts.Blacklist; bl != nil && bl.Detector != nil {
		bl.Detector.Observe(rec.r.Context(), blacklist.OutcomeOf(ex, g.opts.Now()))
	}
	o := metrics.Outcome{Status: rec.status, Latency: time.Since(ex.Received), Upstream: ex.UpstreamLatency}
	if ex.API != nil {
		o.APIID = ex.API.ID
	}
	if ex.App != nil {
		o.AppID = ex.App.ID // the verified App_ID only, never a claimed keyid
	}
	if ex.Err != nil {
		o.Code = string(problem.From(ex.Err).Code)
		o.Backend = proxy.IsRefusal(ex.Err)
	}
	g.opts.Metrics.Observe(o)
}

// audit commits the request's record; it returns when the record is durable.
func (g *Gateway) audit(ctx context.Context, s *snapshot, r *http.Request, ex *stage.Exchange, status int) error {
	if g.opts.Audit == nil {
		return nil
	}
	rec := audit.Record{
		Log:       audit.LogInterface,
		TxnID:     ex.ID,
		Time:      ex.Received,
		Method:    r.Method,
		LatencyMS: time.Since(ex.Received).Milliseconds(),
		Result:    audit.ResultSuccess,
		Status:    status,
		ClientIP:  ex.ClientIP,
	}
	if ex.API != nil {
		rec.Log, rec.APIID = ex.API.Class(), ex.API.ID
		if sel := s.auditBodies[ex.API.ID]; sel != nil && len(ex.Body) > 0 && g.opts.PII != nil {
			// Only the allow-listed fields, masked; a body that cannot be
			// reduced is not kept at all.
			if body, err := mask.AuditBody(g.opts.PII, ex.Body, sel); err == nil && string(body) != "{}" {
				rec.Body = body
			}
		}
	}
	if ex.App != nil {
		rec.AppID = ex.App.ID
	}
	if ex.User != "" && g.opts.PII != nil {
		// The customer number, kept only as a keyed pseudonym (like an
		// account number), so that records of one user can be found
		// without the log naming anyone (T/PCAC 0008-2020 9.2.1).
		rec.User = g.opts.PII.Pseudonym(pii.Account, ex.User)
	}
	rec.KeyID = ex.KeyID
	if status >= 400 {
		rec.Result = audit.ResultFailure
		switch {
		case status == 499:
			rec.ErrorCode = "client_closed_request"
		case ex.Err != nil:
			rec.ErrorCode = string(problem.From(ex.Err).Code)
		}
	}
	// The record outlives the client: it is written even if the client has gone.
	return g.opts.Audit.Append(context.WithoutCancel(ctx), rec)
}

func (g *Gateway) logOutcome(ctx context.Context, ex *stage.Exchange, rec *recorder) {
	err := ex.Err
	if err == nil && !g.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("txn_id", ex.ID),
		slog.Int("status", rec.status),
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

// recorder is the edge's ResponseWriter. Before the first byte of the
// response leaves, it commits the request's audit record; if that fails, the
// response is replaced by a 503 and the rest of it discarded.
type recorder struct {
	http.ResponseWriter
	g  *Gateway
	s  *snapshot
	r  *http.Request
	ex *stage.Exchange

	status      int
	wroteHeader bool
	audited     bool
	system      bool // a system path: not audited
	discard     bool // the audit failed: nothing more is sent
}

// errDiscarded is returned to writers after a failed audit replaced the response.
var errDiscarded = errors.New("gateway: response discarded: its audit record could not be stored")

func (r *recorder) WriteHeader(status int) {
	if r.wroteHeader || status < 200 {
		if status >= 100 && status < 200 && !r.wroteHeader {
			r.ResponseWriter.WriteHeader(status) // informational: not the response
		}
		return
	}
	r.status, r.wroteHeader = status, true
	if !r.system && !r.audited {
		r.audited = true
		if err := r.g.audit(r.r.Context(), r.s, r.r, r.ex, status); err != nil {
			r.g.log.Error("audit record could not be stored; response refused", "txn_id", r.ex.ID, "err", err)
			r.refuse()
			return
		}
		r.g.userHistory(r.r.Context(), r.ex, status)
	}
	r.ResponseWriter.WriteHeader(status)
}

// userHistory tells the user's history (the self-service page) of a fund
// transaction made for them (T/PCAC 0008-2020 13.2-3, the bank's side).
func (g *Gateway) userHistory(ctx context.Context, ex *stage.Exchange, status int) {
	if g.opts.UserEvents == nil || ex.User == "" || ex.API == nil || !ex.API.Protection.Fund ||
		status != http.StatusOK && status != http.StatusCreated || ex.Err != nil { // a held transfer (202) was not made
		return
	}
	app := ""
	if ex.App != nil {
		app = ex.App.ID
	}
	g.opts.UserEvents.AddEvent(context.WithoutCancel(ctx), ex.User, oauth.EventFundTransaction,
		fmt.Sprintf("%s by %s (transaction %s, consent %s)", ex.API.Name, app, ex.ID, ex.Consent))
}

// refuse sends 503 instead of the response whose record was not stored.
func (r *recorder) refuse() {
	h := r.ResponseWriter.Header()
	clear(h)
	h["X-Request-Id"] = []string{r.ex.ID}
	r.status, r.discard = http.StatusServiceUnavailable, true
	r.ex.Err = errAudit
	problem.Write(r.ResponseWriter, r.ex.ID, errAudit)
}

func (r *recorder) Write(p []byte) (int, error) {
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	if r.discard {
		return 0, errDiscarded
	}
	return r.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection (flushes, deadlines).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Package stage is the contract between the gateway's pipeline stages and the
// per-request state they share.
//
// A stage is a Middleware: it does its check and calls next, or refuses by
// returning an error (normally a *problem.Error) without calling next. Stages
// never write error bodies; the edge renders the returned error once.
package stage

import (
	"context"
	"net/http"
	"time"

	"github.com/bankguard/bankguard/registry"
)

// Handler is an http.Handler that can fail.
type Handler interface {
	ServeHTTP(w http.ResponseWriter, r *http.Request) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// ServeHTTP calls f.
func (f HandlerFunc) ServeHTTP(w http.ResponseWriter, r *http.Request) error { return f(w, r) }

// Middleware is one stage of the pipeline.
type Middleware interface {
	ServeHTTP(w http.ResponseWriter, r *http.Request, next Handler) error
}

// Chain builds a Handler that runs the stages in order and then final.
func Chain(final Handler, stages ...Middleware) Handler {
	h := final
	for i := len(stages) - 1; i >= 0; i-- {
		h = link{stage: stages[i], next: h}
	}
	return h
}

type link struct {
	stage Middleware
	next  Handler
}

func (l link) ServeHTTP(w http.ResponseWriter, r *http.Request) error {
	return l.stage.ServeHTTP(w, r, l.next)
}

// Exchange is what the stages learn about one request. The edge creates it;
// each stage fills in its part. It is not safe for concurrent use, like the
// request it belongs to.
type Exchange struct {
	// ID is the transaction serial number (交易流水号), sent as X-Request-Id.
	ID       string
	Received time.Time
	ClientIP string

	// API is the matched API (set by route) and PathParams its path variables.
	API        *registry.API
	PathParams map[string]string

	// Body is the request body, read once by the body stage.
	Body []byte

	// KeyID is the keyid the request's signature claims, verified or not.
	KeyID string
	// App and Credential are the application and key the signature verified
	// with (set by signature, also when the request is then refused, e.g.
	// for its level). SignatureLabel is the label verified.
	App            *registry.App
	Credential     *registry.Credential
	SignatureLabel string

	// User, Consent and Accounts are what a user-bound call's access token
	// grants (set by usertoken): the bank's customer id, the consent the
	// call runs under and the accounts it shares. The proxy passes them to
	// the backend; User is empty on app-level calls.
	User     string
	Consent  string
	Accounts []string

	// Err is the error the response renders, whoever rendered it (respsign
	// renders its own so that it is signed), for the audit record and the log.
	Err error
	// UpstreamErr is where the proxy's error handler leaves a backend failure.
	UpstreamErr error
	// UpstreamLatency is how long the backend took to answer with headers
	// (all attempts), zero when it was not called.
	UpstreamLatency time.Duration
}

type exchangeKey struct{}

// WithExchange returns a context carrying ex.
func WithExchange(ctx context.Context, ex *Exchange) context.Context {
	return context.WithValue(ctx, exchangeKey{}, ex)
}

// FromContext returns the request's Exchange. Within the pipeline there always
// is one; outside it, FromContext returns an empty one so callers need no nil checks.
func FromContext(ctx context.Context) *Exchange {
	if ex, ok := ctx.Value(exchangeKey{}).(*Exchange); ok {
		return ex
	}
	return &Exchange{}
}

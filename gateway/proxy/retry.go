package proxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"syscall"
	"time"
)

// maxReplayBody is the largest request body kept to be sent again; a
// larger one is sent once.
const maxReplayBody = 1 << 20

// retrier retries idempotent requests after a connection error or a
// timeout that came before any byte of a response (T/PCAC 0008-2020 6.1.2:
// fault recovery). A request whose response started is never sent again,
// and neither is a POST or PATCH: a fund transfer must never be made twice.
type retrier struct {
	next    http.RoundTripper
	retries int
	methods map[string]bool
	backoff time.Duration
}

// RoundTrip sends req, and again at most retries times if that is safe.
func (t *retrier) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.retries == 0 || !t.methods[req.Method] {
		return t.next.RoundTrip(req)
	}
	body, replayable, err := replayBody(req)
	if err != nil {
		return nil, err
	}
	ctx := req.Context()
	for attempt := 0; ; attempt++ {
		var started atomic.Bool
		trace := &httptrace.ClientTrace{GotFirstResponseByte: func() { started.Store(true) }}
		try := req.WithContext(httptrace.WithClientTrace(ctx, trace))
		if body != nil {
			try.Body = body()
		}
		resp, err := t.next.RoundTrip(try)
		if err == nil || !replayable || attempt >= t.retries || started.Load() || !retryable(ctx, err) {
			return resp, err
		}
		if !sleep(ctx, jitter(t.backoff<<attempt)) {
			return nil, err
		}
	}
}

// replayBody returns a function that gives the request body afresh for
// each attempt (nil if the request has none), and whether the request can
// be sent more than once.
func replayBody(req *http.Request) (body func() io.ReadCloser, replayable bool, err error) {
	switch {
	case req.Body == nil || req.Body == http.NoBody:
		return nil, true, nil
	case req.GetBody != nil:
		req.Body.Close()
		return func() io.ReadCloser {
			b, err := req.GetBody()
			if err != nil {
				return io.NopCloser(errReader{err})
			}
			return b
		}, true, nil
	}
	b, err := io.ReadAll(io.LimitReader(req.Body, maxReplayBody+1))
	if err != nil {
		req.Body.Close()
		return nil, false, err
	}
	if len(b) > maxReplayBody { // too large to keep: send it once, as it comes
		rest := req.Body
		return func() io.ReadCloser {
			return struct {
				io.Reader
				io.Closer
			}{io.MultiReader(bytes.NewReader(b), rest), rest}
		}, false, nil
	}
	req.Body.Close()
	return func() io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }, true, nil
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// retryable reports whether err is a connection error or a timeout worth
// another attempt: a dial, reset, broken-connection or timeout error, not
// the client going away nor a certificate the backend will present again.
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var verify *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	if errors.As(err, &verify) || errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid) {
		return false
	}
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE)
}

// jitter spreads retries of many callers: a duration in [d/2, d].
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// sleep waits d unless ctx ends first; it reports whether it waited.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

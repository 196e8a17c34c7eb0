package proxy

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// flakyConn is a backend whose first `fail` calls break the connection:
// reset before any response byte, or (partial) after a response started.
type flakyConn struct {
	srv     *httptest.Server
	hits    atomic.Int64
	fail    atomic.Int64
	partial bool
	mu      sync.Mutex
	bodies  []string
}

func newFlakyConn(t *testing.T, fail int, partial bool) *flakyConn {
	t.Helper()
	f := &flakyConn{partial: partial}
	f.fail.Store(int64(fail))
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.bodies = append(f.bodies, string(b))
		f.mu.Unlock()
		if f.fail.Add(-1) < 0 {
			io.WriteString(w, "ok")
			return
		}
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		if f.partial {
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: appl")
			buf.Flush()
		} else {
			conn.(*net.TCPConn).SetLinger(0) // RST, not FIN
		}
		conn.Close()
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func retryProxy(t *testing.T, f *flakyConn, u Upstream) *Proxy {
	t.Helper()
	u.URL = mustURL(t, f.srv.URL)
	u.RetryBackoff = time.Millisecond
	if u.Breaker.ConsecutiveFailures == 0 {
		u.Breaker.ConsecutiveFailures = 100
	}
	return mustBuild(t, map[string]Upstream{"core": u}, Options{})
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name     string
		fail     int
		partial  bool
		upstream Upstream
		method   string
		body     string
		wantOK   bool
		wantHits int64
	}{
		{name: "GET retried once after a reset", fail: 1, method: "GET", wantOK: true, wantHits: 2},
		{name: "HEAD retried", fail: 1, method: "HEAD", wantOK: true, wantHits: 2},
		{name: "retries bounded", fail: 10, upstream: Upstream{Retries: intp(2)}, method: "GET", wantHits: 3},
		{name: "retries off", fail: 1, upstream: Upstream{Retries: intp(0)}, method: "GET", wantHits: 1},
		{name: "POST never retried", fail: 1, method: "POST", body: `{"amount":"100.00"}`,
			upstream: Upstream{Retries: intp(3), RetryMethods: []string{"PUT", "DELETE"}}, wantHits: 1},
		{name: "PATCH never retried", fail: 1, method: "PATCH", body: `{"a":1}`, upstream: Upstream{Retries: intp(3)}, wantHits: 1},
		{name: "PUT not retried unless configured", fail: 1, method: "PUT", body: `{"limit":"5000"}`, wantHits: 1},
		{name: "PUT retried when configured", fail: 1, method: "PUT", body: `{"limit":"5000"}`,
			upstream: Upstream{RetryMethods: []string{"put"}}, wantOK: true, wantHits: 2},
		{name: "DELETE retried when configured", fail: 1, method: "DELETE",
			upstream: Upstream{RetryMethods: []string{"DELETE"}}, wantOK: true, wantHits: 2},
		{name: "no retry after the response started", fail: 1, partial: true, method: "GET",
			upstream: Upstream{Retries: intp(3)}, wantHits: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlakyConn(t, tt.fail, tt.partial)
			p := retryProxy(t, f, tt.upstream)
			w, pe := call(t, p, "core", tt.method, "/transfers", tt.body)
			if tt.wantOK && (pe != nil || w.Code != 200) {
				t.Fatalf("got %v, want 200", pe)
			}
			if !tt.wantOK && (pe == nil || pe.HTTPStatus() != 502) {
				t.Fatalf("got %v (code %d), want 502", pe, w.Code)
			}
			if n := f.hits.Load(); n != tt.wantHits {
				t.Fatalf("backend hit %d times, want %d", n, tt.wantHits)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			for i, b := range f.bodies {
				if b != tt.body {
					t.Fatalf("attempt %d sent body %q, want %q", i+1, b, tt.body)
				}
			}
		})
	}
}

// A request retried counts once for the breaker: its final outcome.
func TestRetriedRequestCountsOnce(t *testing.T) {
	f := newFlakyConn(t, 100, false)
	p := retryProxy(t, f, Upstream{Breaker: BreakerConfig{ConsecutiveFailures: 2}})
	call(t, p, "core", "GET", "/x", "")
	if s := p.BreakerStates()["core"]; s != StateClosed || f.hits.Load() != 2 {
		t.Fatalf("after one retried call: state %s, hits %d", s, f.hits.Load())
	}
	call(t, p, "core", "GET", "/x", "")
	if s := p.BreakerStates()["core"]; s != StateOpen {
		t.Fatalf("after two failed calls: state %s", s)
	}

	g := newFlakyConn(t, 1, false) // a reset that a retry recovers is a success
	p = retryProxy(t, g, Upstream{Breaker: BreakerConfig{ConsecutiveFailures: 1}})
	if _, pe := call(t, p, "core", "GET", "/x", ""); pe != nil {
		t.Fatal(pe)
	}
	if s := p.BreakerStates()["core"]; s != StateClosed {
		t.Fatalf("state %s", s)
	}
}

// A body too large to keep is sent once, whole.
func TestLargeBodySentOnce(t *testing.T) {
	f := newFlakyConn(t, 1, false)
	p := retryProxy(t, f, Upstream{RetryMethods: []string{"PUT"}})
	big := make([]byte, maxReplayBody+10)
	for i := range big {
		big[i] = 'a'
	}
	if _, pe := call(t, p, "core", "PUT", "/x", string(big)); pe == nil || pe.HTTPStatus() != 502 {
		t.Fatalf("got %v", pe)
	}
	if n := f.hits.Load(); n != 1 {
		t.Fatalf("hits = %d", n)
	}
	f.fail.Store(0)
	if _, pe := call(t, p, "core", "PUT", "/x", string(big)); pe != nil {
		t.Fatal(pe)
	}
	if got := f.bodies[len(f.bodies)-1]; len(got) != len(big) {
		t.Fatalf("backend got %d bytes, want %d", len(got), len(big))
	}
}

// A GET that timed out before any response byte is retried once; the
// answer is still 504 if the backend stays silent.
func TestRetryAfterTimeout(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.Copy(io.Discard, r.Body) // so the server notices the client leaving
		<-r.Context().Done()
	}))
	defer srv.Close()
	p := mustBuild(t, map[string]Upstream{"core": {URL: mustURL(t, srv.URL), Timeout: 20 * time.Millisecond,
		RetryBackoff: time.Millisecond}}, Options{})
	if _, pe := call(t, p, "core", "GET", "/x", ""); pe == nil || pe.HTTPStatus() != 504 {
		t.Fatalf("got %v, want 504", pe)
	}
	if _, pe := call(t, p, "core", "POST", "/x", `{"amount":"1"}`); pe == nil || pe.HTTPStatus() != 504 {
		t.Fatalf("got %v, want 504", pe)
	}
	if n := hits.Load(); n != 3 {
		t.Fatalf("hits = %d, want 2 for the GET and 1 for the POST", n)
	}
}

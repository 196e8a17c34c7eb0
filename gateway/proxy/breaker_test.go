package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bankguard/bankguard/alert"
	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/problem"
	"github.com/bankguard/bankguard/registry"
)

// recorded collects the alerts raised.
type recorded struct {
	mu  sync.Mutex
	got []alert.Alert
}

func (r *recorded) Raise(_ context.Context, a alert.Alert) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, a)
}

func (r *recorded) all() []alert.Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]alert.Alert(nil), r.got...)
}

// counting is a backend that counts its calls and answers with status(path).
type counting struct {
	srv    *httptest.Server
	hits   atomic.Int64
	status atomic.Int64 // 0 means 200
}

func newCounting(t *testing.T) *counting {
	t.Helper()
	c := &counting{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.hits.Add(1)
		if s := c.status.Load(); s != 0 {
			w.WriteHeader(int(s))
			io.WriteString(w, "stack trace of the core banking system")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func mustBuild(t *testing.T, ups map[string]Upstream, opts Options) *Proxy {
	t.Helper()
	p, err := NewWithOptions(ups, opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// call sends a request through upstream name; pe is nil when it succeeded.
func call(t *testing.T, p *Proxy, name, method, path, body string) (*httptest.ResponseRecorder, *problem.Error) {
	t.Helper()
	return callCtx(context.Background(), t, p, name, method, path, body)
}

func callCtx(ctx context.Context, t *testing.T, p *Proxy, name, method, path, body string) (*httptest.ResponseRecorder, *problem.Error) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, path, rd)
	ex := &stage.Exchange{ID: "TXN1", App: &registry.App{ID: "app-1"}, API: &registry.API{ID: "OPAPI"}}
	r = r.WithContext(stage.WithExchange(ctx, ex))
	w := httptest.NewRecorder()
	err := p.ServeHTTP(w, r, name)
	if err == nil {
		return w, nil
	}
	var pe *problem.Error
	if !errors.As(err, &pe) {
		return w, problem.From(err)
	}
	return w, pe
}

// wantRefused checks a 503 upstream_unavailable with a Retry-After, client-safe.
func wantRefused(t *testing.T, pe *problem.Error, retryAfter string) {
	t.Helper()
	if pe == nil || pe.HTTPStatus() != 503 || pe.Code != problem.UpstreamUnavailable {
		t.Fatalf("got %v, want 503 upstream_unavailable", pe)
	}
	if got := pe.Header.Get("Retry-After"); got != retryAfter {
		t.Fatalf("Retry-After = %q, want %q", got, retryAfter)
	}
	body := string(problem.Body(pe, "TXN1"))
	for _, leak := range []string{"breaker", "127.0.0.1", "flaky", "health"} {
		if strings.Contains(body, leak) {
			t.Fatalf("problem leaks %q: %s", leak, body)
		}
	}
}

func waitState(t *testing.T, p *Proxy, name, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second) // a bound on the wait, not an assertion
	for p.BreakerStates()[name] != want {
		if time.Now().After(deadline) {
			t.Fatalf("upstream %s state = %s, want %s", name, p.BreakerStates()[name], want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func intp(n int) *int { return &n }

// fixedClock is a clock tests move by hand.
type fixedClock struct{ t atomic.Int64 }

func newClock() *fixedClock {
	c := &fixedClock{}
	c.t.Store(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *fixedClock) Now() time.Time          { return time.Unix(0, c.t.Load()) }
func (c *fixedClock) Advance(d time.Duration) { c.t.Add(int64(d)) }

func TestBreakerOpensRefusesAndRecovers(t *testing.T) {
	flaky, fast := newCounting(t), newCounting(t)
	flaky.status.Store(500)
	alerts, clock := &recorded{}, newClock()
	p := mustBuild(t, map[string]Upstream{
		"flaky": {URL: mustURL(t, flaky.srv.URL), Breaker: BreakerConfig{ConsecutiveFailures: 3, OpenTimeout: 20 * time.Millisecond}},
		"fast":  {URL: mustURL(t, fast.srv.URL)},
	}, Options{Alerts: alerts, Now: clock.Now})

	fastOK := func() {
		t.Helper()
		if w, pe := call(t, p, "fast", "GET", "/accounts", ""); pe != nil || w.Code != 200 {
			t.Fatalf("healthy upstream: %v", pe)
		}
	}
	for range 3 {
		if _, pe := call(t, p, "flaky", "GET", "/accounts", ""); pe == nil || pe.HTTPStatus() != 502 {
			t.Fatalf("failing backend: got %v, want 502", pe)
		}
		fastOK()
	}
	if got := p.BreakerStates(); got["flaky"] != StateOpen || got["fast"] != StateClosed {
		t.Fatalf("states = %v", got)
	}
	for range 5 {
		_, pe := call(t, p, "flaky", "GET", "/accounts", "")
		wantRefused(t, pe, "1")
		fastOK()
	}
	if n := flaky.hits.Load(); n != 3 {
		t.Fatalf("backend called %d times, want 3: an open breaker must not call it", n)
	}
	if n := fast.hits.Load(); n != 8 {
		t.Fatalf("healthy backend served %d calls, want 8", n)
	}

	flaky.status.Store(0) // the backend recovers
	clock.Advance(20 * time.Millisecond)
	waitState(t, p, "flaky", StateHalfOpen)
	if w, pe := call(t, p, "flaky", "GET", "/accounts", ""); pe != nil || w.Code != 200 {
		t.Fatalf("half-open probe: %v", pe)
	}
	if s := p.BreakerStates()["flaky"]; s != StateClosed {
		t.Fatalf("after a good probe state = %s, want closed", s)
	}

	got := alerts.all()
	if len(got) != 2 || got[0].Rule != "breaker.open" || got[0].Severity != alert.Critical ||
		got[1].Rule != "breaker.closed" || got[1].Severity != alert.Info {
		t.Fatalf("alerts = %+v", got)
	}
	for _, a := range got {
		if a.Subject != "upstream:flaky" || strings.Contains(a.Summary+a.Detail, "127.0.0.1") {
			t.Fatalf("alert = %+v", a)
		}
	}
}

func TestBreakerHalfOpenFailureReopens(t *testing.T) {
	b := newCounting(t)
	b.status.Store(503)
	alerts, clock := &recorded{}, newClock()
	p := mustBuild(t, map[string]Upstream{"core": {URL: mustURL(t, b.srv.URL),
		Breaker: BreakerConfig{ConsecutiveFailures: 1, OpenTimeout: 20 * time.Millisecond}}}, Options{Alerts: alerts, Now: clock.Now})
	call(t, p, "core", "GET", "/x", "")
	clock.Advance(20 * time.Millisecond)
	waitState(t, p, "core", StateHalfOpen)
	if _, pe := call(t, p, "core", "GET", "/x", ""); pe == nil || pe.HTTPStatus() != 502 {
		t.Fatalf("probe: %v", pe)
	}
	if s := p.BreakerStates()["core"]; s != StateOpen {
		t.Fatalf("state = %s, want open again", s)
	}
	_, pe := call(t, p, "core", "GET", "/x", "")
	wantRefused(t, pe, "1")
	if n := b.hits.Load(); n != 2 {
		t.Fatalf("hits = %d, want 2", n)
	}
	if got := alerts.all(); len(got) != 2 || got[1].Rule != "breaker.open" {
		t.Fatalf("alerts = %+v", got)
	}
}

func TestBreakerHalfOpenLetsOneProbe(t *testing.T) {
	var hits atomic.Int64
	var failing atomic.Bool
	failing.Store(true)
	entered, release := make(chan struct{}, 1), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if failing.Load() {
			w.WriteHeader(500)
			return
		}
		entered <- struct{}{}
		<-release
	}))
	defer srv.Close()
	clock := newClock()
	p := mustBuild(t, map[string]Upstream{"core": {URL: mustURL(t, srv.URL),
		Breaker: BreakerConfig{ConsecutiveFailures: 1, OpenTimeout: 20 * time.Millisecond}}}, Options{Now: clock.Now})
	call(t, p, "core", "GET", "/x", "")
	failing.Store(false)
	_, pe := call(t, p, "core", "GET", "/x", "")
	wantRefused(t, pe, "1")
	clock.Advance(20 * time.Millisecond)
	waitState(t, p, "core", StateHalfOpen)

	probe := make(chan *problem.Error)
	go func() { _, pe := call(t, p, "core", "GET", "/x", ""); probe <- pe }()
	<-entered
	_, pe = call(t, p, "core", "GET", "/x", "") // while the probe is in flight
	wantRefused(t, pe, "1")
	close(release)
	if pe := <-probe; pe != nil {
		t.Fatalf("probe: %v", pe)
	}
	if n := hits.Load(); n != 2 {
		t.Fatalf("hits = %d, want 2", n)
	}
}

func TestBreakerRetryAfterIsRemainingOpenTime(t *testing.T) {
	b := newCounting(t)
	b.status.Store(500)
	clock := newClock()
	p := mustBuild(t, map[string]Upstream{"core": {URL: mustURL(t, b.srv.URL),
		Breaker: BreakerConfig{ConsecutiveFailures: 1, OpenTimeout: 10 * time.Second}}}, Options{Now: clock.Now})
	call(t, p, "core", "GET", "/x", "")
	_, pe := call(t, p, "core", "GET", "/x", "")
	wantRefused(t, pe, "10")
	clock.Advance(4*time.Second + 500*time.Millisecond)
	_, pe = call(t, p, "core", "GET", "/x", "")
	wantRefused(t, pe, "6")
}

func TestBreakerCounts(t *testing.T) {
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/fail":
			w.WriteHeader(500)
		case "/missing":
			w.WriteHeader(404)
		case "/conflict":
			w.WriteHeader(409)
		case "/hang":
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		}
	}))
	t.Cleanup(srv.Close)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + l.Addr().String()
	l.Close()

	tests := []struct {
		name     string
		url      string
		breaker  BreakerConfig
		timeout  time.Duration
		paths    []string
		wantOpen bool
	}{
		{"4xx are not failures", srv.URL, BreakerConfig{ConsecutiveFailures: 2},
			0, []string{"/missing", "/conflict", "/missing", "/missing"}, false},
		{"5xx are", srv.URL, BreakerConfig{ConsecutiveFailures: 2},
			0, []string{"/fail", "/fail"}, true},
		{"a success resets consecutive failures", srv.URL, BreakerConfig{ConsecutiveFailures: 2},
			0, []string{"/fail", "/ok", "/fail", "/missing", "/fail"}, false},
		{"timeouts are", srv.URL, BreakerConfig{ConsecutiveFailures: 2},
			30 * time.Millisecond, []string{"/hang", "/hang"}, true},
		{"connection errors are", dead, BreakerConfig{ConsecutiveFailures: 2},
			0, []string{"/ok", "/ok"}, true},
		{"ratio below the minimum of requests", srv.URL, BreakerConfig{ConsecutiveFailures: 100, FailureRatio: 0.5, MinRequests: 4},
			0, []string{"/ok", "/fail", "/fail"}, false},
		{"ratio reached", srv.URL, BreakerConfig{ConsecutiveFailures: 100, FailureRatio: 0.5, MinRequests: 4},
			0, []string{"/ok", "/fail", "/ok", "/fail"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustBuild(t, map[string]Upstream{"core": {URL: mustURL(t, tt.url), Timeout: tt.timeout,
				Retries: intp(0), Breaker: tt.breaker}}, Options{})
			for _, path := range tt.paths {
				if _, pe := call(t, p, "core", "GET", path, ""); pe != nil && pe.HTTPStatus() == 503 {
					t.Fatalf("%s refused before the last call", path)
				}
			}
			want := StateClosed
			if tt.wantOpen {
				want = StateOpen
			}
			if s := p.BreakerStates()["core"]; s != want {
				t.Fatalf("state = %s, want %s", s, want)
			}
		})
	}
}

func TestBreakerIgnoresClientsGoingAway(t *testing.T) {
	entered := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-r.Context().Done()
	}))
	defer srv.Close()
	p := mustBuild(t, map[string]Upstream{"core": {URL: mustURL(t, srv.URL),
		Breaker: BreakerConfig{ConsecutiveFailures: 1}}}, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *problem.Error)
	go func() { _, pe := callCtx(ctx, t, p, "core", "GET", "/x", ""); done <- pe }()
	<-entered
	cancel()
	<-done
	if s := p.BreakerStates()["core"]; s != StateClosed {
		t.Fatalf("a client going away opened the breaker: %s", s)
	}
}

// One backend holding all its connections does not slow another, and its
// own further callers are refused instead of queueing (T/PCAC 6.1.2).
func TestSlowBackendIsIsolated(t *testing.T) {
	var slowHits atomic.Int64
	entered, release := make(chan struct{}, 8), make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slowHits.Add(1)
		entered <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	fast := newCounting(t)
	p := mustBuild(t, map[string]Upstream{
		"slow": {URL: mustURL(t, slow.URL), MaxConns: 2, ConnectTimeout: 50 * time.Millisecond},
		"fast": {URL: mustURL(t, fast.srv.URL), MaxConns: 2},
	}, Options{})

	var wg sync.WaitGroup
	slowErrs := make(chan *problem.Error, 2)
	for range 2 {
		wg.Go(func() { _, pe := call(t, p, "slow", "GET", "/x", ""); slowErrs <- pe })
	}
	<-entered
	<-entered // both of slow's connections are held

	_, pe := call(t, p, "slow", "GET", "/x", "")
	wantRefused(t, pe, "1")
	for i := range 20 {
		if w, pe := call(t, p, "fast", "GET", "/x", ""); pe != nil || w.Code != 200 {
			t.Fatalf("fast call %d while slow is stuck: %v", i, pe)
		}
	}
	if n := slowHits.Load(); n != 2 {
		t.Fatalf("slow backend called %d times, want 2", n)
	}
	close(release)
	wg.Wait()
	close(slowErrs)
	for pe := range slowErrs {
		if pe != nil {
			t.Fatalf("held call: %v", pe)
		}
	}
	if s := p.BreakerStates()["slow"]; s != StateClosed {
		t.Fatalf("busy connections opened the breaker: %s", s)
	}
}

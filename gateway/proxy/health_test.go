package proxy

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bankguard/bankguard/alert"
)

func TestHealthCheckMarksDownAndUp(t *testing.T) {
	var healthy atomic.Bool
	var apiHits, probes atomic.Int64
	healthy.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			probes.Add(1)
			if r.Method != "GET" || r.Header.Get("Bankguard-App-Id") != "" {
				t.Errorf("probe %s with headers %v", r.Method, r.Header)
			}
			if !healthy.Load() {
				w.WriteHeader(503)
			}
			return
		}
		apiHits.Add(1)
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	alerts := &recorded{}
	p := mustBuild(t, map[string]Upstream{"core": {URL: mustURL(t, srv.URL+"/base"), Health: &HealthConfig{
		Path: "/health", Interval: 5 * time.Millisecond, Timeout: 2 * time.Second,
		HealthyThreshold: 2, UnhealthyThreshold: 2,
	}}}, Options{Alerts: alerts})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { p.RunHealthChecks(ctx); close(stopped) }()
	defer func() { cancel(); <-stopped }()

	if _, pe := call(t, p, "core", "GET", "/x", ""); pe != nil {
		t.Fatalf("healthy: %v", pe)
	}
	healthy.Store(false)
	waitState(t, p, "core", StateDown)
	before := apiHits.Load()
	for range 3 {
		_, pe := call(t, p, "core", "GET", "/x", "")
		wantRefused(t, pe, "1")
	}
	if n := apiHits.Load(); n != before {
		t.Fatalf("a down upstream was called %d times", n-before)
	}

	healthy.Store(true)
	waitState(t, p, "core", StateClosed)
	if _, pe := call(t, p, "core", "GET", "/x", ""); pe != nil {
		t.Fatalf("healthy again: %v", pe)
	}
	got := alerts.all()
	if len(got) != 2 || got[0].Rule != "health.down" || got[0].Severity != alert.Critical ||
		got[1].Rule != "health.up" || got[1].Severity != alert.Info || got[0].Subject != "upstream:core" {
		t.Fatalf("alerts = %+v", got)
	}

	cancel()
	<-stopped // RunHealthChecks returns once probing stopped
	n := probes.Load()
	healthy.Store(false)
	time.Sleep(30 * time.Millisecond) // several intervals: no probe may run
	if probes.Load() != n || p.BreakerStates()["core"] != StateClosed {
		t.Fatal("probes ran after the context ended")
	}
}

// An unreachable backend is marked down, and probes do not feed the breaker.
func TestHealthCheckUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	u := mustURL(t, srv.URL)
	srv.Close()
	p := mustBuild(t, map[string]Upstream{"core": {URL: u, Breaker: BreakerConfig{ConsecutiveFailures: 1},
		Health: &HealthConfig{Path: "/health", Interval: 5 * time.Millisecond, UnhealthyThreshold: 1}}}, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { p.RunHealthChecks(ctx); close(stopped) }()
	defer func() { cancel(); <-stopped }()
	waitState(t, p, "core", StateDown)
	cancel()
	<-stopped
	if s := p.guardOf("core").cb.State().String(); s != "closed" {
		t.Fatalf("probes moved the breaker to %s", s)
	}
}

func (p *Proxy) guardOf(name string) *guard { return p.upstreams[name].guard }

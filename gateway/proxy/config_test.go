package proxy

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestUpstreamDefaults(t *testing.T) {
	u := Upstream{URL: &url.URL{Scheme: "http", Host: "core:8080"}, Health: &HealthConfig{Path: "/health", Interval: time.Second}}.WithDefaults()
	if u.Timeout != DefaultTimeout || u.ConnectTimeout != DefaultConnectTimeout || u.MaxConns != DefaultMaxConns ||
		*u.Retries != DefaultRetries || u.RetryBackoff != DefaultRetryBackoff {
		t.Fatalf("defaults = %+v", u)
	}
	b := u.Breaker
	if b.ConsecutiveFailures != 5 || b.FailureRatio != 0 || b.MinRequests != 20 || b.Interval != time.Minute ||
		b.OpenTimeout != 30*time.Second || b.HalfOpenRequests != 1 {
		t.Fatalf("breaker defaults = %+v", b)
	}
	h := u.Health
	if h.Interval != time.Second || h.Timeout != time.Second || h.HealthyThreshold != 2 || h.UnhealthyThreshold != 3 {
		t.Fatalf("health defaults = %+v", h)
	}
	if m := u.retriedMethods(); !m["GET"] || !m["HEAD"] || !m["OPTIONS"] || m["PUT"] || m["DELETE"] || m["POST"] {
		t.Fatalf("retried methods = %v", m)
	}
	if err := u.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (Upstream{URL: u.URL}).Validate(); err != nil {
		t.Fatalf("zero settings must be valid (defaults): %v", err)
	}
}

func TestUpstreamValidate(t *testing.T) {
	base := func() Upstream { return Upstream{URL: &url.URL{Scheme: "https", Host: "core"}} }
	tests := []struct {
		name  string
		edit  func(*Upstream)
		field string
	}{
		{"no url", func(u *Upstream) { u.URL = nil }, "upstreams.core.url"},
		{"relative url", func(u *Upstream) { u.URL = &url.URL{Path: "/x"} }, "upstreams.core.url"},
		{"negative timeout", func(u *Upstream) { u.Timeout = -1 }, "upstreams.core.timeout"},
		{"negative connect timeout", func(u *Upstream) { u.ConnectTimeout = -time.Second }, "upstreams.core.connect_timeout"},
		{"max conns", func(u *Upstream) { u.MaxConns = -1 }, "upstreams.core.max_conns"},
		{"too many retries", func(u *Upstream) { u.Retries = intp(4) }, "upstreams.core.retries"},
		{"negative retries", func(u *Upstream) { u.Retries = intp(-1) }, "upstreams.core.retries"},
		{"POST retried", func(u *Upstream) { u.RetryMethods = []string{"PUT", "POST"} }, "upstreams.core.retry_methods[1]"},
		{"PATCH retried", func(u *Upstream) { u.RetryMethods = []string{"patch"} }, "upstreams.core.retry_methods[0]"},
		{"negative backoff", func(u *Upstream) { u.RetryBackoff = -1 }, "upstreams.core.retry_backoff"},
		{"ratio above 1", func(u *Upstream) { u.Breaker.FailureRatio = 1.5 }, "upstreams.core.breaker.failure_ratio"},
		{"negative failures", func(u *Upstream) { u.Breaker.ConsecutiveFailures = -2 }, "upstreams.core.breaker.consecutive_failures"},
		{"negative min requests", func(u *Upstream) { u.Breaker.MinRequests = -2 }, "upstreams.core.breaker.min_requests"},
		{"negative open timeout", func(u *Upstream) { u.Breaker.OpenTimeout = -1 }, "upstreams.core.breaker.open_timeout"},
		{"negative interval", func(u *Upstream) { u.Breaker.Interval = -1 }, "upstreams.core.breaker.interval"},
		{"half-open requests", func(u *Upstream) { u.Breaker.HalfOpenRequests = 5000 }, "upstreams.core.breaker.half_open_requests"},
		{"health path", func(u *Upstream) { u.Health = &HealthConfig{Path: "health"} }, "upstreams.core.health.path"},
		{"health interval", func(u *Upstream) { u.Health = &HealthConfig{Path: "/h", Interval: -1} }, "upstreams.core.health.interval"},
		{"health threshold", func(u *Upstream) { u.Health = &HealthConfig{Path: "/h", UnhealthyThreshold: -1} }, "upstreams.core.health.unhealthy_threshold"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := base()
			tt.edit(&u)
			err := ValidateUpstreams(map[string]Upstream{"core": u})
			if err == nil || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("err = %v, want one naming %s", err, tt.field)
			}
			if _, err := NewWithOptions(map[string]Upstream{"core": u}, Options{}); err == nil {
				t.Fatal("NewWithOptions accepted an invalid upstream")
			}
		})
	}
}

package metrics_test

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bankguard/bankguard/metrics"
)

const (
	apiA = "OPC999990101010100000001"
	apiB = "OPC999990201010100000002"
)

// scrape GETs the handler and returns every sample line as series → value,
// the series written exactly as exposed (labels sorted by name).
func scrape(t *testing.T, m *metrics.Metrics) map[string]float64 {
	t.Helper()
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("scrape: status %d: %s", w.Code, w.Body)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(w.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("scrape: bad sample %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

// series returns the scraped series of one metric name.
func series(all map[string]float64, name string) map[string]float64 {
	out := map[string]float64{}
	for s, v := range all {
		if s == name || strings.HasPrefix(s, name+"{") {
			out[s] = v
		}
	}
	return out
}

// want checks that got holds exactly the wanted series of name.
func want(t *testing.T, got map[string]float64, name string, wanted map[string]float64) {
	t.Helper()
	have := series(got, name)
	for s, v := range wanted {
		if hv, ok := have[s]; !ok || hv != v {
			t.Errorf("%s = %v (present %v), want %v", s, hv, ok, v)
		}
	}
	for s, v := range have {
		if _, ok := wanted[s]; !ok {
			t.Errorf("unexpected series %s = %v", s, v)
		}
	}
}

func req(api, app, class, result string) string {
	return fmt.Sprintf(`bankguard_requests_total{api=%q,app=%q,class=%q,result=%q}`, api, app, class, result)
}

func TestRequestsByAPIAppClassAndResult(t *testing.T) {
	m := metrics.New()
	for _, o := range []metrics.Outcome{
		{APIID: apiA, AppID: "demo-a1-hmac", Status: 200},
		{APIID: apiA, AppID: "demo-a1-hmac", Status: 200},
		{APIID: apiA, AppID: "demo-a1-hmac", Status: 304},
		{APIID: apiA, AppID: "demo-a1-hmac", Status: 429, Code: "rate_limited"},
		{APIID: apiB, AppID: "demo-a2-sm2", Status: 202, Code: "transaction_held"},
		{APIID: apiB, AppID: "demo-a2-sm2", Status: 502, Code: "upstream_unavailable"},
		{APIID: apiB, AppID: "demo-a2-sm2", Status: 499},
		{APIID: apiA, Status: 401, Code: "signature_invalid"},
		{Status: 404, Code: "not_found"},
	} {
		m.Observe(o)
	}
	want(t, scrape(t, m), "bankguard_requests_total", map[string]float64{
		req(apiA, "demo-a1-hmac", "2xx", "success"):   2,
		req(apiA, "demo-a1-hmac", "3xx", "success"):   1,
		req(apiA, "demo-a1-hmac", "4xx", "failure"):   1,
		req(apiB, "demo-a2-sm2", "2xx", "success"):    1,
		req(apiB, "demo-a2-sm2", "5xx", "failure"):    1,
		req(apiB, "demo-a2-sm2", "4xx", "failure"):    1,
		req(apiA, "unknown", "4xx", "failure"):        1,
		req("unmatched", "unknown", "4xx", "failure"): 1,
	})
}

func TestStatusOutsideTheClassesIsAFailure(t *testing.T) {
	m := metrics.New()
	for _, s := range []int{0, 99, 600, -1} {
		m.Observe(metrics.Outcome{APIID: apiA, AppID: "a", Status: s})
	}
	want(t, scrape(t, m), "bankguard_requests_total", map[string]float64{req(apiA, "a", "other", "failure"): 4})
}

// An API or app the gateway did not match or verify, or a value that is no
// identifier, never becomes a label of its own.
func TestCardinalityGuard(t *testing.T) {
	m := metrics.New()
	for _, bad := range []string{"", "' OR 1=1--", "keyid with spaces", strings.Repeat("A", 65), "应用", "a\"b", "x\ny"} {
		m.Observe(metrics.Outcome{APIID: bad, AppID: bad, Status: 401, Code: "app_unknown"})
	}
	got := scrape(t, m)
	want(t, got, "bankguard_requests_total", map[string]float64{req("unmatched", "unknown", "4xx", "failure"): 7})
	want(t, got, "bankguard_request_duration_seconds_count", map[string]float64{
		`bankguard_request_duration_seconds_count{api="unmatched"}`: 7})
	want(t, got, "bankguard_app_request_duration_seconds_count", map[string]float64{
		`bankguard_app_request_duration_seconds_count{app="unknown"}`: 7})
}

func TestCardinalityCapFoldsIntoOther(t *testing.T) {
	m, err := metrics.NewFromConfig(metrics.Config{MaxAPIs: 1, MaxApps: 2, OmitRuntime: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, app := range []string{"app-1", "app-2", "app-3", "app-4", "app-1"} {
		m.Observe(metrics.Outcome{APIID: apiA, AppID: app, Status: 200})
	}
	m.Observe(metrics.Outcome{APIID: apiB, AppID: "app-2", Status: 200})
	got := scrape(t, m)
	want(t, got, "bankguard_requests_total", map[string]float64{
		req(apiA, "app-1", "2xx", "success"):    2,
		req(apiA, "app-2", "2xx", "success"):    1,
		req(apiA, "other", "2xx", "success"):    2,
		req("other", "app-2", "2xx", "success"): 1,
	})
	if v := got[`bankguard_metrics_label_overflow_total{label="app"}`]; v != 2 {
		t.Errorf("app overflow = %v, want 2", v)
	}
	if v := got[`bankguard_metrics_label_overflow_total{label="api"}`]; v != 1 {
		t.Errorf("api overflow = %v, want 1", v)
	}
}

func TestLatencyHistograms(t *testing.T) {
	m := metrics.New()
	m.Observe(metrics.Outcome{APIID: apiA, AppID: "a", Status: 200, Latency: 3 * time.Millisecond, Upstream: 2 * time.Millisecond})
	m.Observe(metrics.Outcome{APIID: apiA, AppID: "a", Status: 200, Latency: 300 * time.Millisecond, Upstream: 290 * time.Millisecond})
	m.Observe(metrics.Outcome{APIID: apiA, AppID: "a", Status: 401, Latency: 400 * time.Microsecond}) // refused: no upstream
	m.Observe(metrics.Outcome{APIID: apiB, AppID: "a", Status: 200, Latency: -time.Second})           // a clock step back counts as 0
	got := scrape(t, m)
	bucket := func(api, le string) string {
		return fmt.Sprintf(`bankguard_request_duration_seconds_bucket{api=%q,le=%q}`, api, le)
	}
	wantBuckets := map[string]float64{}
	for _, b := range append(metrics.Buckets, 0) {
		le := strconv.FormatFloat(b, 'g', -1, 64)
		if b == 0 {
			le = "+Inf"
		}
		n := 0.0
		for _, d := range []float64{0.003, 0.3, 0.0004} {
			if b == 0 || d <= b {
				n++
			}
		}
		wantBuckets[bucket(apiA, le)] = n
		wantBuckets[bucket(apiB, le)] = 1
	}
	want(t, got, "bankguard_request_duration_seconds_bucket", wantBuckets)
	d1, d2, d3 := 0.003, 0.3, 0.0004 // summed as floats, in order
	want(t, got, "bankguard_request_duration_seconds_sum", map[string]float64{
		`bankguard_request_duration_seconds_sum{api="` + apiA + `"}`: d1 + d2 + d3,
		`bankguard_request_duration_seconds_sum{api="` + apiB + `"}`: 0,
	})
	want(t, got, "bankguard_upstream_duration_seconds_count", map[string]float64{
		`bankguard_upstream_duration_seconds_count{api="` + apiA + `"}`: 2})
	if v := got[`bankguard_upstream_duration_seconds_bucket{api="`+apiA+`",le="0.0025"}`]; v != 1 {
		t.Errorf("upstream le=0.0025 = %v, want 1", v)
	}
	want(t, got, "bankguard_app_request_duration_seconds_count", map[string]float64{
		`bankguard_app_request_duration_seconds_count{app="a"}`: 4})
}

func TestAuthFailuresByReason(t *testing.T) {
	reasons := []string{"signature_missing", "signature_invalid", "digest_mismatch", "timestamp_out_of_window",
		"replay_detected", "app_unknown", "token_missing", "token_invalid", "token_expired", "token_revoked", "level_insufficient"}
	m := metrics.New()
	wanted := map[string]float64{}
	for i, r := range reasons {
		wanted[fmt.Sprintf(`bankguard_auth_failures_total{reason=%q}`, r)] = 0
		for range i + 1 {
			m.Observe(metrics.Outcome{APIID: apiA, Status: 401, Code: r})
		}
		wanted[fmt.Sprintf(`bankguard_auth_failures_total{reason=%q}`, r)] = float64(i + 1)
	}
	// Not authentication failures: other refusals, a code the backend sent,
	// and a token_ code no gateway stage raises.
	m.Observe(metrics.Outcome{APIID: apiA, Status: 404, Code: "not_found"})
	m.Observe(metrics.Outcome{APIID: apiA, Status: 400, Code: "request_invalid"})
	m.Observe(metrics.Outcome{APIID: apiA, Status: 401, Code: "signature_invalid", Backend: true})
	m.Observe(metrics.Outcome{APIID: apiA, Status: 401, Code: "token_of_the_backend"})
	want(t, scrape(t, m), "bankguard_auth_failures_total", wanted)
}

func TestRejectionsByControl(t *testing.T) {
	m := metrics.New()
	zero := map[string]float64{}
	for code, control := range map[string]string{"rate_limited": "ratelimit", "app_paused": "ratelimit", "throttled": "ratelimit",
		"blacklisted": "blacklist", "request_blocked": "waf", "transaction_rejected": "risk", "transaction_held": "risk"} {
		zero[fmt.Sprintf(`bankguard_rejections_total{code=%q,control=%q}`, code, control)] = 0
	}
	// Every control's series is there from the start, at 0.
	want(t, scrape(t, m), "bankguard_rejections_total", zero)

	for _, o := range []metrics.Outcome{
		{APIID: apiA, AppID: "a", Status: 429, Code: "rate_limited"},
		{APIID: apiA, AppID: "a", Status: 429, Code: "rate_limited"},
		{APIID: apiA, AppID: "a", Status: 429, Code: "app_paused"},
		{APIID: apiA, AppID: "a", Status: 429, Code: "throttled"},
		{Status: 403, Code: "blacklisted"},
		{APIID: apiA, AppID: "a", Status: 403, Code: "request_blocked"},
		{APIID: apiB, AppID: "a", Status: 403, Code: "transaction_rejected"},
		{APIID: apiB, AppID: "a", Status: 202, Code: "transaction_held"},
		{APIID: apiB, AppID: "a", Status: 429, Code: "rate_limited", Backend: true}, // the backend's own limit
		{APIID: apiB, AppID: "a", Status: 502, Code: "upstream_unavailable"},
	} {
		m.Observe(o)
	}
	want(t, scrape(t, m), "bankguard_rejections_total", map[string]float64{
		`bankguard_rejections_total{code="rate_limited",control="ratelimit"}`:    2,
		`bankguard_rejections_total{code="app_paused",control="ratelimit"}`:      1,
		`bankguard_rejections_total{code="throttled",control="ratelimit"}`:       1,
		`bankguard_rejections_total{code="blacklisted",control="blacklist"}`:     1,
		`bankguard_rejections_total{code="request_blocked",control="waf"}`:       1,
		`bankguard_rejections_total{code="transaction_rejected",control="risk"}`: 1,
		`bankguard_rejections_total{code="transaction_held",control="risk"}`:     1,
	})
}

func TestInFlight(t *testing.T) {
	m := metrics.New()
	const g = "bankguard_requests_in_flight"
	if v := scrape(t, m)[g]; v != 0 {
		t.Fatalf("%s = %v at start", g, v)
	}
	done1, done2 := m.InFlight(), m.InFlight()
	if v := scrape(t, m)[g]; v != 2 {
		t.Fatalf("%s = %v, want 2", g, v)
	}
	done1()
	done1() // a second call must not count the request out twice
	if v := scrape(t, m)[g]; v != 1 {
		t.Fatalf("%s = %v, want 1", g, v)
	}
	done2()
	if v := scrape(t, m)[g]; v != 0 {
		t.Fatalf("%s = %v, want 0", g, v)
	}
}

func breaker(upstream, state string) string {
	return fmt.Sprintf(`bankguard_upstream_breaker_state{state=%q,upstream=%q}`, state, upstream)
}

func breakerWant(states map[string]string) map[string]float64 {
	out := map[string]float64{}
	for up, cur := range states {
		for _, s := range []string{"closed", "half-open", "unknown", "down", "open"} {
			out[breaker(up, s)] = 0
		}
		out[breaker(up, cur)] = 1
	}
	return out
}

func TestBreakerStateReflectsTheFunc(t *testing.T) {
	m := metrics.New()
	want(t, scrape(t, m), "bankguard_upstream_breaker_state", nil) // no func yet: no series

	states := map[string]string{"core": "closed", "cards": "open"}
	m.SetBreakerStates(func() map[string]string { return states })
	want(t, scrape(t, m), "bankguard_upstream_breaker_state", breakerWant(states))

	// Read at scrape time: the next scrape sees the breaker move.
	states = map[string]string{"core": "half-open", "cards": "closed", "fx": "gobbledygook", "loans": "down"}
	want(t, scrape(t, m), "bankguard_upstream_breaker_state",
		breakerWant(map[string]string{"core": "half-open", "cards": "closed", "fx": "unknown", "loans": "down"}))

	// Names that are no identifiers fold into one series showing the worst state.
	states = map[string]string{"bad name 1": "closed", "bad name 2": "open", "bad name 3": "down", "core": "closed"}
	want(t, scrape(t, m), "bankguard_upstream_breaker_state",
		breakerWant(map[string]string{"unknown": "open", "core": "closed"}))

	m.SetBreakerStates(nil)
	want(t, scrape(t, m), "bankguard_upstream_breaker_state", nil)
}

func TestAuditCommit(t *testing.T) {
	m := metrics.New()
	m.ObserveAuditCommit(2*time.Millisecond, 5)
	m.OnAuditCommit(30*time.Millisecond, 7, nil)
	m.OnAuditCommit(time.Second, 3, errors.New("disk full"))
	got := scrape(t, m)
	d1, d2 := 0.002, 0.03
	for s, v := range map[string]float64{
		"bankguard_audit_commit_seconds_count":               2,
		"bankguard_audit_commit_seconds_sum":                 d1 + d2,
		`bankguard_audit_commit_seconds_bucket{le="0.0025"}`: 1,
		`bankguard_audit_commit_seconds_bucket{le="0.05"}`:   2,
		"bankguard_audit_records_total":                      12,
		"bankguard_audit_commit_failures_total":              1,
	} {
		if got[s] != v {
			t.Errorf("%s = %v, want %v", s, got[s], v)
		}
	}
}

func TestRiskFlagsAndAlerts(t *testing.T) {
	m := metrics.New()
	m.RiskFlag("risk.large_amount")
	m.RiskFlag("risk.large_amount")
	m.RiskFlag("risk.new_payee")
	m.RiskFlag("收款人 13800138000") // not an identifier: never a label
	m.AlertRaised("blacklist.auto", "critical")
	m.AlertRaised("ratelimit.alarm", "warning")
	m.AlertRaised("ratelimit.alarm", "warning")
	m.AlertRaised("risk.large_amount", "info")
	m.AlertRaised("breaker.open", "fatal")
	got := scrape(t, m)
	want(t, got, "bankguard_risk_flags_total", map[string]float64{
		`bankguard_risk_flags_total{rule="risk.large_amount"}`: 2,
		`bankguard_risk_flags_total{rule="risk.new_payee"}`:    1,
		`bankguard_risk_flags_total{rule="unknown"}`:           1,
	})
	want(t, got, "bankguard_alerts_total", map[string]float64{
		`bankguard_alerts_total{rule="blacklist.auto",severity="critical"}`: 1,
		`bankguard_alerts_total{rule="ratelimit.alarm",severity="warning"}`: 2,
		`bankguard_alerts_total{rule="risk.large_amount",severity="info"}`:  1,
		`bankguard_alerts_total{rule="breaker.open",severity="unknown"}`:    1,
	})
}

// Metrics stay in their own registry: nothing reaches the process-wide one.
func TestNoGlobalRegistry(t *testing.T) {
	m := metrics.New()
	m.Observe(metrics.Outcome{APIID: apiA, AppID: "a", Status: 200})
	fams, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if strings.HasPrefix(f.GetName(), "bankguard_") {
			t.Fatalf("%s is in the default registry", f.GetName())
		}
	}
	if _, ok := scrape(t, m)["go_goroutines"]; !ok {
		t.Fatal("runtime metrics missing by default")
	}
}

func TestOmitRuntime(t *testing.T) {
	m, err := metrics.NewFromConfig(metrics.Config{OmitRuntime: true})
	if err != nil {
		t.Fatal(err)
	}
	for s := range scrape(t, m) {
		if strings.HasPrefix(s, "go_") || strings.HasPrefix(s, "process_") {
			t.Fatalf("runtime series %s despite omit_runtime", s)
		}
	}
}

// Metrics off: a nil *Metrics takes every call and counts nothing.
func TestNilMetricsCountsNothing(t *testing.T) {
	m, err := metrics.NewFromConfig(metrics.Config{Disabled: true})
	if err != nil || m != nil {
		t.Fatalf("disabled: m=%v err=%v", m, err)
	}
	m.InFlight()()
	m.Observe(metrics.Outcome{APIID: apiA, Status: 200})
	m.ObserveAuditCommit(time.Millisecond, 1)
	m.OnAuditCommit(time.Millisecond, 1, errors.New("x"))
	m.RiskFlag("r")
	m.AlertRaised("r", "info")
	m.SetBreakerStates(func() map[string]string { return nil })
	if err := m.Registerer().Register(prometheus.NewCounter(prometheus.CounterOpts{Name: "x_total", Help: "x"})); err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if w.Code != http.StatusNotFound {
		t.Fatalf("disabled /metrics: status %d", w.Code)
	}
}

func TestConfigValidate(t *testing.T) {
	var c metrics.Config
	if err := c.Validate(); err != nil || c.MaxAPIs != 1000 || c.MaxApps != 10_000 || c.MaxRules != 500 {
		t.Fatalf("defaults: %+v, %v", c, err)
	}
	for _, tc := range []struct {
		name string
		cfg  metrics.Config
		msg  string
	}{
		{"negative max_apis", metrics.Config{MaxAPIs: -1}, "metrics.max_apis: must be between 1 and 100000"},
		{"huge max_apps", metrics.Config{MaxApps: 2_000_000}, "metrics.max_apps: must be between 1 and 1000000"},
		{"huge max_rules", metrics.Config{MaxRules: 10_001}, "metrics.max_rules: must be between 1 and 10000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Validate = %v, want %q", err, tc.msg)
			}
			if m, err := metrics.NewFromConfig(tc.cfg); err == nil || m != nil {
				t.Fatal("NewFromConfig accepted an invalid configuration")
			}
		})
	}
}

// The cap holds when many requests of new apps arrive at once.
func TestCardinalityCapUnderConcurrency(t *testing.T) {
	m, err := metrics.NewFromConfig(metrics.Config{MaxApps: 10, OmitRuntime: true})
	if err != nil {
		t.Fatal(err)
	}
	const apps, each = 50, 20
	var wg sync.WaitGroup
	for i := range apps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				done := m.InFlight()
				m.Observe(metrics.Outcome{APIID: apiA, AppID: fmt.Sprintf("app-%02d", i), Status: 200})
				done()
			}
		}()
	}
	wg.Wait()
	got := scrape(t, m)
	reqs := series(got, "bankguard_requests_total")
	total := 0.0
	for _, v := range reqs {
		total += v
	}
	if len(reqs) != 11 || total != apps*each || reqs[req(apiA, "other", "2xx", "success")] != (apps-10)*each {
		t.Fatalf("%d series, %v requests, %v as other; want 11, %d, %d", len(reqs), total,
			reqs[req(apiA, "other", "2xx", "success")], apps*each, (apps-10)*each)
	}
	if v := got[`bankguard_metrics_label_overflow_total{label="app"}`]; v != (apps-10)*each {
		t.Fatalf("app overflow = %v", v)
	}
	if v := got["bankguard_requests_in_flight"]; v != 0 {
		t.Fatalf("in flight = %v after all requests finished", v)
	}
}

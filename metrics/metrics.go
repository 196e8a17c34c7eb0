// Package metrics exposes the gateway's monitoring in the Prometheus text
// format on the admin listener: request volume, success rate and latency per
// API and app (T/PCAC 0008-2020 6.1.1), requests in flight, rate-limit,
// blacklist, WAF and risk refusals and authentication failures by reason
// (4.1, 6.1.2: flow control, unauthorized use and impersonation), upstream
// circuit breaker states (6.1.2: fault isolation), audit commit latency
// (6.1.1), risk flags on fund transactions (6.2.3) and alerts raised by
// severity (6.5).
//
// Label values are bounded: api is a U_API_ID or "unmatched", app an App_ID
// or "unknown", and a label that would take more distinct values than its
// configured cap folds the rest into "other". Nothing a client chooses
// (a keyid, a path, a header) ever becomes a label value, and no series
// carries a secret or personal data.
//
// A nil *Metrics is valid and counts nothing, so that the gateway can run
// with metrics off without a check at every call.
package metrics

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The label values that stand for a missing, malformed or overflowing value.
const (
	// Unmatched is the api of a request that matched no API.
	Unmatched = "unmatched"
	// Unknown is the app of a request whose App_ID was not verified, and
	// any other label whose value is missing or malformed.
	Unknown = "unknown"
	// Other gathers the values of a label beyond its cap.
	Other = "other"
)

// Buckets are the latency histogram bounds in seconds, 0.5 ms to 10 s: a
// gateway answers within milliseconds, a backend or an fsync may take
// seconds, and the upstream timeout bounds the rest.
var Buckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Config configures the metrics. The zero value is the default.
type Config struct {
	// Disabled turns metrics off: NewFromConfig returns a nil *Metrics,
	// which counts nothing, and /metrics should not be mounted.
	Disabled bool `yaml:"disabled"`
	// OmitRuntime leaves out the Go runtime and process metrics (go_*,
	// process_*), which are exported by default.
	OmitRuntime bool `yaml:"omit_runtime"`
	// MaxAPIs and MaxApps cap the distinct api and app label values
	// (defaults 1,000 and 10,000); further ones are counted as "other".
	MaxAPIs int `yaml:"max_apis"`
	MaxApps int `yaml:"max_apps"`
	// MaxRules caps the distinct values of each of the risk rule, alert
	// rule and upstream labels (default 500).
	MaxRules int `yaml:"max_rules"`
}

// Validate checks the configuration and fills in defaults.
func (c *Config) Validate() error {
	for _, f := range []struct {
		name     string
		v        *int
		def, max int
	}{
		{"metrics.max_apis", &c.MaxAPIs, 1000, 100_000},
		{"metrics.max_apps", &c.MaxApps, 10_000, 1_000_000},
		{"metrics.max_rules", &c.MaxRules, 500, 10_000},
	} {
		if *f.v == 0 {
			*f.v = f.def
		}
		if *f.v < 1 || *f.v > f.max {
			return fmt.Errorf("%s: must be between 1 and %d, have %d", f.name, f.max, *f.v)
		}
	}
	return nil
}

// Metrics holds the gateway's collectors in a registry of its own (never the
// process-wide default one).
type Metrics struct {
	reg *prometheus.Registry

	inFlight     prometheus.Gauge
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	upstream     *prometheus.HistogramVec
	appDuration  *prometheus.SummaryVec
	authFailures *prometheus.CounterVec
	rejections   *prometheus.CounterVec
	auditCommit  prometheus.Histogram
	auditRecords prometheus.Counter
	auditFailed  prometheus.Counter
	riskFlags    *prometheus.CounterVec
	alerts       *prometheus.CounterVec
	overflow     *prometheus.CounterVec
	breakers     *breakerCollector

	apis, apps, riskRules, alertRules *bounded
}

// New returns metrics with the default configuration.
func New() *Metrics {
	m, err := NewFromConfig(Config{})
	if err != nil { // the defaults are valid
		panic(err)
	}
	return m
}

// NewFromConfig validates cfg and returns the metrics it describes, or nil
// (which counts nothing) if cfg.Disabled.
func NewFromConfig(cfg Config) (*Metrics, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Disabled {
		return nil, nil
	}
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.overflow = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bankguard_metrics_label_overflow_total",
		Help: "Observations whose label value was counted as \"other\" because the label reached its cap.",
	}, []string{"label"})
	m.apis = newBounded("api", cfg.MaxAPIs, Unmatched, m.overflow)
	m.apps = newBounded("app", cfg.MaxApps, Unknown, m.overflow)
	m.riskRules = newBounded("risk_rule", cfg.MaxRules, Unknown, m.overflow)
	m.alertRules = newBounded("alert_rule", cfg.MaxRules, Unknown, m.overflow)

	m.inFlight = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "bankguard_requests_in_flight",
		Help: "API requests the gateway is serving now.",
	})
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bankguard_requests_total",
		Help: "API requests served, by U_API_ID, App_ID, status class and result (failure: status 400 or above).",
	}, []string{"api", "app", "class", "result"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "bankguard_request_duration_seconds",
		Help:    "Time from receiving a request to its outcome at the edge, by U_API_ID.",
		Buckets: Buckets,
	}, []string{"api"})
	m.upstream = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "bankguard_upstream_duration_seconds",
		Help:    "Time the bank's backend took to answer, by U_API_ID.",
		Buckets: Buckets,
	}, []string{"api"})
	m.appDuration = prometheus.NewSummaryVec(prometheus.SummaryOpts{
		Name: "bankguard_app_request_duration_seconds",
		Help: "Time from receiving a request to its outcome at the edge, by App_ID (sum and count: mean latency per app).",
	}, []string{"app"})
	m.authFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bankguard_auth_failures_total",
		Help: "Requests refused by authentication, by error code.",
	}, []string{"reason"})
	m.rejections = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bankguard_rejections_total",
		Help: "Requests refused or held by a traffic, defence or risk control, by control and error code.",
	}, []string{"control", "code"})
	m.auditCommit = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "bankguard_audit_commit_seconds",
		Help:    "Time a durable group commit of audit records took.",
		Buckets: Buckets,
	})
	m.auditRecords = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "bankguard_audit_records_total",
		Help: "Audit records durably committed.",
	})
	m.auditFailed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "bankguard_audit_commit_failures_total",
		Help: "Group commits of audit records that failed (their requests were refused).",
	})
	m.riskFlags = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bankguard_risk_flags_total",
		Help: "Fund transactions flagged by a risk rule, by rule.",
	}, []string{"rule"})
	m.alerts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bankguard_alerts_total",
		Help: "Alerts raised, by rule and severity.",
	}, []string{"rule", "severity"})
	m.breakers = newBreakerCollector(newBounded("upstream", cfg.MaxRules, Unknown, m.overflow))

	m.reg.MustRegister(m.inFlight, m.requests, m.duration, m.upstream, m.appDuration, m.authFailures,
		m.rejections, m.auditCommit, m.auditRecords, m.auditFailed, m.riskFlags, m.alerts, m.overflow, m.breakers)
	if !cfg.OmitRuntime {
		m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	m.zero()
	return m, nil
}

// zero creates the bounded series of the refusal counters at 0, so that
// rates and dashboards have them from the first scrape.
func (m *Metrics) zero() {
	for reason := range authReasons {
		m.authFailures.WithLabelValues(reason)
	}
	for code, control := range rejectionControls {
		m.rejections.WithLabelValues(control, code)
	}
	for _, label := range []string{"api", "app", "risk_rule", "alert_rule", "upstream"} {
		m.overflow.WithLabelValues(label)
	}
}

// Handler serves the metrics in the Prometheus exposition format; mount it
// at GET /metrics on the admin listener only. A nil *Metrics serves 404.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.InstrumentMetricHandler(m.reg, promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		Registry:            m.reg,
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	}))
}

// Registerer lets other parts of the gateway add collectors to the same
// registry. Their label values must be bounded too.
func (m *Metrics) Registerer() prometheus.Registerer {
	if m == nil {
		return prometheus.NewRegistry() // goes nowhere
	}
	return m.reg
}

// Outcome is one finished API request as the edge sees it.
type Outcome struct {
	// APIID is the matched API's U_API_ID; empty if none matched.
	APIID string
	// AppID is the verified App_ID (stage.Exchange.App); empty if the
	// signature was not verified. Never a keyid or a claimed App_ID.
	AppID string
	// Status is the response status (499 if the client went away).
	Status int
	// Code is the problem code of the response, or "".
	Code string
	// Backend says that Code came from the bank's backend (the proxy passed
	// its refusal on), not from a gateway control, so that a backend's 429
	// or 401 is not counted as the gateway's rate limit or authentication.
	Backend bool
	// Latency is from receipt to outcome; Upstream is the backend's part,
	// 0 if the request did not reach the backend.
	Latency, Upstream time.Duration
}

// Observe counts a finished request (T/PCAC 0008-2020 6.1.1 volume, success
// rate and latency; 6.1.2 refusals and authentication failures).
func (m *Metrics) Observe(o Outcome) {
	if m == nil {
		return
	}
	api, app := m.apis.value(o.APIID), m.apps.value(o.AppID)
	m.requests.WithLabelValues(api, app, statusClass(o.Status), result(o.Status)).Inc()
	latency := seconds(o.Latency)
	m.duration.WithLabelValues(api).Observe(latency)
	m.appDuration.WithLabelValues(app).Observe(latency)
	if o.Upstream > 0 {
		m.upstream.WithLabelValues(api).Observe(seconds(o.Upstream))
	}
	if o.Code == "" || o.Backend {
		return
	}
	if authReasons[o.Code] {
		m.authFailures.WithLabelValues(o.Code).Inc()
	}
	if control, ok := rejectionControls[o.Code]; ok {
		m.rejections.WithLabelValues(control, o.Code).Inc()
	}
}

// InFlight counts a request in flight until the returned func is called
// (once; later calls do nothing). Flow control by concurrency: 6.1.2.
func (m *Metrics) InFlight() func() {
	if m == nil {
		return func() {}
	}
	m.inFlight.Inc()
	var done atomic.Bool
	return func() {
		if done.CompareAndSwap(false, true) {
			m.inFlight.Dec()
		}
	}
}

// ObserveAuditCommit counts a durable group commit of records audit records
// that took d.
func (m *Metrics) ObserveAuditCommit(d time.Duration, records int) {
	if m == nil {
		return
	}
	m.auditCommit.Observe(seconds(d))
	if records > 0 {
		m.auditRecords.Add(float64(records))
	}
}

// AuditCommitFailed counts a group commit that could not be stored.
func (m *Metrics) AuditCommitFailed() {
	if m == nil {
		return
	}
	m.auditFailed.Inc()
}

// OnAuditCommit has the signature of audit.WriterConfig.OnCommit: it counts
// a commit, or a failed one if err is set.
func (m *Metrics) OnAuditCommit(d time.Duration, records int, err error) {
	if err != nil {
		m.AuditCommitFailed()
		return
	}
	m.ObserveAuditCommit(d, records)
}

// RiskFlag counts a fund transaction flagged by a risk rule (T/PCAC
// 0008-2020 6.2.3: real-time monitoring of fund activity).
func (m *Metrics) RiskFlag(rule string) {
	if m == nil {
		return
	}
	m.riskFlags.WithLabelValues(m.riskRules.value(rule)).Inc()
}

// AlertRaised counts an alert (T/PCAC 0008-2020 6.5 graded alarms).
// Severities other than info, warning and critical count as "unknown".
func (m *Metrics) AlertRaised(rule, severity string) {
	if m == nil {
		return
	}
	m.alerts.WithLabelValues(m.alertRules.value(rule), severityLabel(severity)).Inc()
}

// SetBreakerStates gives the function that reports each upstream's circuit
// breaker state ("closed", "half-open", "open", or "down" when its health
// check failed) by upstream name, such as proxy.(*Proxy).BreakerStates. It is
// called at every scrape, concurrently with the gateway's work, so it must
// be safe for that. A later call replaces the function; nil removes it.
func (m *Metrics) SetBreakerStates(states func() map[string]string) {
	if m == nil {
		return
	}
	m.breakers.set(states)
}

func seconds(d time.Duration) float64 {
	if d < 0 {
		return 0
	}
	return d.Seconds()
}

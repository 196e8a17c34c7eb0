package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bankguard/bankguard/problem"
)

// authReasons are the codes counted as authentication failures: the
// signature, the App_ID, replay and the user's token. A burst of them is
// what unauthorized use and impersonation look like (T/PCAC 0008-2020
// 6.1.2). An explicit set, not a prefix: a backend may send its own codes.
var authReasons = map[string]bool{}

// rejectionControls maps the refusal codes of the traffic, defence and risk
// controls to the control that raises them (T/PCAC 0008-2020 6.1.2, 6.2.1,
// 3.3.2, 6.2.3).
var rejectionControls = map[string]string{
	string(problem.RateLimited):         "ratelimit",
	string(problem.AppPaused):           "ratelimit",
	string(problem.Throttled):           "ratelimit",
	string(problem.Blacklisted):         "blacklist",
	string(problem.RequestBlocked):      "waf",
	string(problem.TransactionRejected): "risk",
	string(problem.TransactionHeld):     "risk",
}

func init() {
	for _, c := range []problem.Code{
		problem.SignatureMissing, problem.SignatureInvalid, problem.DigestMismatch,
		problem.TimestampOutOfWindow, problem.ReplayDetected, problem.AppUnknown,
		problem.TokenMissing, problem.TokenInvalid, problem.TokenExpired, problem.TokenRevoked,
		problem.LevelInsufficient,
	} {
		authReasons[string(c)] = true
	}
}

// statusClasses are the class label values by status / 100.
var statusClasses = [...]string{1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}

// statusClass is "1xx".."5xx", or Other for a status outside 100..599.
func statusClass(status int) string {
	if status < 100 || status > 599 {
		return Other
	}
	return statusClasses[status/100]
}

// result is "success" below 400, as the audit record has it, and "failure"
// from 400 on or for a status that is not one. A held transaction (202) is
// a success here and counted among the risk control's rejections.
func result(status int) string {
	if status >= 100 && status < 400 {
		return "success"
	}
	return "failure"
}

// severityLabel keeps the severity label to alert's three severities.
func severityLabel(s string) string {
	switch s {
	case "info", "warning", "critical":
		return s
	}
	return Unknown
}

// maxLabelLen bounds a label value's length.
const maxLabelLen = 64

// validLabel accepts identifiers: 1 to 64 letters, digits and . _ : -
// (U_API_IDs, App_IDs, rule and upstream names).
func validLabel(s string) bool {
	if len(s) == 0 || len(s) > maxLabelLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '.' && c != '_' && c != ':' && c != '-' {
			return false
		}
	}
	return true
}

// bounded keeps one label's distinct values under a cap: a missing or
// malformed value becomes missing, and new values past the cap become Other
// (and are counted in overflow).
type bounded struct {
	label    string
	max      int
	missing  string
	overflow prometheus.Counter

	seen sync.Map // string → struct{}: read without a lock on the hot path
	mu   sync.Mutex
	n    int
}

func newBounded(label string, max int, missing string, overflow *prometheus.CounterVec) *bounded {
	return &bounded{label: label, max: max, missing: missing, overflow: overflow.WithLabelValues(label)}
}

// value is the label value to use for s.
func (b *bounded) value(s string) string {
	if _, ok := b.seen.Load(s); ok {
		return s
	}
	if !validLabel(s) {
		return b.missing
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.seen.Load(s); ok {
		return s
	}
	if b.n >= b.max {
		b.overflow.Inc()
		return Other
	}
	b.seen.Store(s, struct{}{})
	b.n++
	return s
}

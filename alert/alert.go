// Package alert raises the bank's alerts: graded events (info, warning,
// critical) that controls report — rate limits passed, apps paused,
// impersonation attempts, risky transfers, failing backends — and that are
// de-duplicated, capped, delivered to notifiers and gathered into incidents
// (T/PCAC 0008-2020 6.1.1, 6.1.2, 6.5).
package alert

import (
	"context"
	"time"
)

// Severity grades an alert.
type Severity string

// The severities.
const (
	Info     Severity = "info"
	Warning  Severity = "warning"
	Critical Severity = "critical"
)

// Alert is one event worth telling the bank about.
type Alert struct {
	// Rule names what raised it, e.g. "ratelimit.alarm", "blacklist.auto",
	// "risk.large_amount", "breaker.open". Alerts of one rule and subject
	// are de-duplicated together.
	Rule     string
	Severity Severity
	// Subject is what the alert is about: "app:demo-a1-hmac",
	// "api:OPC…", "ip:203.0.113.7", "upstream:core".
	Subject string
	// Summary is one line for people; Detail adds context. Neither holds a
	// secret or unmasked personal data.
	Summary string
	Detail  string
	// TxnID links the request that raised it, if any.
	TxnID string
	Time  time.Time
	// Each makes every occurrence an alert of its own, never joined to an
	// earlier one of the same rule and subject: large or abnormal fund
	// transactions are alerted one by one (T/PCAC 0008-2020 6.2.3). They
	// still join their subject's incident, and the notifiers' caps apply.
	Each bool
}

// Raiser is what controls need to raise an alert. It never blocks the
// request for delivery and never fails it.
type Raiser interface {
	Raise(ctx context.Context, a Alert)
}

// Discard is a Raiser that drops every alert (tests, benchmarks).
type Discard struct{}

// Raise implements Raiser.
func (Discard) Raise(context.Context, Alert) {}

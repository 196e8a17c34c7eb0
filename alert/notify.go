package alert

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/bankguard/bankguard/pii"
)

// Notifier delivers notifications to people or systems of the bank: the
// "active notification" of T/PCAC 0008-2020 6.1.2-3 and the graded alarm
// notification of 6.5. Notify may take its time (the Manager calls it from a
// goroutine of its own per notifier) but must honour ctx.
type Notifier interface {
	Notify(ctx context.Context, n Notification) error
}

// NotificationType names what a notification carries.
type NotificationType string

// The types of notification.
const (
	// TypeAlert carries one new alert.
	TypeAlert NotificationType = "alert"
	// TypeSuppressed summarizes the alerts a notifier's rate cap held back.
	TypeSuppressed NotificationType = "suppressed"
	// TypeDailyReport carries the daily summary (6.5-4).
	TypeDailyReport NotificationType = "daily_report"
)

// Notification is what a notifier delivers; the webhook posts it as JSON.
// It holds no secret, and personal data in it is masked.
type Notification struct {
	ID       string           `json:"id"`
	Type     NotificationType `json:"type"`
	Severity Severity         `json:"severity"`
	// Title is one line (the e-mail subject); Text the body for people.
	Title string    `json:"title"`
	Text  string    `json:"text"`
	Time  time.Time `json:"time"`
	// Exactly one of these is set, according to Type.
	Alert      *Record     `json:"alert,omitempty"`
	Suppressed *Suppressed `json:"suppressed,omitempty"`
	Report     *Summary    `json:"report,omitempty"`
}

// Suppressed counts the alerts a notifier's rate cap held back in one window.
type Suppressed struct {
	Count      int              `json:"count"`
	BySeverity map[Severity]int `json:"by_severity"`
	ByRule     map[string]int   `json:"by_rule"`
	From       time.Time        `json:"from"`
	To         time.Time        `json:"to"`
}

// alertNotification describes a new alert record.
func alertNotification(r Record, now time.Time) Notification {
	var b strings.Builder
	fmt.Fprintf(&b, "Severity:  %s\nRule:      %s\nSubject:   %s\nSummary:   %s\n", r.Severity, r.Rule, r.Subject, r.Summary)
	if r.Detail != "" {
		fmt.Fprintf(&b, "Detail:    %s\n", r.Detail)
	}
	fmt.Fprintf(&b, "Time:      %s\nAlert ID:  %s\n", r.FirstSeen.Format(time.RFC3339), r.ID)
	if r.TxnID != "" {
		fmt.Fprintf(&b, "Txn ID:    %s\n", r.TxnID)
	}
	if r.IncidentID != "" {
		fmt.Fprintf(&b, "Incident:  %s\n", r.IncidentID)
	}
	b.WriteString("\nRepeats of this rule and subject are counted, not sent again, during the de-duplication window.\n")
	return Notification{
		ID: newID("NTF", now), Type: TypeAlert, Severity: r.Severity, Time: now,
		Title: fmt.Sprintf("[bankguard %s] %s: %s", r.Severity, r.Subject, r.Summary),
		Text:  b.String(), Alert: &r,
	}
}

// suppressedNotification summarizes what a rate cap held back.
func suppressedNotification(s *Suppressed, now time.Time) Notification {
	sev := Info
	for k := range s.BySeverity {
		sev = maxSeverity(sev, k)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "The rate cap of this channel held back %d alerts between %s and %s.\n\nBy severity:\n",
		s.Count, s.From.Format(time.RFC3339), s.To.Format(time.RFC3339))
	for _, k := range []Severity{Critical, Warning, Info} {
		if n := s.BySeverity[k]; n > 0 {
			fmt.Fprintf(&b, "  %-9s %d\n", k, n)
		}
	}
	b.WriteString("By rule:\n")
	for _, rule := range sortedKeys(s.ByRule) {
		fmt.Fprintf(&b, "  %-30s %d\n", rule, s.ByRule[rule])
	}
	b.WriteString("\nThey are listed by the admin API: GET /admin/v1/alerts.\n")
	return Notification{
		ID: newID("NTF", now), Type: TypeSuppressed, Severity: sev, Time: now,
		Title: fmt.Sprintf("[bankguard %s] %d alerts held back by the rate cap", sev, s.Count),
		Text:  b.String(), Suppressed: s,
	}
}

// Log is the notifier that writes notifications to a structured log:
// critical at level ERROR, warning at WARN, the rest at INFO. Give it a
// logger wrapped by pii.NewSlogHandler, like every logger of the gateway.
type Log struct {
	Logger *slog.Logger
}

// Notify implements Notifier.
func (l Log) Notify(ctx context.Context, n Notification) error {
	level := slog.LevelInfo
	switch n.Severity {
	case Critical:
		level = slog.LevelError
	case Warning:
		level = slog.LevelWarn
	}
	attrs := []any{"notification", n.ID, "type", n.Type, "severity", n.Severity, "title", n.Title}
	switch {
	case n.Alert != nil:
		a := n.Alert
		attrs = append(attrs, "alert_id", a.ID, "rule", a.Rule, "subject", a.Subject, "txn_id", a.TxnID, "incident", a.IncidentID)
	case n.Suppressed != nil:
		attrs = append(attrs, "suppressed", n.Suppressed.Count)
	case n.Report != nil:
		attrs = append(attrs, "date", n.Report.Date, "alerts", n.Report.Alerts.Total,
			"incidents_opened", n.Report.Incidents.Opened, "incidents_resolved", n.Report.Incidents.Resolved)
	}
	logger := l.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger.Log(ctx, level, "alert notification", attrs...)
	return nil
}

// clean makes untrusted text fit for alerts, incidents and e-mail: personal
// data masked (pii.MaskText), control characters (line breaks included, so
// nothing can be smuggled into a mail header) replaced by spaces, and at most
// limit bytes kept, cut at a character boundary.
func clean(s string, limit int) string {
	s = pii.MaskText(s)
	if strings.IndexFunc(s, unicode.IsControl) >= 0 || !utf8.ValidString(s) {
		s = strings.Map(func(r rune) rune {
			if unicode.IsControl(r) || r == utf8.RuneError {
				return ' '
			}
			return r
		}, s)
	}
	if len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

var _ Notifier = Log{}

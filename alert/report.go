package alert

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Daily summary report of alerts and incidents: the periodic analysis of
// T/PCAC 0008-2020 6.5-4.

// keepDays is how many days of alert counts the Manager keeps.
const keepDays = 62

// dayStats counts one day's alerts. Guarded by Manager.mu.
type dayStats struct {
	total      int
	distinct   int
	dropped    int64
	bySeverity map[Severity]int
	byRule     map[string]map[Severity]int
}

// Summary is the daily report.
type Summary struct {
	// Date is the calendar day (YYYY-MM-DD) in TimeZone; From and To bound it.
	Date      string         `json:"date"`
	TimeZone  string         `json:"time_zone"`
	From      time.Time      `json:"from"`
	To        time.Time      `json:"to"`
	Alerts    AlertCounts    `json:"alerts"`
	Incidents IncidentCounts `json:"incidents"`
}

// AlertCounts are a day's alerts. They count the alerts this gateway node
// raised.
type AlertCounts struct {
	// Total counts every alert raised, repeats included; Distinct those that
	// were notified (the first of a rule and subject in a window).
	Total    int `json:"total"`
	Distinct int `json:"distinct"`
	// Dropped counts alerts lost because the queue was full.
	Dropped    int64                       `json:"dropped"`
	BySeverity map[Severity]int            `json:"by_severity"`
	ByRule     map[string]map[Severity]int `json:"by_rule"`
}

// IncidentCounts are a day's incidents.
type IncidentCounts struct {
	Opened int `json:"opened"`
	// Acknowledged and Resolved count incidents first acknowledged, and
	// resolved, during the day.
	Acknowledged int `json:"acknowledged"`
	Resolved     int `json:"resolved"`
	// UnresolvedAtEnd counts incidents opened before the day's end and not
	// resolved by then.
	UnresolvedAtEnd int `json:"unresolved_at_end"`
	// MeanTimeToAcknowledge is the mean time from opening to the first
	// acknowledgement of the incidents acknowledged during the day (seconds).
	MeanTimeToAcknowledge float64 `json:"mean_time_to_acknowledge_seconds"`
	// MeanTimeToResolve is the same for the incidents resolved during the day.
	MeanTimeToResolve float64 `json:"mean_time_to_resolve_seconds"`
}

// day returns the counts of t's day, creating them, forgetting days older
// than keepDays, and attributing to it the alerts dropped since the last
// call. Call with m.mu held.
func (m *Manager) day(t time.Time) *dayStats {
	key := t.In(m.loc).Format(time.DateOnly)
	d, ok := m.days[key]
	if !ok {
		d = &dayStats{bySeverity: map[Severity]int{}, byRule: map[string]map[Severity]int{}}
		m.days[key] = d
		cutoff := t.In(m.loc).AddDate(0, 0, -keepDays).Format(time.DateOnly)
		for k := range m.days {
			if k < cutoff {
				delete(m.days, k)
			}
		}
	}
	if n := m.dropped.Load(); n > m.droppedSeen {
		d.dropped += n - m.droppedSeen
		m.droppedSeen = n
	}
	return d
}

// count adds an alert to its day. Call with m.mu held.
func (m *Manager) count(a Alert) {
	d := m.day(a.Time)
	d.total++
	d.bySeverity[a.Severity]++
	if d.byRule[a.Rule] == nil {
		d.byRule[a.Rule] = map[Severity]int{}
	}
	d.byRule[a.Rule][a.Severity]++
}

// DailySummary reports the alerts and incidents of the calendar day of date
// in the Manager's time zone.
func (m *Manager) DailySummary(ctx context.Context, date time.Time) (Summary, error) {
	date = date.In(m.loc)
	from := time.Date(date.Year(), date.Month(), date.Day(), 0, 0, 0, 0, m.loc)
	to := from.AddDate(0, 0, 1)
	s := Summary{
		Date: from.Format(time.DateOnly), TimeZone: m.loc.String(), From: from, To: to,
		Alerts: AlertCounts{BySeverity: map[Severity]int{}, ByRule: map[string]map[Severity]int{}},
	}
	m.mu.Lock()
	if d, ok := m.days[s.Date]; ok {
		s.Alerts.Total, s.Alerts.Distinct, s.Alerts.Dropped = d.total, d.distinct, d.dropped
		s.Alerts.BySeverity = maps.Clone(d.bySeverity)
		for rule, by := range d.byRule {
			s.Alerts.ByRule[rule] = maps.Clone(by)
		}
	}
	m.mu.Unlock()
	incs, err := m.store.List(ctx, Filter{})
	if err != nil {
		return s, fmt.Errorf("alert: daily summary: %w", err)
	}
	within := func(t time.Time) bool { return !t.IsZero() && !t.Before(from) && t.Before(to) }
	var ack, res time.Duration
	for _, inc := range incs {
		if within(inc.OpenedAt) {
			s.Incidents.Opened++
		}
		if within(inc.AcknowledgedAt) {
			s.Incidents.Acknowledged++
			ack += inc.AcknowledgedAt.Sub(inc.OpenedAt)
		}
		if within(inc.ResolvedAt) {
			s.Incidents.Resolved++
			res += inc.ResolvedAt.Sub(inc.OpenedAt)
		}
		if inc.OpenedAt.Before(to) && (inc.ResolvedAt.IsZero() || !inc.ResolvedAt.Before(to)) {
			s.Incidents.UnresolvedAtEnd++
		}
	}
	if n := s.Incidents.Acknowledged; n > 0 {
		s.Incidents.MeanTimeToAcknowledge = (ack / time.Duration(n)).Seconds()
	}
	if n := s.Incidents.Resolved; n > 0 {
		s.Incidents.MeanTimeToResolve = (res / time.Duration(n)).Seconds()
	}
	return s, nil
}

// SendDailyReport sends the summary of date's day to every route that takes
// daily reports, regardless of its minimum severity and rate cap.
func (m *Manager) SendDailyReport(ctx context.Context, date time.Time) error {
	s, err := m.DailySummary(ctx, date)
	if err != nil {
		return err
	}
	now := m.now()
	n := Notification{
		ID: newID("NTF", now), Type: TypeDailyReport, Severity: Info, Time: now,
		Title: fmt.Sprintf("[bankguard report] %s: %d alerts, %d incidents opened, %d unresolved",
			s.Date, s.Alerts.Total, s.Incidents.Opened, s.Incidents.UnresolvedAtEnd),
		Text: s.Text(), Report: &s,
	}
	for _, r := range m.routes {
		if r.DailyReport {
			m.send(r, job{n: n}, false)
		}
	}
	return nil
}

// RunDailyReport sends, every day at the clock time at ("HH:MM" in the
// Manager's time zone), the report of the day before, until ctx ends.
func (m *Manager) RunDailyReport(ctx context.Context, at string) error {
	h, mi, err := parseClock(at)
	if err != nil {
		return err
	}
	var last time.Time
	for {
		// Never before the last run, even if the clock stepped back.
		now := laterOf(m.now(), last)
		next := nextRun(now, h, mi, m.loc)
		last = next
		t := time.NewTimer(next.Sub(m.now()))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		if err := m.SendDailyReport(ctx, next.AddDate(0, 0, -1)); err != nil {
			m.log.Error("alert: daily report not sent", "err", err)
		}
	}
}

// nextRun returns the first h:mi in loc strictly after now.
func nextRun(now time.Time, h, mi int, loc *time.Location) time.Time {
	n := now.In(loc)
	t := time.Date(n.Year(), n.Month(), n.Day(), h, mi, 0, 0, loc)
	if !t.After(n) {
		t = time.Date(n.Year(), n.Month(), n.Day()+1, h, mi, 0, 0, loc)
	}
	return t
}

// parseClock parses "HH:MM" (24-hour).
func parseClock(s string) (h, mi int, err error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, 0, fmt.Errorf("alert: %q is not a time of day HH:MM", s)
	}
	return t.Hour(), t.Minute(), nil
}

// Text renders the summary for people (the daily e-mail).
func (s Summary) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "bankguard daily alert report for %s (%s)\n\n", s.Date, s.TimeZone)
	fmt.Fprintf(&b, "Alerts: %d raised, %d distinct, %d dropped (queue full)\n", s.Alerts.Total, s.Alerts.Distinct, s.Alerts.Dropped)
	for _, sev := range []Severity{Critical, Warning, Info} {
		fmt.Fprintf(&b, "  %-9s %d\n", sev, s.Alerts.BySeverity[sev])
	}
	if len(s.Alerts.ByRule) > 0 {
		b.WriteString("\nBy rule (critical / warning / info):\n")
		rules := sortedKeys(s.Alerts.ByRule)
		slices.SortStableFunc(rules, func(x, y string) int {
			return cmp.Compare(total(s.Alerts.ByRule[y]), total(s.Alerts.ByRule[x]))
		})
		for _, rule := range rules {
			by := s.Alerts.ByRule[rule]
			fmt.Fprintf(&b, "  %-30s %d / %d / %d\n", rule, by[Critical], by[Warning], by[Info])
		}
	}
	in := s.Incidents
	fmt.Fprintf(&b, "\nIncidents: %d opened, %d acknowledged, %d resolved, %d unresolved at the end of the day\n",
		in.Opened, in.Acknowledged, in.Resolved, in.UnresolvedAtEnd)
	if in.Acknowledged > 0 {
		fmt.Fprintf(&b, "Mean time to acknowledge: %s\n", time.Duration(in.MeanTimeToAcknowledge*float64(time.Second)).Round(time.Second))
	}
	if in.Resolved > 0 {
		fmt.Fprintf(&b, "Mean time to resolve: %s\n", time.Duration(in.MeanTimeToResolve*float64(time.Second)).Round(time.Second))
	}
	return b.String()
}

func total(by map[Severity]int) int {
	n := 0
	for _, v := range by {
		n += v
	}
	return n
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

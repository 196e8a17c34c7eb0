package alert

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDailySummaryCounts(t *testing.T) {
	clk := newClock() // 2026-05-12 09:30 UTC
	m := newTest(t, clk, Options{})
	h := m.Handler(byHeader)
	ctx := context.Background()

	m.Raise(ctx, warn("r.a", "app:1"))
	m.Raise(ctx, warn("r.a", "app:1")) // a repeat: counted, not notified
	m.Raise(ctx, Alert{Rule: "r.b", Severity: Critical, Subject: "app:2"})
	m.Raise(ctx, Alert{Rule: "r.c", Severity: Info, Subject: "app:3"})
	flush(t, m)
	inc1, inc2 := m.Recent(0, "")[2].IncidentID, m.Recent(0, "")[1].IncidentID

	clk.Advance(time.Hour) // 10:30
	call(t, h, "POST", "/admin/v1/incidents/"+inc1+"/ack", "", "alice", nil)
	clk.Advance(30 * time.Minute) // 11:00
	call(t, h, "POST", "/admin/v1/incidents/"+inc2+"/ack", "", "alice", nil)
	clk.Advance(time.Hour) // 12:00
	call(t, h, "POST", "/admin/v1/incidents/"+inc1+"/resolve", "", "alice", nil)

	clk.Advance(24 * time.Hour) // the next day
	m.Raise(ctx, warn("r.a", "app:4"))
	flush(t, m)

	var s Summary
	if w := call(t, h, "GET", "/admin/v1/reports/daily?date=2026-05-12", "", "alice", &s); w.Code != 200 {
		t.Fatalf("report: %d %s", w.Code, w.Body)
	}
	a, in := s.Alerts, s.Incidents
	if a.Total != 4 || a.Distinct != 3 || a.BySeverity[Warning] != 2 || a.BySeverity[Critical] != 1 || a.BySeverity[Info] != 1 ||
		a.ByRule["r.a"][Warning] != 2 || a.ByRule["r.b"][Critical] != 1 {
		t.Errorf("alerts = %+v", a)
	}
	if in.Opened != 2 || in.Acknowledged != 2 || in.Resolved != 1 || in.UnresolvedAtEnd != 1 {
		t.Errorf("incidents = %+v", in)
	}
	if in.MeanTimeToAcknowledge != 4500 || in.MeanTimeToResolve != 9000 { // (1h + 1h30m) / 2; 2h30m
		t.Errorf("mean times = %v s, %v s, want 4500 and 9000", in.MeanTimeToAcknowledge, in.MeanTimeToResolve)
	}

	next, err := m.DailySummary(ctx, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if next.Date != "2026-05-13" || next.Alerts.Total != 1 || next.Incidents.Opened != 1 || next.Incidents.UnresolvedAtEnd != 2 ||
		next.Incidents.Acknowledged != 0 {
		t.Errorf("next day = %+v", next)
	}
	if text := s.Text(); !strings.Contains(text, "Incidents: 2 opened, 2 acknowledged, 1 resolved") ||
		!strings.Contains(text, "Mean time to acknowledge: 1h15m0s") {
		t.Errorf("report text:\n%s", text)
	}
}

func TestDailySummaryUsesTheTimeZone(t *testing.T) {
	clk := newClock()
	cst := time.FixedZone("CST", 8*3600)
	m := newTest(t, clk, Options{Location: cst})
	m.Raise(context.Background(), Alert{Rule: "r", Severity: Info, Subject: "s",
		Time: time.Date(2026, 5, 12, 17, 0, 0, 0, time.UTC)}) // 01:00 on the 13th in Beijing
	flush(t, m)
	for date, want := range map[string]int{"2026-05-12": 0, "2026-05-13": 1} {
		d, _ := time.ParseInLocation(time.DateOnly, date, cst)
		s, err := m.DailySummary(context.Background(), d)
		if err != nil || s.Alerts.Total != want {
			t.Errorf("%s: %d alerts (%v), want %d", date, s.Alerts.Total, err, want)
		}
	}
}

func TestDailyReportGoesToReportRoutesPastCapAndSeverity(t *testing.T) {
	clk := newClock()
	reports, silent := &recorder{}, &recorder{}
	m := newTest(t, clk, Options{Routes: []Route{
		{Name: "reports", Notifier: reports, MinSeverity: Critical, RatePerMinute: 1, DailyReport: true},
		{Name: "silent", Notifier: silent},
	}})
	ctx := context.Background()
	m.Raise(ctx, Alert{Rule: "r", Severity: Critical, Subject: "a"}) // uses the minute's one slot
	flush(t, m)
	if err := m.SendDailyReport(ctx, clk.Now()); err != nil {
		t.Fatal(err)
	}
	flush(t, m)
	got := reports.ofType(TypeDailyReport)
	if len(got) != 1 || got[0].Report.Date != "2026-05-12" || got[0].Report.Alerts.Total != 1 {
		t.Fatalf("reports = %+v", got)
	}
	if n := len(silent.ofType(TypeDailyReport)); n != 0 {
		t.Errorf("a route without daily_report got %d reports", n)
	}
}

func TestRunDailyReportSendsTheDayBefore(t *testing.T) {
	clk := &clock{t: time.Date(2026, 5, 12, 7, 59, 59, 990_000_000, time.UTC)}
	rec := &recorder{}
	m := newTest(t, clk, Options{Routes: []Route{{Name: "r", Notifier: rec, DailyReport: true}}})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- m.RunDailyReport(ctx, "08:00") }()
	for guard := time.Now().Add(20 * time.Second); len(rec.ofType(TypeDailyReport)) == 0; {
		if time.Now().After(guard) { // a deadlock guard, not a timing assertion
			t.Fatal("no report sent")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("RunDailyReport = %v", err)
	}
	flush(t, m)
	got := rec.ofType(TypeDailyReport)
	if len(got) != 1 || got[0].Report.Date != "2026-05-11" {
		t.Errorf("reports = %d (%+v), want one for 2026-05-11", len(got), got)
	}
	if err := m.RunDailyReport(context.Background(), "8am"); err == nil {
		t.Error("a bad time of day was accepted")
	}
}

func TestNextRun(t *testing.T) {
	now := time.Date(2026, 5, 12, 9, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		h, m int
		want time.Time
	}{
		{8, 0, time.Date(2026, 5, 13, 8, 0, 0, 0, time.UTC)},
		{10, 0, time.Date(2026, 5, 12, 10, 0, 0, 0, time.UTC)},
		{9, 30, time.Date(2026, 5, 13, 9, 30, 0, 0, time.UTC)},
	} {
		if got := nextRun(now, tc.h, tc.m, time.UTC); !got.Equal(tc.want) {
			t.Errorf("nextRun(%02d:%02d) = %v, want %v", tc.h, tc.m, got, tc.want)
		}
	}
}

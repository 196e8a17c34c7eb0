package alert

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestDedupSameRuleAndSubjectJoins(t *testing.T) {
	clk := newClock()
	rec := &recorder{}
	m := newTest(t, clk, Options{Routes: []Route{{Name: "rec", Notifier: rec}}})
	ctx := context.Background()

	m.Raise(ctx, warn("ratelimit.alarm", "app:a"))
	clk.Advance(time.Minute)
	m.Raise(ctx, Alert{Rule: "ratelimit.alarm", Severity: Warning, Subject: "app:a", Summary: "again", TxnID: "T2"})
	clk.Advance(time.Minute)
	m.Raise(ctx, warn("ratelimit.alarm", "app:a"))
	m.Raise(ctx, warn("ratelimit.alarm", "app:b")) // other subject: its own alert
	m.Raise(ctx, warn("blacklist.auto", "app:a"))  // other rule: its own alert
	flush(t, m)

	got := rec.ofType(TypeAlert)
	if len(got) != 3 {
		t.Fatalf("notified %d alerts, want 3 (one per rule and subject): %+v", len(got), got)
	}
	var joined *Record
	for _, r := range m.Recent(0, "") {
		if r.Rule == "ratelimit.alarm" && r.Subject == "app:a" {
			joined = &r
		}
	}
	if joined == nil || joined.Count != 3 || joined.TxnID != "T2" {
		t.Fatalf("joined record = %+v, want count 3 and the latest txn id", joined)
	}
	if want := joined.FirstSeen.Add(2 * time.Minute); !joined.LastSeen.Equal(want) {
		t.Errorf("last seen %v, want %v", joined.LastSeen, want)
	}
}

func TestDedupWindowEndsAndEscalationNotifies(t *testing.T) {
	clk := newClock()
	rec := &recorder{}
	m := newTest(t, clk, Options{Routes: []Route{{Name: "rec", Notifier: rec}}, DedupWindow: 5 * time.Minute})
	ctx := context.Background()

	m.Raise(ctx, warn("breaker.open", "upstream:core"))
	clk.Advance(4 * time.Minute)
	m.Raise(ctx, warn("breaker.open", "upstream:core")) // joins
	clk.Advance(time.Minute)
	m.Raise(ctx, warn("breaker.open", "upstream:core")) // window over: notified again
	crit := warn("breaker.open", "upstream:core")
	crit.Severity = Critical
	m.Raise(ctx, crit) // graver than the open one: notified
	flush(t, m)

	got := rec.ofType(TypeAlert)
	if len(got) != 3 {
		t.Fatalf("notified %d, want 3", len(got))
	}
	if got[2].Severity != Critical {
		t.Errorf("escalated alert has severity %s", got[2].Severity)
	}
}

func TestRateCapSummarizesTheRest(t *testing.T) {
	clk := newClock()
	capped, free := &recorder{}, &recorder{}
	m := newTest(t, clk, Options{Routes: []Route{
		{Name: "capped", Notifier: capped, RatePerMinute: 3},
		{Name: "free", Notifier: free},
	}})
	ctx := context.Background()
	for i := range 5 {
		a := warn("blacklist.auto", "ip:203.0.113."+string(rune('1'+i)))
		if i == 4 {
			a.Severity = Critical
		}
		m.Raise(ctx, a)
	}
	flush(t, m)
	if n := len(capped.ofType(TypeAlert)); n != 3 {
		t.Fatalf("capped notifier got %d alerts within the minute, want 3", n)
	}
	if n := len(free.ofType(TypeAlert)); n != 5 {
		t.Fatalf("uncapped notifier got %d alerts, want 5", n)
	}
	if s := capped.ofType(TypeSuppressed); len(s) != 0 {
		t.Fatalf("summary sent before the minute ended: %+v", s)
	}

	clk.Advance(time.Minute)
	flush(t, m) // the worker's tick sends the summary
	sum := capped.ofType(TypeSuppressed)
	if len(sum) != 1 {
		t.Fatalf("got %d summaries, want 1", len(sum))
	}
	s := sum[0].Suppressed
	if s.Count != 2 || s.BySeverity[Warning] != 1 || s.BySeverity[Critical] != 1 || s.ByRule["blacklist.auto"] != 2 {
		t.Errorf("summary = %+v", s)
	}
	if sum[0].Severity != Critical || !strings.Contains(sum[0].Title, "2 alerts held back") {
		t.Errorf("summary notification = %q (%s)", sum[0].Title, sum[0].Severity)
	}

	// A new minute: the summary took one slot, two more alerts pass, the third waits.
	for i := range 3 {
		m.Raise(ctx, warn("ratelimit.alarm", "app:"+string(rune('a'+i))))
	}
	flush(t, m)
	if n := len(capped.ofType(TypeAlert)); n != 5 {
		t.Errorf("after the minute: %d alerts delivered in all, want 5", n)
	}
}

func TestMinSeverityPerNotifier(t *testing.T) {
	clk := newClock()
	pager, all := &recorder{}, &recorder{}
	m := newTest(t, clk, Options{Routes: []Route{
		{Name: "pager", Notifier: pager, MinSeverity: Critical},
		{Name: "all", Notifier: all, MinSeverity: Info},
	}})
	ctx := context.Background()
	m.Raise(ctx, Alert{Rule: "r.info", Severity: Info, Subject: "app:a"})
	m.Raise(ctx, Alert{Rule: "r.warn", Severity: Warning, Subject: "app:a"})
	m.Raise(ctx, Alert{Rule: "r.crit", Severity: Critical, Subject: "app:a"})
	flush(t, m)
	if got := pager.got(); len(got) != 1 || got[0].Alert.Rule != "r.crit" {
		t.Errorf("pager got %+v, want only the critical alert", got)
	}
	if n := len(all.got()); n != 3 {
		t.Errorf("info notifier got %d, want 3", n)
	}
}

// blockingStore blocks AddAlert until released, holding the worker.
type blockingStore struct {
	*MemoryStore
	entered chan struct{}
	release chan struct{}
}

func (s *blockingStore) AddAlert(ctx context.Context, a Alert, id string) (Incident, bool, error) {
	s.entered <- struct{}{}
	<-s.release
	return s.MemoryStore.AddAlert(ctx, a, id)
}

func TestRaiseNeverBlocksWhenQueueIsFull(t *testing.T) {
	clk := newClock()
	rec := &recorder{}
	st := &blockingStore{MemoryStore: NewMemoryStore(), entered: make(chan struct{}, 1), release: make(chan struct{})}
	m := newTest(t, clk, Options{Routes: []Route{{Name: "rec", Notifier: rec}}, Store: st, QueueSize: 2})
	ctx := context.Background()

	m.Raise(ctx, warn("r", "app:held")) // the worker takes it and blocks in the store
	<-st.entered
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 102 { // 2 fill the queue, 100 are dropped
			m.Raise(ctx, warn("r", "app:"+strings.Repeat("x", i+1)))
		}
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second): // a deadlock guard, not a timing assertion
		t.Fatal("Raise blocked on a full queue")
	}
	if got := m.Stats().Dropped; got != 100 {
		t.Errorf("dropped %d, want 100", got)
	}
	go func() {
		for range st.entered {
		}
	}()
	close(st.release)
	flush(t, m)
	if n := len(rec.ofType(TypeAlert)); n != 3 {
		t.Errorf("delivered %d alerts, want 3 (1 held + 2 queued)", n)
	}
	s, err := m.DailySummary(ctx, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if s.Alerts.Dropped != 100 {
		t.Errorf("daily summary dropped = %d, want 100", s.Alerts.Dropped)
	}
}

func TestAlertTextIsMaskedAndCleaned(t *testing.T) {
	clk := newClock()
	rec := &recorder{}
	m := newTest(t, clk, Options{Routes: []Route{{Name: "rec", Notifier: rec}}})
	m.Raise(context.Background(), Alert{
		Rule: "risk.large_amount", Severity: Critical, Subject: "app:a",
		Summary: "transfer by 13812345678\r\nBcc: evil@example.com",
		Detail:  "card 6222021234567890128 id 11010519491231002X",
	})
	flush(t, m)
	got := rec.got()
	if len(got) != 1 {
		t.Fatalf("got %d notifications", len(got))
	}
	n := got[0]
	for _, s := range []string{n.Title, n.Text, n.Alert.Summary, n.Alert.Detail} {
		for _, leak := range []string{"13812345678", "6222021234567890128", "11010519491231002X", "\n Bcc", "\r"} {
			if strings.Contains(s, leak) {
				t.Errorf("%q leaks %q", s, leak)
			}
		}
	}
	if strings.ContainsAny(n.Title, "\r\n") {
		t.Errorf("title has a line break: %q", n.Title)
	}
}

func TestUnknownSeverityCountsAsWarning(t *testing.T) {
	clk := newClock()
	m := newTest(t, clk, Options{})
	m.Raise(context.Background(), Alert{Rule: "x", Severity: "bogus", Subject: "app:a"})
	flush(t, m)
	r := m.Recent(1, "")
	if len(r) != 1 || r[0].Severity != Warning || r[0].IncidentID == "" {
		t.Fatalf("record = %+v, want a warning with an incident", r)
	}
}

func TestCloseDeliversQueuedAndDropsLater(t *testing.T) {
	clk := newClock()
	rec := &recorder{}
	m := NewManager(Options{Routes: []Route{{Name: "rec", Notifier: rec}}, Now: clk.Now, Logger: quietLogger()})
	ctx := context.Background()
	for i := range 10 {
		m.Raise(ctx, warn("r", "app:"+string(rune('a'+i))))
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := m.Close(cctx); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.got()); n != 10 {
		t.Errorf("delivered %d before closing, want 10", n)
	}
	m.Raise(ctx, warn("r", "app:late"))
	if err := m.Flush(cctx); err != ErrClosed {
		t.Errorf("Flush after Close = %v, want ErrClosed", err)
	}
	if n := len(rec.got()); n != 10 {
		t.Errorf("delivered %d after Close, want still 10", n)
	}
}

func TestLogNotifierLevels(t *testing.T) {
	var buf strings.Builder
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	clk := newClock()
	m := newTest(t, clk, Options{Routes: []Route{{Name: "log", Notifier: Log{Logger: logger}}}})
	m.Raise(context.Background(), Alert{Rule: "r.crit", Severity: Critical, Subject: "app:a", Summary: "phone 13812345678"})
	m.Raise(context.Background(), Alert{Rule: "r.info", Severity: Info, Subject: "app:a"})
	flush(t, m)
	out := buf.String()
	if !strings.Contains(out, `"level":"ERROR"`) || !strings.Contains(out, `"rule":"r.crit"`) ||
		!strings.Contains(out, `"level":"INFO"`) || strings.Contains(out, "13812345678") {
		t.Errorf("log:\n%s", out)
	}
}

// hanging is a notifier that waits for its context to end.
type hanging struct{ started chan struct{} }

func (h hanging) Notify(ctx context.Context, _ Notification) error {
	h.started <- struct{}{}
	<-ctx.Done()
	return ctx.Err()
}

func TestCloseCancelsAHangingNotifierAndSendsPendingSummaries(t *testing.T) {
	clk := newClock()
	h := hanging{started: make(chan struct{}, 1)}
	capped := &recorder{}
	m := NewManager(Options{Now: clk.Now, Logger: quietLogger(), Routes: []Route{
		{Name: "hang", Notifier: h},
		{Name: "capped", Notifier: capped, RatePerMinute: 1},
	}})
	m.Raise(context.Background(), warn("r", "app:a"))
	m.Raise(context.Background(), warn("r", "app:b")) // held back by the cap
	<-h.started
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := m.Close(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Close = %v, want the deadline (a notifier hangs)", err)
	}
	// The hanging delivery was cancelled: a second Close finishes.
	if err := m.Close(context.Background()); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if s := capped.ofType(TypeSuppressed); len(s) != 1 || s[0].Suppressed.Count != 1 {
		t.Errorf("pending summary at Close = %+v", s)
	}
	if m.Stats().Failed != 2 {
		t.Errorf("failed = %d, want the two cancelled deliveries", m.Stats().Failed)
	}
}

func TestEachAlertIsNotJoined(t *testing.T) {
	clk := newClock()
	rec := &recorder{}
	m := newTest(t, clk, Options{Routes: []Route{{Name: "rec", Notifier: rec}}})
	ctx := context.Background()
	for _, txn := range []string{"T1", "T2", "T3"} {
		m.Raise(ctx, Alert{Rule: "risk.large_transfer", Severity: Warning, Subject: "user:P1", Summary: "large transfer", TxnID: txn, Each: true})
	}
	flush(t, m)
	if got := rec.ofType(TypeAlert); len(got) != 3 {
		t.Fatalf("notified %d alerts, want each of the 3 transfers: %+v", len(got), got)
	}
	incidents, err := m.Store().List(ctx, Filter{})
	if err != nil || len(incidents) != 1 {
		t.Fatalf("incidents %d (%v), want the subject's one", len(incidents), err)
	}
}

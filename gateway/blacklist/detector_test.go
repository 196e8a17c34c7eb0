package blacklist

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bankguard/bankguard/alert"
	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/problem"
)

// recorder is a Raiser that keeps the alerts.
type recorder struct {
	mu     sync.Mutex
	alerts []alert.Alert
}

func (r *recorder) Raise(_ context.Context, a alert.Alert) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.alerts = append(r.alerts, a)
}

func (r *recorder) all() []alert.Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]alert.Alert(nil), r.alerts...)
}

type harness struct {
	clk    *fakeClock
	list   *Memory
	alerts *recorder
	d      *Detector
	ip     *IPHandler
	app    *AppHandler
}

func newHarness(t *testing.T, cfg AutoConfig) *harness {
	t.Helper()
	h := &harness{clk: &fakeClock{t: t0}, list: NewMemory(0), alerts: &recorder{}}
	d, err := NewDetector(cfg, h.list, h.alerts, h.clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	h.d = d
	h.ip = &IPHandler{List: h.list, Now: h.clk.Now}
	h.app = &AppHandler{List: h.list, Now: h.clk.Now}
	return h
}

// observe feeds n outcomes with code from ip, one second apart.
func (h *harness) observe(n int, ip string, code problem.Code) {
	for range n {
		h.d.Observe(context.Background(), Outcome{ClientIP: netip.MustParseAddr(ip), Code: code, Time: h.clk.Now(), TxnID: "TXN-" + ip})
		h.clk.Advance(time.Second)
	}
}

func (h *harness) blocked(t *testing.T, ip string) bool {
	t.Helper()
	called, err := serve(h.ip, ip, "")
	if err != nil && problem.From(err).Code != problem.Blacklisted {
		t.Fatalf("unexpected error %v", err)
	}
	return !called
}

func TestBadSignatureBurstBlocksAtThreshold(t *testing.T) {
	h := newHarness(t, AutoConfig{})
	const attacker, bystander = "203.0.113.66", "198.51.100.10"
	codes := []problem.Code{problem.SignatureInvalid, problem.SignatureMissing, problem.AppUnknown, problem.DigestMismatch}
	for i := range 19 {
		h.observe(1, attacker, codes[i%len(codes)])
		h.observe(1, bystander, problem.SignatureInvalid)
	}
	h.observe(40, attacker, problem.NotFound) // not an authentication failure
	h.d.Observe(context.Background(), Outcome{ClientIP: netip.MustParseAddr(attacker), Time: h.clk.Now()})
	if h.blocked(t, attacker) || len(h.alerts.all()) != 0 {
		t.Fatal("blocked before the 20th failure")
	}
	// A fresh burst, the earlier failures out of the window.
	h.clk.Advance(time.Minute)
	h.observe(19, attacker, problem.SignatureInvalid)
	if h.blocked(t, attacker) {
		t.Fatal("blocked after 19 failures")
	}
	h.observe(1, attacker, problem.SignatureInvalid)
	if !h.blocked(t, attacker) {
		t.Fatal("not blocked after 20 failures within a minute")
	}
	if h.blocked(t, bystander) || h.blocked(t, "203.0.113.67") {
		t.Fatal("another address was blocked")
	}
	// More failures in flight when the block landed raise nothing more.
	h.observe(25, attacker, problem.SignatureInvalid)

	got := h.alerts.all()
	if len(got) != 1 {
		t.Fatalf("%d alerts, want 1: %+v", len(got), got)
	}
	a := got[0]
	if a.Rule != "blacklist.auto" || a.Severity != alert.Critical || a.Subject != "ip:"+attacker || a.TxnID != "TXN-"+attacker {
		t.Fatalf("alert = %+v", a)
	}
	if !strings.Contains(a.Summary, "15m0s") || !strings.Contains(a.Summary, "20 failed authentications") {
		t.Fatalf("summary = %q", a.Summary)
	}
	entries, _ := h.list.List(context.Background(), h.clk.Now())
	if len(entries) != 1 || entries[0].Source != SourceAuto || entries[0].Value != attacker+"/32" {
		t.Fatalf("entries = %+v", entries)
	}
}

func TestBurstMustFitTheWindow(t *testing.T) {
	h := newHarness(t, AutoConfig{AuthFailures: BurstRule{Threshold: 5, Window: time.Minute}})
	const ip = "203.0.113.5"
	for range 20 { // one failure every 15 s: at most 4 in any minute
		h.observe(1, ip, problem.SignatureInvalid)
		h.clk.Advance(14 * time.Second)
	}
	if h.blocked(t, ip) || len(h.alerts.all()) != 0 {
		t.Fatal("a slow trickle of failures was blocked")
	}
	h.observe(5, ip, problem.SignatureInvalid)
	if !h.blocked(t, ip) {
		t.Fatal("a burst of 5 was not blocked")
	}
}

func TestBlockLapsesAndCanRecur(t *testing.T) {
	h := newHarness(t, AutoConfig{BlockFor: 10 * time.Minute, Replays: BurstRule{Threshold: 3}})
	const ip = "203.0.113.9"
	h.observe(3, ip, problem.ReplayDetected)
	if !h.blocked(t, ip) {
		t.Fatal("replay burst not blocked")
	}
	if a := h.alerts.all(); len(a) != 1 || !strings.Contains(a[0].Summary, "3 replays") {
		t.Fatalf("alerts = %+v", a)
	}
	h.clk.Advance(10 * time.Minute)
	if h.blocked(t, ip) {
		t.Fatal("the block outlived block_for")
	}
	h.observe(3, ip, problem.ReplayDetected)
	if !h.blocked(t, ip) || len(h.alerts.all()) != 2 {
		t.Fatal("a second burst after the block lapsed was not blocked again with its own alert")
	}
}

func TestReplaysCanBlockTheApp(t *testing.T) {
	h := newHarness(t, AutoConfig{Replays: BurstRule{Block: TargetApp}})
	for range 3 {
		h.d.Observe(context.Background(), Outcome{ClientIP: netip.MustParseAddr("192.0.2.8"), AppID: "APP7", Code: problem.ReplayDetected, Time: h.clk.Now()})
	}
	called, err := serve(h.app, "192.0.2.99", "APP7")
	refused(t, called, err)
	if h.blocked(t, "192.0.2.8") {
		t.Fatal("the address was blocked instead of the app")
	}
	if a := h.alerts.all(); len(a) != 1 || a[0].Subject != "app:APP7" {
		t.Fatalf("alerts = %+v", a)
	}
}

func TestImpersonationBlocksTheApp(t *testing.T) {
	h := newHarness(t, AutoConfig{Impersonation: ImpersonationRule{BlockFor: time.Hour}})
	ex := &stage.Exchange{ID: "TXN-IMP", ClientIP: "198.51.100.23"}
	ctx := stage.WithExchange(context.Background(), ex)
	h.d.ObserveImpersonation(ctx, "APP0000000002", netip.Addr{})

	called, err := serve(h.app, "192.0.2.1", "APP0000000002")
	if ra := refused(t, called, err); ra != "3600" {
		t.Fatalf("Retry-After = %q", ra)
	}
	called, err = serve(h.app, "192.0.2.1", "APP0000000001")
	passed(t, called, err)

	h.d.ObserveImpersonation(ctx, "APP0000000002", netip.Addr{}) // blocked already
	got := h.alerts.all()
	if len(got) != 1 {
		t.Fatalf("%d alerts, want 1", len(got))
	}
	a := got[0]
	if a.Rule != AlertRule || a.Severity != alert.Critical || a.Subject != "app:APP0000000002" || a.TxnID != "TXN-IMP" ||
		!strings.Contains(a.Detail, "198.51.100.23") {
		t.Fatalf("alert = %+v", a)
	}
	h.clk.Advance(time.Hour)
	called, err = serve(h.app, "192.0.2.1", "APP0000000002")
	passed(t, called, err)
}

func TestImpersonationWithoutAppBlocksTheAddress(t *testing.T) {
	h := newHarness(t, AutoConfig{})
	h.d.ObserveImpersonation(context.Background(), "", netip.MustParseAddr("203.0.113.44"))
	if !h.blocked(t, "203.0.113.44") {
		t.Fatal("address not blocked")
	}
}

func TestIPv6SourcesCountedBySubnet(t *testing.T) {
	h := newHarness(t, AutoConfig{AuthFailures: BurstRule{Threshold: 4}})
	for i := range 4 { // a new address each time, in one /64
		h.observe(1, netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 15: byte(i + 1)}).String(), problem.SignatureInvalid)
	}
	if !h.blocked(t, "2001:db8:1:2::ffff") {
		t.Fatal("the /64 was not blocked")
	}
	if h.blocked(t, "2001:db8:1:3::1") {
		t.Fatal("a neighbouring /64 was blocked")
	}
	if a := h.alerts.all(); len(a) != 1 || a[0].Subject != "ip:2001:db8:1:2::/64" {
		t.Fatalf("alerts = %+v", a)
	}
}

func TestExemptAndDisabled(t *testing.T) {
	off := false
	h := newHarness(t, AutoConfig{Exempt: []string{"10.0.0.0/8"}, Replays: BurstRule{Enabled: &off}, Impersonation: ImpersonationRule{Enabled: &off}})
	h.observe(50, "10.1.2.3", problem.SignatureInvalid)
	h.observe(50, "203.0.113.1", problem.ReplayDetected)
	h.d.ObserveImpersonation(context.Background(), "APP1", netip.Addr{})
	if h.blocked(t, "10.1.2.3") || h.blocked(t, "203.0.113.1") || len(h.alerts.all()) != 0 || h.list.Len() != 0 {
		t.Fatal("an exempt source or a disabled rule blocked")
	}

	h = newHarness(t, AutoConfig{Enabled: &off})
	h.observe(50, "203.0.113.1", problem.SignatureInvalid)
	if h.list.Len() != 0 || h.d.counterCount() != 0 {
		t.Fatal("disabled detector counted or blocked")
	}
}

func TestCountersSwept(t *testing.T) {
	h := newHarness(t, AutoConfig{})
	for i := range 500 {
		h.d.Observe(context.Background(), Outcome{ClientIP: netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)}), Code: problem.AppUnknown, Time: h.clk.Now()})
	}
	if n := h.d.counterCount(); n != 500 {
		t.Fatalf("%d counters, want 500", n)
	}
	h.clk.Advance(2 * time.Minute)
	h.observe(1, "192.0.2.200", problem.AppUnknown)
	if n := h.d.counterCount(); n != 1 {
		t.Fatalf("%d counters after the window passed, want 1", n)
	}
}

func TestCountersCapped(t *testing.T) {
	h := newHarness(t, AutoConfig{MaxSources: 100})
	for i := range 1000 {
		h.d.Observe(context.Background(), Outcome{ClientIP: netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)}), Code: problem.SignatureInvalid, Time: h.clk.Now()})
		if n := h.d.counterCount(); n > 100 {
			t.Fatalf("%d counters held, cap 100", n)
		}
	}
	a := h.alerts.all()
	if len(a) != 1 || a[0].Rule != AlertCapacity || a[0].Severity != alert.Warning {
		t.Fatalf("alerts = %+v", a)
	}
}

func TestBlockNotStoredStillAlerts(t *testing.T) {
	alerts := &recorder{}
	d, err := NewDetector(AutoConfig{}, brokenList{}, alerts, (&fakeClock{t: t0}).Now)
	if err != nil {
		t.Fatal(err)
	}
	d.ObserveImpersonation(context.Background(), "APP1", netip.Addr{})
	a := alerts.all()
	if len(a) != 1 || a[0].Severity != alert.Critical || !strings.Contains(a[0].Summary, "could not be stored") {
		t.Fatalf("alerts = %+v", a)
	}
}

func TestConcurrentBurstOneBlockOneAlert(t *testing.T) {
	h := newHarness(t, AutoConfig{AuthFailures: BurstRule{Threshold: 20}})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				h.d.Observe(context.Background(), Outcome{ClientIP: netip.MustParseAddr("203.0.113.200"), Code: problem.SignatureInvalid, Time: t0})
			}
		})
	}
	wg.Wait()
	if n := len(h.alerts.all()); n != 1 || h.list.Len() != 1 {
		t.Fatalf("%d alerts and %d entries, want 1 and 1", n, h.list.Len())
	}
}

func TestOutcomeOf(t *testing.T) {
	ex := &stage.Exchange{ID: "TXN9", ClientIP: "2001:db8::9", Err: problem.New(problem.ReplayDetected, "x")}
	o := OutcomeOf(ex, t0)
	if o.ClientIP != netip.MustParseAddr("2001:db8::9") || o.Code != problem.ReplayDetected || o.AppID != "" || o.TxnID != "TXN9" || !o.Time.Equal(t0) {
		t.Fatalf("outcome = %+v", o)
	}
	if o := OutcomeOf(&stage.Exchange{ClientIP: "x"}, t0); o.ClientIP.IsValid() || o.Code != "" {
		t.Fatalf("outcome = %+v", o)
	}
}

package blacklist

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bankguard/bankguard/alert"
	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/problem"
)

// The alert rules the Detector raises.
const (
	// AlertRule is the rule of an automatic block (alert.Critical).
	AlertRule = "blacklist.auto"
	// AlertCapacity is the rule raised (alert.Warning) when more sources
	// fail at once than the Detector counts (auto.max_sources).
	AlertCapacity = "blacklist.capacity"
)

// Outcome is what the Detector learns of one finished request.
type Outcome struct {
	// ClientIP is the source address.
	ClientIP netip.Addr
	// AppID is the verified app (stage.Exchange.App), never a keyid the
	// request merely claimed; empty when there is none.
	AppID string
	// Code is the code the request was refused with; empty on success.
	Code problem.Code
	// Time is when the request finished (zero: the Detector's clock).
	Time time.Time
	// TxnID is the transaction serial number, linked from the alert.
	TxnID string
}

// OutcomeOf describes a finished exchange, for Observe.
func OutcomeOf(ex *stage.Exchange, now time.Time) Outcome {
	o := Outcome{Time: now, TxnID: ex.ID}
	o.ClientIP, _ = netip.ParseAddr(ex.ClientIP)
	if ex.App != nil {
		o.AppID = ex.App.ID
	}
	if ex.Err != nil {
		o.Code = problem.From(ex.Err).Code
	}
	return o
}

// Detector blocks the sources of impersonation attempts automatically:
// bursts of failed authentication (bad or missing signatures, unknown
// App_IDs, digest mismatches) and of replays from one source, and tokens
// presented by an app they were not issued to. Each block is an entry of
// the List that lapses after its block_for, and raises one critical alert.
// Monitoring of unauthorized use and impersonation with active
// notification: T/PCAC 0008-2020 6.1.2-3, 6.1.2-4; blacklists, 6.1.2-1.
//
// Counting is exact: a source is blocked by the outcome that makes
// Threshold counted outcomes within Window, not one before. Counters of
// quiet sources are swept; at most auto.max_sources are kept.
type Detector struct {
	list   List
	alerts alert.Raiser
	now    func() time.Time
	off    bool
	v4, v6 int
	exempt []netip.Prefix
	max    int
	rules  []burst
	codes  map[problem.Code]int // counted code → index in rules
	imp    bool
	impFor time.Duration
	every  time.Duration // the least time between sweeps

	mu       sync.Mutex
	counters map[counterKey]*window
	pending  map[target]bool // blocks being stored
	swept    time.Time
	full     time.Time // when AlertCapacity was last raised
}

// burst is a compiled BurstRule.
type burst struct {
	name      string
	what      string // "failed authentications", "replays"
	threshold int
	window    time.Duration
	blockFor  time.Duration
	block     Target
	codes     []problem.Code
}

// target is what a block is put on: an app, or a network.
type target struct {
	app string
	net netip.Prefix
}

type counterKey struct {
	rule int
	target
}

// NewDetector returns a Detector that blocks through list and raises
// alerts through alerts. cfg is validated (defaults filled in); now is the
// clock (nil means time.Now).
func NewDetector(cfg AutoConfig, list List, alerts alert.Raiser, now func() time.Time) (*Detector, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if list == nil {
		return nil, errors.New("blacklist: the detector needs a list")
	}
	if alerts == nil {
		alerts = alert.Discard{}
	}
	if now == nil {
		now = time.Now
	}
	d := &Detector{
		list: list, alerts: alerts, now: now,
		off: !on(cfg.Enabled), v4: cfg.IPv4Prefix, v6: cfg.IPv6Prefix, max: cfg.MaxSources,
		codes: map[problem.Code]int{}, counters: map[counterKey]*window{}, pending: map[target]bool{},
		imp: on(cfg.Impersonation.Enabled), impFor: cmpOr(cfg.Impersonation.BlockFor, cfg.BlockFor),
		every: time.Minute,
	}
	for _, s := range cfg.Exempt {
		p, _ := parseExempt(s) // checked by validate
		d.exempt = append(d.exempt, p)
	}
	for _, r := range []struct {
		name, what string
		rule       BurstRule
	}{
		{"auth_failures", "failed authentications", cfg.AuthFailures},
		{"replays", "replays", cfg.Replays},
	} {
		if !on(r.rule.Enabled) {
			continue
		}
		for _, c := range r.rule.Codes {
			d.codes[c] = len(d.rules)
		}
		d.rules = append(d.rules, burst{name: r.name, what: r.what, threshold: r.rule.Threshold, window: r.rule.Window,
			blockFor: cmpOr(r.rule.BlockFor, cfg.BlockFor), block: r.rule.Block, codes: r.rule.Codes})
		d.every = max(min(d.every, r.rule.Window), time.Second)
	}
	return d, nil
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Observe counts a finished request's outcome and blocks its source when
// a rule's threshold is reached. It never fails the request; a block that
// cannot be stored raises a critical alert instead.
func (d *Detector) Observe(ctx context.Context, o Outcome) {
	if o.Code == "" || d.off {
		return
	}
	ri, ok := d.codes[o.Code]
	if !ok {
		return
	}
	r := &d.rules[ri]
	t, ok := d.target(r.block, o.AppID, o.ClientIP)
	if !ok {
		return
	}
	if o.Time.IsZero() {
		o.Time = d.now()
	}
	k := counterKey{rule: ri, target: t}

	d.mu.Lock()
	d.sweep(o.Time, false)
	w := d.counters[k]
	capacity := false
	if w == nil {
		capacity = d.makeRoom(o.Time)
		w = &window{}
		d.counters[k] = w
	}
	tripped := w.add(o.Time.UnixNano(), r.threshold, int64(r.window))
	if tripped {
		delete(d.counters, k) // the next block needs a new burst
		tripped = !d.pending[t]
		d.pending[t] = true
	}
	d.mu.Unlock()

	if capacity {
		d.alerts.Raise(context.WithoutCancel(ctx), alert.Alert{Rule: AlertCapacity, Severity: alert.Warning,
			Subject: "blacklist:detector", Time: o.Time,
			Summary: fmt.Sprintf("more than %d sources are failing authentication at once; the quietest are no longer counted", d.max),
			Detail:  "raise blacklist.auto.max_sources, or look for a distributed attack (T/PCAC 0008-2020 6.1.2-3)"})
	}
	if !tripped {
		return
	}
	why := fmt.Sprintf("%d %s within %s (rule %s, last code %s)", r.threshold, r.what, r.window, r.name, o.Code)
	detail := "counted codes " + joinCodes(r.codes)
	if o.AppID != "" {
		detail += "; verified app " + o.AppID
	}
	d.block(ctx, t, o.ClientIP, r.blockFor, why, detail, o.TxnID, o.Time)
}

// ObserveImpersonation blocks at once an app that presented an access
// token issued to another app (the token stage's token_other_app event,
// T/PCAC 0008-2020 6.1.2-3): appID is the presenting, verified app. With
// no appID, the source address ip is blocked instead. An invalid ip is
// taken from the request's stage.Exchange in ctx, if any, for the alert.
func (d *Detector) ObserveImpersonation(ctx context.Context, appID string, ip netip.Addr) {
	if d.off || !d.imp {
		return
	}
	ex := stage.FromContext(ctx)
	if !ip.IsValid() {
		ip, _ = netip.ParseAddr(ex.ClientIP)
	}
	t, ok := d.target(TargetApp, appID, ip)
	if !ok {
		return
	}
	d.mu.Lock()
	busy := d.pending[t]
	d.pending[t] = true
	d.mu.Unlock()
	if busy {
		return
	}
	detail := "access token presented by an app it was not issued to"
	if ip.IsValid() {
		detail += "; source " + normalize(ip).String()
	}
	d.block(ctx, t, ip, d.impFor, "access token of another app presented", detail, ex.ID, d.now())
}

// target is what a rule blocks for an outcome: the app when asked and
// known, else the source's network; false if neither, or if the source is
// exempt (an exempt source blocks nothing, not even an app).
func (d *Detector) target(block Target, appID string, ip netip.Addr) (target, bool) {
	if ip.IsValid() {
		ip = normalize(ip)
		for _, p := range d.exempt {
			if p.Contains(ip) {
				return target{}, false
			}
		}
	}
	if block == TargetApp && appID != "" {
		return target{app: appID}, true
	}
	if !ip.IsValid() {
		return target{}, false
	}
	bits := d.v6
	if ip.Is4() {
		bits = d.v4
	}
	p, _ := ip.Prefix(bits)
	return target{net: p}, true
}

// subject names a target in alerts: app:ID, ip:ADDR or ip:CIDR.
func (t target) subject() string {
	if t.app != "" {
		return "app:" + t.app
	}
	if t.net.IsSingleIP() {
		return "ip:" + t.net.Addr().String()
	}
	return "ip:" + t.net.String()
}

// block stores the block of t unless one is in force already, and raises
// the alert. The caller has marked t pending; block clears the mark.
func (d *Detector) block(ctx context.Context, t target, ip netip.Addr, blockFor time.Duration, why, detail, txnID string, now time.Time) {
	defer func() {
		d.mu.Lock()
		delete(d.pending, t)
		d.mu.Unlock()
	}()
	// A block outlives the request that triggered it.
	ctx = context.WithoutCancel(ctx)
	probe := netip.Addr{}
	if t.app == "" {
		probe = ip
	}
	if _, found, err := d.list.Match(ctx, t.app, probe, now); err == nil && found {
		return // blocked already: by an operator, another node or an earlier burst
	}
	e := Entry{Reason: "automatic: " + why, Source: SourceAuto, Created: now, Until: now.Add(blockFor)}
	if t.app != "" {
		e.Kind, e.Value = KindApp, t.app
	} else {
		e.Kind, e.Value = KindCIDR, t.net.String()
	}
	a := alert.Alert{Rule: AlertRule, Severity: alert.Critical, Subject: t.subject(), TxnID: txnID, Time: now}
	stored, err := d.list.Add(ctx, e)
	if err != nil {
		a.Summary = fmt.Sprintf("%s should be blocked for %s but the block could not be stored: %s", t.subject(), blockFor, why)
		a.Detail = fmt.Sprintf("%s; blacklist error: %v (T/PCAC 0008-2020 6.1.2-3)", detail, err)
		d.alerts.Raise(ctx, a)
		return
	}
	a.Summary = fmt.Sprintf("%s blocked for %s: %s", t.subject(), blockFor, why)
	a.Detail = fmt.Sprintf("%s; blacklist entry %s until %s; possible unauthorized use or impersonation (T/PCAC 0008-2020 6.1.2-3, 6.1.2-4)",
		detail, stored.ID, stored.Until.UTC().Format(time.RFC3339))
	d.alerts.Raise(ctx, a)
}

// makeRoom frees a counter slot when the table is full: quiet counters
// first, then an arbitrary one. It reports whether the table was full, at
// most once per sweep interval. The caller holds mu.
func (d *Detector) makeRoom(now time.Time) bool {
	if len(d.counters) < d.max {
		return false
	}
	d.sweep(now, true)
	if len(d.counters) < d.max {
		return false
	}
	for k := range d.counters { // map order: an arbitrary victim
		delete(d.counters, k)
		break
	}
	if !d.full.IsZero() && now.Sub(d.full) < d.every {
		return false
	}
	d.full = now
	return true
}

// sweep drops the counters whose last outcome is out of their window,
// once per interval (or now, if force). The caller holds mu.
func (d *Detector) sweep(now time.Time, force bool) {
	if !force && now.Sub(d.swept) < d.every {
		return
	}
	d.swept = now
	for k, w := range d.counters {
		if now.UnixNano()-w.last(d.rules[k.rule].threshold) >= int64(d.rules[k.rule].window) {
			delete(d.counters, k)
		}
	}
}

// counterCount returns the number of counters held (for tests).
func (d *Detector) counterCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.counters)
}

func joinCodes(codes []problem.Code) string {
	s := make([]string, len(codes))
	for i, c := range codes {
		s[i] = string(c)
	}
	slices.Sort(s)
	return strings.Join(s, ", ")
}

// window holds the times (Unix ns) of a source's last counted outcomes, at
// most threshold of them: a slice that grows to threshold, then a ring.
type window struct {
	times []int64
	head  int // once full, the index of the oldest
}

// add records an outcome at t and reports whether the last threshold
// outcomes fall within span. Times never go backwards within a window
// (concurrent requests may finish out of order).
func (w *window) add(t int64, threshold int, span int64) bool {
	if len(w.times) > 0 {
		t = max(t, w.last(threshold))
	}
	if len(w.times) < threshold {
		w.times = append(w.times, t)
		return len(w.times) == threshold && t-w.times[0] < span
	}
	w.times[w.head] = t
	w.head = (w.head + 1) % threshold
	return t-w.times[w.head] < span
}

// last is the time of the latest outcome.
func (w *window) last(threshold int) int64 {
	if len(w.times) < threshold {
		return w.times[len(w.times)-1]
	}
	return w.times[(w.head-1+threshold)%threshold]
}

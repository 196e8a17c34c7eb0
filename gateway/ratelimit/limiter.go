package ratelimit

import (
	"strconv"
	"time"
)

// Limiter is the configured rules with the stores that count for them.
type Limiter struct {
	rules []rule
	store Store
	slots Slots
}

// rule is a validated Rule with its index, the name it is known by, and
// what the stage would otherwise format on every call.
type rule struct {
	Rule
	index int
	name  string
	// rateKey and slotKey start the keys of its counters: "r3|100/1s|100|"
	// (a new rate or burst starts a new counter) and "c3|".
	rateKey, slotKey string
	// policy is its RateLimit-Policy item.
	policy string
}

// NewLimiter validates cfg and returns its rules counting in store and
// slots; nil ones get the in-process implementations (bounded by
// cfg.MaxKeys). Share store and slots between limiters built on reloads so
// that counters survive a reload.
func NewLimiter(cfg Config, store Store, slots Slots) (*Limiter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if store == nil {
		store = NewMemoryStore(cfg.MaxKeys)
	}
	if slots == nil {
		slots = NewMemorySlots(cfg.MaxKeys)
	}
	l := &Limiter{store: store, slots: slots}
	taken := map[string]bool{throttleName: true}
	for _, r := range cfg.Rules {
		if r.Name != "" {
			taken[r.Name] = true
		}
	}
	for i, r := range cfg.Rules {
		name := r.Name
		if name == "" {
			name = defaultName(r, taken)
			taken[name] = true
		}
		l.rules = append(l.rules, rule{Rule: r, index: i, name: name,
			rateKey: "r" + strconv.Itoa(i) + "|" + r.Rate.String() + "|" + strconv.FormatInt(r.Burst, 10) + "|",
			slotKey: "c" + strconv.Itoa(i) + "|",
			policy:  policyItem(name, r.Rate),
		})
	}
	return l, nil
}

// policyItem is a RateLimit-Policy list member: "name";q=N;w=seconds.
func policyItem(name string, r Rate) string {
	return `"` + name + `";q=` + strconv.FormatInt(r.Count, 10) + ";w=" + strconv.FormatInt(int64(r.Per/time.Second), 10)
}

// defaultName is the rule's scope and window ("app-1s", "api-concurrency"),
// made unique with a number if need be.
func defaultName(r Rule, taken map[string]bool) string {
	base := r.scope() + "-concurrency"
	if !r.Rate.IsZero() {
		base = r.scope() + "-" + shortDuration(r.Rate.Per)
	}
	name := base
	for n := 2; taken[name]; n++ {
		name = base + "-" + strconv.Itoa(n)
	}
	return name
}

// throttleName is the policy name of business throttles in RateLimit headers.
const throttleName = "throttle"

// call is what the rules count by.
type call struct {
	app, api, ip string
}

// matches reports whether r applies to c.
func (r *rule) matches(c call) bool {
	switch {
	case r.ClientIP && c.ip == "":
		return false
	case r.App == Wildcard && c.app == "", r.App != "" && r.App != Wildcard && r.App != c.app:
		return false
	case r.API == Wildcard && c.api == "", r.API != "" && r.API != Wildcard && r.API != c.api:
		return false
	}
	return true
}

// key is prefix followed by what the rule counts for this call: "app:ID",
// "api:ID", "app:ID|api:ID", "ip:…" or "ip:…|api:ID" (one allocation).
func (r *rule) key(prefix string, c call) string {
	switch {
	case r.API == "" && r.ClientIP:
		return prefix + "ip:" + c.ip
	case r.API == "":
		return prefix + "app:" + c.app
	case r.ClientIP:
		return prefix + "ip:" + c.ip + "|api:" + c.api
	case r.App != "":
		return prefix + "app:" + c.app + "|api:" + c.api
	}
	return prefix + "api:" + c.api
}

// check is one counter a call is checked against: a rule's, or a throttle's.
type check struct {
	rule     *rule     // nil for a throttle
	throttle *Throttle // nil for a rule
}

// subject is what the check counts for call c, as alerts name it.
func (k check) subject(c call) string {
	if k.rule != nil {
		return k.rule.key("", c)
	}
	return k.throttle.Target()
}

func (k check) name() string {
	if k.rule != nil {
		return k.rule.name
	}
	return throttleName
}

func (k check) action() Action {
	if k.rule != nil {
		return k.rule.Action
	}
	return Reject
}

// plan is the counters one call is checked against.
type plan struct {
	cells      []Cell
	cellChecks []check
	slots      []Slot
	slotChecks []check
}

// plan lists the counters of the rules and throttles that apply to c.
func (l *Limiter) plan(c call, throttles []Throttle) plan {
	n := len(l.rules) + len(throttles)
	p := plan{cells: make([]Cell, 0, n), cellChecks: make([]check, 0, n)}
	for i := range l.rules {
		r := &l.rules[i]
		if !r.matches(c) {
			continue
		}
		k := check{rule: r}
		optional := r.Action == Alarm
		if !r.Rate.IsZero() {
			p.cells = append(p.cells, Cell{Key: r.key(r.rateKey, c), Rate: r.Rate, Burst: r.Burst, Optional: optional})
			p.cellChecks = append(p.cellChecks, k)
		}
		if r.Concurrency > 0 {
			p.slots = append(p.slots, Slot{Key: r.key(r.slotKey, c), Max: r.Concurrency, Optional: optional})
			p.slotChecks = append(p.slotChecks, k)
		}
	}
	for i := range throttles {
		t := &throttles[i]
		p.cells = append(p.cells, Cell{Key: t.key(), Rate: t.Rate, Burst: t.Burst})
		p.cellChecks = append(p.cellChecks, check{throttle: t})
	}
	return p
}

// RateLimit header fields, draft-ietf-httpapi-ratelimit-headers-11 (a
// Structured Fields List of quota policy items whose value is a String):
//
//	RateLimit-Policy: "app-1s";q=100;w=1, "throttle";q=10;w=60
//	RateLimit: "app-1s";r=42;t=1, "throttle";r=0;t=6
//
// q and w are the rule's N and window in seconds; r is the calls left now;
// t is the seconds until the quota is whole again, or, when r is 0, until
// the next call is admitted (GCRA replenishes one call at a time). Only the
// limits that can refuse a call are advertised, not alarm thresholds or
// concurrency caps. Names are validated to need no escaping.
const (
	HeaderPolicy    = "RateLimit-Policy"
	HeaderRateLimit = "RateLimit"
)

// rateLimitHeaders formats the fields for the enforced cells of a call.
func rateLimitHeaders(p plan, verdicts []Verdict) (policy, limit string) {
	var pb, lb []byte
	for i, c := range p.cells {
		if c.Optional || i >= len(verdicts) {
			continue
		}
		if len(pb) > 0 {
			pb = append(pb, ", "...)
			lb = append(lb, ", "...)
		}
		k := p.cellChecks[i]
		if k.rule != nil {
			pb = append(pb, k.rule.policy...)
		} else {
			pb = append(pb, policyItem(throttleName, c.Rate)...)
		}
		v := verdicts[i]
		t := v.Reset
		if v.Remaining == 0 {
			t = v.RetryAfter
		}
		lb = append(append(append(lb, '"'), k.name()...), `";r=`...)
		lb = append(strconv.AppendInt(lb, v.Remaining, 10), ";t="...)
		lb = strconv.AppendInt(lb, seconds(t), 10)
	}
	return string(pb), string(lb)
}

// seconds rounds d up to whole seconds, as Retry-After and t need.
func seconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

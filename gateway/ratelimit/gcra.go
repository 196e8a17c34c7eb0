package ratelimit

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrFull is returned by the in-process stores when admitting a call would
// need more counters than their bound; the stage then refuses the call
// (fail closed).
var ErrFull = errors.New("ratelimit: counter store full")

// Cell is one rate counter a call is checked against.
type Cell struct {
	// Key names the counter; the stage builds it from the rule and what the
	// rule counts by (app, API, client address).
	Key   string
	Rate  Rate
	Burst int64
	// Optional cells do not hold the call back (alarm rules): when one has
	// no room the call may still be admitted, and that cell is not charged.
	Optional bool
}

// Verdict is what one cell says about a call.
type Verdict struct {
	// Allowed reports whether the cell had room for the call.
	Allowed bool
	// Remaining is how many calls the cell would admit right now, after
	// this decision.
	Remaining int64
	// RetryAfter is how long until the cell admits one more call (0 when
	// Remaining > 0).
	RetryAfter time.Duration
	// Reset is how long until the cell is back to its full burst.
	Reset time.Duration
}

// Store keeps the rate counters: GCRA (the generic cell rate algorithm,
// ITU-T I.371) with one theoretical arrival time (TAT) per key.
//
// Allow checks a call against every cell at once, atomically: the call is
// admitted when each non-optional cell has room. An admitted call charges
// every cell that had room; a refused call charges none, so refusals never
// consume quota. A shared (Redis) implementation runs the same arithmetic
// in one script over the cells' keys.
type Store interface {
	Allow(ctx context.Context, now time.Time, cells []Cell) (admitted bool, verdicts []Verdict, err error)
}

// params is a rate and burst in GCRA's terms. Time is counted in units of
// 1/unit ns, in which the emission interval T = window/N is a whole number,
// so that "N per window" holds exactly whatever N is.
type params struct {
	unit     int64 // units per nanosecond
	interval int64 // T, in units
	limit    int64 // burst·T, in units: how far TAT may run ahead of now
}

func newParams(r Rate, burst int64) params {
	g := gcd(r.Count, int64(r.Per))
	return params{unit: r.Count / g, interval: int64(r.Per) / g, limit: burst * (int64(r.Per) / g)}
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// tat is a theoretical arrival time: ns since the Unix epoch plus frac/unit ns.
type tat struct {
	ns   int64
	frac int64
}

// ahead is how far t runs ahead of now, in units (0 when it is not ahead).
// A clock that went back is treated as a full bucket, never as free room.
func (p params) ahead(t tat, now int64) int64 {
	switch {
	case t.ns < now, t.ns == now && t.frac == 0:
		return 0
	case t.ns-now > p.limit/p.unit+1:
		return p.limit
	}
	return (t.ns-now)*p.unit + t.frac
}

// at is the TAT that runs d units ahead of now.
func (p params) at(now, d int64) tat {
	return tat{ns: now + d/p.unit, frac: d % p.unit}
}

// verdict describes a cell whose TAT runs d units ahead of now.
func (p params) verdict(allowed bool, d int64) Verdict {
	v := Verdict{Allowed: allowed, Reset: p.duration(d)}
	if room := p.limit - d; room >= p.interval {
		v.Remaining = room / p.interval
	} else {
		v.RetryAfter = p.duration(p.interval - room)
	}
	return v
}

// duration converts units to a duration, rounding up.
func (p params) duration(d int64) time.Duration {
	return time.Duration((d + p.unit - 1) / p.unit)
}

// MemoryStore is the in-process Store. Its memory is bounded: counters
// back at their full burst are swept, and past maxKeys counters a call that
// needs a new one gets ErrFull.
type MemoryStore struct {
	mu        sync.Mutex
	tats      map[string]tat
	maxKeys   int
	lastSweep int64
}

// sweepEvery is how often the in-process stores drop idle counters.
const sweepEvery = int64(10 * time.Second)

// NewMemoryStore returns an empty store holding at most maxKeys counters
// (DefaultMaxKeys when maxKeys ≤ 0).
func NewMemoryStore(maxKeys int) *MemoryStore {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	return &MemoryStore{tats: map[string]tat{}, maxKeys: maxKeys}
}

// pending is one cell's decision before it is committed.
type pending struct {
	p        params
	before   int64 // TAT − now before the call, in units
	after    int64 // TAT − now if the call is charged
	allowed  bool
	existing bool
}

// Allow implements Store.
func (s *MemoryStore) Allow(_ context.Context, now time.Time, cells []Cell) (bool, []Verdict, error) {
	n := now.UnixNano()
	var buf [4]pending
	pend := buf[:0]
	s.mu.Lock()
	defer s.mu.Unlock()
	admitted, fresh := true, 0
	for i, c := range cells {
		p := newParams(c.Rate, c.Burst)
		t, existing := s.tats[c.Key]
		for j := range i { // the same counter twice: see the first charge
			if cells[j].Key == c.Key && pend[j].allowed {
				t, existing = pend[j].p.at(n, pend[j].after), true
			}
		}
		d := p.ahead(t, n)
		pc := pending{p: p, before: d, after: d + p.interval, existing: existing}
		pc.allowed = pc.after <= p.limit
		if !pc.allowed && !c.Optional {
			admitted = false
		}
		if pc.allowed && !existing {
			fresh++
		}
		pend = append(pend, pc)
	}
	if admitted && fresh > 0 && len(s.tats)+fresh > s.maxKeys {
		s.sweep(n)
		if len(s.tats)+fresh > s.maxKeys {
			return false, nil, ErrFull
		}
	}
	verdicts := make([]Verdict, len(cells))
	for i, pc := range pend {
		if admitted && pc.allowed {
			s.tats[cells[i].Key] = pc.p.at(n, pc.after)
			verdicts[i] = pc.p.verdict(true, pc.after)
			continue
		}
		verdicts[i] = pc.p.verdict(pc.allowed, pc.before)
	}
	if n-s.lastSweep >= sweepEvery {
		s.sweep(n)
	}
	return admitted, verdicts, nil
}

// sweep drops the counters whose TAT is past: they are at their full
// burst, the same as absent.
func (s *MemoryStore) sweep(now int64) {
	s.lastSweep = now
	for k, t := range s.tats {
		if t.ns < now || t.ns == now && t.frac == 0 {
			delete(s.tats, k)
		}
	}
}

// Len is the number of counters held (for tests and metrics).
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tats)
}

var _ Store = (*MemoryStore)(nil)

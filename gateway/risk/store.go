package risk

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"
)

// Counters is the rules' state shared between gateway nodes: daily totals,
// recent transfers and known payees. The stage builds the keys; they hold
// no raw personal data (users and payees appear as keyed pseudonyms).
// NewMemoryCounters is the in-process implementation; a shared one (Redis:
// INCRBY+EXPIREAT, a sorted set, SET EX) implements the same methods.
type Counters interface {
	// AddAmount adds delta (negative to release a reservation) to the total
	// under key and returns the new total. A new key lives until expires.
	AddAmount(ctx context.Context, key string, delta int64, expires time.Time) (int64, error)
	// AddEvent records the event id under key at time at, forgets the key's
	// events older than keep before at, and returns the times of the events
	// it still holds, this one included.
	AddEvent(ctx context.Context, key, id string, at time.Time, keep time.Duration) ([]time.Time, error)
	// RemoveEvent forgets the event id under key.
	RemoveEvent(ctx context.Context, key, id string) error
	// Seen reports whether key is remembered.
	Seen(ctx context.Context, key string) (bool, error)
	// Remember remembers key until expires.
	Remember(ctx context.Context, key string, expires time.Time) error
}

// HoldStore keeps held transfers until they are decided and used.
// NewMemoryHolds is the in-process implementation.
type HoldStore interface {
	// Create stores a new hold; it fails if one with its ID exists.
	Create(ctx context.Context, h Hold) error
	// Get returns the hold with the id.
	Get(ctx context.Context, id string) (Hold, bool, error)
	// Latest returns the most recent hold of a transfer fingerprint.
	Latest(ctx context.Context, fingerprint string) (Hold, bool, error)
	// List returns the holds, newest first.
	List(ctx context.Context) ([]Hold, error)
	// Swap replaces the stored hold h.ID by h if the stored one's status is
	// from, atomically; it reports whether it did.
	Swap(ctx context.Context, h Hold, from HoldStatus) (bool, error)
}

// sweepEvery is how often the in-process stores drop what has expired.
const sweepEvery = time.Minute

// MemoryCounters is the in-process Counters. It is safe for concurrent use.
type MemoryCounters struct {
	now     func() time.Time
	mu      sync.Mutex
	amounts map[string]amountEntry
	events  map[string]eventLog
	seen    map[string]time.Time
	swept   time.Time
}

type amountEntry struct {
	total   int64
	expires time.Time
}

type eventLog struct {
	events []event
	until  time.Time // when the last event leaves the window
}

type event struct {
	id string
	at time.Time
}

// NewMemoryCounters returns empty in-process counters; now is the clock
// that expires entries (nil means time.Now).
func NewMemoryCounters(now func() time.Time) *MemoryCounters {
	if now == nil {
		now = time.Now
	}
	return &MemoryCounters{now: now, amounts: map[string]amountEntry{}, events: map[string]eventLog{}, seen: map[string]time.Time{}}
}

// AddAmount implements Counters. Totals saturate instead of wrapping.
func (m *MemoryCounters) AddAmount(_ context.Context, key string, delta int64, expires time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep()
	e, ok := m.amounts[key]
	if !ok || !m.now().Before(e.expires) {
		e = amountEntry{expires: expires}
	}
	e.total = addSat(e.total, delta)
	m.amounts[key] = e
	return e.total, nil
}

// AddEvent implements Counters.
func (m *MemoryCounters) AddEvent(_ context.Context, key, id string, at time.Time, keep time.Duration) ([]time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep()
	l := m.events[key]
	cutoff := at.Add(-keep)
	kept := l.events[:0]
	for _, e := range l.events {
		if e.at.After(cutoff) && e.id != id {
			kept = append(kept, e)
		}
	}
	l.events = append(kept, event{id: id, at: at})
	if u := at.Add(keep); u.After(l.until) {
		l.until = u
	}
	m.events[key] = l
	times := make([]time.Time, len(l.events))
	for i, e := range l.events {
		times[i] = e.at
	}
	return times, nil
}

// RemoveEvent implements Counters.
func (m *MemoryCounters) RemoveEvent(_ context.Context, key, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.events[key]
	if !ok {
		return nil
	}
	l.events = slices.DeleteFunc(l.events, func(e event) bool { return e.id == id })
	if len(l.events) == 0 {
		delete(m.events, key)
	} else {
		m.events[key] = l
	}
	return nil
}

// Seen implements Counters.
func (m *MemoryCounters) Seen(_ context.Context, key string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	exp, ok := m.seen[key]
	return ok && m.now().Before(exp), nil
}

// Remember implements Counters.
func (m *MemoryCounters) Remember(_ context.Context, key string, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep()
	m.seen[key] = expires
	return nil
}

// sweep drops expired entries, at most once per sweepEvery. The caller holds m.mu.
func (m *MemoryCounters) sweep() {
	now := m.now()
	if now.Sub(m.swept) < sweepEvery {
		return
	}
	m.swept = now
	for k, e := range m.amounts {
		if !now.Before(e.expires) {
			delete(m.amounts, k)
		}
	}
	for k, l := range m.events {
		if !now.Before(l.until) {
			delete(m.events, k)
		}
	}
	for k, exp := range m.seen {
		if !now.Before(exp) {
			delete(m.seen, k)
		}
	}
}

// MaxMemoryHolds bounds the holds the in-process store keeps; past it,
// new holds fail (and the stage fails closed).
const MaxMemoryHolds = 100_000

// holdRetention is how long a hold is kept after its last deadline, for
// the operators' view and for refusing the resubmission of a rejected one.
const holdRetention = 24 * time.Hour

var (
	errHoldExists = errors.New("risk: a hold with this id exists")
	errHoldsFull  = errors.New("risk: the hold store is full")
)

// MemoryHolds is the in-process HoldStore. It is safe for concurrent use.
type MemoryHolds struct {
	now   func() time.Time
	mu    sync.Mutex
	holds map[string]Hold
	byFP  map[string]string // fingerprint → id of the latest hold
	swept time.Time
}

// NewMemoryHolds returns an empty in-process hold store; now is the clock
// that drops old holds (nil means time.Now).
func NewMemoryHolds(now func() time.Time) *MemoryHolds {
	if now == nil {
		now = time.Now
	}
	return &MemoryHolds{now: now, holds: map[string]Hold{}, byFP: map[string]string{}}
}

// Create implements HoldStore.
func (m *MemoryHolds) Create(_ context.Context, h Hold) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep()
	if _, ok := m.holds[h.ID]; ok {
		return errHoldExists
	}
	if len(m.holds) >= MaxMemoryHolds {
		return errHoldsFull
	}
	m.holds[h.ID] = h
	m.byFP[h.Fingerprint] = h.ID
	return nil
}

// Get implements HoldStore.
func (m *MemoryHolds) Get(_ context.Context, id string) (Hold, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h, ok := m.holds[id]
	return h, ok, nil
}

// Latest implements HoldStore.
func (m *MemoryHolds) Latest(_ context.Context, fingerprint string) (Hold, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h, ok := m.holds[m.byFP[fingerprint]]
	return h, ok, nil
}

// List implements HoldStore.
func (m *MemoryHolds) List(_ context.Context) ([]Hold, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep()
	out := make([]Hold, 0, len(m.holds))
	for _, h := range m.holds {
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b Hold) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	return out, nil
}

// Swap implements HoldStore.
func (m *MemoryHolds) Swap(_ context.Context, h Hold, from HoldStatus) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.holds[h.ID]
	if !ok || cur.Status != from {
		return false, nil
	}
	m.holds[h.ID] = h
	return true, nil
}

// sweep drops holds past their retention. The caller holds m.mu.
func (m *MemoryHolds) sweep() {
	now := m.now()
	if now.Sub(m.swept) < sweepEvery {
		return
	}
	m.swept = now
	for id, h := range m.holds {
		if now.After(h.lastDeadline().Add(holdRetention)) {
			delete(m.holds, id)
			if m.byFP[h.Fingerprint] == id {
				delete(m.byFP, h.Fingerprint)
			}
		}
	}
}

var (
	_ Counters  = (*MemoryCounters)(nil)
	_ HoldStore = (*MemoryHolds)(nil)
)

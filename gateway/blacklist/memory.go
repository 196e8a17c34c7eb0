package blacklist

import (
	"cmp"
	"context"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// DefaultMaxEntries bounds the in-process list when no maximum is given.
const DefaultMaxEntries = 100_000

// sweepEvery is the least time between two sweeps of expired entries.
const sweepEvery = time.Second

// Memory is the in-process List: the embedded default, and the reference
// for shared implementations. A match costs one map look-up per prefix
// length in use, whatever the number of entries.
type Memory struct {
	mu      sync.RWMutex
	max     int
	entries map[string]*stored
	apps    map[string]map[string]*stored       // App_ID → id → entry
	nets    map[netip.Prefix]map[string]*stored // range → id → entry
	// lengths counts the ranges of each prefix length, per family
	// (0: IPv4, 1: IPv6), so that Match tries only lengths in use.
	lengths [2][129]int
	// next is the earliest expiry among the entries (zero: none expires);
	// swept is when expired entries were last dropped.
	next  time.Time
	swept time.Time
}

// stored is an entry with its parsed range.
type stored struct {
	Entry
	prefix netip.Prefix
}

// NewMemory returns an empty in-process list of at most max entries
// (DefaultMaxEntries if max ≤ 0).
func NewMemory(max int) *Memory {
	if max <= 0 {
		max = DefaultMaxEntries
	}
	return &Memory{
		max:     max,
		entries: map[string]*stored{},
		apps:    map[string]map[string]*stored{},
		nets:    map[netip.Prefix]map[string]*stored{},
	}
}

// Add implements List. Expired entries are dropped first; a full list
// refuses with ErrFull.
func (m *Memory) Add(_ context.Context, e Entry) (Entry, error) {
	if err := e.Validate(); err != nil {
		return Entry{}, err
	}
	s := &stored{Entry: e}
	if e.Kind == KindCIDR {
		s.prefix = netip.MustParsePrefix(e.Value) // canonical after Validate
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(e.Created, false)
	if s.ID == "" {
		s.ID = newID()
	}
	old, replace := m.entries[s.ID]
	if !replace && len(m.entries) >= m.max {
		m.sweep(e.Created, true)
		if len(m.entries) >= m.max {
			return Entry{}, ErrFull
		}
	}
	if replace {
		m.unindex(old)
	}
	m.index(s)
	return s.Entry, nil
}

// Remove implements List.
func (m *Memory) Remove(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.entries[id]
	if !ok {
		return ErrNotFound
	}
	m.unindex(s)
	return nil
}

// List implements List.
func (m *Memory) List(_ context.Context, now time.Time) ([]Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now, false)
	out := make([]Entry, 0, len(m.entries))
	for _, s := range m.entries {
		if s.Active(now) {
			out = append(out, s.Entry)
		}
	}
	slices.SortFunc(out, func(a, b Entry) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// Match implements List.
func (m *Memory) Match(_ context.Context, appID string, ip netip.Addr, now time.Time) (*Entry, bool, error) {
	m.mu.RLock()
	if m.due(now) {
		m.mu.RUnlock()
		m.mu.Lock()
		m.sweep(now, false)
		m.mu.Unlock()
		m.mu.RLock()
	}
	defer m.mu.RUnlock()
	var best *stored
	if appID != "" {
		for _, s := range m.apps[appID] {
			best = longest(best, s, now)
		}
	}
	if ip.IsValid() {
		ip = normalize(ip)
		fam := family(ip)
		for bits := 0; bits <= ip.BitLen(); bits++ {
			if m.lengths[fam][bits] == 0 {
				continue
			}
			p, _ := ip.Prefix(bits)
			for _, s := range m.nets[p] {
				best = longest(best, s, now)
			}
		}
	}
	if best == nil {
		return nil, false, nil
	}
	e := best.Entry
	return &e, true, nil
}

// longest returns whichever of best and s is active at now and lasts longer.
func longest(best, s *stored, now time.Time) *stored {
	switch {
	case !s.Active(now):
		return best
	case best == nil, !best.Until.IsZero() && (s.Until.IsZero() || s.Until.After(best.Until)):
		return s
	}
	return best
}

// Len returns the number of entries held, expired ones not yet swept included.
func (m *Memory) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.entries)
}

// due reports whether an entry has expired and the last sweep is old enough.
func (m *Memory) due(now time.Time) bool {
	return !m.next.IsZero() && !now.Before(m.next) && now.Sub(m.swept) >= sweepEvery
}

// sweep drops the entries expired at now, when due (or always if force).
// The caller holds the write lock.
func (m *Memory) sweep(now time.Time, force bool) {
	if m.next.IsZero() || now.Before(m.next) || (!force && now.Sub(m.swept) < sweepEvery) {
		return
	}
	m.swept = now
	m.next = time.Time{}
	for _, s := range m.entries {
		switch {
		case !s.Active(now):
			m.unindex(s)
		case !s.Until.IsZero() && (m.next.IsZero() || s.Until.Before(m.next)):
			m.next = s.Until
		}
	}
}

// index adds s to the maps. The caller holds the write lock.
func (m *Memory) index(s *stored) {
	m.entries[s.ID] = s
	if !s.Until.IsZero() && (m.next.IsZero() || s.Until.Before(m.next)) {
		m.next = s.Until
	}
	if s.Kind == KindApp {
		add(m.apps, s.Value, s)
		return
	}
	add(m.nets, s.prefix, s)
	m.lengths[family(s.prefix.Addr())][s.prefix.Bits()]++
}

// unindex removes s from the maps. The caller holds the write lock. (next
// may stay earlier than needed; the next sweep recomputes it.)
func (m *Memory) unindex(s *stored) {
	delete(m.entries, s.ID)
	if s.Kind == KindApp {
		del(m.apps, s.Value, s.ID)
		return
	}
	del(m.nets, s.prefix, s.ID)
	m.lengths[family(s.prefix.Addr())][s.prefix.Bits()]--
}

func add[K comparable](idx map[K]map[string]*stored, k K, s *stored) {
	ids := idx[k]
	if ids == nil {
		ids = map[string]*stored{}
		idx[k] = ids
	}
	ids[s.ID] = s
}

func del[K comparable](idx map[K]map[string]*stored, k K, id string) {
	delete(idx[k], id)
	if len(idx[k]) == 0 {
		delete(idx, k)
	}
}

// family is 0 for IPv4 addresses, 1 for IPv6.
func family(a netip.Addr) int {
	if a.Is4() {
		return 0
	}
	return 1
}

var _ List = (*Memory)(nil)

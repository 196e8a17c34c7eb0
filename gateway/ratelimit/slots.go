package ratelimit

import (
	"context"
	"sync"
)

// Slot is one concurrency counter a call is checked against: a counting
// semaphore of Max slots (T/PCAC 0008-2020 6.1.2-2, maximum concurrency).
type Slot struct {
	Key string
	Max int64
	// Optional slots do not hold the call back (alarm rules): a call finding
	// one full may still be admitted, without taking a slot there.
	Optional bool
}

// Slots keeps the concurrency counters.
//
// Acquire checks a call against every slot at once, atomically: the call is
// admitted when each non-optional slot has room, and then takes a slot in
// each that has room; a refused call takes none. room reports, per slot,
// whether it had room. Release gives back the slots an admitted call took.
// A shared implementation must also expire slots of a node that died
// holding them (leases); the in-process one dies with its holders.
type Slots interface {
	Acquire(ctx context.Context, slots []Slot) (admitted bool, room []bool, err error)
	Release(ctx context.Context, keys []string) error
}

// MemorySlots is the in-process Slots: counters in a map, removed when
// they drop back to zero, at most maxKeys of them.
type MemorySlots struct {
	mu      sync.Mutex
	held    map[string]int64
	maxKeys int
}

// NewMemorySlots returns empty concurrency counters, at most maxKeys of
// them in use at once (DefaultMaxKeys when maxKeys ≤ 0).
func NewMemorySlots(maxKeys int) *MemorySlots {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	return &MemorySlots{held: map[string]int64{}, maxKeys: maxKeys}
}

// Acquire implements Slots.
func (m *MemorySlots) Acquire(_ context.Context, slots []Slot) (bool, []bool, error) {
	room := make([]bool, len(slots))
	m.mu.Lock()
	defer m.mu.Unlock()
	admitted, fresh := true, 0
	for i, s := range slots {
		n := m.held[s.Key]
		for j := range i { // the same counter twice counts twice
			if slots[j].Key == s.Key && room[j] {
				n++
			}
		}
		room[i] = n < s.Max
		if !room[i] && !s.Optional {
			admitted = false
		}
		if room[i] && n == 0 {
			fresh++
		}
	}
	if !admitted {
		return false, room, nil
	}
	if len(m.held)+fresh > m.maxKeys {
		return false, room, ErrFull
	}
	for i, s := range slots {
		if room[i] {
			m.held[s.Key]++
		}
	}
	return true, room, nil
}

// Release implements Slots.
func (m *MemorySlots) Release(_ context.Context, keys []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		switch n := m.held[k]; {
		case n > 1:
			m.held[k] = n - 1
		case n == 1:
			delete(m.held, k)
		}
	}
	return nil
}

// InFlight is the number of slots held under key (for tests and metrics).
func (m *MemorySlots) InFlight(key string) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.held[key]
}

var _ Slots = (*MemorySlots)(nil)

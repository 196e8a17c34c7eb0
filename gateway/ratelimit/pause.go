package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Pauses keeps which apps are paused and until when (T/PCAC 0008-2020
// 6.1.2-2, the pause action of flow control). Shared between gateway nodes
// in a cluster.
type Pauses interface {
	// Pause suspends the app until until, unless it is paused already at
	// now. It returns when the app's pause ends and whether this call
	// started it (so one pause raises one alert and one notice).
	Pause(ctx context.Context, appID string, now, until time.Time) (ends time.Time, started bool, err error)
	// PausedUntil returns when the app's pause ends, or the zero time when
	// it is not paused at now.
	PausedUntil(ctx context.Context, appID string, now time.Time) (time.Time, error)
	// Resume ends the app's pause early.
	Resume(ctx context.Context, appID string) error
}

// MemoryPauses is the in-process Pauses. It holds one entry per paused
// app (apps are registered, so their number is bounded) and drops an entry
// once its pause is over.
type MemoryPauses struct {
	mu     sync.Mutex
	paused map[string]time.Time
}

// NewMemoryPauses returns a Pauses with no app paused.
func NewMemoryPauses() *MemoryPauses {
	return &MemoryPauses{paused: map[string]time.Time{}}
}

// Pause implements Pauses.
func (m *MemoryPauses) Pause(_ context.Context, appID string, now, until time.Time) (time.Time, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ends, ok := m.paused[appID]; ok && now.Before(ends) {
		return ends, false, nil
	}
	m.paused[appID] = until
	return until, true, nil
}

// PausedUntil implements Pauses.
func (m *MemoryPauses) PausedUntil(_ context.Context, appID string, now time.Time) (time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ends, ok := m.paused[appID]
	if !ok {
		return time.Time{}, nil
	}
	if !now.Before(ends) {
		delete(m.paused, appID)
		return time.Time{}, nil
	}
	return ends, nil
}

// Resume implements Pauses.
func (m *MemoryPauses) Resume(_ context.Context, appID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.paused, appID)
	return nil
}

var _ Pauses = (*MemoryPauses)(nil)

package alert

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2026, 5, 12, 9, 30, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// recorder is a Notifier that keeps what it is given.
type recorder struct {
	mu sync.Mutex
	ns []Notification
}

func (r *recorder) Notify(_ context.Context, n Notification) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ns = append(r.ns, n)
	return nil
}

func (r *recorder) got() []Notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Notification(nil), r.ns...)
}

// ofType returns the notifications of one type.
func (r *recorder) ofType(t NotificationType) []Notification {
	var out []Notification
	for _, n := range r.got() {
		if n.Type == t {
			out = append(out, n)
		}
	}
	return out
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newTest starts a Manager on clk (UTC days) that is closed when the test ends.
func newTest(t *testing.T, clk *clock, o Options) *Manager {
	t.Helper()
	o.Now = clk.Now
	if o.Logger == nil {
		o.Logger = quietLogger()
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	m := NewManager(o)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return m
}

// flush waits for the Manager to handle and deliver everything raised so far.
func flush(t *testing.T, m *Manager) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

func warn(rule, subject string) Alert {
	return Alert{Rule: rule, Severity: Warning, Subject: subject, Summary: rule + " on " + subject}
}

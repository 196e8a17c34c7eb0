package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

var t0 = time.Date(2026, 5, 1, 9, 30, 0, 0, time.UTC)

func mustRate(t testing.TB, s string) Rate {
	t.Helper()
	r, err := ParseRate(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// allowOne checks one call against one cell.
func allowOne(t testing.TB, s Store, now time.Time, c Cell) Verdict {
	t.Helper()
	ok, vs, err := s.Allow(context.Background(), now, []Cell{c})
	if err != nil {
		t.Fatal(err)
	}
	if ok != vs[0].Allowed {
		t.Fatalf("admitted=%v but verdict %+v", ok, vs[0])
	}
	return vs[0]
}

// burst counts the calls admitted at one instant, stopping at the first
// refusal (and at most limit+10).
func burst(t testing.TB, s Store, now time.Time, c Cell, limit int64) int64 {
	t.Helper()
	var n int64
	for n < limit+10 && allowOne(t, s, now, c).Allowed {
		n++
	}
	return n
}

// N per window, ±0: N calls pass at once, the next is refused; one window
// later, exactly N pass again, however many refused calls came between.
func TestExactlyNPerWindow(t *testing.T) {
	for _, rate := range []string{"1/1s", "3/1s", "100/1s", "6000/1m", "7/1h", "50000/24h", "999/7s"} {
		t.Run(rate, func(t *testing.T) {
			s := NewMemoryStore(0)
			r := mustRate(t, rate)
			c := Cell{Key: "k", Rate: r, Burst: r.Count}
			if got := burst(t, s, t0, c, r.Count); got != r.Count {
				t.Fatalf("first window admitted %d, want %d", got, r.Count)
			}
			for range 1000 { // refused calls consume nothing
				if allowOne(t, s, t0, c).Allowed {
					t.Fatal("a call over the limit was admitted")
				}
			}
			if got := burst(t, s, t0.Add(r.Per), c, r.Count); got != r.Count {
				t.Fatalf("second window admitted %d, want %d", got, r.Count)
			}
			// GCRA refills one call per window/N: 1ns before the window
			// ends, one call is still missing.
			s = NewMemoryStore(0)
			burst(t, s, t0, c, r.Count)
			if got := burst(t, s, t0.Add(r.Per-time.Nanosecond), c, r.Count); got != r.Count-1 {
				t.Fatalf("1ns before the window ends: %d admitted, want %d", got, r.Count-1)
			}
		})
	}
}

// The rate is exact even when window/N is not a whole number of ns: for
// 3/1s over 1000 windows, 1ns before each window ends exactly 2 calls have
// come back, and at its end the third.
func TestEmissionIntervalExact(t *testing.T) {
	s := NewMemoryStore(0)
	r := mustRate(t, "3/1s")
	c := Cell{Key: "k", Rate: r, Burst: 3}
	if got := burst(t, s, t0, c, 3); got != 3 {
		t.Fatalf("first burst %d", got)
	}
	for k := 1; k <= 1000; k++ {
		end := t0.Add(time.Duration(k) * time.Second)
		if got := burst(t, s, end.Add(-time.Nanosecond), c, 3); got != 2 {
			t.Fatalf("window %d: %d admitted 1ns before its end, want 2", k, got)
		}
		if got := burst(t, s, end, c, 3); got != 1 {
			t.Fatalf("window %d: %d admitted at its end, want 1", k, got)
		}
	}
}

// With burst 1, no sliding window of the rule's length admits more than N,
// and a client sending as fast as it can gets exactly N per window.
func TestBurstOneSlidingWindow(t *testing.T) {
	s := NewMemoryStore(0)
	r := mustRate(t, "10/1s")
	c := Cell{Key: "k", Rate: r, Burst: 1}
	var admitted []time.Time
	for now := t0; now.Before(t0.Add(5 * time.Second)); now = now.Add(time.Millisecond) {
		if allowOne(t, s, now, c).Allowed {
			admitted = append(admitted, now)
		}
	}
	if len(admitted) != 50 {
		t.Fatalf("5 windows admitted %d, want 50", len(admitted))
	}
	for i := range admitted {
		n := 0
		for _, a := range admitted[i:] {
			if a.Sub(admitted[i]) < r.Per {
				n++
			}
		}
		if n > 10 {
			t.Fatalf("the window from %v admitted %d", admitted[i].Sub(t0), n)
		}
	}
}

func TestBurst(t *testing.T) {
	s := NewMemoryStore(0)
	r := mustRate(t, "60/1m") // one per second
	c := Cell{Key: "k", Rate: r, Burst: 5}
	if got := burst(t, s, t0, c, 60); got != 5 {
		t.Fatalf("burst admitted %d, want 5", got)
	}
	v := allowOne(t, s, t0, c)
	if v.Allowed || v.Remaining != 0 || v.RetryAfter != time.Second || v.Reset != 5*time.Second {
		t.Fatalf("over the burst: %+v", v)
	}
	if got := burst(t, s, t0.Add(time.Second), c, 60); got != 1 {
		t.Fatalf("1s later admitted %d, want 1", got)
	}
	if got := burst(t, s, t0.Add(time.Hour), c, 60); got != 5 {
		t.Fatalf("after a long pause admitted %d, want the burst 5", got)
	}
}

func TestVerdictCounts(t *testing.T) {
	s := NewMemoryStore(0)
	c := Cell{Key: "k", Rate: mustRate(t, "100/1m"), Burst: 100}
	v := allowOne(t, s, t0, c)
	if !v.Allowed || v.Remaining != 99 || v.RetryAfter != 0 || v.Reset != 600*time.Millisecond {
		t.Fatalf("first call: %+v", v)
	}
	for range 98 {
		allowOne(t, s, t0, c)
	}
	v = allowOne(t, s, t0, c)
	if !v.Allowed || v.Remaining != 0 || v.RetryAfter != 600*time.Millisecond || v.Reset != time.Minute {
		t.Fatalf("last call: %+v", v)
	}
}

// A call is charged only when every non-optional cell admits it; an
// optional (alarm) cell never holds it back and is charged only with room.
func TestAllOrNothing(t *testing.T) {
	s := NewMemoryStore(0)
	ctx := context.Background()
	wide := Cell{Key: "wide", Rate: mustRate(t, "10/1s"), Burst: 10}
	narrow := Cell{Key: "narrow", Rate: mustRate(t, "2/1s"), Burst: 2}
	for i := range 5 {
		ok, vs, err := s.Allow(ctx, t0, []Cell{wide, narrow})
		if err != nil || ok != (i < 2) {
			t.Fatalf("call %d: admitted=%v err=%v", i, ok, err)
		}
		if !ok && (!vs[0].Allowed || vs[0].Remaining != 8) {
			t.Fatalf("call %d: the wide cell was charged by a refused call: %+v", i, vs[0])
		}
	}
	if got := burst(t, s, t0, wide, 10); got != 8 {
		t.Fatalf("wide cell has %d left, want 8", got)
	}
	alarm := Cell{Key: "alarm", Rate: mustRate(t, "1/1s"), Burst: 1, Optional: true}
	other := Cell{Key: "other", Rate: mustRate(t, "10/1s"), Burst: 10}
	for i := range 3 {
		ok, vs, err := s.Allow(ctx, t0, []Cell{alarm, other})
		if err != nil || !ok || vs[0].Allowed != (i == 0) {
			t.Fatalf("call %d: admitted=%v alarm=%+v err=%v", i, ok, vs[0], err)
		}
	}
}

func TestSameKeyTwice(t *testing.T) {
	s := NewMemoryStore(0)
	c := Cell{Key: "k", Rate: mustRate(t, "4/1s"), Burst: 4}
	ctx := context.Background()
	for i := range 3 {
		ok, _, _ := s.Allow(ctx, t0, []Cell{c, c})
		if ok != (i < 2) {
			t.Fatalf("call %d admitted=%v", i, ok)
		}
	}
}

func TestClockBackwardsGivesNoRoom(t *testing.T) {
	s := NewMemoryStore(0)
	c := Cell{Key: "k", Rate: mustRate(t, "2/1s"), Burst: 2}
	burst(t, s, t0.Add(time.Hour), c, 2)
	if allowOne(t, s, t0, c).Allowed {
		t.Fatal("a clock an hour back found room")
	}
}

// Memory is bounded: idle counters are swept; past the bound new counters
// are refused with ErrFull (the stage then refuses: fail closed).
func TestMemoryBounded(t *testing.T) {
	s := NewMemoryStore(100)
	r := mustRate(t, "1/1s")
	for i := range 100 {
		allowOne(t, s, t0, Cell{Key: fmt.Sprint(i), Rate: r, Burst: 1})
	}
	_, _, err := s.Allow(context.Background(), t0, []Cell{{Key: "new", Rate: r, Burst: 1}})
	if !errors.Is(err, ErrFull) {
		t.Fatalf("err = %v, want ErrFull", err)
	}
	if !allowOne(t, s, t0.Add(time.Second), Cell{Key: "new", Rate: r, Burst: 1}).Allowed {
		t.Fatal("idle counters were not swept")
	}
	if s.Len() != 1 {
		t.Fatalf("%d counters held, want 1", s.Len())
	}
	allowOne(t, s, t0.Add(time.Minute), Cell{Key: "later", Rate: r, Burst: 1})
	if s.Len() != 1 {
		t.Fatalf("periodic sweep left %d counters, want 1", s.Len())
	}
}

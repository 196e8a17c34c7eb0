package ratelimit

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/problem"
	"github.com/bankguard/bankguard/registry"
)

// 200 goroutines call at once through a handler that blocks: no more than
// the cap are ever inside it, exactly the cap get in while it blocks, and
// every slot is given back.
func TestConcurrencyNeverAboveCap(t *testing.T) {
	const callers, limit = 200, 7
	e := newEnv(t,
		Rule{App: Wildcard, Concurrency: limit},
		Rule{API: apiA, Concurrency: 1000, Rate: Rate{Count: 1000, Per: time.Second}},
	)
	var inFlight, maxInFlight, admitted, refused atomic.Int64
	gate := make(chan struct{})
	next := stage.HandlerFunc(func(http.ResponseWriter, *http.Request) error {
		n := inFlight.Add(1)
		for {
			m := maxInFlight.Load()
			if n <= m || maxInFlight.CompareAndSwap(m, n) {
				break
			}
		}
		<-gate
		inFlight.Add(-1)
		return nil
	})
	var start, done sync.WaitGroup
	start.Add(1)
	for range callers {
		done.Go(func() {
			ex := &stage.Exchange{App: &registry.App{ID: "app1"}, API: &registry.API{ID: apiA}}
			r := httptest.NewRequest("GET", "/", nil).WithContext(stage.WithExchange(context.Background(), ex))
			start.Wait()
			err := e.h.ServeHTTP(httptest.NewRecorder(), r, next)
			switch pe, _ := err.(*problem.Error); {
			case err == nil:
				admitted.Add(1)
			case pe != nil && pe.Code == problem.RateLimited:
				refused.Add(1)
			default:
				t.Errorf("unexpected error %v", err)
			}
		})
	}
	start.Done()
	// Wait until every caller is either blocked inside or refused.
	for admitted.Load()+refused.Load()+inFlight.Load() < callers {
		time.Sleep(time.Millisecond)
	}
	if got := inFlight.Load(); got != limit {
		t.Errorf("%d in flight while blocked, want %d", got, limit)
	}
	close(gate)
	done.Wait()
	if got := maxInFlight.Load(); got > limit {
		t.Fatalf("max in flight %d, above the cap %d", got, limit)
	}
	if admitted.Load() != limit || refused.Load() != callers-limit {
		t.Fatalf("admitted %d refused %d", admitted.Load(), refused.Load())
	}
	slots := e.h.Limits.slots.(*MemorySlots)
	if n := slots.InFlight("c0|app:app1") + slots.InFlight("c1|api:"+apiA); n != 0 {
		t.Fatalf("%d slots still held", n)
	}
	if got := e.admitted(t, 3, "app1", apiA); got != 3 {
		t.Fatalf("after the burst %d admitted, want 3", got)
	}
}

// A call refused by its rate gives its concurrency slot back at once.
func TestRateRefusalReleasesSlot(t *testing.T) {
	e := newEnv(t, Rule{App: Wildcard, Concurrency: 1, Rate: Rate{Count: 1, Per: time.Hour}})
	e.admitted(t, 1, "app1", apiA)
	for range 3 {
		res := e.call(t, "app1", apiA)
		if res.err == nil || res.err.Header.Get("Retry-After") == "1" {
			t.Fatalf("want a rate refusal, got %+v", res.err)
		}
	}
	if n := e.h.Limits.slots.(*MemorySlots).InFlight("c0|app:app1"); n != 0 {
		t.Fatalf("%d slots held after refusals", n)
	}
}

// A concurrency rule with action pause pauses the app.
func TestConcurrencyPause(t *testing.T) {
	e := newEnv(t, Rule{App: Wildcard, Concurrency: 1, Action: Pause, PauseFor: time.Minute})
	_, _, err := e.h.Limits.slots.Acquire(context.Background(), []Slot{{Key: "c0|app:app1", Max: 1}})
	if err != nil {
		t.Fatal(err)
	}
	res := e.call(t, "app1", apiA)
	if res.err == nil || res.err.Code != problem.AppPaused || res.err.Header.Get("Retry-After") != "60" {
		t.Fatalf("refusal %+v", res.err)
	}
	if len(e.notes.Notices()) != 1 {
		t.Fatalf("notices %+v", e.notes.Notices())
	}
}

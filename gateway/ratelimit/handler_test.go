package ratelimit

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bankguard/bankguard/alert"
	"github.com/bankguard/bankguard/gateway/ratelimit/ratelimittest"
	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/problem"
	"github.com/bankguard/bankguard/registry"
)

const (
	apiA = "OPABCDEF0101000100000001"
	apiB = "OPABCDEF0201000200000002"
	apiC = "OPABCDEF0101000300000003"
)

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type env struct {
	h      *Handler
	clock  *clock
	alerts *ratelimittest.Alerts
	notes  *ratelimittest.Notifier
}

func newEnv(t testing.TB, rules ...Rule) *env {
	t.Helper()
	e := &env{clock: &clock{now: t0}, alerts: &ratelimittest.Alerts{}, notes: &ratelimittest.Notifier{}}
	h, err := New(Config{Rules: rules}, e.alerts, e.notes)
	if err != nil {
		t.Fatal(err)
	}
	h.Now = e.clock.Now
	e.h = h
	return e
}

// result is one call through the stage.
type result struct {
	w      *httptest.ResponseRecorder
	err    *problem.Error
	called bool
}

func (e *env) call(t testing.TB, app, api string) result {
	t.Helper()
	ex := &stage.Exchange{ID: "TXN1", ClientIP: "203.0.113.7"}
	if app != "" {
		ex.App = &registry.App{ID: app}
	}
	if api != "" {
		ex.API = &registry.API{ID: api}
	}
	r := httptest.NewRequest("GET", "/v1/x", nil)
	r = r.WithContext(stage.WithExchange(context.Background(), ex))
	res := result{w: httptest.NewRecorder()}
	err := e.h.ServeHTTP(res.w, r, stage.HandlerFunc(func(http.ResponseWriter, *http.Request) error {
		res.called = true
		return nil
	}))
	if err != nil && !errors.As(err, &res.err) {
		t.Fatalf("error is not a problem: %v", err)
	}
	if (err == nil) != res.called {
		t.Fatalf("called=%v err=%v", res.called, err)
	}
	return res
}

// admitted makes n calls and returns how many passed.
func (e *env) admitted(t testing.TB, n int, app, api string) int {
	t.Helper()
	ok := 0
	for range n {
		if e.call(t, app, api).called {
			ok++
		}
	}
	return ok
}

func wantRefusal(t *testing.T, res result, code problem.Code, retryAfter string) {
	t.Helper()
	if res.err == nil {
		t.Fatal("call admitted, want a refusal")
	}
	if res.err.Code != code || res.err.HTTPStatus() != http.StatusTooManyRequests {
		t.Fatalf("refusal %s (%d), want %s (429)", res.err.Code, res.err.HTTPStatus(), code)
	}
	if got := res.err.Header.Get("Retry-After"); got != retryAfter {
		t.Fatalf("Retry-After = %q, want %q", got, retryAfter)
	}
}

func TestRejectWithHeaders(t *testing.T) {
	e := newEnv(t, Rule{App: Wildcard, Rate: Rate{Count: 100, Per: time.Minute}, Action: Reject})
	res := e.call(t, "app1", apiA)
	if got := res.w.Header().Get(HeaderPolicy); got != `"app-1m";q=100;w=60` {
		t.Fatalf("RateLimit-Policy = %q", got)
	}
	if got := res.w.Header().Get(HeaderRateLimit); got != `"app-1m";r=99;t=1` {
		t.Fatalf("RateLimit = %q", got)
	}
	if got := e.admitted(t, 200, "app1", apiA); got != 99 {
		t.Fatalf("admitted %d more, want 99", got)
	}
	res = e.call(t, "app1", apiA)
	wantRefusal(t, res, problem.RateLimited, "1")
	if got := res.err.Header.Get(HeaderRateLimit); got != `"app-1m";r=0;t=1` {
		t.Fatalf("RateLimit on refusal = %q", got)
	}
	if res.err.Header.Get(HeaderPolicy) == "" || strings.Contains(res.err.Detail, "app-1m") {
		t.Fatalf("refusal headers/detail: %v %q", res.err.Header, res.err.Detail)
	}
	// Each app has its own counter.
	if !e.call(t, "app2", apiA).called {
		t.Fatal("another app was refused")
	}
	e.clock.Advance(time.Minute)
	if got := e.admitted(t, 200, "app1", apiA); got != 100 {
		t.Fatalf("next window admitted %d, want 100", got)
	}
}

func TestRetryAfterRoundsUp(t *testing.T) {
	e := newEnv(t, Rule{App: "app1", Rate: Rate{Count: 2, Per: 5 * time.Second}, Burst: 2})
	e.admitted(t, 2, "app1", apiA)
	wantRefusal(t, e.call(t, "app1", apiA), problem.RateLimited, "3") // 2.5s → 3
	e.clock.Advance(2500 * time.Millisecond)
	if !e.call(t, "app1", apiA).called {
		t.Fatal("refused after Retry-After")
	}
}

// Rules per app, per API (all apps together) and per app and API apply
// together; a call refused by one is charged by none.
func TestScopes(t *testing.T) {
	e := newEnv(t,
		Rule{App: "app1", Rate: Rate{Count: 10, Per: time.Second}},
		Rule{API: apiA, Rate: Rate{Count: 6, Per: time.Second}},
		Rule{App: Wildcard, API: apiB, Rate: Rate{Count: 2, Per: time.Second}},
	)
	if got := e.admitted(t, 10, "app2", apiA) + e.admitted(t, 10, "app1", apiA); got != 6 {
		t.Fatalf("API rule admitted %d, want 6 across apps", got)
	}
	if got := e.admitted(t, 10, "app1", apiB); got != 2 {
		t.Fatalf("app+API rule admitted %d, want 2", got)
	}
	if got := e.admitted(t, 10, "app2", apiB); got != 2 {
		t.Fatalf("app+API rule for another app admitted %d, want 2", got)
	}
	// app1's 10 calls to apiA were refused by the API rule and charged to
	// nothing: its own rule has 10 - 2 left.
	if got := e.admitted(t, 20, "app1", apiC); got != 8 {
		t.Fatalf("app rule admitted %d more, want 8", got)
	}
}

func TestAlarmPassesAndAlerts(t *testing.T) {
	e := newEnv(t, Rule{App: Wildcard, API: apiA, Rate: Rate{Count: 3, Per: time.Second}, Action: Alarm})
	if got := e.admitted(t, 5, "app1", apiA); got != 5 {
		t.Fatalf("alarm rule admitted %d, want all 5", got)
	}
	got := e.alerts.Rule(AlertAlarm)
	if len(got) != 2 {
		t.Fatalf("%d alarms, want 2 (calls 4 and 5)", len(got))
	}
	a := got[0]
	if a.Severity != alert.Warning || a.Subject != "app:app1|api:"+apiA || a.TxnID != "TXN1" || !a.Time.Equal(t0) {
		t.Fatalf("alert %+v", a)
	}
	res := e.call(t, "app1", apiA)
	if res.w.Header().Get(HeaderPolicy) != "" {
		t.Fatal("an alarm threshold was advertised to the client")
	}
}

func TestPauseUntilCooldownEnds(t *testing.T) {
	e := newEnv(t, Rule{App: Wildcard, Rate: Rate{Count: 5, Per: time.Second}, Action: Pause, PauseFor: 10 * time.Minute})
	if got := e.admitted(t, 5, "app1", apiA); got != 5 {
		t.Fatalf("admitted %d, want 5", got)
	}
	wantRefusal(t, e.call(t, "app1", apiA), problem.AppPaused, "600")
	// Paused: refused whatever its rate, with the time left; other apps go on.
	e.clock.Advance(9 * time.Minute)
	res := e.call(t, "app1", apiB)
	wantRefusal(t, res, problem.AppPaused, "60")
	if !strings.Contains(res.err.Detail, "2026-05-01T09:40:00Z") {
		t.Fatalf("detail %q does not say when the pause ends", res.err.Detail)
	}
	if !e.call(t, "app2", apiA).called {
		t.Fatal("another app was refused")
	}
	e.clock.Advance(time.Minute - time.Nanosecond)
	wantRefusal(t, e.call(t, "app1", apiA), problem.AppPaused, "1")
	e.clock.Advance(time.Nanosecond)
	if got := e.admitted(t, 5, "app1", apiA); got != 5 {
		t.Fatalf("after the cooldown admitted %d, want 5", got)
	}
	// One pause: one critical alert, one notice.
	alerts := e.alerts.Rule(AlertPause)
	if len(alerts) != 1 || alerts[0].Severity != alert.Critical || alerts[0].Subject != "app:app1" {
		t.Fatalf("pause alerts %+v", alerts)
	}
	notes := e.notes.Notices()
	if len(notes) != 1 || notes[0].AppID != "app1" || notes[0].Kind != NoticePaused ||
		!strings.Contains(notes[0].Message, "2026-05-01T09:40:00Z") {
		t.Fatalf("notices %+v", notes)
	}
}

func TestThrottleRefusesWithReason(t *testing.T) {
	e := newEnv(t, Rule{App: Wildcard, Rate: Rate{Count: 100, Per: time.Second}})
	_, err := e.h.Throttles.Set(context.Background(), Throttle{App: "app1", Rate: Rate{Count: 2, Per: time.Minute},
		Burst: 2, Reason: "系统升级维护，限流至 21:00", Since: t0, Until: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.admitted(t, 5, "app1", apiA); got != 2 {
		t.Fatalf("throttled app admitted %d, want 2", got)
	}
	res := e.call(t, "app1", apiA)
	wantRefusal(t, res, problem.Throttled, "30")
	if !strings.Contains(res.err.Detail, "系统升级维护，限流至 21:00") {
		t.Fatalf("detail %q lacks the reason", res.err.Detail)
	}
	if got := res.err.Header.Get(HeaderPolicy); got != `"app-1s";q=100;w=1, "throttle";q=2;w=60` {
		t.Fatalf("RateLimit-Policy = %q", got)
	}
	if !e.call(t, "app2", apiA).called {
		t.Fatal("another app was throttled")
	}
	e.clock.Advance(time.Hour)
	if got := e.admitted(t, 5, "app1", apiA); got != 5 {
		t.Fatalf("after the throttle ended admitted %d, want 5", got)
	}
}

func TestConcurrencyRefusal(t *testing.T) {
	e := newEnv(t, Rule{App: Wildcard, Concurrency: 1})
	release := make(chan struct{})
	entered := make(chan struct{})
	go func() {
		ex := &stage.Exchange{App: &registry.App{ID: "app1"}}
		r := httptest.NewRequest("GET", "/", nil).WithContext(stage.WithExchange(context.Background(), ex))
		_ = e.h.ServeHTTP(httptest.NewRecorder(), r, stage.HandlerFunc(func(http.ResponseWriter, *http.Request) error {
			close(entered)
			<-release
			return nil
		}))
	}()
	<-entered
	wantRefusal(t, e.call(t, "app1", apiA), problem.RateLimited, "1")
	if !e.call(t, "app2", apiA).called {
		t.Fatal("another app was refused")
	}
	close(release)
	slots := e.h.Limits.slots.(*MemorySlots)
	for slots.InFlight("c0|app:app1") != 0 {
		time.Sleep(time.Millisecond)
	}
	if !e.call(t, "app1", apiA).called {
		t.Fatal("refused after the slot was released")
	}
}

// failingStore fails every call, like a shared store that is down.
type failingStore struct{}

func (failingStore) Allow(context.Context, time.Time, []Cell) (bool, []Verdict, error) {
	return false, nil, errors.New("connection refused: redis-7.internal:6379")
}

func TestFailsClosed(t *testing.T) {
	e := newEnv(t, Rule{App: Wildcard, Rate: Rate{Count: 100, Per: time.Second}})
	e.h.Limits.store = failingStore{}
	res := e.call(t, "app1", apiA)
	if res.err == nil || res.err.Code != problem.Internal || res.err.HTTPStatus() != http.StatusServiceUnavailable {
		t.Fatalf("store down: %+v", res.err)
	}
	if strings.Contains(res.err.Detail, "redis") {
		t.Fatalf("detail leaks the cause: %q", res.err.Detail)
	}
	if len(e.alerts.Rule(AlertUnavailable)) != 1 {
		t.Fatal("no alert for the store failure")
	}
	if res := (&env{h: &Handler{}}).call(t, "app1", apiA); res.err == nil || res.err.HTTPStatus() != 503 {
		t.Fatalf("unconfigured stage: %+v", res.err)
	}
}

func TestClientIPRule(t *testing.T) {
	e := newEnv(t, Rule{ClientIP: true, Rate: Rate{Count: 2, Per: time.Second}})
	if got := e.admitted(t, 5, "", ""); got != 2 {
		t.Fatalf("unauthenticated calls from one address admitted %d, want 2", got)
	}
}

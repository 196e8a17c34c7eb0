package blacklist

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/problem"
	"github.com/bankguard/bankguard/registry"
)

// fakeClock is a settable clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

// serve runs stage m for a request from ip by app (if not empty) and
// reports whether the next stage was called.
func serve(m stage.Middleware, ip, app string) (bool, error) {
	ex := &stage.Exchange{ID: "TXN1", ClientIP: ip}
	if app != "" {
		ex.App = &registry.App{ID: app}
	}
	r := httptest.NewRequest("GET", "/accounts", nil)
	r = r.WithContext(stage.WithExchange(r.Context(), ex))
	called := false
	err := m.ServeHTTP(httptest.NewRecorder(), r, stage.HandlerFunc(func(http.ResponseWriter, *http.Request) error {
		called = true
		return nil
	}))
	return called, err
}

// refused checks that err is 403 blacklisted with the neutral detail and
// that the next stage was not called; it returns the Retry-After header.
func refused(t *testing.T, called bool, err error) string {
	t.Helper()
	var pe *problem.Error
	if !errors.As(err, &pe) || pe.Code != problem.Blacklisted || pe.HTTPStatus() != http.StatusForbidden {
		t.Fatalf("err = %v, want 403 blacklisted", err)
	}
	if called {
		t.Fatal("the next stage ran for a refused request")
	}
	if pe.Detail != detailRefused {
		t.Fatalf("detail %q is not the neutral one", pe.Detail)
	}
	return pe.Header.Get("Retry-After")
}

func passed(t *testing.T, called bool, err error) {
	t.Helper()
	if err != nil || !called {
		t.Fatalf("refused: called=%v err=%v", called, err)
	}
}

func TestIPHandlerRefusesAndExpires(t *testing.T) {
	clk := &fakeClock{t: t0}
	l := NewMemory(0)
	mustAdd(t, l, Entry{Kind: KindCIDR, Value: "203.0.113.0/24", Reason: "scanner seen by the SOC", Until: t0.Add(90 * time.Second)})
	h := &IPHandler{List: l, Now: clk.Now}

	called, err := serve(h, "203.0.113.7", "")
	if ra := refused(t, called, err); ra != "90" {
		t.Fatalf("Retry-After = %q, want 90", ra)
	}
	body := string(problem.Body(problem.From(err), "TXN1"))
	for _, leak := range []string{"scanner", "203.0.113", "bl_", "cidr", "manual"} {
		if strings.Contains(body, leak) {
			t.Fatalf("the client-facing body names %q: %s", leak, body)
		}
	}
	called, err = serve(h, "203.0.114.1", "")
	passed(t, called, err)

	clk.Advance(89*time.Second + 500*time.Millisecond)
	called, err = serve(h, "203.0.113.7", "")
	if ra := refused(t, called, err); ra != "1" {
		t.Fatalf("Retry-After = %q, want 1 (rounded up)", ra)
	}
	clk.Advance(time.Second)
	called, err = serve(h, "203.0.113.7", "")
	passed(t, called, err)
}

func TestIPHandlerIPv6Permanent(t *testing.T) {
	l := NewMemory(0)
	mustAdd(t, l, Entry{Kind: KindCIDR, Value: "2001:db8:bad::/48"})
	h := &IPHandler{List: l, Now: (&fakeClock{t: t0}).Now}
	called, err := serve(h, "2001:db8:bad:42::1", "")
	if ra := refused(t, called, err); ra != "" {
		t.Fatalf("a permanent entry sent Retry-After %q", ra)
	}
	called, err = serve(h, "2001:db8:cafe::1", "")
	passed(t, called, err)
}

func TestAppHandlerRefusesAndExpires(t *testing.T) {
	clk := &fakeClock{t: t0}
	l := NewMemory(0)
	mustAdd(t, l, Entry{Kind: KindApp, Value: "APP0000000001", Until: t0.Add(time.Hour)})
	h := &AppHandler{List: l, Now: clk.Now}

	called, err := serve(h, "192.0.2.1", "APP0000000001")
	if ra := refused(t, called, err); ra != "3600" {
		t.Fatalf("Retry-After = %q", ra)
	}
	called, err = serve(h, "192.0.2.1", "APP0000000002")
	passed(t, called, err)
	// No verified app: the signature stage decided; nothing to match.
	called, err = serve(h, "192.0.2.1", "")
	passed(t, called, err)

	clk.Advance(time.Hour)
	called, err = serve(h, "192.0.2.1", "APP0000000001")
	passed(t, called, err)
}

func TestAppHandlerIgnoresAddressEntries(t *testing.T) {
	l := NewMemory(0)
	mustAdd(t, l, Entry{Kind: KindCIDR, Value: "192.0.2.1"})
	called, err := serve(&AppHandler{List: l}, "192.0.2.1", "APP1")
	passed(t, called, err) // the IP stage's job, earlier in the pipeline
}

// brokenList fails every call, like an unreachable shared store.
type brokenList struct{}

var errStore = errors.New("redis: connection refused to 10.1.2.3:6379")

func (brokenList) Add(context.Context, Entry) (Entry, error)        { return Entry{}, errStore }
func (brokenList) Remove(context.Context, string) error             { return errStore }
func (brokenList) List(context.Context, time.Time) ([]Entry, error) { return nil, errStore }
func (brokenList) Match(context.Context, string, netip.Addr, time.Time) (*Entry, bool, error) {
	return nil, false, errStore
}

func TestStagesFailClosed(t *testing.T) {
	for _, tc := range []struct {
		name   string
		m      stage.Middleware
		ip     string
		status int
	}{
		{"ip list down", &IPHandler{List: brokenList{}}, "192.0.2.1", http.StatusServiceUnavailable},
		{"app list down", &AppHandler{List: brokenList{}}, "192.0.2.1", http.StatusServiceUnavailable},
		{"no list", &IPHandler{}, "192.0.2.1", http.StatusServiceUnavailable},
		{"unparsable client address", &IPHandler{List: NewMemory(0)}, "@", http.StatusInternalServerError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			called, err := serve(tc.m, tc.ip, "APP1")
			pe := problem.From(err)
			if called || err == nil || pe.HTTPStatus() != tc.status || pe.Code != problem.Internal {
				t.Fatalf("called=%v err=%v", called, err)
			}
			if body := string(problem.Body(pe, "")); strings.Contains(body, "10.1.2.3") || strings.Contains(body, "redis") {
				t.Fatalf("internal cause leaked: %s", body)
			}
		})
	}
}

package probe

import (
	"testing"
	"time"

	"github.com/bankguard/bankguard/profile"
)

func TestRateTolerance(t *testing.T) {
	for _, tc := range []struct {
		limit                int
		lower, upper, upper2 int // upper2: after a whole window's refill
	}{
		{limit: 1, lower: 1, upper: 2, upper2: 3},
		{limit: 5, lower: 4, upper: 7, upper2: 13},
		{limit: 20, lower: 16, upper: 25, upper2: 49},
		{limit: 200, lower: 160, upper: 241, upper2: 481},
	} {
		p := &rateProbe{limit: tc.limit, window: time.Second}
		if got := p.lower(); got != tc.lower {
			t.Errorf("limit %d: lower %d, want %d", tc.limit, got, tc.lower)
		}
		if got := p.upper(0); got != tc.upper {
			t.Errorf("limit %d: upper %d, want %d", tc.limit, got, tc.upper)
		}
		if got := p.upper(5 * time.Second); got != tc.upper2 {
			t.Errorf("limit %d: upper after more than a window %d, want %d", tc.limit, got, tc.upper2)
		}
	}
}

func TestRateValidRetryAfter(t *testing.T) {
	for v, want := range map[string]bool{
		"2": true, "0": true, " 120 ": true, "Wed, 21 Oct 2015 07:28:00 GMT": true,
		"": false, "-1": false, "+1": false, "1.5": false, "soon": false, "2s": false,
	} {
		if got := rateValidRetryAfter(v); got != want {
			t.Errorf("Retry-After %q: valid %v, want %v", v, got, want)
		}
	}
}

func TestRateOutcome(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := &rateProbe{limit: 5, window: 2 * time.Second}
	served := func(n int, gap time.Duration) *rateBurst {
		b := &rateBurst{}
		for i := range n {
			p.addServed(b, t0.Add(time.Duration(i)*gap))
		}
		return b
	}
	limited := &Exchange{Status: 429}
	for _, tc := range []struct {
		name string
		b    *rateBurst
		want rateOutcome
	}{
		{"5 served then 429", withLimit(served(5, time.Millisecond), limited), rateInBand},
		{"7 served then 429", withLimit(served(7, time.Millisecond), limited), rateInBand},
		{"8 served at once", served(8, time.Millisecond), rateOver},
		{"2 served then 429", withLimit(served(2, time.Millisecond), limited), rateUnder},
		{"15 served, one a window", served(15, 2100*time.Millisecond), rateShort},
		// 12 sent within 1.848 s: 1.2·5·(1 + 1.848/2) + 1 = 12.54, so 12 are inside.
		{"the refill of a slow burst", withLimit(served(12, 168*time.Millisecond), limited), rateInBand},
	} {
		if got := p.outcome(tc.b); got != tc.want {
			t.Errorf("%s: outcome %d (peak %d, span %s), want %d", tc.name, got, tc.b.peak, tc.b.span, tc.want)
		}
	}
}

func withLimit(b *rateBurst, x *Exchange) *rateBurst {
	b.limited = x
	return b
}

func TestAuthzPathMasksNumbers(t *testing.T) {
	for path, want := range map[string]string{
		"/v1/accounts/AC5435540031/balance": "/v1/accounts/AC******0031/balance",
		"/v1/products?page_size=100000":     "/v1/products",
		"/v1/cards/12345/x":                 "/v1/cards/12345/x",
	} {
		if got := authzPath(&profile.Endpoint{Path: path}); got != want {
			t.Errorf("authzPath(%q) = %q, want %q", path, got, want)
		}
	}
}

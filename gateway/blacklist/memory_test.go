package blacklist

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

func mustAdd(t *testing.T, l List, e Entry) Entry {
	t.Helper()
	if e.Source == "" {
		e.Source = SourceManual
	}
	if e.Reason == "" {
		e.Reason = "test"
	}
	if e.Created.IsZero() {
		e.Created = t0
	}
	got, err := l.Add(context.Background(), e)
	if err != nil {
		t.Fatalf("Add(%+v): %v", e, err)
	}
	return got
}

func matches(t *testing.T, l List, app, ip string, now time.Time) (*Entry, bool) {
	t.Helper()
	var a netip.Addr
	if ip != "" {
		a = netip.MustParseAddr(ip)
	}
	e, ok, err := l.Match(context.Background(), app, a, now)
	if err != nil {
		t.Fatal(err)
	}
	return e, ok
}

func TestCIDRMatching(t *testing.T) {
	l := NewMemory(0)
	mustAdd(t, l, Entry{Kind: KindCIDR, Value: "203.0.113.0/24"})
	mustAdd(t, l, Entry{Kind: KindCIDR, Value: "198.51.100.7"})
	mustAdd(t, l, Entry{Kind: KindCIDR, Value: "2001:db8:bad::/48"})
	mustAdd(t, l, Entry{Kind: KindCIDR, Value: "2001:db8::1"})
	for _, tc := range []struct {
		name, ip string
		want     bool
	}{
		{"v4 range first", "203.0.113.0", true},
		{"v4 range inside", "203.0.113.77", true},
		{"v4 range last", "203.0.113.255", true},
		{"v4 just outside", "203.0.114.0", false},
		{"v4 single", "198.51.100.7", true},
		{"v4 single neighbour", "198.51.100.8", false},
		{"v4 mapped in v6", "::ffff:203.0.113.9", true},
		{"v6 range inside", "2001:db8:bad:1234::99", true},
		{"v6 range outside", "2001:db8:bae::1", false},
		{"v6 single", "2001:db8::1", true},
		{"v6 single neighbour", "2001:db8::2", false},
		{"v6 with zone", "2001:db8::1%eth0", true},
		{"unrelated v4", "192.0.2.1", false},
		{"unrelated v6", "2001:db9::1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, got := matches(t, l, "", tc.ip, t0); got != tc.want {
				t.Fatalf("Match(%s) = %v, want %v", tc.ip, got, tc.want)
			}
		})
	}
	if _, ok := matches(t, l, "APP1", "", t0); ok {
		t.Fatal("an app matched a CIDR entry")
	}
}

func TestAppMatchingAndExpiry(t *testing.T) {
	l := NewMemory(0)
	mustAdd(t, l, Entry{Kind: KindApp, Value: "APP0000000001", Until: t0.Add(time.Hour)})
	if _, ok := matches(t, l, "APP0000000001", "", t0.Add(59*time.Minute)); !ok {
		t.Fatal("the entry did not match before its expiry")
	}
	if _, ok := matches(t, l, "APP0000000002", "", t0); ok {
		t.Fatal("another app matched")
	}
	if _, ok := matches(t, l, "APP0000000001", "", t0.Add(time.Hour)); ok {
		t.Fatal("the entry matched at its expiry")
	}
	if n := l.Len(); n != 0 {
		t.Fatalf("expired entry not swept: %d held", n)
	}
	got, _ := l.List(context.Background(), t0.Add(time.Hour))
	if len(got) != 0 {
		t.Fatalf("List returned expired entries: %v", got)
	}
}

func TestSweepBoundsMemory(t *testing.T) {
	l := NewMemory(0)
	for i := range 1000 {
		a := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		mustAdd(t, l, Entry{Kind: KindCIDR, Value: a.String(), Source: SourceAuto, Until: t0.Add(time.Duration(i+1) * time.Second)})
	}
	mustAdd(t, l, Entry{Kind: KindApp, Value: "APP-permanent"})
	matches(t, l, "", "192.0.2.1", t0.Add(2*time.Hour))
	if n := l.Len(); n != 1 {
		t.Fatalf("after every expiry %d entries are held, want the permanent one", n)
	}
	if len(l.nets) != 0 || l.lengths[0][32] != 0 {
		t.Fatalf("indexes not emptied: %d ranges, %d /32", len(l.nets), l.lengths[0][32])
	}
}

func TestMatchLongestLasting(t *testing.T) {
	l := NewMemory(0)
	mustAdd(t, l, Entry{Kind: KindCIDR, Value: "203.0.113.0/24", Until: t0.Add(time.Hour)})
	long := mustAdd(t, l, Entry{Kind: KindCIDR, Value: "203.0.113.5", Until: t0.Add(3 * time.Hour)})
	mustAdd(t, l, Entry{Kind: KindCIDR, Value: "203.0.0.0/16", Until: t0.Add(2 * time.Hour)})
	e, ok := matches(t, l, "", "203.0.113.5", t0)
	if !ok || e.ID != long.ID {
		t.Fatalf("match = %+v, want the 3h entry", e)
	}
	perm := mustAdd(t, l, Entry{Kind: KindCIDR, Value: "203.0.0.0/8"})
	if e, _ := matches(t, l, "", "203.0.113.5", t0); e.ID != perm.ID {
		t.Fatalf("match = %+v, want the permanent entry", e)
	}
}

func TestAddReplaceRemoveFull(t *testing.T) {
	ctx := context.Background()
	l := NewMemory(2)
	a := mustAdd(t, l, Entry{ID: "static-1", Kind: KindApp, Value: "APP1"})
	mustAdd(t, l, Entry{ID: "static-1", Kind: KindApp, Value: "APP2"})
	if l.Len() != 1 {
		t.Fatalf("re-adding an id duplicated it: %d entries", l.Len())
	}
	if _, ok := matches(t, l, "APP1", "", t0); ok {
		t.Fatal("the replaced entry still matches")
	}
	mustAdd(t, l, Entry{Kind: KindCIDR, Value: "192.0.2.0/24"})
	if _, err := l.Add(ctx, Entry{Kind: KindApp, Value: "APP3", Reason: "r", Source: SourceManual, Created: t0}); !errors.Is(err, ErrFull) {
		t.Fatalf("Add to a full list: %v", err)
	}
	if err := l.Remove(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := l.Remove(ctx, a.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Remove: %v", err)
	}
	if _, ok := matches(t, l, "APP2", "", t0); ok {
		t.Fatal("a removed entry matches")
	}
}

func TestFullListMakesRoomFromExpired(t *testing.T) {
	l := NewMemory(1)
	mustAdd(t, l, Entry{Kind: KindApp, Value: "APP1", Until: t0.Add(time.Minute)})
	mustAdd(t, l, Entry{Kind: KindApp, Value: "APP2", Created: t0.Add(time.Minute)})
	if _, ok := matches(t, l, "APP2", "", t0.Add(time.Minute)); !ok {
		t.Fatal("the new entry is missing")
	}
}

func TestParseValue(t *testing.T) {
	for _, tc := range []struct {
		kind       Kind
		value, out string
		err        string
	}{
		{KindCIDR, "203.0.113.7", "203.0.113.7/32", ""},
		{KindCIDR, "2001:db8::1", "2001:db8::1/128", ""},
		{KindCIDR, "2001:DB8::/32", "2001:db8::/32", ""},
		{KindCIDR, "10.0.0.0/8", "10.0.0.0/8", ""},
		{KindCIDR, "10.1.2.3/8", "", "host bits"},
		{KindCIDR, "0.0.0.0/0", "", "/8 or narrower"},
		{KindCIDR, "::/0", "", "/16 or narrower"},
		{KindCIDR, "::ffff:10.0.0.0/104", "", "IPv4 form"},
		{KindCIDR, "fe80::1%eth0", "", "IP address or a CIDR"},
		{KindCIDR, "example.com", "", "IP address or a CIDR"},
		{KindCIDR, "203.0.113.0/33", "", "IP address or a CIDR"},
		{KindApp, "APP0000000001", "APP0000000001", ""},
		{KindApp, "demo-a1-hmac", "demo-a1-hmac", ""},
		{KindApp, "", "", "App_ID"},
		{KindApp, "app id", "", "App_ID"},
		{KindApp, strings.Repeat("A", 65), "", "App_ID"},
		{"user", "x", "", "kind"},
	} {
		got, err := ParseValue(tc.kind, tc.value)
		if tc.err == "" && (err != nil || got != tc.out) {
			t.Errorf("ParseValue(%s, %q) = %q, %v; want %q", tc.kind, tc.value, got, err, tc.out)
		}
		if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ParseValue(%s, %q) error = %v; want one mentioning %q", tc.kind, tc.value, err, tc.err)
		}
	}
}

func TestEntryValidate(t *testing.T) {
	ok := Entry{Kind: KindApp, Value: "APP1", Reason: "r", Source: SourceManual, Created: t0}
	for name, mutate := range map[string]func(*Entry){
		"no source":      func(e *Entry) { e.Source = "" },
		"no created":     func(e *Entry) { e.Created = time.Time{} },
		"until past":     func(e *Entry) { e.Until = t0 },
		"no reason":      func(e *Entry) { e.Reason = " " },
		"control reason": func(e *Entry) { e.Reason = "a\nb" },
		"long reason":    func(e *Entry) { e.Reason = strings.Repeat("长", 257) },
	} {
		e := ok
		mutate(&e)
		if err := e.Validate(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
}

func FuzzParseValue(f *testing.F) {
	for _, s := range []string{"203.0.113.0/24", "2001:db8::/48", "::ffff:1.2.3.4", "APP1", "1.2.3.4/0", "fe80::1%x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, k := range []Kind{KindApp, KindCIDR} {
			v, err := ParseValue(k, s)
			if err != nil {
				continue
			}
			again, err := ParseValue(k, v)
			if err != nil || again != v {
				t.Fatalf("canonical %q of %q does not parse to itself: %q, %v", v, s, again, err)
			}
		}
	})
}

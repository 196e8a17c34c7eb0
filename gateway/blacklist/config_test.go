package blacklist

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bankguard/bankguard/problem"
	"go.yaml.in/yaml/v3"
)

const exampleYAML = `
max_entries: 50000
static:
  - {kind: cidr, value: 198.51.100.0/24, reason: "scanner reported by the SOC"}
  - {kind: app, value: APP0000000009, reason: "agreement ended", until: 2027-01-01T00:00:00+08:00}
auto:
  block_for: 30m
  ipv6_prefix: 56
  exempt: [10.0.0.0/8, "2001:db8:ffff::/48"]
  auth_failures: {threshold: 10, window: 30s}
  replays: {threshold: 3, window: 1m, block: app, block_for: 1h}
  impersonation: {block_for: 24h}
`

func TestConfigExampleAndDefaults(t *testing.T) {
	var c Config
	if err := yaml.Unmarshal([]byte(exampleYAML), &c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	a := c.Auto
	if a.BlockFor != 30*time.Minute || a.IPv4Prefix != 32 || a.IPv6Prefix != 56 || a.MaxSources != DefaultMaxSources ||
		a.AuthFailures.Threshold != 10 || a.AuthFailures.Window != 30*time.Second || len(a.AuthFailures.Codes) != 4 ||
		a.Replays.Block != TargetApp || a.Replays.Codes[0] != problem.ReplayDetected || !on(a.Enabled) {
		t.Fatalf("config = %+v", c)
	}

	var d Config
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if d.MaxEntries != DefaultMaxEntries || d.Auto.BlockFor != 15*time.Minute || d.Auto.AuthFailures.Threshold != 20 ||
		d.Auto.AuthFailures.Window != time.Minute || d.Auto.Replays.Threshold != 3 || d.Auto.AuthFailures.Block != TargetIP {
		t.Fatalf("defaults = %+v", d)
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{`max_entries: -1`, "blacklist.max_entries"},
		{`static: [{kind: cidr, value: 10.0.0.1/8, reason: r}]`, "blacklist.static[0]: 10.0.0.1/8 has host bits"},
		{`static: [{kind: app, value: A}]`, "blacklist.static[0].reason"},
		{`static: [{kind: ip, value: 10.0.0.1, reason: r}]`, "blacklist.static[0]: kind"},
		{`auto: {block_for: -1m}`, "blacklist.auto.block_for"},
		{`auto: {ipv4_prefix: 8}`, "blacklist.auto.ipv4_prefix"},
		{`auto: {ipv6_prefix: 129}`, "blacklist.auto.ipv6_prefix"},
		{`auto: {exempt: [nowhere]}`, "blacklist.auto.exempt[0]"},
		{`auto: {max_sources: -5}`, "blacklist.auto.max_sources"},
		{`auto: {max_sources: 10000000, auth_failures: {threshold: 10000}}`, "blacklist.auto.max_sources: max_sources × threshold"},
		{`auto: {auth_failures: {threshold: 20000}}`, "blacklist.auto.auth_failures.threshold"},
		{`auto: {replays: {window: 100ms}}`, "blacklist.auto.replays.window"},
		{`auto: {replays: {block: user}}`, "blacklist.auto.replays.block"},
		{`auto: {replays: {codes: [blacklisted]}}`, "blacklist.auto.replays.codes[0]"},
		{`auto: {auth_failures: {codes: [Not-A-Code]}}`, "blacklist.auto.auth_failures.codes[0]"},
		{`auto: {replays: {codes: [signature_invalid]}}`, "blacklist.auto.replays.codes: signature_invalid is already counted"},
		{`auto: {impersonation: {block_for: 1000h}}`, "blacklist.auto.impersonation.block_for"},
	} {
		var c Config
		if err := yaml.Unmarshal([]byte(tc.yaml), &c); err != nil {
			t.Fatalf("%s: %v", tc.yaml, err)
		}
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.yaml, err, tc.want)
		}
	}
}

func TestNewLoadsStaticEntries(t *testing.T) {
	var c Config
	if err := yaml.Unmarshal([]byte(exampleYAML), &c); err != nil {
		t.Fatal(err)
	}
	c.Static = append(c.Static, StaticEntry{Kind: KindApp, Value: "APP-lapsed", Reason: "r", Until: t0.Add(-time.Hour)})
	list := NewMemory(0)
	clk := &fakeClock{t: t0}
	for range 2 { // a restart, or a second node on the shared list
		bl, err := New(context.Background(), c, Options{List: list, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		called, err := serve(bl.IP, "198.51.100.200", "")
		refused(t, called, err)
		called, err = serve(bl.App, "192.0.2.1", "APP0000000009")
		refused(t, called, err)
	}
	if n := list.Len(); n != 2 {
		t.Fatalf("%d entries after loading twice, want 2", n)
	}
	if _, ok := matches(t, list, "APP-lapsed", "", t0); ok {
		t.Fatal("a lapsed static entry was loaded")
	}

	bl, err := New(context.Background(), Config{}, Options{})
	if err != nil || bl.List == nil || bl.Detector == nil || bl.Admin == nil {
		t.Fatalf("New with defaults: %v", err)
	}
	if _, err := New(context.Background(), Config{MaxEntries: -1}, Options{}); err == nil {
		t.Fatal("an invalid configuration was accepted")
	}
}

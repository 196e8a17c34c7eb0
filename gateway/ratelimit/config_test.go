package ratelimit

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestConfigFromYAML(t *testing.T) {
	src := `
max_keys: 5000
rules:
  - app: "*"
    rate: 100/1s
    concurrency: 20
  - app: demo-a1-hmac
    api: OPABCDEF0101000100000001
    rate: 6000/1m
    burst: 50
    action: alarm
  - name: per-api
    api: OPABCDEF0201000200000002
    rate: 20/s
    action: pause
    app: "*"
    pause_for: 5m
`
	var cfg Config
	if err := yaml.Unmarshal([]byte(src), &cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	r := cfg.Rules
	if cfg.MaxKeys != 5000 || len(r) != 3 {
		t.Fatalf("%+v", cfg)
	}
	if r[0].Rate != (Rate{100, time.Second}) || r[0].Burst != 100 || r[0].Action != Reject || r[0].Concurrency != 20 {
		t.Fatalf("rule 0 %+v", r[0])
	}
	if r[1].Rate != (Rate{6000, time.Minute}) || r[1].Burst != 50 || r[1].Action != Alarm {
		t.Fatalf("rule 1 %+v", r[1])
	}
	if r[2].Rate != (Rate{20, time.Second}) || r[2].PauseFor != 5*time.Minute {
		t.Fatalf("rule 2 %+v", r[2])
	}
	l, err := NewLimiter(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if names := []string{l.rules[0].name, l.rules[1].name, l.rules[2].name}; strings.Join(names, " ") != "app-1s app-api-1m per-api" {
		t.Fatalf("names %v", names)
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	rate := Rate{Count: 10, Per: time.Second}
	for _, tc := range []struct {
		name string
		rule Rule
		want string
	}{
		{"nothing counted", Rule{Rate: rate}, "rules[0].app: a rule needs app, api or client_ip"},
		{"ip and app", Rule{ClientIP: true, App: "a", Rate: rate}, "rules[0].app: must be empty when client_ip is set"},
		{"bad app", Rule{App: "a b", Rate: rate}, "rules[0].app:"},
		{"bad api", Rule{API: "OPABC", Rate: rate}, "rules[0].api: must be a U_API_ID"},
		{"no limit", Rule{App: "a"}, "rules[0].rate: a rule needs a rate, a concurrency cap or both"},
		{"zero count", Rule{App: "a", Rate: Rate{Count: 0, Per: time.Second}}, "rules[0].rate:"},
		{"short window", Rule{App: "a", Rate: Rate{Count: 1, Per: time.Millisecond}}, "rules[0].rate: 1/1ms: the window must be 1s to 24h"},
		{"partial seconds", Rule{App: "a", Rate: Rate{Count: 1, Per: 1500 * time.Millisecond}}, "rules[0].rate: 1/1.5s: the window must be a whole number of seconds"},
		{"negative burst", Rule{App: "a", Rate: rate, Burst: -1}, "rules[0].burst: must not be negative"},
		{"burst without rate", Rule{App: "a", Concurrency: 1, Burst: 3}, "rules[0].burst: needs a rate"},
		{"huge burst", Rule{App: "a", Rate: Rate{Count: 999999937, Per: 24 * time.Hour}}, "rules[0].burst:"},
		{"negative concurrency", Rule{App: "a", Rate: rate, Concurrency: -2}, "rules[0].concurrency:"},
		{"action", Rule{App: "a", Rate: rate, Action: "block"}, `rules[0].action: "block" is not alarm, pause or reject`},
		{"pause without app", Rule{API: apiA, Rate: rate, Action: Pause, PauseFor: time.Minute}, "rules[0].action: pause needs a rule that counts by app"},
		{"pause without duration", Rule{App: "a", Rate: rate, Action: Pause}, "rules[0].pause_for: must be 1s to 168h"},
		{"pause_for on reject", Rule{App: "a", Rate: rate, PauseFor: time.Minute}, "rules[0].pause_for: only applies to action pause"},
		{"name", Rule{Name: "App Limit", App: "a", Rate: rate}, "rules[0].name:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Rules: []Rule{tc.rule}}
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), "ratelimit: "+tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	cfg := Config{Rules: []Rule{{Name: "x", App: "a", Rate: rate}, {Name: "x", App: "b", Rate: rate}}, MaxKeys: -1}
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "rules[1].name: \"x\" is already the name of rules[0]") ||
		!strings.Contains(err.Error(), "max_keys") {
		t.Fatalf("err = %v", err)
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]Rate{
		"100/1s": {100, time.Second}, "6000/1m": {6000, time.Minute}, "20/s": {20, time.Second},
		" 5 / 2h ": {5, 2 * time.Hour}, "1/24h": {1, 24 * time.Hour}, "7/90s": {7, 90 * time.Second},
	} {
		got, err := ParseRate(in)
		if err != nil || got != want {
			t.Errorf("ParseRate(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "100", "100/", "x/1s", "-1/1s", "0/1s", "1/0s", "1/25h", "1/1.5s", "1e3/1s"} {
		if _, err := ParseRate(in); err == nil {
			t.Errorf("ParseRate(%q) accepted", in)
		}
	}
	if s := (Rate{6000, time.Minute}).String(); s != "6000/1m" {
		t.Errorf("String = %q", s)
	}
	if s := (Rate{1, 24 * time.Hour}).String(); s != "1/24h" {
		t.Errorf("String = %q", s)
	}
}

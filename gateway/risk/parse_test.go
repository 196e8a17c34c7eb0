package risk

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestParseAmount(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Fen
		ok   bool
	}{
		{"0", 0, true},
		{"0.5", 50, true},
		{"0.05", 5, true},
		{"1234.56", 123456, true},
		{"100", 10000, true},
		{"0100.00", 10000, true}, // leading zeros, as the API's pattern allows
		{"999999999999999.99", 99999999999999999, true},
		{"", 0, false},
		{".5", 0, false},
		{"1.", 0, false},
		{"1.234", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{"1e3", 0, false},
		{" 1", 0, false},
		{"1 ", 0, false},
		{"1,000", 0, false},
		{"1.2.3", 0, false},
		{"0x10", 0, false},
		{"１２", 0, false}, // full-width digits
		{"NaN", 0, false},
		{"1000000000000000", 0, false}, // 16 integer digits
		{"1.-5", 0, false},
	} {
		got, err := ParseAmount(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseAmount(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestFenString(t *testing.T) {
	for f, want := range map[Fen]string{0: "0.00", 5: "0.05", 50: "0.50", 123456: "1234.56", -7: "-0.07"} {
		if got := f.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", f, got, want)
		}
	}
}

func TestAddSaturates(t *testing.T) {
	m := NewMemoryCounters(func() time.Time { return start })
	exp := start.Add(time.Hour)
	m.AddAmount(t.Context(), "k", 1<<62, exp)
	m.AddAmount(t.Context(), "k", 1<<62, exp)
	total, _ := m.AddAmount(t.Context(), "k", 1<<62, exp)
	if total <= 0 {
		t.Fatalf("the total wrapped around: %d", total)
	}
}

func TestCanonical(t *testing.T) {
	sealed := []string{"/payment_password", "/extra/*/pin", "/**/otp"}
	a, err := canonical([]byte(`{"b":1, "a":[true,null,{"y":"z","x":2.50}],"payment_password":"sm2:v1:k:AAA","extra":{"q":{"pin":"1"}},"deep":{"otp":"9"}}`), sealed)
	if err != nil {
		t.Fatal(err)
	}
	b, err := canonical([]byte(`{"deep":{"otp":"8"},"extra":{"q":{"pin":"2"}},"payment_password":"sm2:v1:k:BBB","a":[true,null,{"x":2.50,"y":"z"}],"b":1}`), sealed)
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) || string(a) != `{"a":[true,null,{"x":2.50,"y":"z"}],"b":1,"deep":{},"extra":{"q":{}}}` {
		t.Fatalf("canonical forms differ:\n%s\n%s", a, b)
	}
	if _, err := canonical([]byte(`{"a":{"k":1,"K":2}}`), nil); !errors.Is(err, errAmbiguous) {
		t.Fatalf("a nested member named twice: %v", err)
	}
	deep := strings.Repeat("[", maxDepth+2) + strings.Repeat("]", maxDepth+2)
	if _, err := canonical([]byte(deep), nil); !errors.Is(err, errTooDeep) {
		t.Fatalf("too deep: %v", err)
	}
}

func TestInjectNotice(t *testing.T) {
	n := &Notice{Codes: []string{"large_amount"}, MessageZH: "提示<>", MessageEN: "Note & more"}
	for _, tt := range []struct{ in, want string }{
		{`{}`, `{"risk_notice":{"codes":["large_amount"],"message_zh":"提示<>","message_en":"Note & more"}}`},
		{` {"b" : 1.50 , "a":"\u00e9"} `, `{"b":1.50,"a":"\u00e9","risk_notice":{"codes":["large_amount"],"message_zh":"提示<>","message_en":"Note & more"}}`},
		{`{"risk_notice":"old"}`, `{"risk_notice":{"codes":["large_amount"],"message_zh":"提示<>","message_en":"Note & more"}}`},
	} {
		got, err := injectNotice([]byte(tt.in), n)
		if err != nil || string(got) != tt.want {
			t.Errorf("injectNotice(%s) = %s, %v\nwant %s", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{`[]`, `"x"`, `{"a":1} {}`, `{`, ``} {
		if _, err := injectNotice([]byte(in), n); err == nil {
			t.Errorf("injectNotice(%q) accepted", in)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	var c Config
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.AmountPointer != "/amount" || c.PayeePointer != "/to_card_number" || c.HoldExpiry != time.Hour ||
		c.ResubmitWindow != 15*time.Minute || c.MaxResponseBody != 8<<20 {
		t.Fatalf("defaults: %+v", c)
	}
	c = Config{AmountPointer: "amount", Rules: []Rule{
		{Name: "ok", Kind: SingleAmount, Threshold: "50000.00", Action: ActionAlert},
		{Name: "ok", Kind: SingleAmount, Threshold: "1.001", Action: ActionAlert},
		{Name: "Bad-Name", Kind: Velocity, Count: 0, Window: 48 * time.Hour, Action: "block"},
		{Name: "payee", Kind: NewPayee, Threshold: "1", Action: ActionNotice, Severity: "loud"},
		{Name: "what", Kind: "weekly", Action: ActionAlert},
		{Name: "zero", Kind: DailyUser, Threshold: "0", Action: ActionAlert},
	}}
	err := c.Validate()
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		"risk.amount_pointer:",
		`risk.rules[1].name: "ok" is used twice`,
		"risk.rules[1].threshold:",
		"risk.rules[2].name:",
		"risk.rules[2].action:",
		"risk.rules[2].count:",
		"risk.rules[2].window:",
		"risk.rules[3]: threshold, count and window do not apply",
		"risk.rules[3].severity:",
		"risk.rules[4].kind:",
		"risk.rules[5].threshold:",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestNewRequiresDependencies(t *testing.T) {
	if _, err := New(Config{Enabled: true}, Options{Alerts: &raiser{}}); err == nil {
		t.Fatal("no pseudonym engine accepted")
	}
	if _, err := New(Config{Enabled: true}, Options{Pseudonyms: engine(t)}); err == nil {
		t.Fatal("no alert raiser accepted")
	}
	if _, err := New(Config{Rules: []Rule{{Name: "x"}}}, Options{Pseudonyms: engine(t), Alerts: &raiser{}}); err == nil {
		t.Fatal("an invalid configuration accepted")
	}
}

func TestMemoryCountersExpire(t *testing.T) {
	c := &clock{t: start}
	m := NewMemoryCounters(c.Now)
	ctx := t.Context()
	m.AddAmount(ctx, "day", 100, start.Add(time.Hour))
	if err := m.Remember(ctx, "payee", start.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if seen, _ := m.Seen(ctx, "payee"); !seen {
		t.Fatal("payee forgotten")
	}
	times, _ := m.AddEvent(ctx, "ev", "1", start, time.Minute)
	if len(times) != 1 {
		t.Fatal(times)
	}
	c.Advance(2 * time.Hour)
	if total, _ := m.AddAmount(ctx, "day", 1, start.Add(3*time.Hour)); total != 1 {
		t.Fatalf("an expired total lived on: %d", total)
	}
	if seen, _ := m.Seen(ctx, "payee"); seen {
		t.Fatal("an expired payee is still known")
	}
	m.mu.Lock()
	_, evLeft := m.events["ev"]
	_, payeeLeft := m.seen["payee"]
	m.mu.Unlock()
	if evLeft || payeeLeft {
		t.Fatal("the sweep left expired entries")
	}
}

func TestHoldJSONHidesFingerprint(t *testing.T) {
	b, _ := json.Marshal(Hold{ID: "hold_x", Fingerprint: "psn_secret"})
	if strings.Contains(string(b), "psn_secret") || strings.Contains(string(b), "decided_at") {
		t.Fatalf("%s", b)
	}
}

func TestExampleConfig(t *testing.T) {
	raw, err := os.ReadFile("testdata/risk.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Risk Config `yaml:"risk"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		t.Fatal(err)
	}
	c := file.Risk
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(c.Rules) != 6 || c.Rules[4].Window != 10*time.Minute || c.Rules[1].threshold != 20000000 || c.PayeeMemory != 400*24*time.Hour {
		t.Fatalf("decoded %+v", c)
	}
	if _, err := New(c, Options{Pseudonyms: engine(t), Alerts: &raiser{}}); err != nil {
		t.Fatal(err)
	}
}

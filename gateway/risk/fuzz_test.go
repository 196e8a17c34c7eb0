package risk

import (
	"encoding/json"
	"testing"

	"github.com/bankguard/bankguard/jsonptr"
)

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"0", "1234.56", "0.5", "1.", ".5", "-1", "1e3", "999999999999999.99", "１"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseAmount(s)
		if err != nil {
			return
		}
		if v < 0 {
			t.Fatalf("%q parsed to a negative %d", s, v)
		}
		back, err := ParseAmount(v.String())
		if err != nil || back != v {
			t.Fatalf("%q → %d → %q → %d, %v", s, v, v.String(), back, err)
		}
	})
}

func FuzzBodyReaders(f *testing.F) {
	for _, s := range []string{`{"amount":"1.00","to_card_number":"6222"}`, `{"amount":1}`, `[1]`, `{"a":{"A":1,"a":2}}`, `{`} {
		f.Add([]byte(s))
	}
	n := &Notice{Codes: []string{CodeNewPayee}, MessageZH: "z", MessageEN: "e"}
	f.Fuzz(func(t *testing.T, body []byte) {
		_, _ = amountAt(body, "/amount")
		_, _ = jsonptr.String(body, "/to_card_number")
		if c, err := canonical(body, []string{"/**/p"}); err == nil && !json.Valid(c) {
			t.Fatalf("canonical form is not JSON: %s", c)
		}
		if out, err := injectNotice(body, n); err == nil {
			var doc map[string]json.RawMessage
			if err := json.Unmarshal(out, &doc); err != nil || doc[NoticeMember] == nil {
				t.Fatalf("injected %s: %v", out, err)
			}
		}
	})
}

package pii_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bankguard/bankguard/pii"
	"github.com/bankguard/bankguard/sandbox"
)

// sandboxNow is the fixed clock of the sandbox tests.
var sandboxNow = time.Date(2026, 11, 26, 14, 0, 0, 0, time.FixedZone("CST", 8*3600))

// sandboxResponse calls the sandbox bank as the gateway would and returns the JSON body.
func sandboxResponse(t testing.TB, b http.Handler, path, user string) []byte {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("X-Request-Id", "01JDPIITEST0000000000001")
	req.Header.Set("Bankguard-App-Id", "APP0000000001")
	req.Header.Set("Bankguard-User", user)
	rr := httptest.NewRecorder()
	b.ServeHTTP(rr, req)
	if rr.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, rr.Code, rr.Body)
	}
	return rr.Body.Bytes()
}

// piiMembers are the members of the sandbox's responses that carry personal data; every other
// member must come through unchanged.
var piiMembers = map[string]bool{
	"card_number": true, "holder_name": true, "holder_id_number": true, "holder_phone": true,
	"counterparty_name": true, "counterparty_account": true, "account_number": true,
}

func TestMaskJSONSandboxResponses(t *testing.T) {
	bank := sandbox.New(sandbox.Options{Seed: 1, Now: func() time.Time { return sandboxNow }})
	e, err := pii.NewEngine([]byte("a pseudonym key of 32 bytes or more, for tests"))
	if err != nil {
		t.Fatal(err)
	}
	users := bank.Users()
	var secrets []string // every piece of personal data the bank holds
	for _, u := range users {
		secrets = append(secrets, u.Name, u.IDNumber, u.Phone)
		for _, a := range u.Accounts {
			secrets = append(secrets, a.CardNumber)
		}
	}
	type call struct{ path, user string }
	var calls []call
	for _, u := range users {
		calls = append(calls, call{"/v1/accounts", u.ID}, call{"/v1/holdings", u.ID})
		for _, a := range u.Accounts {
			calls = append(calls, call{"/v1/accounts/" + a.ID + "/transactions?page_size=100", u.ID})
		}
	}
	calls = append(calls, call{"/v1/reconciliation/2026-11-25", users[0].ID}, call{"/v1/reconciliation/2026-11-26", users[0].ID})

	masked := 0
	for _, c := range calls {
		t.Run(strings.TrimPrefix(c.path, "/v1/")+"/"+c.user, func(t *testing.T) {
			in := sandboxResponse(t, bank, c.path, c.user)
			out, n, err := e.MaskJSON(in, &pii.Policy{Scan: true})
			if err != nil {
				t.Fatal(err)
			}
			masked += n
			if fs := pii.Find(string(out)); len(fs) > 0 {
				f := fs[0]
				t.Fatalf("%d findings remain, first %s %q", len(fs), f.Kind, out[f.Start:f.End])
			}
			for _, s := range secrets {
				if strings.Contains(string(out), `"`+s+`"`) {
					t.Fatalf("%q is still in the response", s)
				}
			}
			var before, after any
			if err := json.Unmarshal(in, &before); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(out, &after); err != nil {
				t.Fatalf("masked response is not JSON: %v", err)
			}
			compareOutsidePII(t, "", before, after)
		})
	}
	if masked == 0 {
		t.Fatal("nothing was masked")
	}
}

// compareOutsidePII fails unless a and b are equal in everything but the members that carry
// personal data, which must be masked: changed, and with the masked characters in place.
func compareOutsidePII(t *testing.T, path string, a, b any) {
	t.Helper()
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok || len(av) != len(bv) {
			t.Fatalf("%s: members differ: %v vs %v", path, a, b)
		}
		for k, x := range av {
			y := bv[k]
			if !piiMembers[k] {
				compareOutsidePII(t, path+"/"+k, x, y)
				continue
			}
			xs, ys := x.(string), y.(string)
			switch {
			case k == "counterparty_name" && !strings.Contains(ys, "*"):
				if xs != ys { // a business, not a person
					t.Fatalf("%s/%s: %q became %q", path, k, xs, ys)
				}
			case xs == ys || !strings.Contains(ys, "*") || len([]rune(xs)) != len([]rune(ys)):
				t.Fatalf("%s/%s: %q masked as %q", path, k, xs, ys)
			}
			if k == "holder_name" && ys != pii.Mask(pii.Name, xs) {
				t.Fatalf("%s/%s: %q masked as %q", path, k, xs, ys)
			}
		}
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			t.Fatalf("%s: arrays differ", path)
		}
		for i := range av {
			compareOutsidePII(t, path+"/*", av[i], bv[i])
		}
	default:
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%s: %v became %v", path, a, b)
		}
	}
}

func TestMaskJSONSandboxAccountsExactly(t *testing.T) {
	bank := sandbox.New(sandbox.Options{Seed: 1, Now: func() time.Time { return sandboxNow }})
	e, err := pii.NewEngine([]byte("a pseudonym key of 32 bytes or more, for tests"))
	if err != nil {
		t.Fatal(err)
	}
	u := bank.Users()[0]
	out, _, err := e.MaskJSON(sandboxResponse(t, bank, "/v1/accounts", u.ID), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Accounts []map[string]string }
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	for i, a := range u.Accounts {
		g := got.Accounts[i]
		want := map[string]string{
			"card_number":      pii.Mask(pii.Card, a.CardNumber),
			"holder_name":      pii.Mask(pii.Name, u.Name),
			"holder_id_number": u.IDNumber[:1] + strings.Repeat("*", 16) + u.IDNumber[17:],
			"holder_phone":     u.Phone[:3] + "****" + u.Phone[7:],
			"balance":          a.Balance,
			"currency":         "CNY",
			"type":             a.Type,
			"id":               a.ID,
			"branch":           a.Branch,
		}
		for k, v := range want {
			if g[k] != v {
				t.Errorf("account %d %s = %q, want %q", i, k, g[k], v)
			}
		}
	}
}

package sandbox

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzTransferBody feeds arbitrary bodies to the transfer API: it must never fail with a 5xx,
// never move money on a refused request, and always answer JSON without internals.
func FuzzTransferBody(f *testing.F) {
	b := newTestBank(f)
	id := b.Users()[0].Accounts[0].ID
	for _, s := range []string{
		transferBody(id, externalCard, "1.00", sealFor(f, b, "")),
		transferBody(id, externalCard, "1.00", "123456"),
		`{"from_account_id":"` + id + `","to_card_number":"6218881234567890126","to_name":"x","amount":"0"}`,
		`{"amount":1}`, `{`, `[]`, `null`, `{"memo":"\u0000"}`, `{"a":"b","a":"c"}`, "\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		before := b.Users()[0].Accounts[0].Balance
		req := httptest.NewRequest(http.MethodPost, "/v1/transfers", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rr := httptest.NewRecorder()
		b.ServeHTTP(rr, req)
		if rr.Code >= 500 {
			t.Fatalf("status %d for %q", rr.Code, body)
		}
		if !json.Valid(rr.Body.Bytes()) {
			t.Fatalf("body is not JSON: %s", rr.Body)
		}
		if rr.Code != http.StatusCreated && b.Users()[0].Accounts[0].Balance != before {
			t.Fatalf("refused transfer %q moved money", body)
		}
		for _, m := range leakMarkers {
			// A member name the client sent is echoed in the detail; only text the client did
			// not send counts as a leak.
			if rr.Code >= 400 && strings.Contains(rr.Body.String(), m) && !strings.Contains(body, m) {
				t.Fatalf("body leaks %q: %s", m, rr.Body)
			}
		}
	})
}

// FuzzRequestTarget feeds arbitrary paths and query strings to every GET route.
func FuzzRequestTarget(f *testing.F) {
	b := newTestBank(f)
	id := b.Users()[0].Accounts[0].ID
	for _, s := range []string{
		"/v1/products?page_size=5&page_token=djE6Rk5EMDAz", "/v1/accounts/" + id + "/transactions?from=2026-11-01",
		"/v1/reconciliation/2026-11-01", "/v1/products/WMP001", "/v1/accounts/%2e%2e/balance", "/v1/products?%",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, target string) {
		req, err := http.NewRequest(http.MethodGet, "http://bank"+target, nil)
		if err != nil || req.URL.Host != "bank" {
			return
		}
		rr := httptest.NewRecorder()
		b.ServeHTTP(rr, req)
		if rr.Code >= 500 || !json.Valid(rr.Body.Bytes()) {
			t.Fatalf("GET %q → %d %s", target, rr.Code, rr.Body)
		}
	})
}

func TestPanicBecomesABare500(t *testing.T) {
	b := newTestBank(t)
	b.routes = append(b.routes, route{method: http.MethodGet, segs: []string{"boom"},
		handle: func(http.ResponseWriter, *http.Request, []string) {
			panic("dial tcp 10.1.2.3:5432: connection refused")
		}})
	rr := call(t, b, http.MethodGet, "/boom", "", "")
	wantProblem(t, rr, http.StatusInternalServerError, codeInternal)
	if strings.Contains(rr.Body.String(), "10.1.2.3") || strings.Contains(rr.Body.String(), "dial") {
		t.Fatalf("panic value leaked: %s", rr.Body)
	}
}

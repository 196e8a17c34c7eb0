package sandbox

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// callWith sends one request with the given headers (X-Request-Id added), as the gateway would.
func callWith(t testing.TB, h http.Handler, method, target string, headers map[string]string, body string) *httptest.ResponseRecorder {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	req.Header.Set(headerRequestID, testRequestID)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, req)
	return rr
}

func TestRequireUser(t *testing.T) {
	opts := testOptions()
	opts.RequireUser = true
	b := New(opts)
	u := b.Users()[0]
	acct := u.Accounts[0].ID
	transfer := transferBody(acct, externalCard, "1.00", sealFor(t, b, u.ID))
	userBound := []struct{ method, path, body string }{
		{"GET", "/v1/accounts", ""},
		{"GET", "/v1/accounts/" + acct + "/balance", ""},
		{"GET", "/v1/accounts/" + acct + "/transactions", ""},
		{"GET", "/v1/holdings", ""},
		{"POST", "/v1/transfers", transfer},
	}
	for _, tc := range userBound {
		t.Run("without user "+tc.method+" "+tc.path, func(t *testing.T) {
			wantProblem(t, call(t, b, tc.method, tc.path, "", tc.body), http.StatusUnauthorized, codeUserRequired)
			// A blank header is no user either.
			wantProblem(t, callWith(t, b, tc.method, tc.path, map[string]string{headerUser: "  "}, tc.body), http.StatusUnauthorized, codeUserRequired)
		})
	}
	// Before the user is known, not even a malformed request says more than 401.
	wantProblem(t, call(t, b, "GET", "/v1/accounts/!!/balance?x=1", "", ""), http.StatusUnauthorized, codeUserRequired)
	if got := b.Users()[0].Accounts[0].Balance; got != u.Accounts[0].Balance {
		t.Fatalf("a refused transfer moved money: %s → %s", u.Accounts[0].Balance, got)
	}
	for _, tc := range userBound {
		t.Run("with user "+tc.method+" "+tc.path, func(t *testing.T) {
			if rr := call(t, b, tc.method, tc.path, u.ID, tc.body); rr.Code >= 300 {
				t.Fatalf("status %d: %s", rr.Code, rr.Body)
			}
		})
	}
	// Application-level APIs need no user.
	for _, path := range []string{"/v1/products", "/v1/reconciliation/2026-11-25", "/v1/exchange-rates"} {
		if rr := call(t, b, "GET", path, "", ""); rr.Code != http.StatusOK {
			t.Errorf("%s without a user: %d %s", path, rr.Code, rr.Body)
		}
	}
}

func TestWithoutRequireUserTheFirstUserActs(t *testing.T) {
	b := newTestBank(t) // RequireUser false: the demo fallback
	first := b.Users()[0]
	acct := first.Accounts[0].ID
	for _, path := range []string{"/v1/accounts", "/v1/accounts/" + acct + "/balance", "/v1/accounts/" + acct + "/transactions", "/v1/holdings"} {
		if rr := call(t, b, "GET", path, "", ""); rr.Code != http.StatusOK {
			t.Errorf("%s: %d %s", path, rr.Code, rr.Body)
		}
	}
	if rr := call(t, b, "POST", "/v1/transfers", "", transferBody(acct, externalCard, "1.00", sealFor(t, b, first.ID))); rr.Code != http.StatusCreated {
		t.Errorf("transfer: %d %s", rr.Code, rr.Body)
	}
}

func TestSharedAccounts(t *testing.T) {
	b := newTestBank(t)
	u := b.Users()[0]
	if len(u.Accounts) < 3 {
		t.Fatalf("user has %d accounts", len(u.Accounts))
	}
	shared, unshared := u.Accounts[0].ID, u.Accounts[1].ID
	as := func(accounts string) map[string]string {
		return map[string]string{headerUser: u.ID, headerAccounts: accounts}
	}
	list := func(h map[string]string) []string {
		var v struct{ Accounts []accountView }
		decode(t, callWith(t, b, "GET", "/v1/accounts", h, ""), &v)
		var ids []string
		for _, a := range v.Accounts {
			ids = append(ids, a.ID)
		}
		return ids
	}
	if got := list(as(shared)); len(got) != 1 || got[0] != shared {
		t.Errorf("one shared account: listed %v", got)
	}
	if got := list(as(" " + u.Accounts[2].ID + " , " + shared)); len(got) != 2 || got[0] != shared || got[1] != u.Accounts[2].ID {
		t.Errorf("two shared accounts: listed %v (in the bank's order)", got)
	}
	if got := list(as("")); len(got) != 0 {
		t.Errorf("none shared: listed %v", got)
	}
	// Another user's account named in the header is still not the caller's.
	if got := list(as(b.Users()[1].Accounts[0].ID)); len(got) != 0 {
		t.Errorf("another user's account: listed %v", got)
	}
	if got := list(map[string]string{headerUser: u.ID}); len(got) != len(u.Accounts) {
		t.Errorf("without the header: listed %v", got)
	}

	// An account the user did not share answers like one that does not exist.
	for _, path := range []string{"/v1/accounts/%s/balance", "/v1/accounts/%s/transactions"} {
		notShared := callWith(t, b, "GET", strings.Replace(path, "%s", unshared, 1), as(shared), "")
		absent := callWith(t, b, "GET", strings.Replace(path, "%s", "AC0000000000", 1), as(shared), "")
		wantProblem(t, notShared, http.StatusNotFound, codeNotFound)
		if notShared.Body.String() != absent.Body.String() {
			t.Errorf("%s: an unshared account answers differently from a missing one", path)
		}
		if rr := callWith(t, b, "GET", strings.Replace(path, "%s", shared, 1), as(shared), ""); rr.Code != http.StatusOK {
			t.Errorf("%s: the shared account is refused: %d", path, rr.Code)
		}
	}
	rr := callWith(t, b, "POST", "/v1/transfers", as(shared), transferBody(unshared, externalCard, "1.00", sealFor(t, b, u.ID)))
	wantProblem(t, rr, http.StatusNotFound, codeNotFound)
	if got := b.Users()[0].Accounts[1].Balance; got != u.Accounts[1].Balance {
		t.Fatalf("a transfer from an unshared account moved money")
	}
}

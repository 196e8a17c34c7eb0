package sandbox

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
)

func TestOwnershipIsIndistinguishableFromAbsence(t *testing.T) {
	b := newTestBank(t)
	users := b.Users()
	owner, other := users[0], users[1]
	theirs := other.Accounts[0].ID
	const missing = "AC0000000000"
	if b.byAccount[missing] != nil {
		t.Fatal("the test id exists")
	}
	for _, tc := range []struct{ name, method, path, body string }{
		{"balance", "GET", "/v1/accounts/%s/balance", ""},
		{"transactions", "GET", "/v1/accounts/%s/transactions", ""},
		{"transactions with filters", "GET", "/v1/accounts/%s/transactions?from=2026-11-01&page_size=5", ""},
		{"transfer from", "POST", "/v1/transfers", `{"from_account_id":"%s","to_card_number":"6218880000000000007","to_name":"李四","amount":"1.00","payment_password":"%p"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// req builds the request for account id made by user: the body carries the user's
			// sealed payment password, the same value for both calls compared below.
			passwords := map[string]string{owner.ID: sealFor(t, b, owner.ID), other.ID: sealFor(t, b, other.ID)}
			req := func(id, user string) (string, string) {
				if tc.body != "" {
					return tc.path, strings.NewReplacer("%s", id, "%p", passwords[user]).Replace(tc.body)
				}
				return strings.Replace(tc.path, "%s", id, 1), ""
			}
			p1, b1 := req(theirs, owner.ID)
			p2, b2 := req(missing, owner.ID)
			foreign := call(t, b, tc.method, p1, owner.ID, b1)
			absent := call(t, b, tc.method, p2, owner.ID, b2)
			wantProblem(t, foreign, http.StatusNotFound, codeNotFound)
			if foreign.Body.String() != absent.Body.String() || !sameHeaders(foreign.Header(), absent.Header()) {
				t.Fatalf("another user's account answers differently from a missing one:\n%s\n%s", foreign.Body, absent.Body)
			}
			// The owner does see it.
			if p, bd := req(theirs, other.ID); call(t, b, tc.method, p, other.ID, bd).Code >= 400 {
				t.Fatalf("the owner is refused %s", p)
			}
		})
	}
}

func sameHeaders(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if a.Get(k) != b.Get(k) {
			return false
		}
	}
	return true
}

func TestDefaultUserIsTheFirst(t *testing.T) {
	b := newTestBank(t)
	first := b.Users()[0]
	got := accountsOf(t, b, "")
	if len(got) != len(first.Accounts) || got[0].ID != first.Accounts[0].ID || got[0].HolderName != first.Name {
		t.Fatalf("without Bankguard-User the bank did not act as the first user: %+v", got)
	}
}

func TestUnknownUserOwnsNothing(t *testing.T) {
	b := newTestBank(t)
	if got := accountsOf(t, b, "U000000000"); len(got) != 0 {
		t.Fatalf("unknown user sees %d accounts", len(got))
	}
	var h struct{ Holdings []holdingView }
	decode(t, call(t, b, "GET", "/v1/holdings", "U000000000", ""), &h)
	if len(h.Holdings) != 0 {
		t.Fatalf("unknown user sees holdings")
	}
	id := b.Users()[0].Accounts[0].ID
	wantProblem(t, call(t, b, "GET", "/v1/accounts/"+id+"/balance", "U000000000", ""), http.StatusNotFound, codeNotFound)
}

func TestRouting(t *testing.T) {
	b := newTestBank(t)
	id := b.Users()[0].Accounts[0].ID
	for _, tc := range []struct {
		name, method, path string
		status             int
		code, allow        string
	}{
		{"root", "GET", "/", 404, codeNotFound, ""},
		{"unknown", "GET", "/v1/unknown", 404, codeNotFound, ""},
		{"ping is the gateway's", "GET", "/v1/ping", 404, codeNotFound, ""},
		{"trailing slash", "GET", "/v1/products/", 404, codeNotFound, ""},
		{"double slash", "GET", "//v1/products", 404, codeNotFound, ""},
		{"too deep", "GET", "/v1/accounts/" + id + "/balance/x", 404, codeNotFound, ""},
		{"post products", "POST", "/v1/products", 405, codeMethodNotAllowed, "GET"},
		{"get transfers", "GET", "/v1/transfers", 405, codeMethodNotAllowed, "POST"},
		{"delete balance", "DELETE", "/v1/accounts/" + id + "/balance", 405, codeMethodNotAllowed, "GET"},
		{"head accounts", "HEAD", "/v1/accounts", 405, codeMethodNotAllowed, "GET"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rr := call(t, b, tc.method, tc.path, "", "")
			wantProblem(t, rr, tc.status, tc.code)
			if got := rr.Header().Get("Allow"); got != tc.allow {
				t.Fatalf("Allow = %q, want %q", got, tc.allow)
			}
		})
	}
}

func TestBadParameters(t *testing.T) {
	b := newTestBank(t)
	id := b.Users()[0].Accounts[0].ID
	tx := "/v1/accounts/" + id + "/transactions"
	for _, tc := range []struct{ name, path, field string }{
		{"page_size zero", "/v1/products?page_size=0", "page_size"},
		{"page_size too big", "/v1/products?page_size=101", "page_size"},
		{"page_size not a number", tx + "?page_size=ten", "page_size"},
		{"page_size signed", tx + "?page_size=+5", "page_size"},
		{"page_token garbage", "/v1/products?page_token=!!", "page_token"},
		{"page_token forged", tx + "?page_token=" + pageToken("abc"), "page_token"},
		{"page_token unpadded junk", tx + "?page_token=" + base64.RawURLEncoding.EncodeToString([]byte("x")), "page_token"},
		{"unknown query parameter", "/v1/products?sort=name", "sort"},
		{"repeated parameter", "/v1/products?type=fund&type=fund", "type"},
		{"product type", "/v1/products?type=stock", "type"},
		{"risk level", "/v1/products?risk_level=R6", "risk_level"},
		{"product id short", "/v1/products/WM1", "product_id"},
		{"account id symbols", "/v1/accounts/AC0000%27%20OR%201=1/balance", "account_id"},
		{"query on balance", "/v1/accounts/" + id + "/balance?x=1", "x"},
		{"from malformed", tx + "?from=2026/11/01", "from"},
		{"to impossible", tx + "?to=2026-02-30", "to"},
		{"from after to", tx + "?from=2026-11-02&to=2026-11-01", "from"},
		{"reconciliation future", "/v1/reconciliation/2026-11-27", "date"},
		{"reconciliation malformed", "/v1/reconciliation/20261101", "date"},
		{"reconciliation query", "/v1/reconciliation/2026-11-01?account=1", "account"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := wantProblem(t, call(t, b, "GET", tc.path, "", ""), http.StatusBadRequest, codeRequestInvalid)
			if !strings.HasPrefix(p.Detail, tc.field+":") {
				t.Fatalf("detail %q does not name %s", p.Detail, tc.field)
			}
		})
	}
}

func TestProductPages(t *testing.T) {
	b := newTestBank(t)
	var ids []string
	path := "/v1/products?page_size=3"
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		var page struct {
			Products      []productView
			NextPageToken string `json:"next_page_token"`
		}
		decode(t, call(t, b, "GET", path, "", ""), &page)
		if len(page.Products) > 3 {
			t.Fatalf("page of %d, asked for 3", len(page.Products))
		}
		for _, p := range page.Products {
			ids = append(ids, p.ID)
		}
		if page.NextPageToken == "" {
			break
		}
		path = "/v1/products?page_size=3&page_token=" + page.NextPageToken
	}
	if len(ids) != len(b.products) {
		t.Fatalf("paging returned %d products, the shelf has %d", len(ids), len(b.products))
	}
	for i, p := range b.products {
		if ids[i] != p.id {
			t.Fatalf("product %d = %s, want %s (sorted by id, no duplicates)", i, ids[i], p.id)
		}
	}

	var funds struct{ Products []productView }
	decode(t, call(t, b, "GET", "/v1/products?type=fund&risk_level=R4", "", ""), &funds)
	if len(funds.Products) == 0 {
		t.Fatal("no R4 fund")
	}
	for _, p := range funds.Products {
		if p.Type != "fund" || p.RiskLevel != "R4" {
			t.Fatalf("filter let %s (%s %s) through", p.ID, p.Type, p.RiskLevel)
		}
	}
	wantProblem(t, call(t, b, "GET", "/v1/products/WMP999", "", ""), http.StatusNotFound, codeNotFound)
}

func TestTransactionPages(t *testing.T) {
	b := newTestBank(t)
	a := b.customers[0].accounts[0]
	base := "/v1/accounts/" + a.id + "/transactions?page_size=7"
	var got []txnView
	path := base
	for path != "" {
		var page struct {
			Transactions  []txnView
			NextPageToken string `json:"next_page_token"`
		}
		decode(t, call(t, b, "GET", path, "", ""), &page)
		got = append(got, page.Transactions...)
		path = ""
		if page.NextPageToken != "" {
			path = base + "&page_token=" + page.NextPageToken
		}
	}
	if len(got) != len(a.txns) {
		t.Fatalf("paging returned %d transactions, the account has %d", len(got), len(a.txns))
	}
	for i, v := range got {
		if want := a.txns[len(a.txns)-1-i].id; v.ID != want {
			t.Fatalf("transaction %d = %s, want %s (newest first)", i, v.ID, want)
		}
	}

	var week struct{ Transactions []txnView }
	decode(t, call(t, b, "GET", "/v1/accounts/"+a.id+"/transactions?from=2026-11-01&to=2026-11-07&page_size=100", "", ""), &week)
	want := 0
	for _, x := range a.txns {
		if d := x.at.In(cst).Format("2006-01-02"); d >= "2026-11-01" && d <= "2026-11-07" {
			want++
		}
	}
	if len(week.Transactions) != want {
		t.Fatalf("date filter returned %d, want %d", len(week.Transactions), want)
	}
	for _, v := range week.Transactions {
		if v.PostedAt < "2026-11-01" || v.PostedAt >= "2026-11-08" {
			t.Fatalf("transaction at %s outside the filter", v.PostedAt)
		}
	}
}

func TestReconciliation(t *testing.T) {
	b := newTestBank(t)
	type recon struct {
		Date       string
		EntryCount int `json:"entry_count"`
		Entries    []entryView
	}
	var past recon
	decode(t, call(t, b, "GET", "/v1/reconciliation/2026-11-25", "", ""), &past)
	if past.Date != "2026-11-25" || past.EntryCount != len(past.Entries) || len(past.Entries) < 6 {
		t.Fatalf("reconciliation of 2026-11-25: %+v", past)
	}
	for _, e := range past.Entries {
		if e.Status == clearPending || e.SettlementDate != "2026-11-25" || !strings.HasPrefix(e.TransactionTime, "2026-11-25T") {
			t.Fatalf("past entry %+v", e)
		}
	}
	// The user header does not matter: it is an application-level API.
	if call(t, b, "GET", "/v1/reconciliation/2026-11-25", b.customers[1].id, "").Body.String() !=
		call(t, b, "GET", "/v1/reconciliation/2026-11-25", "", "").Body.String() {
		t.Fatal("reconciliation depends on the user")
	}
	var today recon
	decode(t, call(t, b, "GET", "/v1/reconciliation/2026-11-26", "", ""), &today)
	for _, e := range today.Entries {
		if e.Status != clearPending || e.TransactionTime > "2026-11-26T14:00:00+08:00" {
			t.Fatalf("today's entry %+v: want pending and not after now", e)
		}
	}
	var old recon
	decode(t, call(t, b, "GET", "/v1/reconciliation/2020-01-02", "", ""), &old)
	if len(old.Entries) == 0 {
		t.Fatal("no entries for an old date")
	}
}

func TestTerminatedAPI(t *testing.T) {
	b := newTestBank(t)
	p := wantProblem(t, call(t, b, "GET", "/v1/loyalty-points", "", ""), http.StatusGone, codeServiceTerminated)
	if !strings.Contains(p.Detail, "2026") {
		t.Fatalf("detail %q does not say when", p.Detail)
	}
}

// leakMarkers are fragments of Go runtime, library and error text that must never reach a body.
var leakMarkers = []string{
	"goroutine", "runtime.", ".go:", "panic", "json:", "strconv.", "invalid character",
	"unexpected EOF", "http:", "net/http", "cannot unmarshal", "parsing time", "MaxBytes",
	"mime:", "base64", "illegal", "<nil>", "0x", "sandbox.", "Error",
}

func TestNoInternalsInBodies(t *testing.T) {
	b := newTestBank(t)
	id := b.Users()[0].Accounts[0].ID
	cases := []struct{ method, path, body string }{
		{"GET", "/v1/products?page_size=abc", ""},
		{"GET", "/v1/products?page_token=%ZZ", ""},
		{"GET", "/v1/products?%gh&=", ""},
		{"GET", "/v1/accounts/" + id + "/transactions?from=2026-13-45", ""},
		{"GET", "/v1/accounts/" + id + "/transactions?page_token=" + pageToken("99999999999999999999999"), ""},
		{"GET", "/v1/reconciliation/9999-99-99", ""},
		{"GET", "/v1/reconciliation/2026-11-26T00:00:00Z", ""},
		{"POST", "/v1/transfers", `{`},
		{"POST", "/v1/transfers", `{"amount":1}`},
		{"POST", "/v1/transfers", `{"amount":"1"}{}`},
		{"POST", "/v1/transfers", `[1,2]`},
		{"POST", "/v1/transfers", `{"from_account_id":"` + id + `","to_card_number":"6218880000000000007","to_name":"x","amount":"1e5"}`},
		{"POST", "/v1/transfers", "\xff\xfe"},
		{"POST", "/v1/transfers", `{"from_account_id":"` + id + `","to_card_number":"6218880000000000007","to_name":"x","amount":"1.00","payment_password":"sm2:v1:k:BAAA"}`},
		{"POST", "/v1/transfers", `{"from_account_id":"` + id + `","to_card_number":"6218880000000000007","to_name":"x","amount":"1.00","payment_password":7}`},
		{"PUT", "/v1/transfers", `{}`},
		{"GET", "/v1/%00", ""},
	}
	for _, tc := range cases {
		rr := call(t, b, tc.method, tc.path, "", tc.body)
		if rr.Code < 400 || rr.Code >= 500 {
			t.Errorf("%s %s → %d, want a 4xx", tc.method, tc.path, rr.Code)
		}
		for _, m := range leakMarkers {
			if strings.Contains(rr.Body.String(), m) {
				t.Errorf("%s %s body leaks %q: %s", tc.method, tc.path, m, rr.Body)
			}
		}
		for _, h := range []string{"Server", "X-Powered-By"} {
			if rr.Header().Get(h) != "" {
				t.Errorf("%s header set", h)
			}
		}
	}
}

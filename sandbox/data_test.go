package sandbox

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

func TestLuhn(t *testing.T) {
	for _, tc := range []struct {
		number string
		valid  bool
	}{
		{"79927398713", true},
		{"4111111111111111", true},
		{"6221558812340000", false},
		{"79927398710", false},
		{"7992739871a", false},
		{"0", false},
	} {
		if got := luhnValid(tc.number); got != tc.valid {
			t.Errorf("luhnValid(%q) = %v, want %v", tc.number, got, tc.valid)
		}
	}
	if d := luhnCheckDigit("7992739871"); d != '3' {
		t.Errorf("luhnCheckDigit = %c, want 3", d)
	}
}

func TestGB11643(t *testing.T) {
	for _, tc := range []struct {
		id    string
		valid bool
	}{
		{"11010519491231002X", true}, // the example of GB 11643-1999
		{"110105194912310021", false},
		{"440524188001010014", true},
		{"44052418800101001", false},
		{"4405241880010100X4", false},
	} {
		if got := gbValid(tc.id); got != tc.valid {
			t.Errorf("gbValid(%q) = %v, want %v", tc.id, got, tc.valid)
		}
	}
}

var (
	phonePattern = regexp.MustCompile(`^1[3-9][0-9]{9}$`)
	moneyPattern = regexp.MustCompile(`^-?[0-9]{1,15}\.[0-9]{2}$`)
)

func TestSeededUsers(t *testing.T) {
	b := newTestBank(t)
	users := b.Users()
	if len(users) < 3 {
		t.Fatalf("%d users, want at least 3", len(users))
	}
	areaCodes := map[string]bool{}
	for _, a := range areas {
		areaCodes[a.code] = true
	}
	seen := map[string]bool{}
	once := func(kind, v string) {
		if seen[kind+v] {
			t.Errorf("%s %s issued twice", kind, v)
		}
		seen[kind+v] = true
	}
	frozen := 0
	for _, u := range users {
		once("user", u.ID)
		once("id number", u.IDNumber)
		once("phone", u.Phone)
		if n := utf8.RuneCountInString(u.Name); n < 2 || n > 3 || !allHan(u.Name) {
			t.Errorf("name %q: want 2–3 Chinese characters", u.Name)
		}
		if !gbValid(u.IDNumber) || !areaCodes[u.IDNumber[:6]] {
			t.Errorf("id number %s: bad check digit or area code", u.IDNumber)
		}
		birth, err := time.ParseInLocation("20060102", u.IDNumber[6:14], cst)
		if err != nil || birth.Year() < 1940 || birth.After(testNow.AddDate(-18, 0, 0)) {
			t.Errorf("id number %s: implausible birth date", u.IDNumber)
		}
		if !phonePattern.MatchString(u.Phone) {
			t.Errorf("phone %s: not a mainland mobile number", u.Phone)
		}
		if n := len(u.Accounts); n < 2 || n > 3 {
			t.Errorf("user %s has %d accounts, want 2–3", u.ID, n)
		}
		for _, a := range u.Accounts {
			once("account", a.ID)
			once("card", a.CardNumber)
			checkAccount(t, a)
			if a.Status == statusFrozen {
				frozen++
			}
		}
	}
	if frozen != 1 {
		t.Errorf("%d frozen accounts, want exactly 1", frozen)
	}
	if users[0].Accounts[0].Type != typeDebit {
		t.Errorf("the first user's first account is %s, want a debit card", users[0].Accounts[0].Type)
	}
}

func checkAccount(t *testing.T, a Account) {
	t.Helper()
	bins := map[string]string{typeDebit: binDebit, typeSavings: binSavings, typeCredit: binCredit}
	lengths := map[string]int{typeDebit: 19, typeSavings: 19, typeCredit: 16}
	if !luhnValid(a.CardNumber) || !strings.HasPrefix(a.CardNumber, bins[a.Type]) || len(a.CardNumber) != lengths[a.Type] {
		t.Errorf("account %s: card %s is not a valid %s card of the sandbox BIN", a.ID, a.CardNumber, a.Type)
	}
	if !validID(a.ID) || a.Currency != currencyCNY || a.Branch == "" {
		t.Errorf("account %+v: bad id, currency or branch", a)
	}
	if !moneyPattern.MatchString(a.Balance) || !moneyPattern.MatchString(a.AvailableBalance) {
		t.Errorf("account %s: balance %q / %q not decimal strings", a.ID, a.Balance, a.AvailableBalance)
	}
	if (a.Type == typeCredit) != (a.CreditLimit != "") {
		t.Errorf("account %s: credit limit %q on a %s account", a.ID, a.CreditLimit, a.Type)
	}
	if _, err := time.Parse(time.DateOnly, a.OpenedOn); err != nil {
		t.Errorf("account %s: opened on %q", a.ID, a.OpenedOn)
	}
}

func allHan(s string) bool {
	for _, r := range s {
		if !unicode.Is(unicode.Han, r) {
			return false
		}
	}
	return true
}

func TestTransactionHistory(t *testing.T) {
	b := newTestBank(t)
	start := testNow.AddDate(0, 0, -historyDays)
	for _, c := range b.customers {
		for _, a := range c.accounts {
			if n := len(a.txns); n < 20 || n > 60 {
				t.Errorf("account %s has %d transactions, want 20–60", a.id, n)
			}
			balance := fen(0)
			for i, x := range a.txns {
				if x.at.Before(start) || x.at.After(testNow) || i > 0 && x.at.Before(a.txns[i-1].at) {
					t.Errorf("account %s txn %s at %v: outside the window or out of order", a.id, x.id, x.at)
				}
				if x.amount <= 0 || x.description == "" || x.cpName == "" || x.cpAccount == "" || !allDigits(x.cpAccount) {
					t.Errorf("account %s txn %+v: incomplete", a.id, x)
				}
				delta := x.amount
				if x.direction == directionDebit {
					delta = -delta
				}
				if i > 0 && balance+delta != x.balanceAfter {
					t.Errorf("account %s txn %s: balance %s %+d ≠ %s", a.id, x.id, balance, delta, x.balanceAfter)
				}
				balance = x.balanceAfter
				switch {
				case a.kind != typeCredit && balance < 0:
					t.Errorf("account %s overdrawn to %s", a.id, balance)
				case a.kind == typeCredit && balance < -a.creditLimit:
					t.Errorf("card %s over its limit: %s", a.id, balance)
				}
			}
			if balance != a.balance {
				t.Errorf("account %s: last balance_after %s ≠ balance %s", a.id, balance, a.balance)
			}
		}
	}
}

func TestDataIsDeterministic(t *testing.T) {
	a, b := newTestBank(t), newTestBank(t)
	if !reflect.DeepEqual(a.Users(), b.Users()) {
		t.Fatal("two banks with the same seed and clock differ")
	}
	for _, u := range a.Users() {
		for _, acc := range u.Accounts {
			path := "/v1/accounts/" + acc.ID + "/transactions?page_size=100"
			ra, rb := call(t, a, "GET", path, u.ID, ""), call(t, b, "GET", path, u.ID, "")
			if ra.Body.String() != rb.Body.String() {
				t.Fatalf("transactions of %s differ between equal seeds", acc.ID)
			}
		}
	}
	for _, path := range []string{"/v1/holdings", "/v1/reconciliation/2026-10-01"} {
		if call(t, a, "GET", path, "", "").Body.String() != call(t, b, "GET", path, "", "").Body.String() {
			t.Errorf("%s differs between equal seeds", path)
		}
	}
	other := New(Options{Seed: 43, Now: func() time.Time { return testNow }})
	if reflect.DeepEqual(a.Users(), other.Users()) {
		t.Error("seeds 42 and 43 made the same bank")
	}
}

func TestProductsAndHoldings(t *testing.T) {
	b := newTestBank(t)
	if n := len(b.products); n < 6 || n > 10 {
		t.Errorf("%d products, want 6–10", n)
	}
	kinds := map[string]bool{}
	for _, p := range b.products {
		kinds[p.kind] = true
		if !validID(p.id) || p.name == "" || len(p.risk) != 2 || p.minAmount <= 0 {
			t.Errorf("product %+v incomplete", p)
		}
		if (p.kind == "fund") != (p.yieldBP < 0) || (p.kind == "fund") != (p.nav > 0) {
			t.Errorf("product %s: yield and NAV do not fit its type", p.id)
		}
	}
	if len(kinds) != 3 {
		t.Errorf("product types %v, want wealth_management, time_deposit and fund", kinds)
	}
	for _, c := range b.customers {
		hs := b.holdings[c.id]
		if len(hs) == 0 {
			t.Errorf("customer %s holds nothing", c.id)
		}
		for _, h := range hs {
			if b.byProd[h.product.id] == nil || h.cost <= 0 || h.marketValue <= 0 || h.shares <= 0 {
				t.Errorf("customer %s holding %+v invalid", c.id, h)
			}
			if a := b.byAccount[h.accountID]; a == nil || a.owner != c {
				t.Errorf("holding settles to %s, not the customer's account", h.accountID)
			}
		}
	}
}

package sandbox

import (
	"cmp"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bankguard/bankguard/fieldcrypt"
	"github.com/emmansun/gmsm/sm2"
)

// testClock is a bank clock the test moves forward.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newClockedBank is the test bank on a clock the test controls.
func newClockedBank(t *testing.T) (*Bank, *testClock) {
	t.Helper()
	clock := &testClock{t: testNow}
	opts := testOptions()
	opts.Now = clock.now
	return New(opts), clock
}

func TestPaymentPasswordsAreSeeded(t *testing.T) {
	b := newTestBank(t)
	seen := map[string]bool{}
	for i, u := range b.Users() {
		pw := u.PaymentPassword
		if len(pw) != 6 || !allDigits(pw) || weakPassword(pw, b.customers[i]) {
			t.Errorf("user %s: payment password %q is not six digits or is weak", u.ID, pw)
		}
		if seen[pw] {
			t.Errorf("payment password %s given twice", pw)
		}
		seen[pw] = true
	}
	// The passwords depend on the seed only, not on the day.
	later := New(Options{Seed: 42, Now: func() time.Time { return testNow.AddDate(0, 1, 0) }})
	other := New(Options{Seed: 43, Now: func() time.Time { return testNow }})
	for i, u := range b.Users() {
		if got := later.Users()[i].PaymentPassword; got != u.PaymentPassword {
			t.Errorf("user %d: password %s a month later, %s today", i, got, u.PaymentPassword)
		}
	}
	if b.Users()[0].PaymentPassword == other.Users()[0].PaymentPassword &&
		b.Users()[1].PaymentPassword == other.Users()[1].PaymentPassword {
		t.Error("seeds 42 and 43 gave the same payment passwords")
	}
}

func TestWeakPassword(t *testing.T) {
	c := &customer{idNumber: "11010519491231002X", phone: "13812345678"}
	for _, tc := range []struct {
		pw   string
		weak bool
	}{
		{"000000", true}, {"999999", true}, {"123456", true}, {"012345", true}, {"654321", true},
		{"890123", true}, {"210987", true}, {"121212", true}, {"123123", true}, {"491231", true},
		{"345678", true}, {"100200", false}, {"371946", false}, {"123457", false}, {"112233", false},
	} {
		if got := weakPassword(tc.pw, c); got != tc.weak {
			t.Errorf("weakPassword(%s) = %v, want %v", tc.pw, got, tc.weak)
		}
	}
}

// TestTransferPaymentPassword: the bank opens the sealed payment password and compares it
// before it looks at any account, and refuses every other value alike.
func TestTransferPaymentPassword(t *testing.T) {
	users := newTestBank(t).Users()
	u := users[0]
	debit := u.Accounts[0]
	avail, _ := parseAmount(debit.AvailableBalance)
	var frozen Account
	for _, a := range users[2].Accounts {
		if a.Status == statusFrozen {
			frozen = a
		}
	}
	otherKey := newSM2Key()
	// One base64 character of C2 changes: the value is still well formed but does not open.
	altered := []byte(seal(t, u.PaymentPassword))
	if i := len(altered) - 5; altered[i] == 'A' {
		altered[i] = 'B'
	} else {
		altered[i] = 'A'
	}
	if _, err := fieldcrypt.ParseSealed(string(altered)); err != nil {
		t.Fatalf("the altered value does not parse: %v", err)
	}

	for _, tc := range []struct {
		name       string
		noKey      bool
		user       string // default: the first user
		from       string // default: the first user's debit card
		amount     string // default: 1.00
		password   string // the JSON member's value; "<none>" leaves it out
		status     int
		code       string
		secretText string // must not appear in the response
	}{
		{name: "correct", password: seal(t, u.PaymentPassword), status: 201},
		{name: "missing", password: "<none>", status: 400, code: codeRequestInvalid},
		{name: "plaintext 123456", password: "123456", status: 422, code: codePasswordIncorrect, secretText: "123456"},
		{name: "the right password in clear", password: u.PaymentPassword, status: 422, code: codePasswordIncorrect, secretText: u.PaymentPassword},
		{name: "empty", password: "", status: 422, code: codePasswordIncorrect},
		{name: "sealed wrong password", password: seal(t, wrongPassword(u.PaymentPassword)), status: 422, code: codePasswordIncorrect},
		{name: "sealed with another key", password: sealTo(t, u.PaymentPassword, otherKey, testPaymentKeyID), status: 422, code: codePasswordIncorrect},
		{name: "sealed to another key id", password: sealTo(t, u.PaymentPassword, testPaymentKey(), "sandbox-pay-old"), status: 422, code: codePasswordIncorrect},
		{name: "altered ciphertext", password: string(altered), status: 422, code: codePasswordIncorrect},
		{name: "bank without a key", noKey: true, password: seal(t, u.PaymentPassword), status: 422, code: codePasswordIncorrect},
		{name: "unknown user", user: "U000000000", password: seal(t, u.PaymentPassword), status: 422, code: codePasswordIncorrect},
		{name: "wrong password hides the balance", amount: (avail + 1).String(), password: seal(t, wrongPassword(u.PaymentPassword)), status: 422, code: codePasswordIncorrect},
		{name: "wrong password hides ownership", user: users[1].ID, password: seal(t, wrongPassword(users[1].PaymentPassword)), status: 422, code: codePasswordIncorrect},
		{name: "wrong password hides the frozen account", user: users[2].ID, from: frozen.ID, password: seal(t, wrongPassword(users[2].PaymentPassword)), status: 422, code: codePasswordIncorrect},
		{name: "another customer's password", password: seal(t, users[1].PaymentPassword), status: 422, code: codePasswordIncorrect},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOptions()
			if tc.noKey {
				opts.PaymentKey = nil
			}
			b := New(opts)
			user := cmp.Or(tc.user, u.ID)
			body := transferBody(cmp.Or(tc.from, debit.ID), externalCard, cmp.Or(tc.amount, "1.00"), tc.password)
			if tc.password == "<none>" {
				body = strings.Replace(body, `,"payment_password":"<none>"`, "", 1)
			}
			rr := call(t, b, "POST", "/v1/transfers", user, body)
			if tc.status == http.StatusCreated {
				if rr.Code != tc.status {
					t.Fatalf("status %d: %s", rr.Code, rr.Body)
				}
				return
			}
			p := wantProblem(t, rr, tc.status, tc.code)
			switch tc.code {
			case codePasswordIncorrect:
				if p.Detail != detailPasswordIncorrect {
					t.Errorf("detail %q", p.Detail)
				}
			case codeRequestInvalid:
				if !strings.HasPrefix(p.Detail, "payment_password:") {
					t.Errorf("detail %q does not name payment_password", p.Detail)
				}
			}
			if tc.secretText != "" && strings.Contains(rr.Body.String(), tc.secretText) {
				t.Errorf("the response repeats the password: %s", rr.Body)
			}
			if tc.password != "" && tc.password != "<none>" && strings.Contains(rr.Body.String(), tc.password) {
				t.Errorf("the response repeats the submitted value: %s", rr.Body)
			}
			if got := b.Users()[0].Accounts[0].Balance; got != debit.Balance {
				t.Errorf("a refused transfer moved the balance from %s to %s", debit.Balance, got)
			}
		})
	}
}

// TestWrongPasswordRevealsNothing: with a wrong payment password the answer is the same whatever
// the accounts, the amount or the payee.
func TestWrongPasswordRevealsNothing(t *testing.T) {
	b := newTestBank(t)
	users := b.Users()
	u := users[0]
	wrong := seal(t, wrongPassword(u.PaymentPassword))
	var first string
	for i, body := range []string{
		transferBody(u.Accounts[0].ID, externalCard, "1.00", wrong),                    // an external payee
		transferBody(u.Accounts[0].ID, users[1].Accounts[0].CardNumber, "1.00", wrong), // a payee of the bank
		transferBody(u.Accounts[0].ID, "6218880000000000007", "1.00", wrong),           // a payee no one has
		transferBody(u.Accounts[0].ID, externalCard, "99999999.00", wrong),             // more than the balance
		transferBody(users[1].Accounts[0].ID, externalCard, "1.00", wrong),             // another's account
		transferBody("AC0000000000", externalCard, "1.00", wrong),                      // no such account
	} {
		if i%maxPasswordFailures == maxPasswordFailures-1 {
			b = newTestBank(t) // stay clear of the lockout
		}
		rr := call(t, b, "POST", "/v1/transfers", u.ID, body)
		wantProblem(t, rr, http.StatusUnprocessableEntity, codePasswordIncorrect)
		if i == 0 {
			first = rr.Body.String()
		} else if rr.Body.String() != first {
			t.Errorf("request %d answers differently:\n%s\n%s", i, rr.Body, first)
		}
	}
}

func TestPaymentPasswordLockout(t *testing.T) {
	b, clock := newClockedBank(t)
	users := b.Users()
	u := users[0]
	from := u.Accounts[0]
	right := func() string { return transferBody(from.ID, externalCard, "1.00", seal(t, u.PaymentPassword)) }
	wrong := func() string {
		return transferBody(from.ID, externalCard, "1.00", seal(t, wrongPassword(u.PaymentPassword)))
	}
	transfer := func(body string) *httptest.ResponseRecorder { return call(t, b, "POST", "/v1/transfers", u.ID, body) }

	for i := 0; i < maxPasswordFailures; i++ {
		wantProblem(t, transfer(wrong()), http.StatusUnprocessableEntity, codePasswordIncorrect)
	}
	// Locked: the right password is refused too, and so is a transfer the balance cannot cover.
	p := wantProblem(t, transfer(right()), http.StatusUnprocessableEntity, codePasswordLocked)
	if p.Detail != detailPasswordLocked {
		t.Errorf("detail %q", p.Detail)
	}
	wantProblem(t, transfer(transferBody(from.ID, externalCard, "99999999.00", seal(t, u.PaymentPassword))),
		http.StatusUnprocessableEntity, codePasswordLocked)
	wantProblem(t, transfer(wrong()), http.StatusUnprocessableEntity, codePasswordLocked)
	clock.advance(passwordLockout - time.Second)
	wantProblem(t, transfer(right()), http.StatusUnprocessableEntity, codePasswordLocked)
	if got := b.Users()[0].Accounts[0].Balance; got != from.Balance {
		t.Fatalf("a locked transfer moved the balance from %s to %s", from.Balance, got)
	}
	// Attempts while locked do not extend the lock: it ends 30 minutes after the fifth failure.
	clock.advance(time.Second)
	if rr := transfer(right()); rr.Code != http.StatusCreated {
		t.Fatalf("after 30 minutes: %d %s", rr.Code, rr.Body)
	}
	// A new series of failures starts from zero.
	for i := 0; i < maxPasswordFailures; i++ {
		wantProblem(t, transfer(wrong()), http.StatusUnprocessableEntity, codePasswordIncorrect)
	}
	wantProblem(t, transfer(right()), http.StatusUnprocessableEntity, codePasswordLocked)
}

func TestPaymentPasswordLockoutExpiresWithoutASuccess(t *testing.T) {
	b, clock := newClockedBank(t)
	u := b.Users()[0]
	wrong := transferBody(u.Accounts[0].ID, externalCard, "1.00", seal(t, wrongPassword(u.PaymentPassword)))
	for i := 0; i < maxPasswordFailures; i++ {
		call(t, b, "POST", "/v1/transfers", u.ID, wrong)
	}
	clock.advance(passwordLockout)
	// The lock has run out: the next failure is the first of a new series, not a new lock.
	for i := 0; i < maxPasswordFailures-1; i++ {
		wantProblem(t, call(t, b, "POST", "/v1/transfers", u.ID, wrong), http.StatusUnprocessableEntity, codePasswordIncorrect)
	}
	right := transferBody(u.Accounts[0].ID, externalCard, "1.00", seal(t, u.PaymentPassword))
	if rr := call(t, b, "POST", "/v1/transfers", u.ID, right); rr.Code != http.StatusCreated {
		t.Fatalf("%d %s", rr.Code, rr.Body)
	}
}

func TestPaymentPasswordSuccessResetsTheCount(t *testing.T) {
	b := newTestBank(t)
	u := b.Users()[0]
	from := u.Accounts[0].ID
	bad := wrongPassword(u.PaymentPassword)
	for round := 0; round < 3; round++ {
		for i := 0; i < maxPasswordFailures-1; i++ {
			wantProblem(t, call(t, b, "POST", "/v1/transfers", u.ID, transferBody(from, externalCard, "1.00", seal(t, bad))),
				http.StatusUnprocessableEntity, codePasswordIncorrect)
		}
		if rr := call(t, b, "POST", "/v1/transfers", u.ID, transferBody(from, externalCard, "1.00", seal(t, u.PaymentPassword))); rr.Code != http.StatusCreated {
			t.Fatalf("round %d: %d %s", round, rr.Code, rr.Body)
		}
	}
	// A refusal after the password was accepted (here: not enough money) is still a success of
	// the password.
	for i := 0; i < maxPasswordFailures-1; i++ {
		call(t, b, "POST", "/v1/transfers", u.ID, transferBody(from, externalCard, "1.00", seal(t, bad)))
	}
	wantProblem(t, call(t, b, "POST", "/v1/transfers", u.ID, transferBody(from, externalCard, "99999999.00", seal(t, u.PaymentPassword))),
		http.StatusUnprocessableEntity, codeInsufficientFunds)
	wantProblem(t, call(t, b, "POST", "/v1/transfers", u.ID, transferBody(from, externalCard, "1.00", seal(t, bad))),
		http.StatusUnprocessableEntity, codePasswordIncorrect)
}

func TestPaymentPasswordLockoutIsPerCustomer(t *testing.T) {
	b := newTestBank(t)
	users := b.Users()
	locked, other := users[0], users[1]
	for i := 0; i < maxPasswordFailures; i++ {
		call(t, b, "POST", "/v1/transfers", locked.ID, transferBody(locked.Accounts[0].ID, externalCard, "1.00", seal(t, wrongPassword(locked.PaymentPassword))))
	}
	wantProblem(t, call(t, b, "POST", "/v1/transfers", locked.ID, transferBody(locked.Accounts[0].ID, externalCard, "1.00", seal(t, locked.PaymentPassword))),
		http.StatusUnprocessableEntity, codePasswordLocked)
	wantProblem(t, call(t, b, "POST", "/v1/transfers", other.ID, transferBody(other.Accounts[0].ID, externalCard, "1.00", seal(t, wrongPassword(other.PaymentPassword)))),
		http.StatusUnprocessableEntity, codePasswordIncorrect)
	if rr := call(t, b, "POST", "/v1/transfers", other.ID, transferBody(other.Accounts[0].ID, externalCard, "1.00", seal(t, other.PaymentPassword))); rr.Code != http.StatusCreated {
		t.Fatalf("another customer is refused: %d %s", rr.Code, rr.Body)
	}
	// Reads are not affected by the lock.
	if got := accountsOf(t, b, locked.ID); len(got) != len(locked.Accounts) {
		t.Fatalf("the locked customer sees %d accounts", len(got))
	}
}

// TestConcurrentWrongPasswords: attempts racing each other are judged one at a time, so exactly
// maxPasswordFailures of them are tried before the lock engages.
func TestConcurrentWrongPasswords(t *testing.T) {
	b := newTestBank(t)
	u := b.Users()[0]
	const workers = 24
	bodies := make([]string, workers)
	for i := range bodies {
		bodies[i] = transferBody(u.Accounts[0].ID, externalCard, "1.00", seal(t, wrongPassword(u.PaymentPassword)))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string]int{}
	for _, body := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rr := call(t, b, "POST", "/v1/transfers", u.ID, body)
			mu.Lock()
			defer mu.Unlock()
			switch s := rr.Body.String(); {
			case strings.Contains(s, codePasswordIncorrect):
				codes[codePasswordIncorrect]++
			case strings.Contains(s, codePasswordLocked):
				codes[codePasswordLocked]++
			default:
				t.Errorf("unexpected answer %d %s", rr.Code, s)
			}
		}()
	}
	wg.Wait()
	if codes[codePasswordIncorrect] != maxPasswordFailures || codes[codePasswordLocked] != workers-maxPasswordFailures {
		t.Fatalf("outcomes %v, want %d incorrect and the rest locked", codes, maxPasswordFailures)
	}
}

// wrongPassword returns a six-digit password that differs from pw.
func wrongPassword(pw string) string {
	if pw == "000001" {
		return "000002"
	}
	return "000001"
}

// sealTo seals pw to the public half of key under keyID.
func sealTo(t testing.TB, pw string, key *sm2.PrivateKey, keyID string) string {
	t.Helper()
	s, err := fieldcrypt.SealValue([]byte(pw), &key.PublicKey, keyID)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

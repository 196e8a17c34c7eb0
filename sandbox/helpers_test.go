package sandbox

import (
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bankguard/bankguard/fieldcrypt"
	"github.com/emmansun/gmsm/sm2"
)

// testNow is the fixed clock of the tests: a Thursday afternoon in Beijing.
var testNow = time.Date(2026, 11, 26, 14, 0, 0, 0, cst)

const testRequestID = "01JDTESTREQUEST0000000001"

// testPaymentKeyID names the bank's payment password key in the tests.
const testPaymentKeyID = "sandbox-pay-test-1"

// testPaymentKey is the bank's payment password key in the tests, generated once per run.
var testPaymentKey = sync.OnceValue(func() *sm2.PrivateKey { return newSM2Key() })

func newSM2Key() *sm2.PrivateKey {
	k, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

func newTestBank(t testing.TB) *Bank {
	t.Helper()
	return New(testOptions())
}

// testOptions configures the test bank: seed 42, the fixed clock and the test payment key.
func testOptions() Options {
	return Options{Seed: 42, Now: func() time.Time { return testNow }, PaymentKey: testPaymentKey(), PaymentKeyID: testPaymentKeyID}
}

// seal seals a payment password to the test bank's key, as an application does.
func seal(t testing.TB, password string) string {
	t.Helper()
	s, err := fieldcrypt.SealValue([]byte(password), &testPaymentKey().PublicKey, testPaymentKeyID)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sealFor seals the payment password of the user with the given id; "" is the first user, as
// for a request without Bankguard-User.
func sealFor(t testing.TB, b *Bank, userID string) string {
	t.Helper()
	for i, u := range b.Users() {
		if u.ID == userID || userID == "" && i == 0 {
			return seal(t, u.PaymentPassword)
		}
	}
	t.Fatalf("no user %q", userID)
	return ""
}

// call sends one request as the gateway would; user "" leaves Bankguard-User out.
func call(t testing.TB, h http.Handler, method, target, user, body string) *httptest.ResponseRecorder {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	req.Header.Set(headerRequestID, testRequestID)
	req.Header.Set(headerAppID, "APP0000000001")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		req.Header.Set(headerUser, user)
	}
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, req)
	return rr
}

// decode unmarshals a JSON response into v, failing on a non-JSON content type.
func decode(t testing.TB, rr *httptest.ResponseRecorder, v any) {
	t.Helper()
	if ct := rr.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Fatalf("Content-Type = %q, body %s", ct, rr.Body)
	}
	if err := json.Unmarshal(rr.Body.Bytes(), v); err != nil {
		t.Fatalf("decode %s: %v", rr.Body, err)
	}
}

// wantProblem asserts a problem+json response with status and code, and returns it.
func wantProblem(t testing.TB, rr *httptest.ResponseRecorder, status int, code string) problem {
	t.Helper()
	if rr.Code != status {
		t.Fatalf("status = %d, want %d; body %s", rr.Code, status, rr.Body)
	}
	if ct := rr.Header().Get("Content-Type"); ct != "application/problem+json; charset=utf-8" {
		t.Fatalf("Content-Type = %q", ct)
	}
	var p problem
	if err := json.Unmarshal(rr.Body.Bytes(), &p); err != nil {
		t.Fatalf("decode problem %s: %v", rr.Body, err)
	}
	if p.Code != code || p.Status != status || p.Title == "" || p.Detail == "" || p.Type == "" {
		t.Fatalf("problem = %+v, want status %d code %s", p, status, code)
	}
	if p.RequestID != testRequestID || rr.Header().Get(headerRequestID) != testRequestID {
		t.Fatalf("request id not echoed: %+v", p)
	}
	return p
}

// accountsOf lists a user's accounts through the API.
func accountsOf(t testing.TB, b *Bank, user string) []accountView {
	t.Helper()
	var v struct{ Accounts []accountView }
	decode(t, call(t, b, http.MethodGet, "/v1/accounts", user, ""), &v)
	return v.Accounts
}

func httptestRecorder(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, r)
	return rr
}

package sandbox

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// testNow is the fixed clock of the tests: a Thursday afternoon in Beijing.
var testNow = time.Date(2026, 11, 26, 14, 0, 0, 0, cst)

const testRequestID = "01JDTESTREQUEST0000000001"

func newTestBank(t testing.TB) *Bank {
	t.Helper()
	return New(Options{Seed: 42, Now: func() time.Time { return testNow }})
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

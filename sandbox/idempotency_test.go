package sandbox

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// transferAs is the header set of a transfer by user through app under consent with key.
func transferAs(user, app, consent, key string) map[string]string {
	h := map[string]string{headerUser: user, headerAppID: app, headerConsent: consent}
	if key != "" {
		h[headerIdempotencyKey] = key
	}
	return h
}

func balanceOf(t *testing.T, b *Bank, userIdx, acctIdx int) string {
	t.Helper()
	return b.Users()[userIdx].Accounts[acctIdx].Balance
}

func TestTransferEchoesTheConsent(t *testing.T) {
	b := newTestBank(t)
	u := b.Users()[0]
	rr := callWith(t, b, "POST", "/v1/transfers", transferAs(u.ID, "APP0000000001", "CNS-42", ""),
		transferBody(u.Accounts[0].ID, externalCard, "1.00", sealFor(t, b, u.ID)))
	var tr transferView
	decode(t, rr, &tr)
	if rr.Code != http.StatusCreated || tr.ConsentID != "CNS-42" {
		t.Fatalf("status %d, consent_id %q", rr.Code, tr.ConsentID)
	}
	validateTransferResponse(t, rr)

	// Without the header (the demo fallback) the member is absent, not empty.
	rr = call(t, b, "POST", "/v1/transfers", u.ID, transferBody(u.Accounts[0].ID, externalCard, "1.00", sealFor(t, b, u.ID)))
	if rr.Code != http.StatusCreated || strings.Contains(rr.Body.String(), "consent_id") {
		t.Fatalf("status %d: %s", rr.Code, rr.Body)
	}
}

// validateTransferResponse checks a transfer response against the document.
func validateTransferResponse(t *testing.T, rr *httptest.ResponseRecorder) {
	t.Helper()
	doc := loadDocument(t)
	item := doc.Paths.Value("/v1/transfers")
	route := &routers.Route{Spec: doc, Path: "/v1/transfers", PathItem: item, Method: "POST", Operation: item.Post}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: httptest.NewRequest("POST", "/v1/transfers", nil), Route: route},
		Status:                 rr.Code, Header: rr.Header(), Body: io.NopCloser(bytes.NewReader(rr.Body.Bytes())),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Fatalf("response does not match the document: %v\n%s", err, rr.Body)
	}
}

func TestIdempotentTransfer(t *testing.T) {
	b := newTestBank(t)
	u := b.Users()[0]
	from := u.Accounts[0].ID
	before := balanceOf(t, b, 0, 0)
	h := transferAs(u.ID, "APP0000000001", "CNS-1", "8e03978e-40d5-43e8-bc93-6894a57f9324")

	first := callWith(t, b, "POST", "/v1/transfers", h, transferBody(from, externalCard, "10.00", sealFor(t, b, u.ID)))
	if first.Code != http.StatusCreated {
		t.Fatalf("first: %d %s", first.Code, first.Body)
	}
	afterFirst := balanceOf(t, b, 0, 0)
	if afterFirst == before {
		t.Fatal("the first transfer did not debit")
	}

	// A retry seals the password afresh (another ciphertext), may write the amount another way,
	// may quote the key, and may come under a refreshed consent: the same transfer, answered
	// with the stored result.
	retries := []struct {
		name, body string
		headers    map[string]string
	}{
		{"same request", transferBody(from, externalCard, "10.00", sealFor(t, b, u.ID)), h},
		{"amount written differently", transferBody(from, externalCard, "10", sealFor(t, b, u.ID)), h},
		{"quoted key", transferBody(from, externalCard, "10.00", sealFor(t, b, u.ID)), transferAs(u.ID, "APP0000000001", "CNS-2", `"8e03978e-40d5-43e8-bc93-6894a57f9324"`)},
	}
	for _, tc := range retries {
		t.Run(tc.name, func(t *testing.T) {
			rr := callWith(t, b, "POST", "/v1/transfers", tc.headers, tc.body)
			if rr.Code != http.StatusCreated || rr.Body.String() != first.Body.String() {
				t.Fatalf("retry answered %d %s, want the first response %s", rr.Code, rr.Body, first.Body)
			}
			if got := balanceOf(t, b, 0, 0); got != afterFirst {
				t.Fatalf("a retry debited again: %s → %s", afterFirst, got)
			}
		})
	}

	// The same key for another transfer is a conflict, and books nothing.
	for _, body := range []string{
		transferBody(from, externalCard, "10.01", sealFor(t, b, u.ID)),
		transferBody(u.Accounts[1].ID, externalCard, "10.00", sealFor(t, b, u.ID)),
		strings.Replace(transferBody(from, externalCard, "10.00", sealFor(t, b, u.ID)), "房租", "水电", 1),
	} {
		wantProblem(t, callWith(t, b, "POST", "/v1/transfers", h, body), http.StatusUnprocessableEntity, codeIdempotencyConflict)
	}
	// A retry with a wrong password learns nothing of the stored transfer.
	wantProblem(t, callWith(t, b, "POST", "/v1/transfers", h, transferBody(from, externalCard, "10.00", seal(t, wrongPassword(u.PaymentPassword)))),
		http.StatusUnprocessableEntity, codePasswordIncorrect)
	if got := balanceOf(t, b, 0, 0); got != afterFirst {
		t.Fatalf("refused retries moved money: %s → %s", afterFirst, got)
	}

	// Another key, or no key, is another transfer.
	for _, hh := range []map[string]string{transferAs(u.ID, "APP0000000001", "CNS-1", "another-key"), transferAs(u.ID, "APP0000000001", "CNS-1", "")} {
		if rr := callWith(t, b, "POST", "/v1/transfers", hh, transferBody(from, externalCard, "10.00", sealFor(t, b, u.ID))); rr.Code != http.StatusCreated || rr.Body.String() == first.Body.String() {
			t.Fatalf("a new transfer answered %d %s", rr.Code, rr.Body)
		}
	}
}

func TestIdempotencyKeysAreScoped(t *testing.T) {
	b := newTestBank(t)
	users := b.Users()
	u, v := users[0], users[1]
	const key = "1"
	first := callWith(t, b, "POST", "/v1/transfers", transferAs(u.ID, "APP-A", "CNS-A", key), transferBody(u.Accounts[0].ID, externalCard, "5.00", sealFor(t, b, u.ID)))
	if first.Code != http.StatusCreated {
		t.Fatalf("first: %d %s", first.Code, first.Body)
	}
	after := balanceOf(t, b, 0, 0)
	// The same user through another application: its own key, its own transfer.
	other := callWith(t, b, "POST", "/v1/transfers", transferAs(u.ID, "APP-B", "CNS-B", key), transferBody(u.Accounts[0].ID, externalCard, "5.00", sealFor(t, b, u.ID)))
	if other.Code != http.StatusCreated || other.Body.String() == first.Body.String() || balanceOf(t, b, 0, 0) == after {
		t.Fatalf("another app's key %q was taken for the first app's: %d %s", key, other.Code, other.Body)
	}
	// Another user with the same key and app: no conflict, a transfer of their own.
	rr := callWith(t, b, "POST", "/v1/transfers", transferAs(v.ID, "APP-A", "CNS-V", key), transferBody(v.Accounts[0].ID, externalCard, "7.00", sealFor(t, b, v.ID)))
	if rr.Code != http.StatusCreated {
		t.Fatalf("another user's key: %d %s", rr.Code, rr.Body)
	}
}

func TestIdempotencyKeyExpires(t *testing.T) {
	b, clock := newClockedBank(t)
	u := b.Users()[0]
	h := transferAs(u.ID, "APP0000000001", "CNS-1", "k-1")
	body := func() string { return transferBody(u.Accounts[0].ID, externalCard, "3.00", sealFor(t, b, u.ID)) }
	first := callWith(t, b, "POST", "/v1/transfers", h, body())
	clock.advance(24*time.Hour - time.Second)
	if rr := callWith(t, b, "POST", "/v1/transfers", h, body()); rr.Body.String() != first.Body.String() {
		t.Fatalf("within 24 h the key was forgotten: %s", rr.Body)
	}
	clock.advance(time.Second)
	second := callWith(t, b, "POST", "/v1/transfers", h, body())
	if second.Code != http.StatusCreated || second.Body.String() == first.Body.String() {
		t.Fatalf("after 24 h the key still answered: %d %s", second.Code, second.Body)
	}
}

func TestIdempotencyKeyMalformed(t *testing.T) {
	b := newTestBank(t)
	u := b.Users()[0]
	body := transferBody(u.Accounts[0].ID, externalCard, "1.00", sealFor(t, b, u.ID))
	before := balanceOf(t, b, 0, 0)
	for name, key := range map[string]string{
		"empty quoted": `""`, "too long": strings.Repeat("k", maxIdempotencyKey+1), "space": "a b",
		"control": "a\x01b", "non-ASCII": "键", "inner quote": `a"b`,
	} {
		t.Run(name, func(t *testing.T) {
			p := wantProblem(t, callWith(t, b, "POST", "/v1/transfers", transferAs(u.ID, "APP", "CNS", key), body), http.StatusBadRequest, codeRequestInvalid)
			if !strings.HasPrefix(p.Detail, headerIdempotencyKey+":") {
				t.Fatalf("detail %q", p.Detail)
			}
		})
	}
	req := httptest.NewRequest("POST", "/v1/transfers", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(headerRequestID, testRequestID)
	req.Header.Set(headerUser, u.ID)
	req.Header.Add(headerIdempotencyKey, "one")
	req.Header.Add(headerIdempotencyKey, "two")
	wantProblem(t, httptestRecorder(b, req), http.StatusBadRequest, codeRequestInvalid)
	if balanceOf(t, b, 0, 0) != before {
		t.Fatal("a refused transfer moved money")
	}
}

func TestConcurrentRetriesDebitOnce(t *testing.T) {
	b := newTestBank(t)
	u := b.Users()[0]
	before, _ := parseAmount(balanceOf(t, b, 0, 0))
	h := transferAs(u.ID, "APP0000000001", "CNS-1", "race")
	bodies := make([]string, 16)
	for i := range bodies {
		bodies[i] = transferBody(u.Accounts[0].ID, externalCard, "2.00", sealFor(t, b, u.ID))
	}
	var wg sync.WaitGroup
	responses := make([]string, len(bodies))
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rr := callWith(t, b, "POST", "/v1/transfers", h, bodies[i])
			if rr.Code != http.StatusCreated {
				t.Errorf("status %d: %s", rr.Code, rr.Body)
			}
			responses[i] = rr.Body.String()
		}()
	}
	wg.Wait()
	for _, r := range responses[1:] {
		if r != responses[0] {
			t.Fatalf("concurrent retries answered differently:\n%s\n%s", responses[0], r)
		}
	}
	after, _ := parseAmount(balanceOf(t, b, 0, 0))
	if before-after != 2_00 {
		t.Fatalf("debited %s for one transfer of 2.00", before-after)
	}
}

package problem

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	w := httptest.NewRecorder()
	w.Header().Set("Content-Length", "999")
	Write(w, "TXN-1", New(RateLimited, "slow down").WithHeader("Retry-After", "3"))
	if w.Code != 429 || w.Header().Get("Content-Type") != "application/problem+json" || w.Header().Get("Retry-After") != "3" {
		t.Fatalf("code %d headers %v", w.Code, w.Header())
	}
	if w.Header().Get("Content-Length") != "" {
		t.Fatal("stale Content-Length kept")
	}
	var doc map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"type": "urn:bankguard:problem:rate_limited", "title": "Rate limited", "status": 429.0,
		"detail": "slow down", "code": "rate_limited", "request_id": "TXN-1"}
	for k, v := range want {
		if doc[k] != v {
			t.Errorf("%s = %v, want %v", k, doc[k], v)
		}
	}
}

func TestInternalCauseNeverRendered(t *testing.T) {
	cause := errors.New("pq: relation \"accounts\" does not exist at db-internal-07:5432")
	for _, err := range []error{cause, fmt.Errorf("wrapped: %w", cause), Wrap(cause, UpstreamUnavailable, "the bank's service failed")} {
		w := httptest.NewRecorder()
		Write(w, "T", err)
		if strings.Contains(w.Body.String(), "relation") || strings.Contains(w.Body.String(), "db-internal") {
			t.Fatalf("internal cause rendered: %s", w.Body)
		}
	}
	if From(cause).Code != Internal || From(cause).HTTPStatus() != 500 {
		t.Fatal("plain error is not internal")
	}
}

func TestDetailIsJSONEscaped(t *testing.T) {
	b := Body(New(RequestInvalid, "字段 \"to_name\"\n太长"), "")
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil || doc["detail"] != "字段 \"to_name\"\n太长" {
		t.Fatalf("%s: %v", b, err)
	}
}

func TestValidCode(t *testing.T) {
	for s, want := range map[string]bool{"insufficient_funds": true, "a1": true, "A": false, "x": false,
		"ORA-00942": false, "trailing_": false, "has space": false, strings.Repeat("a", 65): false} {
		if ValidCode(s) != want {
			t.Errorf("ValidCode(%q) != %v", s, want)
		}
	}
}

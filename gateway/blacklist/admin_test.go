package blacklist

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type adminHarness struct {
	clk  *fakeClock
	list *Memory
	h    http.Handler
}

func newAdmin() *adminHarness {
	a := &adminHarness{clk: &fakeClock{t: t0}, list: NewMemory(0)}
	a.h = (&Admin{List: a.list, Now: a.clk.Now}).Handler()
	return a
}

func (a *adminHarness) do(method, path, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, r)
	return w
}

// problemOf decodes a problem+json response.
func problemOf(t *testing.T, w *httptest.ResponseRecorder) (status int, code, detail string) {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, body %s", ct, w.Body)
	}
	var p struct {
		Status int    `json:"status"`
		Code   string `json:"code"`
		Detail string `json:"detail"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	return p.Status, p.Code, p.Detail
}

func TestAdminAddListDelete(t *testing.T) {
	a := newAdmin()
	w := a.do("POST", AdminPath, `{"kind":"cidr","value":"203.0.113.0/24","reason":"SOC ticket 42","for":"24h"}`)
	if w.Code != http.StatusCreated {
		t.Fatalf("POST = %d %s", w.Code, w.Body)
	}
	var added Entry
	if err := json.Unmarshal(w.Body.Bytes(), &added); err != nil {
		t.Fatal(err)
	}
	if added.ID == "" || added.Source != SourceManual || !added.Until.Equal(t0.Add(24*time.Hour)) || !added.Created.Equal(t0) {
		t.Fatalf("added = %+v", added)
	}
	if loc := w.Header().Get("Location"); loc != AdminPath+"/"+added.ID {
		t.Fatalf("Location = %q", loc)
	}
	w = a.do("POST", AdminPath, `{"kind":"app","value":"APP0000000009","reason":"agreement ended","until":"2027-01-01T00:00:00+08:00"}`)
	if w.Code != http.StatusCreated {
		t.Fatalf("POST app = %d %s", w.Code, w.Body)
	}
	w = a.do("POST", AdminPath, `{"kind":"cidr","value":"2001:db8::/32","reason":"permanent"}`)
	if w.Code != http.StatusCreated || strings.Contains(w.Body.String(), "until") {
		t.Fatalf("POST permanent = %d %s", w.Code, w.Body)
	}

	var list struct{ Entries []Entry }
	w = a.do("GET", AdminPath, "")
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &list) != nil || len(list.Entries) != 3 {
		t.Fatalf("GET = %d %s", w.Code, w.Body)
	}
	w = a.do("GET", AdminPath+"?kind=app", "")
	if json.Unmarshal(w.Body.Bytes(), &list) != nil || len(list.Entries) != 1 || list.Entries[0].Value != "APP0000000009" {
		t.Fatalf("GET ?kind=app = %s", w.Body)
	}

	w = a.do("DELETE", AdminPath+"/"+added.ID, "")
	if w.Code != http.StatusNoContent {
		t.Fatalf("DELETE = %d %s", w.Code, w.Body)
	}
	if _, ok := matches(t, a.list, "", "203.0.113.1", t0); ok {
		t.Fatal("a deleted entry still matches")
	}
	w = a.do("DELETE", AdminPath+"/"+added.ID, "")
	if s, code, _ := problemOf(t, w); s != 404 || code != "not_found" {
		t.Fatalf("second DELETE = %d %s", s, code)
	}

	a.clk.Advance(400 * 24 * time.Hour) // past the app entry's until
	w = a.do("GET", AdminPath, "")
	if json.Unmarshal(w.Body.Bytes(), &list) != nil || len(list.Entries) != 1 {
		t.Fatalf("expired entries listed: %s", w.Body)
	}
}

func TestAdminValidation(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
	}{
		{"not json", `kind=app`, "JSON object"},
		{"unknown field", `{"kind":"app","value":"A","reason":"r","ttl":"1h"}`, "JSON object"},
		{"trailing data", `{"kind":"app","value":"A","reason":"r"} {}`, "nothing after"},
		{"bad kind", `{"kind":"user","value":"A","reason":"r"}`, "kind:"},
		{"bad app id", `{"kind":"app","value":"APP 1; DROP","reason":"r"}`, "value:"},
		{"bad cidr", `{"kind":"cidr","value":"203.0.113.0/33","reason":"r"}`, "value:"},
		{"host bits", `{"kind":"cidr","value":"203.0.113.9/24","reason":"r"}`, "203.0.113.0/24"},
		{"too broad", `{"kind":"cidr","value":"0.0.0.0/1","reason":"r"}`, "value:"},
		{"hostname", `{"kind":"cidr","value":"evil.example","reason":"r"}`, "value:"},
		{"no reason", `{"kind":"app","value":"A"}`, "reason:"},
		{"both bounds", `{"kind":"app","value":"A","reason":"r","for":"1h","until":"2027-01-01T00:00:00Z"}`, "not both"},
		{"past until", `{"kind":"app","value":"A","reason":"r","until":"2020-01-01T00:00:00Z"}`, "future"},
		{"bad until", `{"kind":"app","value":"A","reason":"r","until":"tomorrow"}`, "RFC 3339"},
		{"bad for", `{"kind":"app","value":"A","reason":"r","for":"-5m"}`, "for:"},
		{"huge body", `{"kind":"app","value":"A","reason":"` + strings.Repeat("x", 5000) + `"}`, "4 KiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAdmin()
			w := a.do("POST", AdminPath, tc.body)
			s, code, detail := problemOf(t, w)
			if s != 400 || code != "request_invalid" || !strings.Contains(detail, tc.want) {
				t.Fatalf("= %d %s %q; want 400 request_invalid mentioning %q", s, code, detail, tc.want)
			}
			if a.list.Len() != 0 {
				t.Fatal("an invalid entry was stored")
			}
		})
	}
}

func TestAdminRoutesAndFailures(t *testing.T) {
	a := newAdmin()
	for _, tc := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"PUT", AdminPath, 405, "method_not_allowed"},
		{"GET", AdminPath + "/bl_1", 405, "method_not_allowed"},
		{"DELETE", AdminPath + "/no%20such%20id", 404, "not_found"},
		{"GET", AdminPath + "?kind=user", 400, "request_invalid"},
		{"GET", AdminPath + "?source=robot", 400, "request_invalid"},
		{"GET", "/admin/v1/elsewhere", 404, "not_found"},
	} {
		w := a.do(tc.method, tc.path, "")
		if s, code, _ := problemOf(t, w); s != tc.status || code != tc.code {
			t.Errorf("%s %s = %d %s, want %d %s", tc.method, tc.path, s, code, tc.status, tc.code)
		}
	}

	broken := (&Admin{List: brokenList{}}).Handler()
	for _, req := range []*http.Request{
		httptest.NewRequest("GET", AdminPath, nil),
		httptest.NewRequest("POST", AdminPath, strings.NewReader(`{"kind":"app","value":"A","reason":"r"}`)),
		httptest.NewRequest("DELETE", AdminPath+"/bl_1", nil),
	} {
		w := httptest.NewRecorder()
		broken.ServeHTTP(w, req)
		s, code, _ := problemOf(t, w)
		if s != 503 || code != "internal" || strings.Contains(w.Body.String(), "10.1.2.3") {
			t.Errorf("%s with the list down = %d %s %s", req.Method, s, code, w.Body)
		}
	}

	full := &Admin{List: NewMemory(1), Now: a.clk.Now}
	for i, want := range []int{201, 503} {
		w := httptest.NewRecorder()
		full.Handler().ServeHTTP(w, httptest.NewRequest("POST", AdminPath, strings.NewReader(`{"kind":"app","value":"A`+string(rune('0'+i))+`","reason":"r"}`)))
		if w.Code != want {
			t.Fatalf("POST %d to a list of one = %d %s", i, w.Code, w.Body)
		}
	}
}

func TestAdminActionsForTheOperatorLog(t *testing.T) {
	a := &Admin{List: NewMemory(0), Now: (&fakeClock{t: t0}).Now}
	w := httptest.NewRecorder()
	action, err := a.AddEntry(w, httptest.NewRequest("POST", AdminPath, strings.NewReader(`{"kind":"app","value":"APP1","reason":"张三 reported it","for":"1h"}`)))
	if err != nil || !strings.HasPrefix(action, "blacklist add bl_") || !strings.Contains(action, "app APP1 until 2026-11-26T11:00:00Z") {
		t.Fatalf("action = %q, %v", action, err)
	}
	if strings.Contains(action, "张三") {
		t.Fatal("the reason, which may name people, reached the log line")
	}
}

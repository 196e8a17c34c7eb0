package ratelimit

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bankguard/bankguard/problem"
)

func (e *env) admin() *Admin {
	return &Admin{Throttles: e.h.Throttles, Notifier: e.notes, Now: e.clock.Now,
		AppsForAPI: func(context.Context, string) ([]string, error) { return []string{"app1", "app2"}, nil }}
}

func serveAdmin(a *Admin, method, target, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	w := httptest.NewRecorder()
	w.Header().Set("X-Request-Id", "ADMIN1")
	a.ServeHTTP(w, r)
	return w
}

// An operator throttles an app: its calls are refused with the reason and
// it is told; once the throttle is removed, its calls pass again.
func TestAdminThrottleLifecycle(t *testing.T) {
	e := newEnv(t)
	a := e.admin()
	reason := "核心系统批处理期间限流，请于 22:00 后重试"
	w := serveAdmin(a, "POST", ThrottlesPath, `{"app":"app1","rate":"1/1m","reason":"`+reason+`","for":"2h"}`)
	if w.Code != http.StatusCreated {
		t.Fatalf("POST: %d %s", w.Code, w.Body)
	}
	var got Throttle
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || got.App != "app1" || got.Rate.String() != "1/1m" ||
		got.Burst != 1 || !got.Until.Equal(t0.Add(7200e9)) {
		t.Fatalf("created %+v (%v)", got, err)
	}
	notes := e.notes.Notices()
	if len(notes) != 1 || notes[0].AppID != "app1" || notes[0].Kind != NoticeThrottled || !strings.Contains(notes[0].Message, reason) {
		t.Fatalf("notices %+v", notes)
	}

	if !e.call(t, "app1", apiA).called {
		t.Fatal("first call within the throttle refused")
	}
	res := e.call(t, "app1", apiA)
	if res.err == nil || res.err.Code != problem.Throttled || !strings.Contains(res.err.Detail, reason) {
		t.Fatalf("throttled call: %+v", res.err)
	}

	w = serveAdmin(a, "GET", ThrottlesPath, "")
	var list struct{ Throttles []Throttle }
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil || w.Code != 200 || len(list.Throttles) != 1 || list.Throttles[0].Reason != reason {
		t.Fatalf("GET: %d %s", w.Code, w.Body)
	}

	if w = serveAdmin(a, "DELETE", ThrottlesPath+"?app=app1", ""); w.Code != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", w.Code, w.Body)
	}
	if !e.call(t, "app1", apiA).called {
		t.Fatal("refused after the throttle was removed")
	}
	if n := e.notes.Notices(); len(n) != 2 || n[1].Kind != NoticeThrottleLifted {
		t.Fatalf("notices %+v", n)
	}
	if w = serveAdmin(a, "DELETE", ThrottlesPath+"?app=app1", ""); w.Code != http.StatusNotFound {
		t.Fatalf("second DELETE: %d", w.Code)
	}
}

// An API throttle counts every app's calls together and tells the apps.
func TestAdminThrottleAPI(t *testing.T) {
	e := newEnv(t)
	a := e.admin()
	w := serveAdmin(a, "POST", ThrottlesPath, `{"api":"`+apiA+`","rate":"3/1s","reason":"backend maintenance","until":"2026-05-01T10:00:00Z"}`)
	if w.Code != http.StatusCreated {
		t.Fatalf("POST: %d %s", w.Code, w.Body)
	}
	if got := e.admitted(t, 2, "app1", apiA) + e.admitted(t, 2, "app2", apiA); got != 3 {
		t.Fatalf("admitted %d across apps, want 3", got)
	}
	if !e.call(t, "app1", apiB).called {
		t.Fatal("another API was throttled")
	}
	if n := e.notes.Notices(); len(n) != 2 || n[0].AppID != "app1" || n[1].AppID != "app2" {
		t.Fatalf("notices %+v", n)
	}
	// Setting it again replaces it (200) with a fresh counter.
	w = serveAdmin(a, "POST", ThrottlesPath, `{"api":"`+apiA+`","rate":"10/1s","reason":"backend maintenance","for":"10m"}`)
	if w.Code != http.StatusOK {
		t.Fatalf("replace: %d %s", w.Code, w.Body)
	}
	if got := e.admitted(t, 20, "app1", apiA); got != 10 {
		t.Fatalf("after replacing admitted %d, want 10", got)
	}
}

func TestAdminRefusesBadRequests(t *testing.T) {
	e := newEnv(t)
	a := e.admin()
	for _, tc := range []struct {
		name, method, target, body, want string
		status                           int
	}{
		{"both targets", "POST", ThrottlesPath, `{"app":"a","api":"` + apiA + `","rate":"1/1s","reason":"x","for":"1h"}`, "app, api", 400},
		{"no target", "POST", ThrottlesPath, `{"rate":"1/1s","reason":"x","for":"1h"}`, "app, api", 400},
		{"bad api", "POST", ThrottlesPath, `{"api":"OPX","rate":"1/1s","reason":"x","for":"1h"}`, "api:", 400},
		{"no rate", "POST", ThrottlesPath, `{"app":"a","reason":"x","for":"1h"}`, "rate:", 400},
		{"bad rate", "POST", ThrottlesPath, `{"app":"a","rate":"fast","reason":"x","for":"1h"}`, "rate: \"fast\" is not N/window", 400},
		{"no reason", "POST", ThrottlesPath, `{"app":"a","rate":"1/1s","for":"1h"}`, "reason:", 400},
		{"control chars", "POST", ThrottlesPath, `{"app":"a","rate":"1/1s","reason":"a\u0007b","for":"1h"}`, "reason:", 400},
		{"past", "POST", ThrottlesPath, `{"app":"a","rate":"1/1s","reason":"x","until":"2020-01-01T00:00:00Z"}`, "until:", 400},
		{"no end", "POST", ThrottlesPath, `{"app":"a","rate":"1/1s","reason":"x"}`, "until, for", 400},
		{"unknown field", "POST", ThrottlesPath, `{"app":"a","rate":"1/1s","reason":"x","for":"1h","scope":"all"}`, "body must be", 400},
		{"delete without target", "DELETE", ThrottlesPath, "", "exactly one", 400},
		{"method", "PUT", ThrottlesPath, "", "accepts", 405},
		{"path", "GET", ThrottlesPath + "/x", "", "no admin endpoint", 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := serveAdmin(a, tc.method, tc.target, tc.body)
			var doc struct {
				Detail    string `json:"detail"`
				RequestID string `json:"request_id"`
			}
			_ = json.Unmarshal(w.Body.Bytes(), &doc)
			if w.Code != tc.status || !strings.Contains(doc.Detail, tc.want) || doc.RequestID != "ADMIN1" {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
		})
	}
	if len(e.notes.Notices()) != 0 {
		t.Fatal("a refused request notified an app")
	}
}

// Serve reports each change for the operators' log, and nothing for reads.
func TestAdminServeReportsChanges(t *testing.T) {
	e := newEnv(t)
	a := e.admin()
	serve := func(method, target, body string) string {
		t.Helper()
		action, err := a.Serve(httptest.NewRecorder(), httptest.NewRequest(method, target, strings.NewReader(body)))
		if err != nil {
			t.Fatal(err)
		}
		return action
	}
	if got := serve("POST", ThrottlesPath, `{"app":"app1","rate":"5/1s","reason":"维护","until":"2026-05-01T10:00:00Z"}`); got != "throttle app:app1 to 5/1s until 2026-05-01T10:00:00Z: 维护" {
		t.Fatalf("set: %q", got)
	}
	if got := serve("GET", ThrottlesPath, ""); got != "" {
		t.Fatalf("get: %q", got)
	}
	if got := serve("DELETE", ThrottlesPath+"?app=app1", ""); got != "throttle removed from app:app1" {
		t.Fatalf("delete: %q", got)
	}
}

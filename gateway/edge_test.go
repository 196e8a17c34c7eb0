package gateway

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/problem"
)

func edgeWith(h stage.HandlerFunc) *Gateway {
	g := &Gateway{opts: Options{Now: time.Now}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	g.current.Store(&snapshot{pipeline: h})
	return g
}

func TestEdgeContainsPanics(t *testing.T) {
	g := edgeWith(func(http.ResponseWriter, *http.Request) error {
		panic("nil map write in core.Ledger at /srv/bank/ledger.go:42")
	})
	w := httptest.NewRecorder()
	g.ServeHTTP(w, httptest.NewRequest("GET", "/v1/x", nil))
	if w.Code != 500 || w.Header().Get("X-Request-Id") == "" {
		t.Fatalf("code %d headers %v", w.Code, w.Header())
	}
	body := w.Body.String()
	if strings.Contains(body, "ledger") || strings.Contains(body, "panic") || !strings.Contains(body, `"code":"internal"`) {
		t.Fatalf("body %s", body)
	}
	if !strings.Contains(body, w.Header().Get("X-Request-Id")) {
		t.Fatal("request_id differs from X-Request-Id")
	}
}

func TestEdgeRendersStageErrors(t *testing.T) {
	g := edgeWith(func(http.ResponseWriter, *http.Request) error {
		return problem.New(problem.ReplayDetected, "again")
	})
	w := httptest.NewRecorder()
	g.ServeHTTP(w, httptest.NewRequest("GET", "/v1/x", nil))
	if w.Code != 401 || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("code %d", w.Code)
	}
}

func TestEdgeHidesNonProblemErrors(t *testing.T) {
	g := edgeWith(func(http.ResponseWriter, *http.Request) error {
		return errors.New("dial tcp 10.1.2.3:5432: connection refused")
	})
	w := httptest.NewRecorder()
	g.ServeHTTP(w, httptest.NewRequest("GET", "/v1/x", nil))
	if w.Code != 500 || strings.Contains(w.Body.String(), "10.1.2.3") {
		t.Fatalf("code %d body %s", w.Code, w.Body)
	}
}

func TestEdgeSystemPaths(t *testing.T) {
	g := edgeWith(func(http.ResponseWriter, *http.Request) error { t.Fatal("pipeline called"); return nil })
	w := httptest.NewRecorder()
	g.ServeHTTP(w, httptest.NewRequest("GET", HealthPath, nil))
	if w.Code != 200 || w.Body.String() != "ok\n" {
		t.Fatalf("healthz: %d %q", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	g.ServeHTTP(w, httptest.NewRequest("POST", HealthPath, nil))
	if w.Code != 405 || w.Header().Get("Allow") != "GET, HEAD" {
		t.Fatalf("POST healthz: %d", w.Code)
	}
}

func TestRequestID(t *testing.T) {
	at := time.Date(2026, 11, 26, 22, 17, 53, 123_000_000, time.UTC)
	id := NewRequestID(at)
	if !regexp.MustCompile(`^20261126221753123[0-9a-f]{12}$`).MatchString(id) {
		t.Fatalf("id %q", id)
	}
	seen := map[string]bool{}
	for range 10000 {
		id := NewRequestID(at)
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
	}
}

package gateway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bankguard/bankguard/audit"
	"github.com/bankguard/bankguard/gateway/proxy"
	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/problem"
	"github.com/bankguard/bankguard/registry"
)

// fakeAudit records what the edge appends, and when.
type fakeAudit struct {
	mu      sync.Mutex
	records []audit.Record
	fail    error
	// wroteBefore is set if the response had bytes on the wire before Append.
	w           *httptest.ResponseRecorder
	wroteBefore bool
}

func (f *fakeAudit) Append(_ context.Context, r audit.Record) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.w != nil && (f.w.Code != 200 || f.w.Body.Len() > 0 || f.w.Flushed) {
		f.wroteBefore = true
	}
	if f.fail != nil {
		return f.fail
	}
	f.records = append(f.records, r)
	return nil
}

func auditedEdge(a *fakeAudit, h stage.HandlerFunc) *Gateway {
	g := &Gateway{opts: Options{Now: time.Now, Audit: a}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	g.current.Store(&snapshot{pipeline: h})
	return g
}

var testAPI = &registry.API{ID: "OPC999990201010100000002", Level: registry.A2}

func TestEveryOutcomeIsAudited(t *testing.T) {
	tests := []struct {
		name   string
		h      stage.HandlerFunc
		status int
		code   string
		log    string
	}{
		{name: "success", status: 200, log: audit.LogTransaction, h: func(w http.ResponseWriter, r *http.Request) error {
			ex := stage.FromContext(r.Context())
			ex.API, ex.App, ex.Credential = testAPI, &registry.App{ID: "app-1"}, &registry.Credential{KeyID: "k1"}
			_, err := io.WriteString(w, `{"ok":true}`)
			return err
		}},
		{name: "refused before routing", status: 401, code: "signature_missing", log: audit.LogInterface,
			h: func(http.ResponseWriter, *http.Request) error {
				return problem.New(problem.SignatureMissing, "sign it")
			}},
		{name: "upstream failure", status: 502, code: "upstream_unavailable", log: audit.LogTransaction,
			h: func(w http.ResponseWriter, r *http.Request) error {
				stage.FromContext(r.Context()).API = testAPI
				return problem.New(problem.UpstreamUnavailable, "down")
			}},
		{name: "panic", status: 500, code: "internal", log: audit.LogInterface,
			h: func(http.ResponseWriter, *http.Request) error { panic("boom") }},
		{name: "client gone", status: 499, code: "client_closed_request", log: audit.LogInterface,
			h: func(http.ResponseWriter, *http.Request) error { return errClientGoneForTest }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &fakeAudit{}
			g := auditedEdge(a, tt.h)
			w := httptest.NewRecorder()
			a.w = w
			g.ServeHTTP(w, httptest.NewRequest("GET", "/v1/x", nil))
			if len(a.records) != 1 {
				t.Fatalf("%d records", len(a.records))
			}
			r := a.records[0]
			if r.Status != tt.status || r.ErrorCode != tt.code || r.Log != tt.log || r.TxnID != w.Header().Get("X-Request-Id") {
				t.Fatalf("record %+v", r)
			}
			if (r.Result == audit.ResultSuccess) != (tt.status < 400) {
				t.Fatalf("result %s for %d", r.Result, tt.status)
			}
			if a.wroteBefore {
				t.Fatal("response bytes were written before the audit record was stored")
			}
		})
	}
}

var errClientGoneForTest = proxy.ErrClientGone

func TestAuditFailureRefusesTheResponse(t *testing.T) {
	a := &fakeAudit{fail: errors.New("disk full")}
	g := auditedEdge(a, func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "application/json")
		_, err := io.WriteString(w, `{"balance":"100.00"}`)
		if err == nil {
			t.Error("the handler's write succeeded after the audit failed")
		}
		return nil
	})
	w := httptest.NewRecorder()
	g.ServeHTTP(w, httptest.NewRequest("GET", "/v1/x", nil))
	if w.Code != 503 || strings.Contains(w.Body.String(), "balance") || w.Header().Get("X-Request-Id") == "" {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if strings.Contains(w.Body.String(), "disk full") {
		t.Fatal("the internal cause leaked")
	}
}

func TestSystemPathsAreNotAudited(t *testing.T) {
	a := &fakeAudit{}
	g := auditedEdge(a, func(http.ResponseWriter, *http.Request) error { return nil })
	g.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", HealthPath, nil))
	if len(a.records) != 0 {
		t.Fatal("health check audited")
	}
}

package route

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/problem"
	"github.com/bankguard/bankguard/registry"
)

func testTable(t *testing.T) *Table {
	t.Helper()
	tbl, err := NewTable([]*registry.API{
		{ID: "list", Method: "GET", Path: "/v1/products", Status: registry.APIActive},
		{ID: "get", Method: "GET", Path: "/v1/products/{product_id}", Status: registry.APIActive},
		{ID: "search", Method: "GET", Path: "/v1/products/search", Status: registry.APIActive},
		{ID: "balance", Method: "GET", Path: "/v1/accounts/{account_id}/balance", Status: registry.APIActive},
		{ID: "transfer", Method: "POST", Path: "/v1/transfers", Status: registry.APIActive},
	})
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

func TestRouting(t *testing.T) {
	h := &Handler{Table: testTable(t)}
	tests := []struct {
		name, method, target string
		wantAPI              string
		wantParam            string
		wantCode             problem.Code
		wantAllow            string
	}{
		{name: "static", method: "GET", target: "/v1/products", wantAPI: "list"},
		{name: "param", method: "GET", target: "/v1/products/P001", wantAPI: "get", wantParam: "P001"},
		{name: "literal beats param", method: "GET", target: "/v1/products/search", wantAPI: "search"},
		{name: "nested param", method: "GET", target: "/v1/accounts/A1/balance", wantAPI: "balance"},
		{name: "unknown path", method: "GET", target: "/v1/nothing", wantCode: problem.NotFound},
		{name: "trailing slash", method: "GET", target: "/v1/products/", wantCode: problem.NotFound},
		{name: "dot-dot value", method: "GET", target: "/v1/accounts/../balance", wantCode: problem.NotFound},
		{name: "encoded dot-dot", method: "GET", target: "/v1/accounts/%2e%2e/balance", wantCode: problem.NotFound},
		{name: "encoded slash", method: "GET", target: "/v1/accounts/a%2Fb/balance", wantCode: problem.NotFound},
		{name: "wrong method", method: "DELETE", target: "/v1/transfers", wantCode: problem.MethodNotAllowed, wantAllow: "POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := &stage.Exchange{}
			r := httptest.NewRequest(tt.method, tt.target, nil)
			r = r.WithContext(stage.WithExchange(context.Background(), ex))
			called := false
			err := h.ServeHTTP(httptest.NewRecorder(), r, stage.HandlerFunc(func(http.ResponseWriter, *http.Request) error {
				called = true
				return nil
			}))
			if tt.wantCode != "" {
				var pe *problem.Error
				if !errors.As(err, &pe) || pe.Code != tt.wantCode {
					t.Fatalf("err = %v, want %s", err, tt.wantCode)
				}
				if called {
					t.Fatal("next called on a refusal")
				}
				if tt.wantAllow != "" && pe.Header.Get("Allow") != tt.wantAllow {
					t.Fatalf("Allow = %q", pe.Header.Get("Allow"))
				}
				return
			}
			if err != nil || !called || ex.API.ID != tt.wantAPI {
				t.Fatalf("err=%v called=%v api=%v", err, called, ex.API)
			}
			if tt.wantParam != "" && ex.PathParams["product_id"] != tt.wantParam {
				t.Fatalf("params = %v", ex.PathParams)
			}
		})
	}
}

func TestDuplicateRoutesRefused(t *testing.T) {
	_, err := NewTable([]*registry.API{
		{ID: "a", Method: "GET", Path: "/v1/x/{id}"},
		{ID: "b", Method: "GET", Path: "/v1/x/{other}"},
	})
	if err == nil {
		t.Fatal("equivalent templates accepted")
	}
}

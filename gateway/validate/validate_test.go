package validate

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/problem"
	"github.com/bankguard/bankguard/registry"
)

const spec = `{
  "openapi": "3.0.3",
  "info": {"title": "t", "version": "1"},
  "paths": {
    "/v1/accounts/{account_id}/transactions": {
      "get": {
        "parameters": [
          {"name": "account_id", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[A-Z0-9]{6,32}$"}},
          {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
          {"name": "page_size", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}}
        ],
        "responses": {"200": {"description": "ok"}}
      }
    },
    "/v1/transfers": {
      "post": {
        "requestBody": {"required": true, "content": {"application/json": {"schema": {
          "type": "object", "additionalProperties": false, "required": ["amount", "to_card_number"],
          "properties": {
            "amount": {"type": "string", "pattern": "^[0-9]{1,12}(\\.[0-9]{1,2})?$"},
            "to_card_number": {"type": "string", "pattern": "^[0-9]{13,19}$"}
          }}}}},
        "responses": {"201": {"description": "created"}}
      }
    }
  }
}`

func compile(t *testing.T, method, path string) *Operation {
	t.Helper()
	op, err := Compile(context.Background(), &registry.API{ID: method + path, Method: method, Path: path, Spec: []byte(spec)})
	if err != nil {
		t.Fatal(err)
	}
	return op
}

func TestValidate(t *testing.T) {
	txns := compile(t, "GET", "/v1/accounts/{account_id}/transactions")
	transfer := compile(t, "POST", "/v1/transfers")
	if got := transfer.MediaTypes(); len(got) != 1 || got[0] != "application/json" {
		t.Fatalf("media types = %v", got)
	}
	h := &Handler{Operations: map[string]*Operation{"txns": txns, "transfer": transfer}}
	tests := []struct {
		name, api, method, target, body string
		params                          map[string]string
		wantField                       string // empty: accepted
	}{
		{name: "valid query", api: "txns", method: "GET", target: "/v1/accounts/AC123456/transactions?from=2026-01-01&page_size=10", params: map[string]string{"account_id": "AC123456"}},
		{name: "bad path parameter", api: "txns", method: "GET", target: "/v1/accounts/x/transactions", params: map[string]string{"account_id": "x"}, wantField: "account_id"},
		{name: "bad date", api: "txns", method: "GET", target: "/v1/accounts/AC123456/transactions?from=yesterday", params: map[string]string{"account_id": "AC123456"}, wantField: "from"},
		{name: "page size too big", api: "txns", method: "GET", target: "/v1/accounts/AC123456/transactions?page_size=1000", params: map[string]string{"account_id": "AC123456"}, wantField: "page_size"},
		{name: "page size not a number", api: "txns", method: "GET", target: "/v1/accounts/AC123456/transactions?page_size=ten", params: map[string]string{"account_id": "AC123456"}, wantField: "page_size"},
		{name: "unknown query parameter", api: "txns", method: "GET", target: "/v1/accounts/AC123456/transactions?admin=true", params: map[string]string{"account_id": "AC123456"}, wantField: "admin"},
		{name: "valid body", api: "transfer", method: "POST", target: "/v1/transfers", body: `{"amount":"10.00","to_card_number":"6222020200112233445"}`},
		{name: "amount as number", api: "transfer", method: "POST", target: "/v1/transfers", body: `{"amount":10,"to_card_number":"6222020200112233445"}`, wantField: "/amount"},
		{name: "missing field", api: "transfer", method: "POST", target: "/v1/transfers", body: `{"amount":"10.00"}`, wantField: "request body"},
		{name: "extra field", api: "transfer", method: "POST", target: "/v1/transfers", body: `{"amount":"10.00","to_card_number":"6222020200112233445","admin":true}`, wantField: "request body"},
		{name: "broken JSON", api: "transfer", method: "POST", target: "/v1/transfers", body: `{"amount":`, wantField: "JSON"},
		{name: "SQL in a patterned field", api: "transfer", method: "POST", target: "/v1/transfers", body: `{"amount":"1' OR '1'='1","to_card_number":"6222020200112233445"}`, wantField: "/amount"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			if tt.body != "" {
				r.Header.Set("Content-Type", "application/json")
			}
			ex := &stage.Exchange{API: &registry.API{ID: tt.api}, PathParams: tt.params, Body: []byte(tt.body)}
			r = r.WithContext(stage.WithExchange(context.Background(), ex))
			called := false
			err := h.ServeHTTP(httptest.NewRecorder(), r, stage.HandlerFunc(func(http.ResponseWriter, *http.Request) error {
				called = true
				return nil
			}))
			if tt.wantField == "" {
				if err != nil || !called {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var pe *problem.Error
			if called || !errors.As(err, &pe) || pe.Code != problem.RequestInvalid {
				t.Fatalf("called=%v err=%v", called, err)
			}
			if !strings.Contains(pe.Detail, tt.wantField) {
				t.Fatalf("detail %q does not name %q", pe.Detail, tt.wantField)
			}
			if strings.Contains(pe.Detail, "6222020200112233445") || strings.Contains(pe.Detail, "Schema") {
				t.Fatalf("detail echoes input or schema: %q", pe.Detail)
			}
		})
	}
}

package registry

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

const doc = `openapi: 3.0.3
info: {title: t, version: 2.1.0}
paths:
  /v1/a/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string}}
    get:
      summary: Get a
      x-bankguard: {api_id: OPC999990201010100000009, level: A2, status: active}
      responses: {"200": {description: ok}}
  /v1/b:
    get:
      summary: Old b
      x-bankguard: {api_id: OPC999990105010100000009, level: A1, status: deprecated, deprecated_at: "2026-09-01T00:00:00Z", sunset: "2027-06-30T00:00:00Z"}
      responses: {"200": {description: ok}}
`

func TestImportOpenAPI(t *testing.T) {
	apis, err := ImportOpenAPI(context.Background(), []byte(doc), "core")
	if err != nil {
		t.Fatal(err)
	}
	if len(apis) != 2 {
		t.Fatalf("%d apis", len(apis))
	}
	byID := map[string]API{}
	for _, a := range apis {
		byID[a.ID] = a
	}
	a := byID["OPC999990201010100000009"]
	if a.Level != A2 || a.Path != "/v1/a/{id}" || a.Method != "GET" || a.Version != "2.1.0" || a.Upstream != "core" {
		t.Fatalf("a = %+v", a)
	}
	var spec struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(a.Spec, &spec); err != nil || len(spec.Paths) != 1 || spec.Paths["/v1/a/{id}"]["parameters"] == nil {
		t.Fatalf("per-API document: %s", a.Spec)
	}
	if b := byID["OPC999990105010100000009"]; b.Status != APIDeprecated || b.Sunset.Year() != 2027 {
		t.Fatalf("b = %+v", b)
	}
}

func TestImportOpenAPIRefuses(t *testing.T) {
	tests := []struct{ name, from, to, want string }{
		{"no extension", "      x-bankguard: {api_id: OPC999990201010100000009, level: A2, status: active}\n", "", "no x-bankguard"},
		{"level disagrees with id", "api_id: OPC999990201010100000009, level: A2", "api_id: OPC999990201010100000009, level: A1", "disagrees"},
		{"bad id", "OPC999990201010100000009", "OPC9999902010101", "U_API_ID"},
		{"deprecated without date", `, deprecated_at: "2026-09-01T00:00:00Z"`, "", "deprecated_at"},
		{"unknown status", "status: active", "status: retired", "status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := strings.Replace(doc, tt.from, tt.to, 1)
			if d == doc {
				t.Fatal("edit matched nothing")
			}
			if _, err := ImportOpenAPI(context.Background(), []byte(d), "core"); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// boundDoc declares user-bound operations: an account read by path and a
// fund transfer whose debited account is in the body.
const boundDoc = `openapi: 3.0.3
info: {title: t, version: 1.0.0}
paths:
  /v1/accounts/{account_id}/balance:
    get:
      summary: Balance
      parameters:
        - {name: account_id, in: path, required: true, schema: {type: string}}
      x-bankguard: {api_id: OPC999990201010100000009, level: A2, scope: accounts, account_param: account_id}
      responses: {"200": {description: ok}}
  /v1/transfers:
    post:
      summary: Transfer
      x-bankguard: {api_id: OPC999990202010100000009, level: A2, scope: transfers, fund: true, account_field: /from_account_id}
      requestBody:
        content:
          application/json:
            schema: {type: object, properties: {from_account_id: {type: string}}}
      responses: {"201": {description: ok}}
  /v1/rates:
    get:
      summary: Rates
      x-bankguard: {api_id: OPC999990105010100000009, level: A1}
      responses: {"200": {description: ok}}
`

func TestImportUserBinding(t *testing.T) {
	apis, err := ImportOpenAPI(context.Background(), []byte(boundDoc), "core")
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]API{}
	for _, a := range apis {
		byPath[a.Path] = a
	}
	bal, tr, rates := byPath["/v1/accounts/{account_id}/balance"], byPath["/v1/transfers"], byPath["/v1/rates"]
	if p := bal.Protection; !bal.UserBound() || p.Scope != "accounts" || p.Fund || p.AccountParam != "account_id" || p.AccountField != "" {
		t.Errorf("balance binding = %+v", p)
	}
	if p := tr.Protection; !tr.UserBound() || p.Scope != "transfers" || !p.Fund || p.AccountParam != "" || p.AccountField != "/from_account_id" {
		t.Errorf("transfer binding = %+v", p)
	}
	if rates.UserBound() || rates.Protection.Fund {
		t.Errorf("an API without a scope is user-bound: %+v", rates.Protection)
	}
	// The binding survives the JSON a store keeps the protection in.
	b, err := json.Marshal(tr.Protection)
	if err != nil {
		t.Fatal(err)
	}
	var back Protection
	if err := json.Unmarshal(b, &back); err != nil || back.Scope != "transfers" || !back.Fund || back.AccountField != "/from_account_id" {
		t.Fatalf("stored protection %s came back as %+v (%v)", b, back, err)
	}
}

func TestImportUserBindingRefuses(t *testing.T) {
	tests := []struct{ name, from, to, want string }{
		{"fund without scope", "scope: transfers, fund: true, account_field: /from_account_id", "fund: true", "fund requires a scope"},
		{"account_param without scope", "level: A2, scope: accounts, account_param", "level: A2, account_param", "account_param requires a scope"},
		{"account_field without scope", "scope: transfers, fund: true, account_field", "account_field", "account_field requires a scope"},
		{"account_param not a parameter", "account_param: account_id", "account_param: id", "not a path parameter"},
		{"account_field not a pointer", "account_field: /from_account_id", "account_field: from_account_id", "JSON pointer"},
		{"account_field wildcard", "account_field: /from_account_id", "account_field: /legs/*/from", "no wildcards"},
		{"account_field without body", "      requestBody:\n        content:\n          application/json:\n            schema: {type: object, properties: {from_account_id: {type: string}}}\n", "", "request body"},
		{"fund on A1", "api_id: OPC999990105010100000009, level: A1}", "api_id: OPC999990105010100000009, level: A1, scope: rates, fund: true}", "must be level A2"},
		{"scope not a word", "scope: accounts", "scope: Accounts Read", "lower-case word"},
		{"unknown member", "fund: true,", "fund: true, funds: true,", "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := strings.Replace(boundDoc, tt.from, tt.to, 1)
			if d == boundDoc {
				t.Fatal("edit matched nothing")
			}
			_, err := ImportOpenAPI(context.Background(), []byte(d), "core")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestAccountParamMustBeInThePath(t *testing.T) {
	// A query parameter named like account_param is not a path parameter.
	d := strings.Replace(boundDoc, "/v1/transfers:\n", "/v1/accounts:\n    get:\n      summary: List\n      parameters:\n        - {name: account_id, in: query, schema: {type: string}}\n      x-bankguard: {api_id: OPC999990201010100000008, level: A2, scope: accounts, account_param: account_id}\n      responses: {\"200\": {description: ok}}\n  /v1/transfers:\n", 1)
	if _, err := ImportOpenAPI(context.Background(), []byte(d), "core"); err == nil || !strings.Contains(err.Error(), "not a path parameter") {
		t.Fatalf("err = %v", err)
	}
}

package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bankguard/bankguard/registry"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

func loadDocument(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPI())
	if err != nil {
		t.Fatalf("load openapi.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is not valid: %v", err)
	}
	return doc
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc := loadDocument(t)
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", doc.OpenAPI)
	}
	if doc.Info == nil || !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(doc.Info.Version) {
		t.Errorf("info.version must be the interface version, e.g. 1.0.0")
	}
	if len(doc.Servers) == 0 || doc.Servers[0].URL != "https://127.0.0.1:8443" {
		t.Errorf("servers must list https://127.0.0.1:8443")
	}
	OpenAPI()[0] = 'X' // callers get a copy
	if OpenAPI()[0] != 'o' {
		t.Error("OpenAPI returns the embedded slice itself")
	}
}

// bankguardExt is the x-bankguard extension of an operation.
type bankguardExt struct {
	registry.Protection
	APIID        string `json:"api_id"`
	Level        string `json:"level"`
	Status       string `json:"status"`
	DeprecatedAt string `json:"deprecated_at"`
	Sunset       string `json:"sunset"`
	Successor    string `json:"successor"`
	TerminatedAt string `json:"terminated_at"`
	Notice       string `json:"notice"`
}

func extensionOf(t *testing.T, op *openapi3.Operation) bankguardExt {
	t.Helper()
	raw, ok := op.Extensions["x-bankguard"]
	if !ok {
		t.Fatalf("%s has no x-bankguard", op.OperationID)
	}
	js, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	var ext bankguardExt
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ext); err != nil {
		t.Fatalf("%s x-bankguard %s: %v", op.OperationID, js, err)
	}
	return ext
}

// uAPIID is a U_API_ID of Sandbox Bank: OP, bank code C99999, level 01/02, a service category
// whose first two digits are a known type, and an eight-digit sequence (CONTRACT.md §7).
var uAPIID = regexp.MustCompile(`^OPC99999(0[12])(0[1-5]|09)[0-9]{4}[0-9]{8}$`)

func TestOpenAPIExtensions(t *testing.T) {
	doc := loadDocument(t)
	want := map[string]bankguardExt{
		"GET /v1/products":                           {APIID: "OPC999990104010100000001", Level: "A1", Status: "active"},
		"GET /v1/products/{product_id}":              {APIID: "OPC999990104010100000002", Level: "A1", Status: "active"},
		"GET /v1/accounts":                           {APIID: "OPC999990201010100000001", Level: "A2", Status: "active"},
		"GET /v1/accounts/{account_id}/balance":      {APIID: "OPC999990201010100000002", Level: "A2", Status: "active"},
		"GET /v1/accounts/{account_id}/transactions": {APIID: "OPC999990201010100000003", Level: "A2", Status: "active"},
		"POST /v1/transfers":                         {APIID: "OPC999990202010100000001", Level: "A2", Status: "active"},
		"GET /v1/holdings":                           {APIID: "OPC999990204020100000001", Level: "A2", Status: "active"},
		"GET /v1/reconciliation/{date}":              {APIID: "OPC999990202020100000001", Level: "A2", Status: "active"},
		"GET /v1/exchange-rates":                     {APIID: "OPC999990105010100000001", Level: "A1", Status: "deprecated"},
		"GET /v1/loyalty-points":                     {APIID: "OPC999990201020100000001", Level: "A2", Status: "terminated"},
	}
	seen := map[string]bool{}
	ids := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			key := method + " " + path
			seen[key] = true
			if op.OperationID == "" || op.Summary == "" || op.Description == "" {
				t.Errorf("%s: operationId, summary and description are required", key)
			}
			ext := extensionOf(t, op)
			if len(ext.APIID) != 24 || !uAPIID.MatchString(ext.APIID) {
				t.Errorf("%s: api_id %q is not a 24-character U_API_ID", key, ext.APIID)
			}
			if ids[ext.APIID] {
				t.Errorf("%s: api_id %s used twice", key, ext.APIID)
			}
			ids[ext.APIID] = true
			if lv := map[string]string{"A1": "01", "A2": "02"}[ext.Level]; lv == "" || ext.APIID[8:10] != lv {
				t.Errorf("%s: level %s does not match the level digits of %s", key, ext.Level, ext.APIID)
			}
			switch ext.Status {
			case "active":
				if ext.DeprecatedAt+ext.Sunset+ext.Successor+ext.TerminatedAt+ext.Notice != "" {
					t.Errorf("%s: lifecycle fields on an active API", key)
				}
			case "deprecated":
				if !rfc3339(ext.DeprecatedAt) || !rfc3339(ext.Sunset) || !strings.HasPrefix(ext.Successor, "https://") || !op.Deprecated {
					t.Errorf("%s: deprecated needs deprecated_at, sunset, successor and deprecated: true", key)
				}
			case "terminated":
				if !rfc3339(ext.TerminatedAt) || !strings.Contains(ext.Notice, "终止") || !strings.Contains(ext.Notice, "terminated") {
					t.Errorf("%s: terminated needs terminated_at and a bilingual notice", key)
				}
			default:
				t.Errorf("%s: status %q", key, ext.Status)
			}
			w, ok := want[key]
			if !ok {
				t.Errorf("%s: not an operation of the sandbox", key)
				continue
			}
			if ext.APIID != w.APIID || ext.Level != w.Level || ext.Status != w.Status {
				t.Errorf("%s: x-bankguard %+v, want %+v", key, ext, w)
			}
			checkProtectionPaths(t, key, op, ext.Protection)
		}
	}
	for key := range want {
		if !seen[key] {
			t.Errorf("%s missing from the document", key)
		}
	}
}

func rfc3339(s string) bool {
	_, err := time.Parse(time.RFC3339, s)
	return err == nil
}

// TestDocumentAndRouterAgree checks that every documented operation is served and every served
// operation is documented.
func TestDocumentAndRouterAgree(t *testing.T) {
	doc := loadDocument(t)
	b := newTestBank(t)
	var documented, served []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+strings.NewReplacer("{product_id}", "{}", "{account_id}", "{}", "{date}", "{}").Replace(path))
		}
	}
	for _, rt := range b.routes {
		served = append(served, rt.method+" /"+strings.Join(rt.segs, "/"))
	}
	sort.Strings(documented)
	sort.Strings(served)
	if strings.Join(documented, "\n") != strings.Join(served, "\n") {
		t.Fatalf("document and router differ:\n%v\n%v", documented, served)
	}
}

// TestResponsesMatchTheDocument sends real requests, checks that the document accepts each
// request the bank answers with 2xx, and validates every response, errors included, against
// the schema of its status.
func TestResponsesMatchTheDocument(t *testing.T) {
	doc := loadDocument(t)
	b := newTestBank(t)
	users := b.Users()
	u := users[0]
	debit, credit := u.Accounts[0].ID, u.Accounts[2].ID
	var frozen string
	for _, a := range users[2].Accounts {
		if a.Status == statusFrozen {
			frozen = a.ID
		}
	}
	var firstPage struct {
		NextPageToken string `json:"next_page_token"`
	}
	decode(t, call(t, b, "GET", "/v1/accounts/"+debit+"/transactions?page_size=5", "", ""), &firstPage)
	body := func(user, from, card, amount string) string {
		return `{"from_account_id":"` + from + `","to_card_number":"` + card + `","to_name":"李四","amount":"` + amount +
			`","memo":"测试","payment_password":"` + sealFor(t, b, user) + `"}`
	}
	wrongPassword := `{"from_account_id":"` + debit + `","to_card_number":"` + externalCard +
		`","to_name":"李四","amount":"1.00","payment_password":"` + seal(t, "000001") + `"}`

	for _, tc := range []struct {
		name, template, path, user, body string
		params                           map[string]string
		status                           int
	}{
		{"products", "/v1/products", "/v1/products?type=fund&page_size=2", "", "", nil, 200},
		{"products page 2", "/v1/products", "/v1/products?page_size=3&page_token=" + pageToken("FND003"), "", "", nil, 200},
		{"products bad size", "/v1/products", "/v1/products?page_size=0", "", "", nil, 400},
		{"product", "/v1/products/{product_id}", "/v1/products/WMP001", "", "", map[string]string{"product_id": "WMP001"}, 200},
		{"fund", "/v1/products/{product_id}", "/v1/products/FND002", "", "", map[string]string{"product_id": "FND002"}, 200},
		{"product missing", "/v1/products/{product_id}", "/v1/products/NOPE01", "", "", map[string]string{"product_id": "NOPE01"}, 404},
		{"accounts", "/v1/accounts", "/v1/accounts", "", "", nil, 200},
		{"accounts with frozen", "/v1/accounts", "/v1/accounts", users[2].ID, "", nil, 200},
		{"balance", "/v1/accounts/{account_id}/balance", "/v1/accounts/" + debit + "/balance", "", "", map[string]string{"account_id": debit}, 200},
		{"credit balance", "/v1/accounts/{account_id}/balance", "/v1/accounts/" + credit + "/balance", "", "", map[string]string{"account_id": credit}, 200},
		{"balance of another", "/v1/accounts/{account_id}/balance", "/v1/accounts/" + users[1].Accounts[0].ID + "/balance", "", "", map[string]string{"account_id": users[1].Accounts[0].ID}, 404},
		{"transactions", "/v1/accounts/{account_id}/transactions", "/v1/accounts/" + debit + "/transactions?from=2026-09-01&to=2026-11-26&page_size=100", "", "", map[string]string{"account_id": debit}, 200},
		{"transactions page 2", "/v1/accounts/{account_id}/transactions", "/v1/accounts/" + debit + "/transactions?page_size=5&page_token=" + firstPage.NextPageToken, "", "", map[string]string{"account_id": debit}, 200},
		{"credit card transactions", "/v1/accounts/{account_id}/transactions", "/v1/accounts/" + credit + "/transactions", "", "", map[string]string{"account_id": credit}, 200},
		{"transactions bad dates", "/v1/accounts/{account_id}/transactions", "/v1/accounts/" + debit + "/transactions?from=2026-11-02&to=2026-11-01", "", "", map[string]string{"account_id": debit}, 400},
		{"transfer", "/v1/transfers", "/v1/transfers", "", body("", debit, externalCard, "10.00"), nil, 201},
		{"transfer luhn", "/v1/transfers", "/v1/transfers", "", body("", debit, "6218881234567890126", "10.00"), nil, 422},
		{"transfer too much", "/v1/transfers", "/v1/transfers", "", body("", debit, externalCard, "99999999.00"), nil, 422},
		{"transfer frozen", "/v1/transfers", "/v1/transfers", users[2].ID, body(users[2].ID, frozen, externalCard, "1.00"), nil, 422},
		{"transfer wrong password", "/v1/transfers", "/v1/transfers", "", wrongPassword, nil, 422},
		{"transfer bad body", "/v1/transfers", "/v1/transfers", "", `{"amount":"x"}`, nil, 400},
		{"holdings", "/v1/holdings", "/v1/holdings", "", "", nil, 200},
		{"reconciliation", "/v1/reconciliation/{date}", "/v1/reconciliation/2026-11-25", "", "", map[string]string{"date": "2026-11-25"}, 200},
		{"reconciliation today", "/v1/reconciliation/{date}", "/v1/reconciliation/2026-11-26", "", "", map[string]string{"date": "2026-11-26"}, 200},
		{"reconciliation future", "/v1/reconciliation/{date}", "/v1/reconciliation/2027-01-01", "", "", map[string]string{"date": "2027-01-01"}, 400},
		{"exchange rates", "/v1/exchange-rates", "/v1/exchange-rates", "", "", nil, 200},
		{"loyalty points", "/v1/loyalty-points", "/v1/loyalty-points", "", "", nil, 410},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method := http.MethodGet
			if tc.body != "" {
				method = http.MethodPost
			}
			item := doc.Paths.Value(tc.template)
			if item == nil || item.GetOperation(method) == nil {
				t.Fatalf("%s %s is not in the document", method, tc.template)
			}
			route := &routers.Route{Spec: doc, Path: tc.template, PathItem: item, Method: method, Operation: item.GetOperation(method)}
			req := httptest.NewRequest(method, tc.path, strings.NewReader(tc.body))
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			input := &openapi3filter.RequestValidationInput{Request: req, PathParams: tc.params, Route: route}
			reqErr := openapi3filter.ValidateRequest(context.Background(), input)
			if tc.status < 300 && reqErr != nil {
				t.Fatalf("the document refuses a request the bank accepts: %v", reqErr)
			}

			rr := call(t, b, method, tc.path, tc.user, tc.body)
			if rr.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rr.Code, tc.status, rr.Body)
			}
			input.Request = httptest.NewRequest(method, tc.path, nil) // the body was read above
			out := &openapi3filter.ResponseValidationInput{
				RequestValidationInput: input,
				Status:                 rr.Code,
				Header:                 rr.Header(),
				Body:                   io.NopCloser(bytes.NewReader(rr.Body.Bytes())),
				Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
			}
			if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
				t.Fatalf("response does not match the document: %v\n%s", err, rr.Body)
			}
		})
	}
}

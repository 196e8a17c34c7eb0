package sandbox

import (
	"context"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/bankguard/bankguard/registry"
	"github.com/getkin/kin-openapi/openapi3"
)

// wantProtection is the data protection each operation declares in its x-bankguard block: the
// personal fields of every response masked (T/PCAC 0008-2020 3.2.5), reconciliation account
// numbers encrypted to the application, the payment password sealed, and the audit record of a
// transfer keeping its fund fields only; and the user binding of every user-bound API (5.3.2):
// the accounts, holdings and transfers scopes, the account in the path or the debited account in
// the body, and the transfer a fund API. Reconciliation stays application-level. No operation
// overrides scan_pii or audit_class.
var wantProtection = map[string]registry.Protection{
	"GET /v1/accounts": {Scope: "accounts", Mask: []registry.MaskRule{
		{Path: "/accounts/*/card_number", Kind: "card"},
		{Path: "/accounts/*/holder_name", Kind: "name"},
		{Path: "/accounts/*/holder_id_number", Kind: "id_number"},
		{Path: "/accounts/*/holder_phone", Kind: "phone"},
	}},
	"GET /v1/accounts/{account_id}/balance": {Scope: "accounts", AccountParam: "account_id"},
	"GET /v1/accounts/{account_id}/transactions": {Scope: "accounts", AccountParam: "account_id", Mask: []registry.MaskRule{
		{Path: "/transactions/*/counterparty_name", Kind: "name"},
		{Path: "/transactions/*/counterparty_account", Kind: "account"},
	}},
	"GET /v1/holdings": {Scope: "holdings"},
	"POST /v1/transfers": {
		Scope: "transfers", Fund: true, AccountField: "/from_account_id",
		AuditBody: []string{"/from_account_id", "/to_card_number", "/to_name", "/amount", "/currency"},
		Sensitive: []string{"/payment_password"},
		Mask: []registry.MaskRule{
			{Path: "/from_card_number", Kind: "card"},
			{Path: "/to_card_number", Kind: "card"},
			{Path: "/to_name", Kind: "name"},
		},
	},
	"GET /v1/reconciliation/{date}": {Encrypt: []string{"/entries/*/account_number", "/entries/*/counterparty_account"}},
}

// TestImportIntoRegistry imports the document as the gateway does and checks that every
// operation's protection came through.
func TestImportIntoRegistry(t *testing.T) {
	apis, err := registry.ImportOpenAPI(context.Background(), OpenAPI(), "sandbox")
	if err != nil {
		t.Fatalf("the registry refuses the document: %v", err)
	}
	if served := len(newTestBank(t).routes); len(apis) != served {
		t.Fatalf("imported %d APIs, the bank serves %d operations", len(apis), served)
	}
	byKey := map[string]registry.API{}
	for _, a := range apis {
		byKey[a.Method+" "+a.Path] = a
		if a.Upstream != "sandbox" || a.Version != "1.0.0" {
			t.Errorf("%s %s: upstream %q version %q", a.Method, a.Path, a.Upstream, a.Version)
		}
		want := wantProtection[a.Method+" "+a.Path]
		if !reflect.DeepEqual(a.Protection, want) {
			t.Errorf("%s %s: protection %+v, want %+v", a.Method, a.Path, a.Protection, want)
		}
		if a.Protection.ScanPII != nil || a.Protection.AuditClass != "" {
			t.Errorf("%s %s: scan_pii and audit_class are left at their defaults", a.Method, a.Path)
		}
		if a.ScansPII() != (a.Level == registry.A2) {
			t.Errorf("%s %s: level %s scans personal data: %v", a.Method, a.Path, a.Level, a.ScansPII())
		}
	}
	transfer := byKey["POST /v1/transfers"]
	if !reflect.DeepEqual(transfer.Protection.Sensitive, []string{"/payment_password"}) || transfer.Class() != registry.AuditTransaction {
		t.Errorf("transfer: sensitive %v, audit class %s", transfer.Protection.Sensitive, transfer.Class())
	}
	recon := byKey["GET /v1/reconciliation/{date}"]
	if !reflect.DeepEqual(recon.Protection.Encrypt, []string{"/entries/*/account_number", "/entries/*/counterparty_account"}) {
		t.Errorf("reconciliation: encrypt %v", recon.Protection.Encrypt)
	}
	for key := range wantProtection {
		if _, ok := byKey[key]; !ok {
			t.Errorf("%s was not imported", key)
		}
	}
}

// checkProtectionPaths checks that every field an x-bankguard block names exists: audit_body,
// sensitive and account_field in the JSON request body, mask and encrypt in the success response. A pointer
// that names nothing would silently protect nothing.
func checkProtectionPaths(t *testing.T, key string, op *openapi3.Operation, p registry.Protection) {
	t.Helper()
	var request, response *openapi3.SchemaRef
	if op.RequestBody != nil && op.RequestBody.Value != nil {
		if mt := op.RequestBody.Value.Content.Get("application/json"); mt != nil {
			request = mt.Schema
		}
	}
	for _, status := range []int{http.StatusOK, http.StatusCreated} {
		if r := op.Responses.Value(strconv.Itoa(status)); r != nil && r.Value != nil {
			if mt := r.Value.Content.Get("application/json"); mt != nil {
				response = mt.Schema
			}
		}
	}
	check := func(what string, root *openapi3.SchemaRef, paths []string) {
		for _, path := range paths {
			if !schemaHas(root, path) {
				t.Errorf("%s: %s field %s is not in the schema", key, what, path)
			}
		}
	}
	check("audit_body", request, p.AuditBody)
	check("sensitive", request, p.Sensitive)
	if p.AccountField != "" {
		check("account_field", request, []string{p.AccountField})
	}
	check("encrypt", response, p.Encrypt)
	for _, r := range p.Mask {
		check("mask", response, []string{r.Path})
	}
}

// schemaHas reports whether the JSON pointer pattern names a property of the schema; "*" steps
// into the items of an array.
func schemaHas(s *openapi3.SchemaRef, pointer string) bool {
	for _, seg := range strings.Split(pointer, "/")[1:] {
		if s == nil || s.Value == nil {
			return false
		}
		if seg == "*" {
			if !s.Value.Type.Is("array") {
				return false
			}
			s = s.Value.Items
			continue
		}
		s = s.Value.Properties[seg]
	}
	return s != nil
}

package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// Extension is the OpenAPI operation extension that makes an operation a
// published API:
//
//	x-bankguard:
//	  api_id: OPC999990201010100000001   # U_API_ID
//	  level: A2                          # A1 | A2
//	  status: active                     # active | deprecated | terminated
//	  deprecated_at: 2026-09-01T00:00:00Z
//	  sunset: 2027-06-30T00:00:00Z
//	  successor: https://…               # documentation of the replacement
//	  terminated_at: 2026-06-30T00:00:00Z
//	  notice: "…"                        # what callers of a terminated API are told
//	  audit_class: transaction           # transaction | interface (default: by level)
//	  audit_body: [/amount, /currency]   # request fields kept, masked, in the audit record
//	  mask: [{path: /accounts/*/card_number, kind: card}]
//	  scan_pii: true                     # default: true for A2
//	  encrypt: [/entries/*/account_number]   # response fields encrypted to the app
//	  sensitive: [/payment_password]     # request fields that must arrive encrypted
//	  scope: transfers                   # consent scope: the API is user-bound (empty: app-level)
//	  fund: true                         # fund transaction: two-factor tokens only
//	  account_param: account_id          # path parameter holding an account id
//	  account_field: /from_account_id    # request body member holding the debited account
const Extension = "x-bankguard"

type extension struct {
	Protection
	APIID        string    `json:"api_id"`
	Level        Level     `json:"level"`
	Status       APIStatus `json:"status"`
	DeprecatedAt time.Time `json:"deprecated_at"`
	Sunset       time.Time `json:"sunset"`
	Successor    string    `json:"successor"`
	TerminatedAt time.Time `json:"terminated_at"`
	Notice       string    `json:"notice"`
}

// ImportOpenAPI reads an OpenAPI 3 document and returns one API per
// operation, each with its own single-operation document. Every operation
// must carry an x-bankguard block whose level agrees with its U_API_ID.
func ImportOpenAPI(ctx context.Context, data []byte, upstream string) ([]API, error) {
	loader := openapi3.NewLoader()
	loader.Context = ctx
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	version := ""
	if doc.Info != nil {
		version = doc.Info.Version
	}
	var apis []API
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		for method, op := range item.Operations() {
			api, err := operationAPI(doc, path, item, method, op)
			if err != nil {
				return nil, fmt.Errorf("openapi: %s %s: %w", method, path, err)
			}
			api.Version, api.Upstream = version, upstream
			apis = append(apis, api)
		}
	}
	return apis, nil
}

func operationAPI(doc *openapi3.T, path string, item *openapi3.PathItem, method string, op *openapi3.Operation) (API, error) {
	raw, ok := op.Extensions[Extension]
	if !ok {
		return API{}, fmt.Errorf("no %s block", Extension)
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return API{}, err
	}
	var ext extension
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ext); err != nil {
		return API{}, fmt.Errorf("%s: %w", Extension, err)
	}
	if err := ext.Protection.validate(); err != nil {
		return API{}, fmt.Errorf("%s: %w", Extension, err)
	}
	id, err := ParseAPIID(ext.APIID)
	if err != nil {
		return API{}, err
	}
	if id.Level != ext.Level {
		return API{}, fmt.Errorf("%s: level %s disagrees with U_API_ID %s", Extension, ext.Level, ext.APIID)
	}
	if err := checkUserBinding(&ext.Protection, ext.Level, path, item, op); err != nil {
		return API{}, fmt.Errorf("%s: %w", Extension, err)
	}
	if ext.Status == "" {
		ext.Status = APIActive
	}
	switch {
	case !ext.Status.Valid():
		return API{}, fmt.Errorf("%s: status %q is not active, deprecated or terminated", Extension, ext.Status)
	case ext.Status == APIDeprecated && ext.DeprecatedAt.IsZero():
		return API{}, fmt.Errorf("%s: a deprecated API needs deprecated_at", Extension)
	case ext.Status == APITerminated && ext.TerminatedAt.IsZero() && ext.Notice == "":
		return API{}, fmt.Errorf("%s: a terminated API needs terminated_at or a notice", Extension)
	}
	spec, err := singleOperation(doc, path, item, method, op)
	if err != nil {
		return API{}, err
	}
	return API{
		ID: ext.APIID, Name: op.Summary, Method: method, Path: path,
		Level: ext.Level, Status: ext.Status, Spec: spec,
		DeprecatedAt: ext.DeprecatedAt, Sunset: ext.Sunset, Successor: ext.Successor,
		TerminatedAt: ext.TerminatedAt, Notice: ext.Notice, Protection: ext.Protection,
	}, nil
}

// singleOperation returns doc reduced to one operation, as JSON.
func singleOperation(doc *openapi3.T, path string, item *openapi3.PathItem, method string, op *openapi3.Operation) ([]byte, error) {
	one := &openapi3.PathItem{Parameters: item.Parameters, Summary: item.Summary, Description: item.Description}
	one.SetOperation(method, op)
	d := *doc
	d.Paths = openapi3.NewPaths(openapi3.WithPath(path, one))
	return json.Marshal(&d)
}

var (
	maskKinds   = []string{"", "card", "account", "id_number", "phone", "name", "email"}
	maskActions = []string{"", "mask", "pseudonym", "drop", "keep"}
)

func (p *Protection) validate() error {
	if p.AuditClass != "" && p.AuditClass != AuditTransaction && p.AuditClass != AuditInterface {
		return fmt.Errorf("audit_class %q is not transaction or interface", p.AuditClass)
	}
	for _, r := range p.Mask {
		if !slices.Contains(maskKinds, r.Kind) || !slices.Contains(maskActions, r.Action) {
			return fmt.Errorf("mask rule %s: unknown kind %q or action %q", r.Path, r.Kind, r.Action)
		}
	}
	for _, path := range p.AuditBody {
		if slices.Contains(p.Sensitive, path) {
			return fmt.Errorf("audit_body lists %s, a sensitive field: sensitive inputs never reach the audit log", path)
		}
	}
	if err := p.validateUserBinding(); err != nil {
		return err
	}
	for _, list := range [][]string{p.AuditBody, p.Encrypt, p.Sensitive, maskPaths(p.Mask)} {
		for _, path := range list {
			if !strings.HasPrefix(path, "/") {
				return fmt.Errorf("field path %q must be a JSON pointer starting with /", path)
			}
		}
	}
	return nil
}

func maskPaths(rules []MaskRule) []string {
	out := make([]string, len(rules))
	for i, r := range rules {
		out[i] = r.Path
	}
	return out
}

// scopeName is the form of a consent scope: a lower-case word, as the
// consent page and the tokens name it.
var scopeName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// validateUserBinding checks the user binding on its own: a well-formed
// scope, and no fund flag or account reference without one (a binding
// without a scope would silently bind nothing).
func (p *Protection) validateUserBinding() error {
	switch {
	case p.Scope != "" && !scopeName.MatchString(p.Scope):
		return fmt.Errorf("scope %q must be a lower-case word of letters, digits and _ (at most 32)", p.Scope)
	case p.Scope == "" && p.Fund:
		return errors.New("fund requires a scope: a fund transaction is always user-bound")
	case p.Scope == "" && p.AccountParam != "":
		return errors.New("account_param requires a scope")
	case p.Scope == "" && p.AccountField != "":
		return errors.New("account_field requires a scope")
	case p.AccountField == "":
		return nil
	case !strings.HasPrefix(p.AccountField, "/"):
		return fmt.Errorf("account_field %q must be a JSON pointer starting with /", p.AccountField)
	}
	for _, seg := range strings.Split(p.AccountField, "/")[1:] {
		if seg == "*" || seg == "**" {
			return fmt.Errorf("account_field %q must name one member: no wildcards", p.AccountField)
		}
	}
	return nil
}

// checkUserBinding checks the user binding against the operation: a fund
// API is A2 (fund services are A2, JR/T 0185-2020), account_param is one of
// the operation's path parameters, and account_field is read from a JSON
// request body.
func checkUserBinding(p *Protection, level Level, path string, item *openapi3.PathItem, op *openapi3.Operation) error {
	if p.Fund && level != A2 {
		return fmt.Errorf("a fund API must be level A2, not %s", level)
	}
	if p.AccountParam != "" {
		if !strings.Contains(path, "{"+p.AccountParam+"}") || !hasPathParameter(p.AccountParam, op.Parameters, item.Parameters) {
			return fmt.Errorf("account_param %q is not a path parameter of the operation", p.AccountParam)
		}
	}
	if p.AccountField != "" {
		if op.RequestBody == nil || op.RequestBody.Value == nil || op.RequestBody.Value.Content.Get("application/json") == nil {
			return fmt.Errorf("account_field %s needs an application/json request body", p.AccountField)
		}
	}
	return nil
}

// hasPathParameter reports whether one of the parameter lists declares name
// in the path.
func hasPathParameter(name string, lists ...openapi3.Parameters) bool {
	for _, list := range lists {
		for _, ref := range list {
			if ref != nil && ref.Value != nil && ref.Value.In == openapi3.ParameterInPath && ref.Value.Name == name {
				return true
			}
		}
	}
	return false
}

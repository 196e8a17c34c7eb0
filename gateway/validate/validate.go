// Package validate checks requests against each API's OpenAPI 3 document
// before they reach the backend: path and query parameters, and JSON bodies.
// Parameter validation: T/PCAC 0008-2020 3.2.3.
package validate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/problem"
	"github.com/bankguard/bankguard/registry"
)

// Operation is an API's compiled OpenAPI operation.
type Operation struct {
	route       *routers.Route
	queryParams map[string]bool
	mediaTypes  []string
}

// MediaTypes lists the request body media types the operation accepts; empty
// when it takes no body.
func (op *Operation) MediaTypes() []string { return op.mediaTypes }

// Compile loads an API's OpenAPI document and finds its operation.
func Compile(ctx context.Context, api *registry.API) (*Operation, error) {
	loader := openapi3.NewLoader()
	loader.Context = ctx
	doc, err := loader.LoadFromData(api.Spec)
	if err != nil {
		return nil, fmt.Errorf("api %s: openapi document: %w", api.ID, err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("api %s: openapi document: %w", api.ID, err)
	}
	item := doc.Paths.Find(api.Path)
	if item == nil {
		return nil, fmt.Errorf("api %s: openapi document has no path %s", api.ID, api.Path)
	}
	op := item.GetOperation(api.Method)
	if op == nil {
		return nil, fmt.Errorf("api %s: openapi document has no %s %s", api.ID, api.Method, api.Path)
	}
	c := &Operation{
		route:       &routers.Route{Spec: doc, Path: api.Path, PathItem: item, Method: api.Method, Operation: op},
		queryParams: map[string]bool{},
	}
	for _, params := range []openapi3.Parameters{item.Parameters, op.Parameters} {
		for _, p := range params {
			if p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
				c.queryParams[p.Value.Name] = true
			}
		}
	}
	if op.RequestBody != nil && op.RequestBody.Value != nil {
		for mt := range op.RequestBody.Value.Content {
			c.mediaTypes = append(c.mediaTypes, mt)
		}
		slices.Sort(c.mediaTypes)
	}
	return c, nil
}

// Handler is the validation stage.
type Handler struct {
	// Operations maps U_API_ID to the compiled operation.
	Operations map[string]*Operation
}

var options = &openapi3filter.Options{
	AuthenticationFunc:                openapi3filter.NoopAuthenticationFunc,
	SkipSettingDefaults:               true, // the request is signed: never rewrite it
	RejectWhenRequestBodyNotSpecified: true,
}

// ServeHTTP validates the request; an invalid one gets 400 request_invalid
// naming the field.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next stage.Handler) error {
	ex := stage.FromContext(r.Context())
	if ex.API == nil {
		return next.ServeHTTP(w, r)
	}
	op := h.Operations[ex.API.ID]
	if op == nil {
		return problem.Wrap(fmt.Errorf("api %s has no compiled operation", ex.API.ID), problem.Internal, "the request could not be processed")
	}
	query := r.URL.Query()
	for name := range query {
		if !op.queryParams[name] {
			return problem.Newf(problem.RequestInvalid, "query parameter %q is not defined for this API", printable(name))
		}
	}
	err := openapi3filter.ValidateRequest(r.Context(), &openapi3filter.RequestValidationInput{
		Request:     r,
		PathParams:  ex.PathParams,
		QueryParams: query,
		Route:       op.route,
		Options:     options,
	})
	if len(ex.Body) > 0 {
		r.Body = io.NopCloser(bytes.NewReader(ex.Body)) // validation consumed it
	}
	if err != nil {
		return problem.Wrap(err, problem.RequestInvalid, describe(err))
	}
	return next.ServeHTTP(w, r)
}

// describe turns a validation error into a client-safe sentence naming the
// field and the rule, never echoing the value or the schema.
func describe(err error) string {
	var re *openapi3filter.RequestError
	if !errors.As(err, &re) {
		return "the request does not match the API definition"
	}
	var field string
	switch {
	case re.Parameter != nil:
		field = fmt.Sprintf("%s parameter %q", re.Parameter.In, re.Parameter.Name)
	case re.RequestBody != nil:
		field = "request body"
	default:
		return "the request does not match the API definition"
	}
	var pe *openapi3filter.ParseError
	if errors.As(err, &pe) {
		if re.RequestBody != nil {
			return "request body is not valid JSON"
		}
		return field + " cannot be parsed"
	}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		if ptr := se.JSONPointer(); len(ptr) > 0 && re.RequestBody != nil {
			field = fmt.Sprintf("request body field %q", "/"+strings.Join(ptr, "/"))
		}
		if se.Reason != "" {
			return field + ": " + se.Reason
		}
		return field + " does not match the API definition"
	}
	if re.Reason != "" && re.Err == nil {
		return field + ": " + re.Reason
	}
	return field + " is invalid"
}

// printable shortens and cleans a client-supplied name before echoing it.
func printable(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

var _ stage.Middleware = (*Handler)(nil)

// Package route finds the API a request is for. Unknown paths get 404 and
// known paths with another method 405 with Allow, as problem+json.
package route

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/problem"
	"github.com/bankguard/bankguard/registry"
)

// Table matches method and path to an API.
type Table struct {
	routes []entry
}

type entry struct {
	api      *registry.API
	segments []segment
	static   int // number of literal segments, for precedence
}

type segment struct {
	literal string
	param   string // non-empty for {name}
}

// NewTable builds a table. Two APIs with the same method and an equivalent
// path template are an error.
func NewTable(apis []*registry.API) (*Table, error) {
	t := &Table{}
	seen := map[string]string{}
	for _, api := range apis {
		segs, err := parseTemplate(api.Path)
		if err != nil {
			return nil, fmt.Errorf("api %s: %w", api.ID, err)
		}
		e := entry{api: api, segments: segs}
		var shape strings.Builder
		shape.WriteString(api.Method)
		for _, s := range segs {
			if s.param == "" {
				e.static++
				shape.WriteString("/" + s.literal)
			} else {
				shape.WriteString("/{}")
			}
		}
		if other, dup := seen[shape.String()]; dup {
			return nil, fmt.Errorf("apis %s and %s have the same method and path", other, api.ID)
		}
		seen[shape.String()] = api.ID
		t.routes = append(t.routes, e)
	}
	// Most literal segments first, so /v1/products/search beats /v1/products/{id}.
	slices.SortStableFunc(t.routes, func(a, b entry) int { return b.static - a.static })
	return t, nil
}

func parseTemplate(p string) ([]segment, error) {
	if !strings.HasPrefix(p, "/") {
		return nil, fmt.Errorf("path %q must start with /", p)
	}
	var segs []segment
	for _, s := range strings.Split(p[1:], "/") {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") && len(s) > 2 {
			segs = append(segs, segment{param: s[1 : len(s)-1]})
			continue
		}
		if s == "" || strings.ContainsAny(s, "{}") {
			return nil, fmt.Errorf("path %q: bad segment %q", p, s)
		}
		segs = append(segs, segment{literal: s})
	}
	return segs, nil
}

// Match returns the API for method and escaped path, with its path
// parameters; allow lists the methods of the path when none matched.
func (t *Table) Match(method, escapedPath string) (api *registry.API, params map[string]string, allow []string) {
	if !strings.HasPrefix(escapedPath, "/") {
		return nil, nil, nil
	}
	parts := strings.Split(escapedPath[1:], "/")
	for i := range t.routes {
		e := &t.routes[i]
		p, ok := e.match(parts)
		if !ok {
			continue
		}
		if e.api.Method == method {
			return e.api, p, nil
		}
		if !slices.Contains(allow, e.api.Method) {
			allow = append(allow, e.api.Method)
		}
	}
	slices.Sort(allow)
	return nil, nil, allow
}

func (e *entry) match(parts []string) (map[string]string, bool) {
	if len(parts) != len(e.segments) {
		return nil, false
	}
	var params map[string]string
	for i, s := range e.segments {
		if s.param == "" {
			if parts[i] != s.literal {
				return nil, false
			}
			continue
		}
		v, err := url.PathUnescape(parts[i])
		// Empty, dot segments and encoded slashes could change the path the
		// backend sees: no API takes them as a value.
		if err != nil || v == "" || v == "." || v == ".." || strings.ContainsAny(v, "/\\") {
			return nil, false
		}
		if params == nil {
			params = make(map[string]string, 2)
		}
		params[s.param] = v
	}
	return params, true
}

// Handler is the routing stage.
type Handler struct {
	Table *Table
}

// ServeHTTP sets the exchange's API or refuses the request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next stage.Handler) error {
	api, params, allow := h.Table.Match(r.Method, r.URL.EscapedPath())
	if api == nil {
		if len(allow) > 0 {
			return problem.Newf(problem.MethodNotAllowed, "this path accepts %s", strings.Join(allow, ", ")).
				WithHeader("Allow", strings.Join(allow, ", "))
		}
		return problem.New(problem.NotFound, "no API is published at this path")
	}
	ex := stage.FromContext(r.Context())
	ex.API, ex.PathParams = api, params
	return next.ServeHTTP(w, r)
}

var _ stage.Middleware = (*Handler)(nil)

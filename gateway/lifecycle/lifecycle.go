// Package lifecycle tells callers where an API is in its life: a deprecated
// API answers normally with Deprecation (RFC 9745) and Sunset (RFC 8594)
// headers; a terminated API answers 410 service_terminated with its notice,
// never a bare 404 (T/PCAC 0008-2020 6.3, 7).
package lifecycle

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/problem"
	"github.com/bankguard/bankguard/registry"
)

// Handler is the lifecycle stage.
type Handler struct{}

// ServeHTTP refuses terminated APIs and marks deprecated ones.
func (Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next stage.Handler) error {
	api := stage.FromContext(r.Context()).API
	if api == nil {
		return next.ServeHTTP(w, r)
	}
	switch api.Status {
	case registry.APITerminated:
		return problem.New(problem.ServiceTerminated, Notice(api))
	case registry.APIDeprecated:
		h := w.Header()
		h.Set("Deprecation", "@"+strconv.FormatInt(api.DeprecatedAt.Unix(), 10))
		if !api.Sunset.IsZero() {
			h.Set("Sunset", api.Sunset.UTC().Format(http.TimeFormat))
		}
		if api.Successor != "" {
			h.Add("Link", "<"+api.Successor+`>; rel="deprecation"; type="text/html"`)
		}
	}
	return next.ServeHTTP(w, r)
}

// Notice is what a caller of a terminated API is told.
func Notice(api *registry.API) string {
	if api.Notice != "" {
		return api.Notice
	}
	if !api.TerminatedAt.IsZero() {
		return fmt.Sprintf("the service %s (%s) was terminated on %s", api.Name, api.ID, api.TerminatedAt.UTC().Format(time.DateOnly))
	}
	return fmt.Sprintf("the service %s (%s) has been terminated", api.Name, api.ID)
}

var _ stage.Middleware = Handler{}

// Package mask masks personal financial information in API responses before
// they reach the application: card and account numbers, names, resident ID
// numbers, phone numbers and e-mail, by the API's rules and, for A2 APIs, by
// the detectors in every other field (T/PCAC 0008-2020 3.2.5).
package mask

import (
	"errors"
	"net/http"

	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/pii"
	"github.com/bankguard/bankguard/problem"
	"github.com/bankguard/bankguard/registry"
)

// Policy compiles an API's masking policy: its rules, with the fields it
// encrypts kept as they are (they are encrypted, not masked, next), and the
// detectors on unlisted fields if the API scans.
func Policy(api *registry.API) (*pii.Compiled, error) {
	p := &pii.Policy{Scan: api.ScansPII()}
	for _, path := range api.Protection.Encrypt {
		p.Rules = append(p.Rules, pii.Rule{Path: path, Action: pii.ActionKeep})
	}
	for _, r := range api.Protection.Mask {
		p.Rules = append(p.Rules, pii.Rule{Path: r.Path, Kind: pii.Kind(r.Kind), Action: pii.Action(r.Action)})
	}
	if !p.Scan && len(api.Protection.Mask) == 0 {
		return nil, p.Validate() // nothing to mask
	}
	return p.Compile()
}

// AuditPolicy compiles the selection of an API's audit body: the
// allow-listed request fields kept, every other field dropped.
func AuditPolicy(api *registry.API) (*pii.Compiled, error) {
	if len(api.Protection.AuditBody) == 0 {
		return nil, nil
	}
	p := &pii.Policy{}
	for _, path := range api.Protection.AuditBody {
		p.Rules = append(p.Rules, pii.Rule{Path: path, Action: pii.ActionKeep})
	}
	p.Rules = append(p.Rules, pii.Rule{Path: "/**", Action: pii.ActionDrop})
	return p.Compile()
}

// AuditBody is what the audit record keeps of a request body: the fields
// selected by sel (from AuditPolicy), masked. Nothing else of the body is kept.
func AuditBody(e *pii.Engine, body []byte, sel *pii.Compiled) ([]byte, error) {
	kept, _, err := e.MaskJSONCompiled(body, sel)
	if err != nil {
		return nil, err
	}
	// A nil policy scans everything: whatever the detectors and field-name hints recognize.
	out, _, err := e.MaskJSONCompiled(kept, nil)
	return out, err
}

// Handler is the masking stage.
type Handler struct {
	Engine *pii.Engine
	// Policies are the compiled policies by U_API_ID; an API without one is
	// not masked.
	Policies map[string]*pii.Compiled
	MaxBody  int
}

// ServeHTTP masks the successful JSON response of an API with a policy.
// A response that cannot be masked is not sent: it fails closed.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next stage.Handler) error {
	ex := stage.FromContext(r.Context())
	var p *pii.Compiled
	if ex.API != nil {
		p = h.Policies[ex.API.ID]
	}
	if p == nil {
		return next.ServeHTTP(w, r)
	}
	buf := stage.NewResponseBuffer(w, h.MaxBody)
	if err := next.ServeHTTP(buf, r); err != nil {
		return err
	}
	if buf.Overflow {
		return problem.Wrap(stage.ErrResponseTooLarge, problem.UpstreamUnavailable, "the bank's response could not be delivered")
	}
	switch {
	case buf.IsJSON():
		out, _, err := h.Engine.MaskJSONCompiled(buf.Body.Bytes(), p)
		if err != nil {
			return problem.Wrap(err, problem.UpstreamUnavailable, "the bank's response could not be delivered")
		}
		buf.SetBody(out)
	case buf.Body.Len() > 0:
		return problem.Wrap(errors.New("a response to mask is not JSON"), problem.UpstreamUnavailable, "the bank's response could not be delivered")
	}
	return buf.Send(w)
}

var _ stage.Middleware = (*Handler)(nil)

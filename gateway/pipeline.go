package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/bankguard/bankguard/gateway/blacklist"
	"github.com/bankguard/bankguard/gateway/body"
	"github.com/bankguard/bankguard/gateway/fieldenc"
	"github.com/bankguard/bankguard/gateway/lifecycle"
	"github.com/bankguard/bankguard/gateway/mask"
	"github.com/bankguard/bankguard/gateway/respsign"
	"github.com/bankguard/bankguard/gateway/route"
	"github.com/bankguard/bankguard/gateway/signature"
	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/gateway/usertoken"
	"github.com/bankguard/bankguard/gateway/validate"
	"github.com/bankguard/bankguard/oauth"
	"github.com/bankguard/bankguard/pii"
	"github.com/bankguard/bankguard/problem"
)

// pipeline orders the stages. A request passes them top to bottom:
//
//	route      method + path → API                     404, 405
//	respsign   A2: sign the response, errors included
//	blacklist  blocked source address                  403
//	lifecycle  terminated → 410; deprecated → headers
//	body       read once, bounded; media type          413, 415
//	signature  RFC 9421 + RFC 9530, level, replay      401, 403
//	blacklist  blocked app                             403
//	ratelimit  pauses, throttles, rate, concurrency    429
//	waf        injections (Coraza + OWASP CRS)         403
//	validate   OpenAPI parameters and body             400
//	usertoken  user-bound APIs: token, consent, account 401, 403
//	inputs     sensitive fields sealed to the bank     400
//	outputs    encrypt clearing data to the app        403
//	mask       personal data in the response masked
//	risk       fund APIs: amount, totals, velocity, payee 202, 403
//	final      built-in API or proxy to the backend    502, 503, 504
func (g *Gateway) pipeline(ctx context.Context, s *snapshot) (stage.Handler, error) {
	table, err := route.NewTable(s.apis)
	if err != nil {
		return nil, err
	}
	ops := map[string]*validate.Operation{}
	masks := map[string]*pii.Compiled{}
	s.auditBodies = map[string]*pii.Compiled{}
	for _, api := range s.apis {
		op, err := validate.Compile(ctx, api)
		if err != nil {
			return nil, err
		}
		ops[api.ID] = op
		if masks[api.ID], err = mask.Policy(api); err != nil {
			return nil, fmt.Errorf("api %s: %w", api.ID, err)
		}
		if s.auditBodies[api.ID], err = mask.AuditPolicy(api); err != nil {
			return nil, fmt.Errorf("api %s: %w", api.ID, err)
		}
		if !strings.HasPrefix(api.Upstream, builtinPrefix) && !g.proxy.Has(api.Upstream) {
			return nil, fmt.Errorf("api %s: upstream %q is not configured", api.ID, api.Upstream)
		}
	}
	mediaTypes := func(apiID string) []string {
		if op := ops[apiID]; op != nil {
			return op.MediaTypes()
		}
		return nil
	}
	bl := g.opts.Blacklist
	stages := []stage.Middleware{
		&route.Handler{Table: table},
		&respsign.Handler{Keys: g.opts.BankKeys, Now: g.opts.Now},
		optional(bl != nil, func() stage.Middleware { return bl.IP }),
		lifecycle.Handler{},
		&body.Handler{Limit: g.opts.MaxBodyBytes, MediaTypes: mediaTypes},
		&signature.Handler{Config: g.opts.Signature, Keys: s.keys, Nonces: g.opts.Nonces, Now: g.opts.Now},
		optional(bl != nil, func() stage.Middleware { return bl.App }),
		optional(g.opts.RateLimit != nil, func() stage.Middleware { return g.opts.RateLimit }),
		optional(g.opts.WAF != nil && g.opts.WAF.Enabled(), func() stage.Middleware { return g.opts.WAF }),
		&validate.Handler{Operations: ops},
		&usertoken.Handler{Introspector: g.introspector(), Now: g.opts.Now},
		&fieldenc.Inputs{KnownKey: g.knownEncryptionKey},
		&fieldenc.Outputs{Keys: s.recipient, MaxBody: respsign.DefaultMaxBody},
		optional(g.opts.PII != nil, func() stage.Middleware {
			return &mask.Handler{Engine: g.opts.PII, Policies: masks, MaxBody: respsign.DefaultMaxBody}
		}),
		// Last: it sees the backend's own status, so its daily totals count
		// exactly the transfers that were made.
		optional(g.opts.Risk != nil, func() stage.Middleware { return g.opts.Risk }),
	}
	return stage.Chain(stage.HandlerFunc(g.final), slices.DeleteFunc(stages, func(m stage.Middleware) bool { return m == nil })...), nil
}

// optional is the stage made by mk when the control is configured, else nil
// (left out of the chain).
func optional(on bool, mk func() stage.Middleware) stage.Middleware {
	if !on {
		return nil
	}
	return mk()
}

const builtinPrefix = "builtin:"

// final serves the API: the gateway's own, or the backend's through the proxy.
func (g *Gateway) final(w http.ResponseWriter, r *http.Request) error {
	api := stage.FromContext(r.Context()).API
	if api == nil {
		return problem.Wrap(errors.New("no api matched"), problem.Internal, "the request could not be processed")
	}
	switch api.Upstream {
	case BuiltinPing:
		return g.ping(w, r)
	case BuiltinOAuth:
		return g.oauth(w, r)
	}
	return g.proxy.ServeHTTP(w, r, api.Upstream)
}

// recipient returns an app's encryption key.
func (s *snapshot) recipient(appID string) (fieldenc.RecipientKey, bool) {
	k, ok := s.recipients[appID]
	return k, ok
}

// introspector is the configured one, or one that refuses every token: a
// gateway without an authorization server serves no user-bound call. A token
// presented by an app it was not issued to also blocks that app when the
// blacklist's detector is on (impersonation, T/PCAC 0008-2020 6.1.2-3).
func (g *Gateway) introspector() oauth.Introspector {
	var in oauth.Introspector = noAuthorization{}
	if g.opts.Introspector != nil {
		in = g.opts.Introspector
	}
	if bl := g.opts.Blacklist; bl != nil && bl.Detector != nil {
		return blockingIntrospector{in, bl.Detector}
	}
	return in
}

type blockingIntrospector struct {
	oauth.Introspector
	d *blacklist.Detector
}

func (b blockingIntrospector) Alert(ctx context.Context, kind, appID, detail string) {
	b.Introspector.Alert(ctx, kind, appID, detail)
	if kind == usertoken.AlertOtherApp {
		b.d.ObserveImpersonation(ctx, appID, netip.Addr{})
	}
}

type noAuthorization struct{}

func (noAuthorization) Introspect(context.Context, string) (*oauth.Grant, error) {
	return nil, oauth.ErrTokenInvalid
}
func (noAuthorization) ConsumeOnce(context.Context, string) error     { return oauth.ErrConsentUsed }
func (noAuthorization) Alert(context.Context, string, string, string) {}

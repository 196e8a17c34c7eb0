package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

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
//	lifecycle  terminated → 410; deprecated → headers
//	body       read once, bounded; media type          413, 415
//	signature  RFC 9421 + RFC 9530, level, replay      401, 403
//	validate   OpenAPI parameters and body             400
//	usertoken  user-bound APIs: token, consent, account 401, 403
//	inputs     sensitive fields sealed to the bank     400
//	outputs    encrypt clearing data to the app        403
//	mask       personal data in the response masked
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
	stages := []stage.Middleware{
		&route.Handler{Table: table},
		&respsign.Handler{Keys: g.opts.BankKeys, Now: g.opts.Now},
		lifecycle.Handler{},
		&body.Handler{Limit: g.opts.MaxBodyBytes, MediaTypes: mediaTypes},
		&signature.Handler{Config: g.opts.Signature, Keys: s.keys, Nonces: g.opts.Nonces, Now: g.opts.Now},
		&validate.Handler{Operations: ops},
		&usertoken.Handler{Introspector: g.introspector(), Now: g.opts.Now},
		&fieldenc.Inputs{KnownKey: g.knownEncryptionKey},
		&fieldenc.Outputs{Keys: s.recipient, MaxBody: respsign.DefaultMaxBody},
	}
	if g.opts.PII != nil {
		stages = append(stages, &mask.Handler{Engine: g.opts.PII, Policies: masks, MaxBody: respsign.DefaultMaxBody})
	}
	return stage.Chain(stage.HandlerFunc(g.final), stages...), nil
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
// gateway without an authorization server serves no user-bound call.
func (g *Gateway) introspector() oauth.Introspector {
	if g.opts.Introspector != nil {
		return g.opts.Introspector
	}
	return noAuthorization{}
}

type noAuthorization struct{}

func (noAuthorization) Introspect(context.Context, string) (*oauth.Grant, error) {
	return nil, oauth.ErrTokenInvalid
}
func (noAuthorization) ConsumeOnce(context.Context, string) error     { return oauth.ErrConsentUsed }
func (noAuthorization) Alert(context.Context, string, string, string) {}

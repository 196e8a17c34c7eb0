package gateway

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"

	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/problem"
	"github.com/bankguard/bankguard/registry"
)

// BuiltinOAuth is the upstream name of the authorization server's token,
// revocation and introspection endpoints.
const BuiltinOAuth = "builtin:oauth"

//go:embed oauth.openapi.json
var oauthSpec []byte

// OAuthEndpoints are the authorization server's endpoints that applications
// call (oauth.Server). The gateway authenticates the caller by its request
// signature before they run, so they receive a verified App_ID and the
// thumbprint of the TLS client certificate the app presented.
type OAuthEndpoints interface {
	Token(ctx context.Context, appID, certThumbprint string, form url.Values) (status int, body []byte)
	Revoke(ctx context.Context, appID string, form url.Values) (status int, body []byte)
	IntrospectHTTP(ctx context.Context, appID string, form url.Values) (status int, body []byte)
}

// OAuthAPIs are the token (RFC 6749), revocation (RFC 7009) and
// introspection (RFC 7662) endpoints as signed A1 APIs: any registered app
// may call them, and the pipeline gives them replay protection and audit
// records like every other API (T/PCAC 0008-2020 5.2.1).
func OAuthAPIs(bankCode string) []registry.API {
	api := func(seq, path, name string) registry.API {
		return registry.API{
			ID:       registry.APIID{BankCode: bankCode, Level: registry.A1, Category: "090002", Sequence: seq}.String(),
			Name:     name,
			Method:   http.MethodPost,
			Path:     path,
			Level:    registry.A1,
			Status:   registry.APIActive,
			Version:  "1.0.0",
			Upstream: BuiltinOAuth,
			Spec:     oauthSpec,
		}
	}
	return []registry.API{
		api("00000001", "/oauth/token", "Token endpoint"),
		api("00000002", "/oauth/revoke", "Token revocation"),
		api("00000003", "/oauth/introspect", "Token introspection"),
	}
}

// errNoOAuth answers when the node runs without an authorization server.
var errNoOAuth = problem.New(problem.NotFound, "this gateway has no authorization server")

func (g *Gateway) oauth(w http.ResponseWriter, r *http.Request) error {
	ex := stage.FromContext(r.Context())
	if g.opts.OAuth == nil {
		return errNoOAuth
	}
	if ex.App == nil {
		return problem.Wrap(errors.New("oauth endpoint without a verified app"), problem.Internal, "the request could not be processed")
	}
	form, err := url.ParseQuery(string(ex.Body))
	if err != nil {
		return problem.New(problem.RequestInvalid, "the request body is not a valid form")
	}
	var status int
	var body []byte
	switch ex.API.Path {
	case "/oauth/token":
		status, body = g.opts.OAuth.Token(r.Context(), ex.App.ID, peerThumbprint(r), form)
	case "/oauth/revoke":
		status, body = g.opts.OAuth.Revoke(r.Context(), ex.App.ID, form)
	default:
		status, body = g.opts.OAuth.IntrospectHTTP(r.Context(), ex.App.ID, form)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store") // RFC 6749 §5.1
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_, err = w.Write(body)
	return err
}

// peerThumbprint is the SHA-256 thumbprint (base64url, RFC 8705 x5t#S256)
// of the TLS client certificate, or "".
func peerThumbprint(r *http.Request) string {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return ""
	}
	sum := sha256.Sum256(r.TLS.PeerCertificates[0].Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

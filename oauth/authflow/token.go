package authflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/bankguard/bankguard/sdk"
)

// EndpointError is a refusal of the token or revocation endpoint, or of the
// gateway in front of it: Code is the RFC 6749 §5.2 error (invalid_grant,
// invalid_request, …) or the gateway's problem code (signature_invalid,
// replay_detected, …), Description the text that came with it.
type EndpointError struct {
	Endpoint    string // "token" or "revocation"
	Status      int
	Code        string
	Description string
}

// Error says which endpoint refused, with its code and description.
func (e *EndpointError) Error() string {
	s := fmt.Sprintf("authflow: the %s endpoint refused: %s (HTTP %d)", e.Endpoint, e.Code, e.Status)
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// Exchange redeems g at the token endpoint (RFC 6749 §4.1.3): a POST of
// grant_type=authorization_code, code, redirect_uri and code_verifier
// (RFC 7636 §4.5), signed as the app. It sends the grant as it is, so that
// a test may change the verifier or the redirect URI to see the refusal;
// an empty field is left out. A refusal is an *EndpointError.
func (f *Flow) Exchange(ctx context.Context, g *Grant) (*Tokens, error) {
	if g == nil {
		return nil, errors.New("authflow: no grant to exchange")
	}
	form := url.Values{"grant_type": {"authorization_code"}}
	for k, v := range map[string]string{"code": g.Code, "redirect_uri": g.RedirectURI, "code_verifier": g.Verifier} {
		if v != "" {
			form.Set(k, v)
		}
	}
	t, err := f.tokenRequest(ctx, form)
	if err == nil {
		f.progress("tokens issued under consent " + t.ConsentID)
	}
	return t, err
}

// Refresh rotates a refresh token (RFC 6749 §6): the answer holds a new
// access token and a new refresh token; the old one is spent, and the bank
// revokes every token of the authorization if it is presented again.
func (f *Flow) Refresh(ctx context.Context, refreshToken string) (*Tokens, error) {
	if refreshToken == "" {
		return nil, errors.New("authflow: no refresh token (a one-time consent has none)")
	}
	return f.tokenRequest(ctx, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}})
}

// Revoke revokes a token at the revocation endpoint (RFC 7009; active
// revocation, T/PCAC 0008-2020 5.2.1 e). Revoking a refresh token revokes
// every token of its authorization. The bank answers 200 for unknown
// tokens too (RFC 7009 §2.2), so nil does not say the token existed.
func (f *Flow) Revoke(ctx context.Context, token string) error {
	if token == "" {
		return errors.New("authflow: no token to revoke")
	}
	resp, err := f.postForm(ctx, PathRevoke, url.Values{"token": {token}})
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return endpointError("revocation", resp)
	}
	return nil
}

// tokenRequest posts form to the token endpoint and reads the tokens.
func (f *Flow) tokenRequest(ctx context.Context, form url.Values) (*Tokens, error) {
	resp, err := f.postForm(ctx, PathToken, form)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, endpointError("token", resp)
	}
	var t Tokens
	if err := json.Unmarshal(resp.Body, &t); err != nil {
		return nil, errors.New("authflow: the token endpoint's answer is not the JSON of RFC 6749 §5.1")
	}
	if t.AccessToken == "" || !strings.EqualFold(t.TokenType, "Bearer") || t.ExpiresIn <= 0 {
		return nil, errors.New("authflow: the token endpoint's answer lacks a bearer access token with a lifetime")
	}
	return &t, nil
}

// postForm sends an application/x-www-form-urlencoded POST to the gateway,
// signed as the app (RFC 9421, the body covered by its Content-Digest).
// A response whose bank signature does not verify is refused.
func (f *Flow) postForm(ctx context.Context, path string, form url.Values) (*sdk.Response, error) {
	if f.App == nil {
		return nil, errors.New("authflow: no app client to sign the request")
	}
	base, err := f.base()
	if err != nil {
		return nil, err
	}
	req, err := sdk.NewRequest(ctx, http.MethodPost, base.String()+path, []byte(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("authflow: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := f.App.Do(req)
	if err != nil {
		// The error is the transport's or the SDK's; neither holds the body.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("authflow: POST %s: %w", path, err)
	}
	return resp, nil
}

// endpointError reads a refusal: an RFC 6749 §5.2 JSON error, or the
// gateway's RFC 9457 problem.
func endpointError(endpoint string, resp *sdk.Response) error {
	e := &EndpointError{Endpoint: endpoint, Status: resp.StatusCode}
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Code        string `json:"code"`
		Title       string `json:"title"`
		Detail      string `json:"detail"`
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if json.Unmarshal(resp.Body, &body) == nil {
		if mt == "application/problem+json" || body.Error == "" {
			e.Code, e.Description = body.Code, body.Detail
			if e.Description == "" {
				e.Description = body.Title
			}
		} else {
			e.Code, e.Description = body.Error, body.Description
		}
	}
	if e.Code == "" {
		e.Code = "unknown"
	}
	e.Code, e.Description = clip(e.Code, 64), clip(e.Description, 256)
	return e
}

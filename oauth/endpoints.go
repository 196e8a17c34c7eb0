package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// Revoke is the revocation endpoint (RFC 7009) for the authenticated app
// appID: form holds token and, optionally, token_type_hint (which the
// server does not need: it finds either kind). It answers 200 with "{}" for
// a token it revoked, for an unknown, revoked or expired one, and for one
// of another app, which it does not revoke but reports as an alert (6.1.2-3).
// Revoking a refresh token revokes every token of its authorization (RFC
// 7009 §2.1); revoking an access token revokes that token. A missing or
// repeated token is 400 invalid_request; a store failure 503.
// Active revocation: T/PCAC 0008-2020 5.2.1 e.
func (s *Server) Revoke(ctx context.Context, appID string, form url.Values) (status int, body []byte) {
	token, st, b := oneToken(form)
	if st != 0 {
		return st, b
	}
	if !wellFormed(token) {
		return http.StatusOK, []byte("{}")
	}
	t, err := s.st.TokenByHash(ctx, hashOf(token))
	if errors.Is(err, ErrNotFound) {
		return http.StatusOK, []byte("{}")
	}
	if err != nil {
		s.log.ErrorContext(ctx, "oauth: revoke lookup", "err", err)
		return tokenError(http.StatusServiceUnavailable, errServerError, "the token could not be revoked now")
	}
	if t.AppID != appID {
		s.Alert(ctx, "revoke_other_app", appID, "token of app "+t.AppID+" presented for revocation")
		return http.StatusOK, []byte("{}")
	}
	sel := TokenSelector{Hash: t.Hash}
	if t.Kind == KindRefresh {
		sel = TokenSelector{FamilyID: t.FamilyID}
	}
	n, err := s.st.RevokeTokens(ctx, sel, s.now())
	if err != nil {
		s.log.ErrorContext(ctx, "oauth: revoke", "err", err)
		return tokenError(http.StatusServiceUnavailable, errServerError, "the token could not be revoked now")
	}
	if n > 0 {
		s.event(ctx, Event{Kind: EventRevoked, UserID: t.UserID, AppID: t.AppID, ConsentID: t.ConsentID,
			Detail: "by the application (" + t.Kind + " token)"})
	}
	return http.StatusOK, []byte("{}")
}

// introspection is RFC 7662 §2.2's response.
type introspection struct {
	Active    bool              `json:"active"`
	Scope     string            `json:"scope,omitempty"`
	ClientID  string            `json:"client_id,omitempty"`
	Sub       string            `json:"sub,omitempty"`
	Exp       int64             `json:"exp,omitempty"`
	Iat       int64             `json:"iat,omitempty"`
	TokenType string            `json:"token_type,omitempty"`
	ACR       string            `json:"acr,omitempty"`
	ConsentID string            `json:"consent_id,omitempty"`
	Cnf       map[string]string `json:"cnf,omitempty"`
}

// IntrospectHTTP is the introspection endpoint (RFC 7662) for the
// authenticated app appID: form holds token (and an optional
// token_type_hint). A token that is unknown, expired, revoked, under a
// consent no longer active, or of another app answers 200
// {"active":false}; an active one its scope, client_id, sub (a pseudonym
// of the user, never the bank's customer id), exp, iat, token_type
// ("Bearer" for access tokens, "refresh_token" for refresh tokens), acr,
// consent_id and, when bound, cnf {"x5t#S256"} (RFC 8705). A missing or
// repeated token is 400 invalid_request; a store failure 503.
func (s *Server) IntrospectHTTP(ctx context.Context, appID string, form url.Values) (status int, body []byte) {
	token, st, b := oneToken(form)
	if st != 0 {
		return st, b
	}
	inactive := []byte(`{"active":false}`)
	t, _, err := s.activeToken(ctx, token)
	switch {
	case errors.Is(err, ErrTokenInvalid), errors.Is(err, ErrTokenExpired), errors.Is(err, ErrTokenRevoked):
		return http.StatusOK, inactive
	case err != nil:
		s.log.ErrorContext(ctx, "oauth: introspect", "err", err)
		return tokenError(http.StatusServiceUnavailable, errServerError, "the token could not be checked now")
	case t.AppID != appID:
		s.Alert(ctx, "introspect_other_app", appID, "token of app "+t.AppID+" presented for introspection")
		return http.StatusOK, inactive
	}
	r := introspection{
		Active: true, Scope: strings.Join(t.Scopes, " "), ClientID: t.AppID, Sub: s.Pseudonym(t.UserID),
		Exp: t.ExpiresAt.Unix(), Iat: t.IssuedAt.Unix(), TokenType: "Bearer", ACR: t.ACR, ConsentID: t.ConsentID,
	}
	if t.Kind == KindRefresh {
		r.TokenType = "refresh_token"
	}
	if t.CertThumbprint != "" {
		r.Cnf = map[string]string{"x5t#S256": t.CertThumbprint}
	}
	out, err := json.Marshal(r)
	if err != nil {
		return tokenError(http.StatusInternalServerError, errServerError, "the token could not be checked now")
	}
	return http.StatusOK, out
}

// oneToken returns the form's single token parameter, or the 400 response
// for a missing or repeated one.
func oneToken(form url.Values) (token string, status int, body []byte) {
	for _, v := range form {
		if len(v) > 1 {
			st, b := tokenFail(errInvalidRequest, "a parameter is repeated")
			return "", st, b
		}
	}
	token = form.Get("token")
	if token == "" {
		st, b := tokenFail(errInvalidRequest, "token is required")
		return "", st, b
	}
	return token, 0, nil
}

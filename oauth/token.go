package oauth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Token is the token endpoint (RFC 6749 §3.2): grant_type
// authorization_code (§4.1.3, with the PKCE code_verifier of RFC 7636) and
// refresh_token (§6). appID is the application the gateway authenticated
// by its RFC 9421 request signature, certThumbprint the x5t#S256 of the TLS
// client certificate it presented ("" for none). It returns the status and
// the JSON body: on success access_token, token_type, expires_in,
// refresh_token (none for a once-consent), scope, consent_id and acr; on
// failure RFC 6749 §5.2 error and error_description, with 400 for
// invalid_request, invalid_grant, invalid_scope and unsupported_grant_type,
// 401 invalid_client for an app that is no longer active, 500 server_error
// when the store fails. The caller sends it as
// application/json with Cache-Control: no-store (§5.1).
//
// Controls: a code is used once and its reuse revokes what it issued (RFC
// 6749 §4.1.2); a refresh token is rotated on each use and its reuse
// revokes the family (OAuth 2.0 Security BCP §4.14); tokens are bound to
// the app and its certificate (RFC 8705); lifetimes by level and never
// beyond the consent (T/PCAC 0008-2020 5.2.1 d).
func (s *Server) Token(ctx context.Context, appID, certThumbprint string, form url.Values) (status int, body []byte) {
	for _, v := range form {
		if len(v) > 1 {
			return tokenFail(errInvalidRequest, "a parameter is repeated")
		}
	}
	if appID == "" {
		return tokenError(http.StatusUnauthorized, errInvalidClient, "the application is not authenticated")
	}
	var resp *tokenResponse
	var fail *failure
	switch form.Get("grant_type") {
	case "authorization_code":
		resp, fail = s.exchangeCode(ctx, appID, certThumbprint, form)
	case "refresh_token":
		resp, fail = s.refresh(ctx, appID, certThumbprint, form)
	case "":
		return tokenFail(errInvalidRequest, "grant_type is required")
	default:
		return tokenFail(errUnsupportedGrantType, "grant_type must be authorization_code or refresh_token")
	}
	if fail != nil {
		return tokenError(fail.status, fail.code, fail.desc)
	}
	b, err := json.Marshal(resp)
	if err != nil {
		return tokenError(http.StatusInternalServerError, errServerError, "the token could not be issued")
	}
	return http.StatusOK, b
}

// tokenResponse is RFC 6749 §5.1's success body plus the consent and acr.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope"`
	ConsentID    string `json:"consent_id"`
	ACR          string `json:"acr"`
}

// failure is a refusal of the token endpoint.
type failure struct {
	status     int
	code, desc string
}

func badRequest(code, desc string) *failure { return &failure{http.StatusBadRequest, code, desc} }

func grantFail(desc string) *failure { return badRequest(errInvalidGrant, desc) }

var (
	errStore      = &failure{http.StatusInternalServerError, errServerError, "the request could not be processed"}
	errAppRetired = &failure{http.StatusUnauthorized, errInvalidClient, "the application is not active"}
)

// exchangeCode redeems an authorization code (RFC 6749 §4.1.3).
func (s *Server) exchangeCode(ctx context.Context, appID, thumb string, form url.Values) (*tokenResponse, *failure) {
	code, redirect, verifier := form.Get("code"), form.Get("redirect_uri"), form.Get("code_verifier")
	if code == "" || redirect == "" || verifier == "" {
		return nil, badRequest(errInvalidRequest, "code, redirect_uri and code_verifier are required")
	}
	if !validVerifier(verifier) {
		return nil, badRequest(errInvalidRequest, "code_verifier is malformed")
	}
	if !wellFormed(code) {
		return nil, grantFail("the code is not valid")
	}
	now := s.now()
	hash := hashOf(code)
	rec, err := s.st.CodeByHash(ctx, hash)
	if errors.Is(err, ErrNotFound) {
		return nil, grantFail("the code is not valid")
	}
	if err != nil {
		s.log.ErrorContext(ctx, "oauth: code lookup", "err", err)
		return nil, errStore
	}
	if !rec.UsedAt.IsZero() {
		return nil, s.codeReused(ctx, rec, appID, now)
	}
	resp, recs, fail := s.checkCode(ctx, rec, appID, thumb, redirect, verifier, now)
	if fail != nil {
		// Any complete presentation uses the code up, whatever came of it
		// (RFC 6749 §4.1.2: it is single-use); a request missing the
		// redirect_uri or a well-formed verifier was refused as
		// invalid_request before the code was looked up, and leaves it.
		if err := s.st.UseCode(ctx, hash, now); errors.Is(err, ErrAlreadyUsed) {
			return nil, s.codeReused(ctx, rec, appID, now)
		}
		return nil, fail
	}
	// The code is marked used and the tokens stored at once, so that a
	// presentation racing this one revokes them (codeReused).
	if err := s.st.UseCode(ctx, hash, now, recs...); errors.Is(err, ErrAlreadyUsed) {
		return nil, s.codeReused(ctx, rec, appID, now)
	} else if err != nil {
		s.log.ErrorContext(ctx, "oauth: use code", "err", err)
		return nil, errStore
	}
	s.event(ctx, Event{Kind: EventToken, UserID: rec.UserID, AppID: appID, ConsentID: rec.ConsentID, Detail: resp.Scope})
	return resp, nil
}

// checkCode checks an unused code's bindings and, if they hold, mints the
// tokens to issue for it.
func (s *Server) checkCode(ctx context.Context, rec *CodeRecord, appID, thumb, redirect, verifier string, now time.Time) (*tokenResponse, []TokenRecord, *failure) {
	if rec.AppID != appID {
		s.Alert(ctx, "code_other_app", appID, "authorization code of app "+rec.AppID+" presented")
		return nil, nil, grantFail("the code is not valid")
	}
	if !now.Before(rec.ExpiresAt) {
		return nil, nil, grantFail("the code has expired")
	}
	if redirect != rec.RedirectURI {
		return nil, nil, grantFail("redirect_uri does not match the authorization request")
	}
	if !ctEqual(s256(verifier), rec.Challenge) {
		return nil, nil, grantFail("code_verifier does not match the code challenge")
	}
	app, fail := s.app(ctx, appID)
	if fail != nil {
		return nil, nil, fail
	}
	if app.CertThumbprint != "" && !ctEqual(thumb, app.CertThumbprint) {
		return nil, nil, grantFail("the client certificate is not the one registered for the application")
	}
	c, fail := s.grantConsent(ctx, rec.ConsentID, rec.AppID, rec.UserID, now)
	if fail != nil {
		return nil, nil, fail
	}
	resp, recs := s.mint(now, rec.FamilyID, app, c, c.Scopes, c.Scopes, rec.ACR)
	return resp, recs, nil
}

// codeReused revokes whatever a code presented a second time issued (RFC
// 6749 §4.1.2 and §10.5: the code is compromised).
func (s *Server) codeReused(ctx context.Context, rec *CodeRecord, appID string, now time.Time) *failure {
	n := s.revokeFamily(ctx, rec.FamilyID, now)
	s.log.WarnContext(ctx, "oauth: authorization code reused; its tokens are revoked", "app_id", appID, "owner_app_id", rec.AppID, "revoked", n)
	s.event(ctx, Event{Kind: EventCodeReuse, UserID: rec.UserID, AppID: rec.AppID, ConsentID: rec.ConsentID,
		Detail: "authorization code presented again; tokens issued from it revoked"})
	return grantFail("the code is not valid")
}

// refresh rotates a refresh token (RFC 6749 §6, Security BCP §4.14).
func (s *Server) refresh(ctx context.Context, appID, thumb string, form url.Values) (*tokenResponse, *failure) {
	rt := form.Get("refresh_token")
	if rt == "" {
		return nil, badRequest(errInvalidRequest, "refresh_token is required")
	}
	if !wellFormed(rt) {
		return nil, grantFail("the refresh token is not valid")
	}
	now := s.now()
	t, err := s.st.TokenByHash(ctx, hashOf(rt))
	if errors.Is(err, ErrNotFound) || err == nil && t.Kind != KindRefresh {
		return nil, grantFail("the refresh token is not valid")
	}
	if err != nil {
		s.log.ErrorContext(ctx, "oauth: refresh lookup", "err", err)
		return nil, errStore
	}
	if t.AppID != appID {
		// A refresh token in another app's hands has leaked: its family goes.
		s.revokeFamily(ctx, t.FamilyID, now)
		s.Alert(ctx, "refresh_other_app", appID, "refresh token of app "+t.AppID+" presented; its family is revoked")
		return nil, grantFail("the refresh token is not valid")
	}
	if !t.UsedAt.IsZero() {
		return nil, s.refreshReused(ctx, t, now)
	}
	if !t.RevokedAt.IsZero() {
		return nil, grantFail("the refresh token has been revoked")
	}
	if !now.Before(t.ExpiresAt) {
		return nil, grantFail("the refresh token has expired")
	}
	app, fail := s.app(ctx, appID)
	if fail != nil {
		return nil, fail
	}
	for _, bound := range []string{t.CertThumbprint, app.CertThumbprint} {
		if bound != "" && !ctEqual(thumb, bound) {
			return nil, grantFail("the client certificate is not the one the token is bound to")
		}
	}
	c, fail := s.grantConsent(ctx, t.ConsentID, t.AppID, t.UserID, now)
	if fail != nil {
		return nil, fail
	}
	scopes := t.Scopes
	if sc := form.Get("scope"); sc != "" {
		if scopes, fail = narrow(sc, t.Scopes); fail != nil {
			return nil, fail
		}
	}
	resp, recs := s.mint(now, t.FamilyID, app, c, scopes, t.Scopes, t.ACR)
	if err := s.st.RotateRefresh(ctx, t.Hash, now, recs...); errors.Is(err, ErrAlreadyUsed) {
		return nil, s.refreshReused(ctx, t, now) // lost a race with another use
	} else if err != nil {
		s.log.ErrorContext(ctx, "oauth: rotate refresh", "err", err)
		return nil, errStore
	}
	s.event(ctx, Event{Kind: EventRefresh, UserID: c.UserID, AppID: appID, ConsentID: c.ID, Detail: resp.Scope})
	return resp, nil
}

// refreshReused revokes the family of a refresh token used a second time.
func (s *Server) refreshReused(ctx context.Context, t *TokenRecord, now time.Time) *failure {
	n := s.revokeFamily(ctx, t.FamilyID, now)
	s.log.WarnContext(ctx, "oauth: refresh token reused; its family is revoked", "app_id", t.AppID, "revoked", n)
	s.event(ctx, Event{Kind: EventRefreshReuse, UserID: t.UserID, AppID: t.AppID, ConsentID: t.ConsentID,
		Detail: "refresh token presented again; every token of the authorization revoked"})
	return grantFail("the refresh token is not valid")
}

// revokeFamily revokes every token of an authorization and says how many;
// a failure is logged (the caller refuses the request either way).
func (s *Server) revokeFamily(ctx context.Context, family string, now time.Time) int {
	n, err := s.st.RevokeTokens(ctx, TokenSelector{FamilyID: family}, now)
	if err != nil {
		s.log.ErrorContext(ctx, "oauth: family not revoked", "family_id", family, "err", err)
	}
	return n
}

// app looks the authenticated app up.
func (s *Server) app(ctx context.Context, appID string) (*AppInfo, *failure) {
	app, err := s.apps.App(ctx, appID)
	if errors.Is(err, ErrNotFound) {
		return nil, errAppRetired
	}
	if err != nil {
		s.log.ErrorContext(ctx, "oauth: app lookup", "app_id", appID, "err", err)
		return nil, errStore
	}
	return app, nil
}

// grantConsent returns the consent a grant stands on if it is still
// active and belongs to the grant's app and user.
func (s *Server) grantConsent(ctx context.Context, id, appID, userID string, now time.Time) (*Consent, *failure) {
	c, err := s.st.ConsentByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, grantFail("the consent is no longer valid")
	}
	if err != nil {
		s.log.ErrorContext(ctx, "oauth: consent lookup", "err", err)
		return nil, errStore
	}
	if !c.Active(now) || c.AppID != appID || c.UserID != userID {
		return nil, grantFail("the consent is no longer valid")
	}
	return c, nil
}

// mint makes an access token with scopes and, unless the consent is a
// once-consent, a refresh token with refreshScopes, both bound to the
// app's certificate, and the response that carries them. Lifetimes: by
// the app's level, and never beyond the consent.
func (s *Server) mint(now time.Time, family string, app *AppInfo, c *Consent, scopes, refreshScopes []string, acr string) (*tokenResponse, []TokenRecord) {
	at := newSecret()
	access := TokenRecord{
		Hash: hashOf(at), Kind: KindAccess, FamilyID: family, AppID: app.ID, UserID: c.UserID,
		ConsentID: c.ID, Scopes: slices.Clone(scopes), ACR: acr, CertThumbprint: app.CertThumbprint,
		IssuedAt: now, ExpiresAt: earlier(now.Add(s.cfg.accessTTL(app.Level)), c.ExpiresAt),
	}
	resp := &tokenResponse{
		AccessToken: at, TokenType: "Bearer", ExpiresIn: int64(access.ExpiresAt.Sub(now) / time.Second),
		Scope: strings.Join(scopes, " "), ConsentID: c.ID, ACR: acr,
	}
	recs := []TokenRecord{access}
	if c.Validity != ValidityOnce {
		rt := newSecret()
		refresh := access
		refresh.Hash, refresh.Kind, refresh.Scopes = hashOf(rt), KindRefresh, slices.Clone(refreshScopes)
		refresh.ExpiresAt = earlier(now.Add(s.cfg.RefreshTTL), c.ExpiresAt)
		resp.RefreshToken = rt
		recs = append(recs, refresh)
	}
	return resp, recs
}

// narrow parses a refresh request's scope: a subset of granted (RFC 6749 §6).
func narrow(scope string, granted []string) ([]string, *failure) {
	var out []string
	for _, sc := range strings.Split(scope, " ") {
		if sc == "" {
			continue
		}
		if !slices.Contains(granted, sc) {
			return nil, badRequest(errInvalidScope, "the scope exceeds the one granted")
		}
		out = append(out, sc)
	}
	if len(out) == 0 {
		return nil, badRequest(errInvalidScope, "the scope is empty")
	}
	return dedupe(out), nil
}

// validVerifier: 43 to 128 unreserved characters (RFC 7636 §4.1).
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; !isB64URL(c) && c != '.' && c != '~' {
			return false
		}
	}
	return true
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// ctEqual compares secrets in constant time (for equal lengths).
func ctEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// tokenFail is a 400 RFC 6749 §5.2 error.
func tokenFail(code, desc string) (int, []byte) { return tokenError(http.StatusBadRequest, code, desc) }

// tokenError renders an RFC 6749 §5.2 error body.
func tokenError(status int, code, desc string) (int, []byte) {
	b, _ := json.Marshal(struct {
		Error       string `json:"error"`
		Description string `json:"error_description,omitempty"`
	}{code, desc})
	return status, b
}

package oauth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// CreateConsent validates and stores a user's consent (explicit consent
// stating its validity: T/PCAC 0008-2020 11.3.2; least privilege by app,
// user and account, and single-use / dated / agreement-term validity:
// 5.3.2; risk warning before fund transactions: 6.2.2). It refuses, with an
// error wrapping ErrInvalidConsent, a consent without a user, session or
// scope, with a malformed scope, without accounts for an account scope,
// with an unknown validity, one that would outlast the app's agreement, and
// one holding a fund scope whose risk warning the user did not acknowledge.
// The server sets ID, CreatedAt and, except for ValidityUntil, ExpiresAt.
func (s *Server) CreateConsent(ctx context.Context, c Consent) (*Consent, error) {
	now := s.now()
	if c.AppID == "" || c.UserID == "" || c.SessionID == "" {
		return nil, fmt.Errorf("%w: an application, a user and a login session are required", ErrInvalidConsent)
	}
	app, err := s.apps.App(ctx, c.AppID)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: the application is unknown or inactive", ErrInvalidConsent)
	}
	if err != nil {
		return nil, fmt.Errorf("oauth: consent: %w", err)
	}
	if c.Scopes, err = normalizeScopes(c.Scopes); err != nil {
		return nil, err
	}
	c.Accounts = dedupe(c.Accounts)
	if slices.Contains(c.Accounts, "") {
		return nil, fmt.Errorf("%w: an empty account id", ErrInvalidConsent)
	}
	for _, sc := range c.Scopes {
		if slices.Contains(s.cfg.AccountScopes, sc) && len(c.Accounts) == 0 {
			return nil, fmt.Errorf("%w: choose the accounts to share for %q", ErrInvalidConsent, sc)
		}
		if slices.Contains(s.cfg.FundScopes, sc) && !c.RiskAcknowledged {
			return nil, fmt.Errorf("%w: the risk warning for %q must be acknowledged", ErrInvalidConsent, sc)
		}
	}
	if app.AgreementEnd.IsZero() || !now.Before(app.AgreementEnd) {
		return nil, fmt.Errorf("%w: the application has no agreement in force", ErrInvalidConsent)
	}
	switch c.Validity {
	case ValidityOnce:
		c.ExpiresAt = now.Add(s.cfg.OnceTTL)
		if c.ExpiresAt.After(app.AgreementEnd) {
			c.ExpiresAt = app.AgreementEnd
		}
	case ValidityUntil:
		if !now.Before(c.ExpiresAt) {
			return nil, fmt.Errorf("%w: the end of validity is not in the future", ErrInvalidConsent)
		}
		if c.ExpiresAt.After(app.AgreementEnd) {
			return nil, fmt.Errorf("%w: the end of validity is after the application's agreement ends", ErrInvalidConsent)
		}
	case ValidityAgreement:
		c.ExpiresAt = app.AgreementEnd
	default:
		return nil, fmt.Errorf("%w: unknown validity %q", ErrInvalidConsent, clip(string(c.Validity), 32))
	}
	c.ID = newID("cns_")
	c.CreatedAt = now
	c.RevokedAt, c.ConsumedAt = time.Time{}, time.Time{}
	if err := s.st.CreateConsent(ctx, c); err != nil {
		return nil, fmt.Errorf("oauth: consent: %w", err)
	}
	s.event(ctx, Event{Kind: EventConsent, UserID: c.UserID, AppID: c.AppID, ConsentID: c.ID,
		Detail: fmt.Sprintf("scopes %s, %d account(s), validity %s until %s", strings.Join(c.Scopes, " "),
			len(c.Accounts), c.Validity, c.ExpiresAt.UTC().Format(time.RFC3339))})
	out := c
	return &out, nil
}

// IssueCode issues a single-use authorization code for an active consent
// (RFC 6749 §4.1.2), bound to the app, its exact redirect URI, the PKCE
// S256 challenge (RFC 7636), the user and the authentication level
// achieved. It refuses an unregistered redirect URI with ErrRedirectURI
// (the pages must not redirect to it), an unknown app with ErrNotFound,
// and with an *AuthError of code invalid_request a missing or malformed
// code challenge, any method but S256, and a consent that is not the
// user's and the app's or not active.
func (s *Server) IssueCode(ctx context.Context, r CodeRequest) (string, error) {
	now := s.now()
	app, err := s.apps.App(ctx, r.AppID)
	if err != nil {
		return "", fmt.Errorf("oauth: issue code: %w", err)
	}
	if !slices.Contains(app.RedirectURIs, r.RedirectURI) || r.RedirectURI == "" {
		return "", ErrRedirectURI
	}
	if r.CodeChallengeMethod != "S256" {
		return "", &AuthError{errInvalidRequest, "code_challenge_method must be S256"}
	}
	if !validChallenge(r.CodeChallenge) {
		return "", &AuthError{errInvalidRequest, "code_challenge is missing or malformed"}
	}
	if r.ACR != ACROneFactor && r.ACR != ACRTwoFactor {
		return "", &AuthError{errServerError, "the authentication level is unknown"}
	}
	c, err := s.st.ConsentByID(ctx, r.ConsentID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return "", fmt.Errorf("oauth: issue code: %w", err)
	}
	if err != nil || r.UserID == "" || c.UserID != r.UserID || c.AppID != r.AppID || !c.Active(now) {
		return "", &AuthError{errInvalidRequest, "the consent is not valid for this request"}
	}
	code := newSecret()
	rec := CodeRecord{
		Hash: hashOf(code), AppID: r.AppID, UserID: r.UserID, ConsentID: c.ID,
		RedirectURI: r.RedirectURI, Challenge: r.CodeChallenge, ACR: r.ACR, SessionID: r.SessionID,
		FamilyID: newID("fam_"), AuthenticatedAt: r.AuthenticatedAt,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.CodeTTL),
	}
	if err := s.st.CreateCode(ctx, rec); err != nil {
		return "", fmt.Errorf("oauth: issue code: %w", err)
	}
	s.event(ctx, Event{Kind: EventCode, UserID: r.UserID, AppID: r.AppID, ConsentID: c.ID, Detail: r.ACR})
	return code, nil
}

// ConsentsOf lists a user's consents, newest first, revoked ones included.
func (s *Server) ConsentsOf(ctx context.Context, userID string) ([]Consent, error) {
	if userID == "" {
		return nil, errors.New("oauth: consents: no user id")
	}
	return s.st.ConsentsOf(ctx, userID)
}

// RevokeConsent revokes a user's consent and every token issued under it at
// once: the channel for users to close the service (T/PCAC 0008-2020
// 5.3.2, 5.2.1 e). Only the consent's own user may revoke it: for anyone
// else it is ErrNotFound. Revoking a revoked consent again is no error.
func (s *Server) RevokeConsent(ctx context.Context, userID, consentID string) error {
	if userID == "" || consentID == "" {
		return ErrNotFound
	}
	now := s.now()
	if err := s.st.RevokeConsent(ctx, userID, consentID, now); err != nil {
		if errors.Is(err, ErrNotFound) {
			return ErrNotFound
		}
		return fmt.Errorf("oauth: revoke consent: %w", err)
	}
	// The consent's revocation already makes its tokens fail introspection;
	// revoking them too keeps the record plain.
	n, err := s.st.RevokeTokens(ctx, TokenSelector{ConsentID: consentID}, now)
	if err != nil {
		return fmt.Errorf("oauth: revoke consent: %w", err)
	}
	appID := ""
	if c, err := s.st.ConsentByID(ctx, consentID); err == nil {
		appID = c.AppID
	}
	s.event(ctx, Event{Kind: EventConsentRevoked, UserID: userID, AppID: appID, ConsentID: consentID,
		Detail: fmt.Sprintf("by the user; %d token(s) revoked", n)})
	return nil
}

// normalizeScopes checks each scope's syntax (RFC 6749 §3.3 scope-token)
// and returns them sorted without duplicates; at least one is required.
func normalizeScopes(in []string) ([]string, error) {
	out := dedupe(in)
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: at least one scope is required", ErrInvalidConsent)
	}
	for _, sc := range out {
		if !ValidScope(sc) {
			return nil, fmt.Errorf("%w: malformed scope", ErrInvalidConsent)
		}
	}
	return out, nil
}

// ValidScope reports whether s is a scope token of RFC 6749 §3.3,
// 1*( %x21 / %x23-5B / %x5D-7E ), of at most 64 characters.
func ValidScope(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// dedupe returns in sorted, without duplicates, as a new slice.
func dedupe(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

// validChallenge: an S256 code challenge is the base64url SHA-256 of the
// verifier, 43 characters.
func validChallenge(ch string) bool {
	if !wellFormed(ch) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(ch)
	return err == nil
}

// s256 is the S256 code challenge of a verifier (RFC 7636 §4.2).
func s256(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

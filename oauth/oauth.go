// Package oauth is the bank's authorization server (T/PCAC 0008-2020 3.2.2,
// 5.2.1 d/e, 5.3, 6.2.2, 11.3.2): users authenticate at the bank, consent to
// an application's access with a validity they choose, and the application
// receives opaque tokens bound to its App_ID (and client certificate) that
// the gateway checks on every user-bound call.
//
// This file holds the types and the interfaces between the three parts:
// the authorization server itself (Server: codes, tokens, consents), the
// bank-hosted pages (package oauth/pages: login, second factor, consent,
// self-service), and the gateway's enforcement stage (gateway/usertoken).
package oauth

import (
	"context"
	"errors"
	"time"
)

// Authentication context classes, recorded on every token (acr).
const (
	// ACROneFactor: the user proved a password only.
	ACROneFactor = "bankguard:1fa"
	// ACRTwoFactor: password and a TOTP code (RFC 6238). Fund APIs require it.
	ACRTwoFactor = "bankguard:2fa"
)

// Validity is how long a consent lasts, as the user chose it (5.3.2).
type Validity string

// The validities a user can choose.
const (
	// ValidityOnce: consumed by the first call made with it.
	ValidityOnce Validity = "once"
	// ValidityUntil: until a date the user picked, no later than the app's
	// agreement end.
	ValidityUntil Validity = "until"
	// ValidityAgreement: for the app's agreement term.
	ValidityAgreement Validity = "agreement"
)

// Consent is a user's authorization of an app: what, which accounts, how
// long, given when and from which login session (11.3.2).
type Consent struct {
	ID        string
	AppID     string
	UserID    string   // the bank's customer id
	Scopes    []string // scope names, e.g. "accounts", "transfers"
	Accounts  []string // the account ids the user chose to share
	Validity  Validity
	ExpiresAt time.Time // end of validity (for once: a short bound)
	CreatedAt time.Time
	SessionID string // the login session the consent was given in
	// RiskAcknowledged records that the user confirmed the fund-transfer
	// risk warning (6.2.2); required when Scopes hold a fund scope.
	RiskAcknowledged bool
	RevokedAt        time.Time // zero while not revoked
	ConsumedAt       time.Time // once-consents: zero until first use
}

// Active reports whether the consent may authorize a call at now.
func (c *Consent) Active(now time.Time) bool {
	return c.RevokedAt.IsZero() && now.Before(c.ExpiresAt) && (c.Validity != ValidityOnce || c.ConsumedAt.IsZero())
}

// Grant is what a valid access token stands for: the gateway's view of it.
type Grant struct {
	AppID     string
	UserID    string
	Scopes    []string
	ConsentID string
	// Accounts are the consent's shared accounts.
	Accounts []string
	ACR      string
	// CertThumbprint is the SHA-256 thumbprint (base64url, RFC 8705 x5t#S256)
	// of the client certificate the token is bound to, or "".
	CertThumbprint string
	ExpiresAt      time.Time
	// OneTime is set when the consent is a once-consent: the gateway consumes
	// it (ConsumeOnce) before the call goes through.
	OneTime bool
}

// Introspector is what the gateway needs of the authorization server.
type Introspector interface {
	// Introspect returns the grant of an active access token, or an error
	// wrapping ErrTokenInvalid, ErrTokenExpired or ErrTokenRevoked. It checks
	// the consent too: a revoked or expired consent makes the token revoked.
	Introspect(ctx context.Context, accessToken string) (*Grant, error)
	// ConsumeOnce marks a once-consent used; it fails with ErrConsentUsed if
	// it already was. Atomic across concurrent calls.
	ConsumeOnce(ctx context.Context, consentID string) error
	// Alert records an alert-worthy event: a token presented by an app it
	// was not issued to (6.1.2-3).
	Alert(ctx context.Context, kind, appID, detail string)
}

// CodeRequest is a validated authorization request plus the user's consent:
// what the pages hand to the server to issue an authorization code.
type CodeRequest struct {
	AppID         string
	RedirectURI   string
	CodeChallenge string // S256 only
	// CodeChallengeMethod is the request's code_challenge_method as sent;
	// only "S256" is accepted (an absent method means "plain", RFC 7636 4.3).
	CodeChallengeMethod string
	ConsentID           string
	UserID              string
	ACR                 string
	SessionID           string
	AuthenticatedAt     time.Time
}

// Consents is what the bank-hosted pages need of the authorization server.
type Consents interface {
	// CreateConsent stores a new consent and returns it with its id.
	CreateConsent(ctx context.Context, c Consent) (*Consent, error)
	// IssueCode issues a one-time authorization code (RFC 6749 4.1) valid
	// for a minute, for the consent.
	IssueCode(ctx context.Context, r CodeRequest) (code string, err error)
	// ConsentsOf lists a user's consents, newest first, revoked ones included.
	ConsentsOf(ctx context.Context, userID string) ([]Consent, error)
	// RevokeConsent revokes a user's consent and every token issued under it
	// at once (the close-service channel, 5.3.2).
	RevokeConsent(ctx context.Context, userID, consentID string) error
}

// Errors. Their messages are safe to show to the app; none says more than
// RFC 6749 §5.2 allows.
var (
	ErrTokenInvalid = errors.New("the access token is not valid")
	ErrTokenExpired = errors.New("the access token has expired")
	ErrTokenRevoked = errors.New("the access token has been revoked")
	ErrConsentUsed  = errors.New("the one-time consent has already been used")
	ErrNotFound     = errors.New("not found")
)

// AppInfo is what the authorization server and the pages need to know of an
// application: its name for the consent page, its registered redirect URIs
// (matched exactly), its level (token lifetimes), the end of its agreement
// with the bank (the longest consent) and its client certificate.
type AppInfo struct {
	ID           string
	Name         string
	Level        string // "A1" or "A2"
	RedirectURIs []string
	AgreementEnd time.Time
	// CertThumbprint is the SHA-256 thumbprint (base64url) of the app's
	// registered client certificate, or "": tokens are bound to it.
	CertThumbprint string
}

// Apps looks applications up; the registry implements it. An unknown or
// inactive app is ErrNotFound.
type Apps interface {
	App(ctx context.Context, id string) (*AppInfo, error)
}

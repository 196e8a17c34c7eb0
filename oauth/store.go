package oauth

import (
	"context"
	"time"
)

// Store is the authorization server's storage, by concern. Secrets never
// reach it: codes and tokens are kept as their SHA-256 hashes only, so a
// copy of the database yields no usable code or token (5.2.1 d). Times are
// compared by the caller's clock: every method that decides by time takes
// now. Implementations: MemStore here, store/sqlite for the embedded store;
// oauth/oauthtest holds the conformance tests both pass.
type Store interface {
	CodeStore
	TokenStore
	ConsentStore
	EventStore
}

// CodeStore keeps authorization codes (RFC 6749 §4.1.2).
type CodeStore interface {
	// CreateCode stores a new code.
	CreateCode(ctx context.Context, c CodeRecord) error
	// CodeByHash returns the code with this hash, or ErrNotFound.
	CodeByHash(ctx context.Context, hash []byte) (*CodeRecord, error)
	// UseCode marks the code with this hash used at now and stores the
	// tokens issued from it, atomically (compare-and-set on "not used"): if
	// the code was already used nothing is stored and the error is
	// ErrAlreadyUsed; an unknown code is ErrNotFound. Without tokens it
	// burns the code.
	UseCode(ctx context.Context, hash []byte, now time.Time, issued ...TokenRecord) error
}

// TokenStore keeps access and refresh tokens.
type TokenStore interface {
	// CreateTokens stores new tokens, all or none.
	CreateTokens(ctx context.Context, ts ...TokenRecord) error
	// TokenByHash returns the token with this hash, or ErrNotFound.
	TokenByHash(ctx context.Context, hash []byte) (*TokenRecord, error)
	// RotateRefresh marks the refresh token oldHash used at now and stores
	// next, atomically: if the old token was already used or revoked (or is
	// unknown) nothing is stored and the error is ErrAlreadyUsed.
	RotateRefresh(ctx context.Context, oldHash []byte, now time.Time, next ...TokenRecord) error
	// RevokeTokens revokes, at now, every not yet revoked token that sel
	// selects and says how many that was. A selector that selects nothing
	// (no field set) is an error, never "all tokens".
	RevokeTokens(ctx context.Context, sel TokenSelector, now time.Time) (int, error)
}

// ConsentStore keeps consents (11.3.2).
type ConsentStore interface {
	// CreateConsent stores a new consent.
	CreateConsent(ctx context.Context, c Consent) error
	// ConsentByID returns a consent, or ErrNotFound.
	ConsentByID(ctx context.Context, id string) (*Consent, error)
	// ConsentsOf lists a user's consents, newest first (of two with the
	// same CreatedAt, the one stored last first).
	ConsentsOf(ctx context.Context, userID string) ([]Consent, error)
	// RevokeConsent marks the user's consent revoked at now. A consent of
	// another user, or none, is ErrNotFound; one already revoked stays as
	// it was and is no error.
	RevokeConsent(ctx context.Context, userID, id string, now time.Time) error
	// ConsumeConsent marks a once-consent consumed at now, atomically
	// (compare-and-set on "not consumed"): the second call fails with
	// ErrConsentUsed. A consent that is not a once-consent, or is revoked
	// or expired at now, is not consumed and fails with ErrTokenRevoked;
	// an unknown one is ErrNotFound.
	ConsumeConsent(ctx context.Context, id string, now time.Time) error
}

// EventStore keeps the history shown on the self-service page and the
// alerts (13.2-3, 6.1.2-3).
type EventStore interface {
	// AddEvent appends an event; the store assigns its ID.
	AddEvent(ctx context.Context, e Event) error
	// Events returns the events q selects, newest first.
	Events(ctx context.Context, q EventQuery) ([]Event, error)
}

// CodeRecord is a stored authorization code.
type CodeRecord struct {
	Hash        []byte // SHA-256 of the code
	AppID       string
	UserID      string
	ConsentID   string
	RedirectURI string
	// Challenge is the PKCE S256 code_challenge (RFC 7636).
	Challenge string
	ACR       string
	SessionID string
	// FamilyID names every token issued from this code and their
	// refreshes: a reused code or refresh token revokes the family.
	FamilyID        string
	AuthenticatedAt time.Time
	CreatedAt       time.Time
	ExpiresAt       time.Time
	UsedAt          time.Time // zero until the first exchange
}

// Token kinds.
const (
	KindAccess  = "access"
	KindRefresh = "refresh"
)

// TokenRecord is a stored access or refresh token.
type TokenRecord struct {
	Hash      []byte // SHA-256 of the token
	Kind      string // KindAccess or KindRefresh
	FamilyID  string
	AppID     string
	UserID    string
	ConsentID string
	Scopes    []string
	ACR       string
	// CertThumbprint is the x5t#S256 of the client certificate the token is
	// bound to (RFC 8705), or "".
	CertThumbprint string
	IssuedAt       time.Time
	ExpiresAt      time.Time
	RevokedAt      time.Time // zero while not revoked
	UsedAt         time.Time // refresh tokens: when rotated
}

// TokenSelector selects tokens to revoke. Exactly one field must be set.
type TokenSelector struct {
	Hash      []byte
	FamilyID  string
	ConsentID string
	AppID     string
	UserID    string
}

// Fields counts the fields set.
func (s TokenSelector) Fields() int {
	n := 0
	if len(s.Hash) > 0 {
		n++
	}
	for _, f := range []string{s.FamilyID, s.ConsentID, s.AppID, s.UserID} {
		if f != "" {
			n++
		}
	}
	return n
}

// Event kinds recorded by the server. The pages add their own (EventLogin
// and others) with AddEvent.
const (
	EventLogin          = "login"
	EventConsent        = "consent"
	EventConsentRevoked = "consent_revoked"
	EventConsentUsed    = "consent_used"
	EventCode           = "authorization"
	EventToken          = "token_issued"
	EventRefresh        = "token_refreshed"
	EventRevoked        = "tokens_revoked"
	EventCodeReuse      = "code_reuse"
	EventRefreshReuse   = "refresh_reuse"
	EventAlert          = "alert"
	// EventFundTransaction is recorded by the gateway for each fund
	// transaction made for the user (their history, 13.2-3).
	EventFundTransaction = "fund_transaction"
)

// Event is one entry of a user's history, or an alert. Detail never holds a
// token, code, password or TOTP code.
type Event struct {
	ID        int64
	Time      time.Time
	Kind      string
	UserID    string // "" for events about an app only
	AppID     string
	ConsentID string
	Detail    string
}

// EventQuery selects events; an empty UserID and Kind selects none.
type EventQuery struct {
	UserID string
	Kind   string
	Limit  int // at most this many; 0 means 100
}

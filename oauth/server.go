package oauth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/emmansun/gmsm/sm3"
)

// Server is the bank's authorization server: it keeps consents, issues
// authorization codes and tokens, answers the gateway's introspection and
// revokes. It implements Introspector (for the gateway) and Consents (for
// the pages); its Token, Revoke and IntrospectHTTP methods are the token
// (RFC 6749 §3.2), revocation (RFC 7009) and introspection (RFC 7662)
// endpoints, free of HTTP so that the gateway serves them behind its
// signature check. Safe for concurrent use.
type Server struct {
	st   Store
	apps Apps
	cfg  Config
	now  func() time.Time
	log  *slog.Logger
}

var (
	_ Introspector = (*Server)(nil)
	_ Consents     = (*Server)(nil)
)

// NewServer returns a server on st that looks apps up in apps and reads
// time from now (time.Now if nil). Unset Config fields take their
// defaults. It panics if cfg is invalid (call cfg.Validate first to get
// an error instead): a server without a subject key must not start.
func NewServer(st Store, apps Apps, cfg Config, now func() time.Time) *Server {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	if st == nil || apps == nil {
		panic("oauth: NewServer needs a store and apps")
	}
	if now == nil {
		now = time.Now
	}
	cfg = cfg.withDefaults()
	cfg.SubjectKey = append([]byte(nil), cfg.SubjectKey...)
	return &Server{st: st, apps: apps, cfg: cfg, now: now, log: cfg.Logger}
}

// Introspect returns the grant of an active access token (for the gateway).
// An unknown token, or a refresh token, is ErrTokenInvalid; an expired one
// ErrTokenExpired; a revoked one, or one whose consent is revoked, expired
// or (once-consents) consumed, ErrTokenRevoked. Revocation takes effect on
// the next call: T/PCAC 0008-2020 5.2.1 e.
func (s *Server) Introspect(ctx context.Context, accessToken string) (*Grant, error) {
	t, c, err := s.activeToken(ctx, accessToken)
	if err != nil {
		return nil, err
	}
	if t.Kind != KindAccess {
		return nil, ErrTokenInvalid
	}
	return &Grant{
		AppID:          t.AppID,
		UserID:         t.UserID,
		Scopes:         append([]string(nil), t.Scopes...),
		ConsentID:      t.ConsentID,
		Accounts:       append([]string(nil), c.Accounts...),
		ACR:            t.ACR,
		CertThumbprint: t.CertThumbprint,
		ExpiresAt:      t.ExpiresAt,
		OneTime:        c.Validity == ValidityOnce,
	}, nil
}

// activeToken looks a token up and checks it and its consent at now.
func (s *Server) activeToken(ctx context.Context, token string) (*TokenRecord, *Consent, error) {
	if !wellFormed(token) {
		return nil, nil, ErrTokenInvalid
	}
	t, err := s.st.TokenByHash(ctx, hashOf(token))
	if errors.Is(err, ErrNotFound) {
		return nil, nil, ErrTokenInvalid
	}
	if err != nil {
		return nil, nil, fmt.Errorf("oauth: token lookup: %w", err)
	}
	now := s.now()
	if !t.RevokedAt.IsZero() || !t.UsedAt.IsZero() {
		return nil, nil, ErrTokenRevoked
	}
	if !now.Before(t.ExpiresAt) {
		return nil, nil, ErrTokenExpired
	}
	c, err := s.st.ConsentByID(ctx, t.ConsentID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, ErrTokenRevoked
	}
	if err != nil {
		return nil, nil, fmt.Errorf("oauth: consent lookup: %w", err)
	}
	if !c.Active(now) || c.AppID != t.AppID || c.UserID != t.UserID {
		return nil, nil, ErrTokenRevoked
	}
	return t, c, nil
}

// ConsumeOnce marks a once-consent used (5.3.2 single-use validity). Only
// one of any number of concurrent calls succeeds; the others, and every
// later call, get ErrConsentUsed.
func (s *Server) ConsumeOnce(ctx context.Context, consentID string) error {
	err := s.st.ConsumeConsent(ctx, consentID, s.now())
	if err != nil {
		return err
	}
	if c, err := s.st.ConsentByID(ctx, consentID); err == nil {
		s.event(ctx, Event{Kind: EventConsentUsed, UserID: c.UserID, AppID: c.AppID, ConsentID: c.ID})
	}
	return nil
}

// Alert records an alert-worthy event, such as a token presented by an app
// it was not issued to (T/PCAC 0008-2020 6.1.2-3), as an event of kind
// "alert" and logs it at warn with the app id only.
func (s *Server) Alert(ctx context.Context, kind, appID, detail string) {
	s.log.WarnContext(ctx, "oauth alert", "kind", kind, "app_id", appID)
	s.event(ctx, Event{Kind: EventAlert, AppID: appID, Detail: clip(kind+": "+detail, 256)})
}

// RevokeApp revokes every token of an application at once: the bank's
// active disconnect (T/PCAC 0008-2020 5.2.1 e). It returns how many tokens
// it revoked.
func (s *Server) RevokeApp(ctx context.Context, appID string) (int, error) {
	if appID == "" {
		return 0, errors.New("oauth: revoke app: no app id")
	}
	n, err := s.st.RevokeTokens(ctx, TokenSelector{AppID: appID}, s.now())
	if err != nil {
		return n, fmt.Errorf("oauth: revoke app: %w", err)
	}
	s.event(ctx, Event{Kind: EventRevoked, AppID: appID, Detail: fmt.Sprintf("bank: every token of the app (%d)", n)})
	return n, nil
}

// RevokeUser revokes every token of a user at once (5.2.1 e). It returns
// how many tokens it revoked.
func (s *Server) RevokeUser(ctx context.Context, userID string) (int, error) {
	if userID == "" {
		return 0, errors.New("oauth: revoke user: no user id")
	}
	n, err := s.st.RevokeTokens(ctx, TokenSelector{UserID: userID}, s.now())
	if err != nil {
		return n, fmt.Errorf("oauth: revoke user: %w", err)
	}
	s.event(ctx, Event{Kind: EventRevoked, UserID: userID, Detail: fmt.Sprintf("bank: every token of the user (%d)", n)})
	return n, nil
}

// Events returns a user's history, newest first, at most limit entries
// (0: 100): logins, consents, authorizations, tokens, revocations — the
// bank-side record of 13.2-3 the self-service page shows.
func (s *Server) Events(ctx context.Context, userID string, limit int) ([]Event, error) {
	if userID == "" {
		return nil, errors.New("oauth: events: no user id")
	}
	return s.st.Events(ctx, EventQuery{UserID: userID, Limit: limit})
}

// AddEvent records an event of the pages in a user's history (a login, a
// failed second factor …), now; it implements the pages' event sink. A
// failure to record is logged, not returned. detail must hold no secret.
func (s *Server) AddEvent(ctx context.Context, userID, kind, detail string) {
	if kind == "" {
		s.log.ErrorContext(ctx, "oauth: event without a kind not recorded")
		return
	}
	s.event(ctx, Event{Kind: kind, UserID: userID, Detail: clip(detail, 256)})
}

// RecordEvent records e; a zero Time is now. Detail must hold no secret.
func (s *Server) RecordEvent(ctx context.Context, e Event) error {
	if e.Kind == "" {
		return errors.New("oauth: event without a kind")
	}
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	e.Detail = clip(e.Detail, 256)
	return s.st.AddEvent(ctx, e)
}

// Pseudonym is the stable pseudonym of a user id that introspection returns
// as sub: HMAC-SM3 under the subject key, so the app never learns the
// bank's customer id (personal data protection, 11.3).
func (s *Server) Pseudonym(userID string) string {
	m := hmac.New(sm3.New, s.cfg.SubjectKey)
	m.Write([]byte(userID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// event records e, logging (without its detail) a failure to.
func (s *Server) event(ctx context.Context, e Event) {
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	if err := s.st.AddEvent(ctx, e); err != nil {
		s.log.ErrorContext(ctx, "oauth: event not recorded", "kind", e.Kind, "app_id", e.AppID, "err", err)
	}
}

// secretLen is the length of a code or token: 256 bits in base64url.
const secretLen = 43

// newSecret returns a new code or token: 256 random bits, base64url.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// newID returns a random, non-secret identifier.
func newID(prefix string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// hashOf is what the store keeps of a code or token.
func hashOf(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// wellFormed reports whether s can be a code or token this server issued.
func wellFormed(s string) bool {
	if len(s) != secretLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isB64URL(s[i]) {
			return false
		}
	}
	return true
}

func isB64URL(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// clip shortens s to at most n bytes, on a character boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

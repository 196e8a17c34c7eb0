package oauth_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bankguard/bankguard/oauth"
	"github.com/bankguard/bankguard/oauth/oauthtest"
)

// TestIntrospectRefusals: what the gateway hears for each dead token.
func TestIntrospectRefusals(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	_, live := h.authorize(t, appA, alice, oauth.ValidityAgreement, "accounts")
	_, expired := h.authorize(t, appA, alice, oauth.ValidityAgreement, "accounts")
	_, revoked := h.authorize(t, appA, alice, oauth.ValidityAgreement, "accounts")
	cRevoked, underRevoked := h.authorize(t, appA, alice, oauth.ValidityAgreement, "accounts")
	if st, _ := h.srv.Revoke(ctx, appA, url.Values{"token": {revoked.AccessToken}}); st != 200 {
		t.Fatal(st)
	}
	if err := h.srv.RevokeConsent(ctx, alice, cRevoked.ID); err != nil {
		t.Fatal(err)
	}
	// A consent that ends before its token (only a store can hold such a
	// pair; the server bounds tokens by their consent).
	short := oauthtest.Consent("cns_short", appA, alice, oauth.ValidityAgreement, t0)
	short.ExpiresAt = t0.Add(time.Minute)
	if err := h.st.CreateConsent(ctx, short); err != nil {
		t.Fatal(err)
	}
	shortTok := "shortshortshortshortshortshortshortshort123"
	rec := oauthtest.Token("x", oauth.KindAccess, "fam_x", appA, alice, "cns_short")
	sum := sha256.Sum256([]byte(shortTok))
	rec.Hash, rec.ExpiresAt = sum[:], t0.Add(time.Hour)
	if err := h.st.CreateTokens(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if !h.active(t, shortTok) {
		t.Fatal("the hand-made token is not active")
	}
	h.clk.Add(5 * time.Minute) // every access token of the A2 app has expired but the hand-made one
	_, live2 := h.authorize(t, appA, alice, oauth.ValidityAgreement, "accounts")
	_ = live
	for _, tc := range []struct {
		name  string
		token string
		want  error
	}{
		{"empty", "", oauth.ErrTokenInvalid},
		{"malformed", "not a token", oauth.ErrTokenInvalid},
		{"unknown", strings.Repeat("A", 43), oauth.ErrTokenInvalid},
		{"refresh token", live2.RefreshToken, oauth.ErrTokenInvalid},
		{"expired", expired.AccessToken, oauth.ErrTokenExpired},
		{"revoked token", revoked.AccessToken, oauth.ErrTokenRevoked},
		{"revoked consent", underRevoked.AccessToken, oauth.ErrTokenRevoked},
		{"expired consent", shortTok, oauth.ErrTokenRevoked},
	} {
		g, err := h.srv.Introspect(ctx, tc.token)
		if !errors.Is(err, tc.want) || g != nil {
			t.Errorf("Introspect(%s) = %+v, %v; want %v", tc.name, g, err, tc.want)
		}
	}
	if !h.active(t, live2.AccessToken) {
		t.Error("a live token is not active")
	}
}

// TestConsumeOnce: single-use validity, T/PCAC 0008-2020 5.3.2.
func TestConsumeOnce(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	c, tok := h.authorize(t, appA, alice, oauth.ValidityOnce, "accounts")
	g, err := h.srv.Introspect(ctx, tok.AccessToken)
	if err != nil || !g.OneTime {
		t.Fatalf("grant = %+v, %v", g, err)
	}
	if err := h.srv.ConsumeOnce(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.ConsumeOnce(ctx, c.ID); !errors.Is(err, oauth.ErrConsentUsed) {
		t.Errorf("second ConsumeOnce = %v, want ErrConsentUsed", err)
	}
	if _, err := h.srv.Introspect(ctx, tok.AccessToken); !errors.Is(err, oauth.ErrTokenRevoked) {
		t.Errorf("Introspect after consumption = %v, want ErrTokenRevoked", err)
	}
	if !hasEvent(h.events(t, alice), oauth.EventConsentUsed) {
		t.Error("no consent_used event")
	}

	// Concurrent first uses: exactly one goes through.
	c2, _ := h.authorize(t, appA, alice, oauth.ValidityOnce, "accounts")
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if h.srv.ConsumeOnce(ctx, c2.ID) == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ok != 1 {
		t.Errorf("%d concurrent ConsumeOnce calls succeeded, want 1", ok)
	}

	// An unused once-consent expires after OnceTTL.
	c3, tok3 := h.authorize(t, appB, bob, oauth.ValidityOnce, "accounts")
	h.clk.Add(oauth.DefaultOnceTTL)
	if err := h.srv.ConsumeOnce(ctx, c3.ID); errors.Is(err, nil) || errors.Is(err, oauth.ErrConsentUsed) {
		t.Errorf("ConsumeOnce(expired) = %v, want a refusal other than ErrConsentUsed", err)
	}
	if h.active(t, tok3.AccessToken) {
		t.Error("a token of an expired once-consent is active")
	}
	if err := h.srv.ConsumeOnce(ctx, "cns_nope"); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("ConsumeOnce(unknown) = %v", err)
	}
	periodic, _ := h.authorize(t, appB, bob, oauth.ValidityAgreement, "accounts")
	if err := h.srv.ConsumeOnce(ctx, periodic.ID); err == nil {
		t.Error("a periodic consent was consumed")
	}
}

type introspection struct {
	Active    bool              `json:"active"`
	Scope     string            `json:"scope"`
	ClientID  string            `json:"client_id"`
	Sub       string            `json:"sub"`
	Exp       int64             `json:"exp"`
	Iat       int64             `json:"iat"`
	TokenType string            `json:"token_type"`
	ACR       string            `json:"acr"`
	ConsentID string            `json:"consent_id"`
	Cnf       map[string]string `json:"cnf"`
}

// TestIntrospectHTTP: RFC 7662.
func TestIntrospectHTTP(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	c, tok := h.authorize(t, appA, alice, oauth.ValidityAgreement, "accounts")
	ask := func(app, token string) (int, introspection, string) {
		st, body := h.srv.IntrospectHTTP(ctx, app, url.Values{"token": {token}})
		var r introspection
		json.Unmarshal(body, &r)
		return st, r, string(body)
	}
	st, r, body := ask(appA, tok.AccessToken)
	if st != 200 || !r.Active || r.Scope != "accounts" || r.ClientID != appA || r.Exp != t0.Add(5*time.Minute).Unix() ||
		r.Iat != t0.Unix() || r.TokenType != "Bearer" || r.ACR != oauth.ACRTwoFactor || r.ConsentID != c.ID ||
		r.Cnf["x5t#S256"] != thumbA || r.Sub == "" {
		t.Errorf("introspection = %d %s", st, body)
	}
	if strings.Contains(body, alice) || r.Sub != h.srv.Pseudonym(alice) || h.srv.Pseudonym(bob) == r.Sub {
		t.Errorf("sub %q is not the user's pseudonym", r.Sub)
	}
	if _, r, _ := ask(appA, tok.RefreshToken); !r.Active || r.TokenType != "refresh_token" {
		t.Errorf("refresh token introspection = %+v", r)
	}
	_, tokB := h.authorize(t, appB, bob, oauth.ValidityAgreement, "accounts")
	if _, r, body := ask(appB, tokB.AccessToken); !r.Active || r.Cnf != nil || strings.Contains(body, "cnf") {
		t.Errorf("unbound token introspection = %s", body)
	}
	_, revoked := h.authorize(t, appA, alice, oauth.ValidityAgreement, "accounts")
	h.srv.Revoke(ctx, appA, url.Values{"token": {revoked.AccessToken}})
	for _, tc := range []struct{ name, app, token string }{
		{"another app's token", appB, tok.AccessToken},
		{"unknown", appA, strings.Repeat("A", 43)},
		{"malformed", appA, "x"},
		{"revoked", appA, revoked.AccessToken},
	} {
		if st, _, body := ask(tc.app, tc.token); st != 200 || body != `{"active":false}` {
			t.Errorf("introspection of %s = %d %s", tc.name, st, body)
		}
	}
	if alerts := h.events(t, ""); len(alerts) != 1 || alerts[0].AppID != appB {
		t.Errorf("alerts = %+v", alerts)
	}
	h.clk.Add(5 * time.Minute)
	if _, _, body := ask(appA, tok.AccessToken); body != `{"active":false}` {
		t.Errorf("expired token introspection = %s", body)
	}
	for name, form := range map[string]url.Values{
		"token missing":  {},
		"token empty":    {"token": {""}},
		"token repeated": {"token": {tok.AccessToken, tok.AccessToken}},
	} {
		st, body := h.srv.IntrospectHTTP(ctx, appA, form)
		if st != 400 || !strings.Contains(string(body), `"invalid_request"`) {
			t.Errorf("%s = %d %s", name, st, body)
		}
	}
	h.noSecrets(t, tok.AccessToken, tok.RefreshToken, revoked.AccessToken)
}

// TestRevoke: RFC 7009.
func TestRevoke(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	revoke := func(app, token, hint string) (int, string) {
		f := url.Values{"token": {token}}
		if hint != "" {
			f.Set("token_type_hint", hint)
		}
		st, body := h.srv.Revoke(ctx, app, f)
		return st, string(body)
	}
	_, tok := h.authorize(t, appA, alice, oauth.ValidityAgreement, "accounts")

	// Another app's token: 200, not revoked, an alert.
	if st, _ := revoke(appB, tok.AccessToken, ""); st != 200 || !h.active(t, tok.AccessToken) {
		t.Errorf("another app revoked a token (%d)", st)
	}
	if alerts := h.events(t, ""); len(alerts) != 1 {
		t.Errorf("alerts = %+v", alerts)
	}
	// Unknown and malformed tokens: 200.
	for _, tok := range []string{strings.Repeat("A", 43), "junk"} {
		if st, body := revoke(appA, tok, "access_token"); st != 200 || body != "{}" {
			t.Errorf("revoke(unknown) = %d %s", st, body)
		}
	}
	// An access token: only it (the hint is only a hint).
	if st, _ := revoke(appA, tok.AccessToken, "refresh_token"); st != 200 || h.active(t, tok.AccessToken) {
		t.Errorf("access token not revoked (%d)", st)
	}
	st, next := h.token(t, appA, thumbA, refreshForm(tok.RefreshToken))
	if st != 200 {
		t.Fatalf("refresh after access revocation = %d %+v", st, next)
	}
	// A refresh token: the whole authorization.
	if st, _ := revoke(appA, next.RefreshToken, ""); st != 200 || h.active(t, next.AccessToken) {
		t.Errorf("refresh revocation left its access token active (%d)", st)
	}
	if st, _ := revoke(appA, next.RefreshToken, ""); st != 200 {
		t.Errorf("revoking twice = %d", st)
	}
	for name, form := range map[string]url.Values{
		"token missing":  {"token_type_hint": {"access_token"}},
		"token repeated": {"token": {"a", "b"}},
	} {
		st, body := h.srv.Revoke(ctx, appA, form)
		if st != 400 || !strings.Contains(string(body), `"invalid_request"`) {
			t.Errorf("%s = %d %s", name, st, body)
		}
	}
	if !hasEvent(h.events(t, alice), oauth.EventRevoked) {
		t.Error("no tokens_revoked event")
	}
	h.noSecrets(t, tok.AccessToken, tok.RefreshToken, next.AccessToken, next.RefreshToken)
}

// TestRevokeAppAndUser: the bank's active disconnect, T/PCAC 0008-2020 5.2.1 e.
func TestRevokeAppAndUser(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	_, aAlice := h.authorize(t, appA, alice, oauth.ValidityAgreement, "accounts")
	_, aBob := h.authorize(t, appA, bob, oauth.ValidityAgreement, "accounts")
	_, bAlice := h.authorize(t, appB, alice, oauth.ValidityAgreement, "accounts")
	_, bBob := h.authorize(t, appB, bob, oauth.ValidityAgreement, "accounts")

	n, err := h.srv.RevokeApp(ctx, appA)
	if err != nil || n != 4 { // two access and two refresh tokens
		t.Errorf("RevokeApp = %d, %v; want 4", n, err)
	}
	if h.active(t, aAlice.AccessToken) || h.active(t, aBob.AccessToken) {
		t.Error("an app-a token survived RevokeApp")
	}
	if st, _ := h.token(t, appA, thumbA, refreshForm(aAlice.RefreshToken)); st != 400 {
		t.Error("an app-a refresh token survived RevokeApp")
	}
	if !h.active(t, bAlice.AccessToken) || !h.active(t, bBob.AccessToken) {
		t.Error("RevokeApp(app-a) revoked app-b's tokens")
	}
	n, err = h.srv.RevokeUser(ctx, alice)
	if err != nil || n != 2 {
		t.Errorf("RevokeUser = %d, %v; want 2", n, err)
	}
	if h.active(t, bAlice.AccessToken) || !h.active(t, bBob.AccessToken) {
		t.Error("RevokeUser(alice) revoked the wrong tokens")
	}
	if n, err := h.srv.RevokeUser(ctx, alice); n != 0 || err != nil {
		t.Errorf("RevokeUser again = %d, %v", n, err)
	}
	if _, err := h.srv.RevokeApp(ctx, ""); err == nil {
		t.Error("RevokeApp(\"\") revoked")
	}
	if _, err := h.srv.RevokeUser(ctx, ""); err == nil {
		t.Error("RevokeUser(\"\") revoked")
	}
	if !h.active(t, bBob.AccessToken) {
		t.Error("an empty id revoked a token")
	}
	if !hasEvent(h.events(t, alice), oauth.EventRevoked) {
		t.Error("no revocation in alice's history")
	}
}

func TestEventsAndAlerts(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.srv.AddEvent(ctx, alice, oauth.EventLogin, "password and TOTP")
	h.srv.AddEvent(ctx, alice, "", "no kind")
	if err := h.srv.RecordEvent(ctx, oauth.Event{UserID: alice}); err == nil {
		t.Error("an event without a kind was recorded")
	}
	if err := h.srv.RecordEvent(ctx, oauth.Event{Kind: "x", UserID: bob, AppID: appA, ConsentID: "c"}); err != nil {
		t.Error(err)
	}
	h.clk.Add(time.Second)
	h.authorize(t, appA, alice, oauth.ValidityAgreement, "accounts")
	h.authorize(t, appA, bob, oauth.ValidityAgreement, "accounts")
	evs, err := h.srv.Events(ctx, alice, 0)
	if err != nil || len(evs) != 4 || evs[3].Kind != oauth.EventLogin || !evs[3].Time.Equal(t0) {
		t.Fatalf("Events = %+v, %v", evs, err)
	}
	for _, e := range evs {
		if e.UserID != alice {
			t.Errorf("another user's event in alice's history: %+v", e)
		}
	}
	if evs, _ := h.srv.Events(ctx, alice, 2); len(evs) != 2 || evs[0].Kind != oauth.EventToken {
		t.Errorf("Events(limit 2) = %+v", evs)
	}
	if _, err := h.srv.Events(ctx, "", 10); err == nil {
		t.Error("Events(\"\") answered")
	}

	const secretish = "token-value-never-logged"
	h.srv.Alert(ctx, "token_other_app", appB, "token of "+appA+" presented: "+secretish)
	alerts := h.events(t, "")
	if len(alerts) != 1 || alerts[0].AppID != appB || !strings.HasPrefix(alerts[0].Detail, "token_other_app: ") {
		t.Errorf("alerts = %+v", alerts)
	}
	logs := h.logs.String()
	if !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "app_id="+appB) || strings.Contains(logs, secretish) {
		t.Errorf("alert log = %s", logs)
	}
	h.srv.Alert(ctx, "k", appB, strings.Repeat("长", 200))
	if alerts := h.events(t, ""); len(alerts[0].Detail) > 256 || !strings.HasSuffix(alerts[0].Detail, "长") {
		t.Errorf("long detail not clipped on a character boundary: %d bytes", len(alerts[0].Detail))
	}
}

func TestConfig(t *testing.T) {
	for name, cfg := range map[string]oauth.Config{
		"no subject key":    {},
		"short subject key": {SubjectKey: []byte("short")},
		"code ttl too long": {SubjectKey: subjectKey, CodeTTL: time.Hour},
		"negative code ttl": {SubjectKey: subjectKey, CodeTTL: -time.Second},
		"negative access":   {SubjectKey: subjectKey, AccessTTL: map[string]time.Duration{"A2": -1}},
		"negative refresh":  {SubjectKey: subjectKey, RefreshTTL: -1},
		"negative once":     {SubjectKey: subjectKey, OnceTTL: -1},
	} {
		if err := cfg.Validate(); err == nil {
			t.Errorf("%s: Validate passed", name)
		}
	}
	if err := (oauth.Config{SubjectKey: subjectKey}).Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("NewServer without a subject key did not panic")
		}
	}()
	oauth.NewServer(oauth.NewMemStore(), &apps{}, oauth.Config{}, nil)
}

// TestUnknownLevelGetsShortestLifetime: fail closed on an app of an
// unexpected level.
func TestUnknownLevelGetsShortestLifetime(t *testing.T) {
	h := newHarness(t)
	h.apps.m[appB] = oauth.AppInfo{ID: appB, Level: "A9", RedirectURIs: []string{redirectB}, AgreementEnd: t0.Add(time.Hour * 24)}
	_, tok := h.authorize(t, appB, alice, oauth.ValidityAgreement, "accounts")
	if tok.ExpiresIn != 300 {
		t.Errorf("expires_in = %d, want the shortest (300)", tok.ExpiresIn)
	}
}

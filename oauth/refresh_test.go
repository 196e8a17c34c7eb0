package oauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/bankguard/bankguard/oauth"
)

func TestRefreshRotates(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	c, tok := h.authorize(t, appA, alice, oauth.ValidityAgreement, "accounts", "transfers")
	h.clk.Add(10 * time.Minute) // the access token has expired
	if _, err := h.srv.Introspect(ctx, tok.AccessToken); !errors.Is(err, oauth.ErrTokenExpired) {
		t.Fatalf("Introspect(expired) = %v, want ErrTokenExpired", err)
	}
	st, next := h.token(t, appA, thumbA, refreshForm(tok.RefreshToken))
	if st != 200 || next.RefreshToken == "" || next.RefreshToken == tok.RefreshToken ||
		next.AccessToken == tok.AccessToken || next.ConsentID != c.ID || next.ACR != oauth.ACRTwoFactor ||
		next.Scope != "accounts transfers" || next.ExpiresIn != 300 {
		t.Fatalf("refresh = %d %+v", st, next)
	}
	if !h.active(t, next.AccessToken) {
		t.Error("the refreshed access token is not active")
	}
	// A narrower scope is allowed; the refresh token keeps the full grant.
	form := refreshForm(next.RefreshToken)
	form.Set("scope", "accounts")
	st, narrow := h.token(t, appA, thumbA, form)
	if st != 200 || narrow.Scope != "accounts" {
		t.Fatalf("narrow refresh = %d %+v", st, narrow)
	}
	if g, _ := h.srv.Introspect(ctx, narrow.AccessToken); g == nil || len(g.Scopes) != 1 {
		t.Errorf("narrow grant = %+v", g)
	}
	st, full := h.token(t, appA, thumbA, refreshForm(narrow.RefreshToken))
	if st != 200 || full.Scope != "accounts transfers" {
		t.Errorf("refresh after a narrow one = %d %+v", st, full)
	}
	if !hasEvent(h.events(t, alice), oauth.EventRefresh) {
		t.Error("no token_refreshed event")
	}
	h.noSecrets(t, tok.AccessToken, tok.RefreshToken, next.AccessToken, next.RefreshToken, full.RefreshToken)
}

// TestRefreshReuseRevokesFamily: OAuth 2.0 Security BCP §4.14.
func TestRefreshReuseRevokesFamily(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	_, tok := h.authorize(t, appA, alice, oauth.ValidityAgreement, "accounts")
	_, unrelated := h.authorize(t, appA, alice, oauth.ValidityAgreement, "accounts")
	st, next := h.token(t, appA, thumbA, refreshForm(tok.RefreshToken))
	if st != 200 {
		t.Fatalf("refresh: %d %+v", st, next)
	}
	st, b := h.token(t, appA, thumbA, refreshForm(tok.RefreshToken)) // the old one again
	if st != 400 || b.Error != "invalid_grant" || b.AccessToken != "" {
		t.Fatalf("reuse = %d %+v, want invalid_grant", st, b)
	}
	for name, at := range map[string]string{"original": tok.AccessToken, "rotated": next.AccessToken} {
		if _, err := h.srv.Introspect(ctx, at); !errors.Is(err, oauth.ErrTokenRevoked) {
			t.Errorf("%s access token after reuse: %v, want ErrTokenRevoked", name, err)
		}
	}
	if st, b := h.token(t, appA, thumbA, refreshForm(next.RefreshToken)); st != 400 || b.Error != "invalid_grant" {
		t.Errorf("the rotated refresh token after reuse = %d %+v", st, b)
	}
	if !h.active(t, unrelated.AccessToken) {
		t.Error("refresh reuse revoked another authorization's token")
	}
	if !hasEvent(h.events(t, alice), oauth.EventRefreshReuse) {
		t.Error("no refresh_reuse event")
	}
}

// TestRefreshConcurrentUse: two uses of one refresh token at once — one
// wins, the other is a reuse and revokes the family, the winner's tokens
// included.
func TestRefreshConcurrentUse(t *testing.T) {
	h := newHarness(t)
	_, tok := h.authorize(t, appA, alice, oauth.ValidityAgreement, "accounts")
	type result struct {
		st int
		b  tokenBody
	}
	out := make(chan result, 2)
	for range 2 {
		go func() {
			st, body := h.srv.Token(context.Background(), appA, thumbA, refreshForm(tok.RefreshToken))
			var b tokenBody
			json.Unmarshal(body, &b)
			out <- result{st, b}
		}()
	}
	r1, r2 := <-out, <-out
	oks := 0
	for _, r := range []result{r1, r2} {
		if r.st == 200 {
			oks++
			if h.active(t, r.b.AccessToken) {
				t.Error("the winner's token survived a concurrent reuse")
			}
		}
	}
	if oks > 1 {
		t.Errorf("%d concurrent refreshes succeeded", oks)
	}
}

// TestRefreshRefusals: RFC 6749 §6, RFC 8705, T/PCAC 0008-2020 5.2.1 d.
func TestRefreshRefusals(t *testing.T) {
	for _, tc := range []struct {
		name    string
		app     string
		thumb   string
		form    func(tok tokenBody) url.Values
		before  func(h *harness, c *oauth.Consent, tok tokenBody)
		status  int
		errCode string
	}{
		{name: "refresh token missing", form: func(tokenBody) url.Values { return refreshForm("") },
			status: 400, errCode: "invalid_request"},
		{name: "refresh token unknown", form: func(tokenBody) url.Values {
			return refreshForm("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
		}, status: 400, errCode: "invalid_grant"},
		{name: "access token as refresh token", form: func(tok tokenBody) url.Values { return refreshForm(tok.AccessToken) },
			status: 400, errCode: "invalid_grant"},
		{name: "refresh token of another app", app: appB, thumb: "-", status: 400, errCode: "invalid_grant"},
		{name: "certificate thumbprint wrong", thumb: "AAAA" + thumbA[4:], status: 400, errCode: "invalid_grant"},
		{name: "certificate missing", thumb: "-", status: 400, errCode: "invalid_grant"},
		{name: "consent revoked", before: func(h *harness, c *oauth.Consent, _ tokenBody) {
			h.srv.RevokeConsent(context.Background(), c.UserID, c.ID)
		}, status: 400, errCode: "invalid_grant"},
		{name: "consent expired", before: func(h *harness, _ *oauth.Consent, _ tokenBody) { h.clk.Add(2 * time.Hour) },
			status: 400, errCode: "invalid_grant"},
		{name: "refresh token revoked by the app", before: func(h *harness, _ *oauth.Consent, tok tokenBody) {
			h.srv.Revoke(context.Background(), appA, url.Values{"token": {tok.RefreshToken}})
		}, status: 400, errCode: "invalid_grant"},
		{name: "user's tokens revoked by the bank", before: func(h *harness, _ *oauth.Consent, _ tokenBody) {
			h.srv.RevokeUser(context.Background(), alice)
		}, status: 400, errCode: "invalid_grant"},
		{name: "scope beyond the grant", form: func(tok tokenBody) url.Values {
			f := refreshForm(tok.RefreshToken)
			f.Set("scope", "accounts holdings")
			return f
		}, status: 400, errCode: "invalid_scope"},
		{name: "scope only spaces", form: func(tok tokenBody) url.Values {
			f := refreshForm(tok.RefreshToken)
			f.Set("scope", "  ")
			return f
		}, status: 400, errCode: "invalid_scope"},
		{name: "app no longer active", before: func(h *harness, _ *oauth.Consent, _ tokenBody) { h.apps.remove(appA) },
			status: 401, errCode: "invalid_client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			c := h.consent(t, appA, alice, oauth.ValidityUntil, "accounts") // until t0+2h
			code := h.code(t, c, oauth.ACRTwoFactor)
			st, tok := h.token(t, appA, thumbA, codeForm(code, redirectA, verifier))
			if st != 200 {
				t.Fatalf("token: %d %+v", st, tok)
			}
			if tc.before != nil {
				tc.before(h, c, tok)
			}
			form := refreshForm(tok.RefreshToken)
			if tc.form != nil {
				form = tc.form(tok)
			}
			st, b := h.token(t, orDefault(tc.app, appA), orDefault(tc.thumb, thumbA), form)
			if st != tc.status || b.Error != tc.errCode || b.AccessToken != "" {
				t.Fatalf("refresh = %d %+v; want %d %s", st, b, tc.status, tc.errCode)
			}
		})
	}
}

// TestRefreshOfAnotherAppRevokesFamily: a refresh token in another app's
// hands has leaked; its family is revoked and an alert raised.
func TestRefreshOfAnotherAppRevokesFamily(t *testing.T) {
	h := newHarness(t)
	_, tok := h.authorize(t, appA, alice, oauth.ValidityAgreement, "accounts")
	if st, _ := h.token(t, appB, "", refreshForm(tok.RefreshToken)); st != 400 {
		t.Fatalf("status %d", st)
	}
	if h.active(t, tok.AccessToken) {
		t.Error("the family survived its refresh token in another app's hands")
	}
	if alerts := h.events(t, ""); len(alerts) != 1 || alerts[0].AppID != appB {
		t.Errorf("alerts = %+v", alerts)
	}
}

// TestRefreshBoundedByConsent: a refresh token never outlives its consent.
func TestRefreshBoundedByConsent(t *testing.T) {
	h := newHarness(t)
	c, tok := h.authorize(t, appA, alice, oauth.ValidityUntil, "accounts") // until t0+2h, refresh TTL 30 days
	_, body := h.srv.IntrospectHTTP(context.Background(), appA, url.Values{"token": {tok.RefreshToken}})
	var r struct {
		Active bool  `json:"active"`
		Exp    int64 `json:"exp"`
	}
	json.Unmarshal(body, &r)
	if !r.Active || r.Exp != c.ExpiresAt.Unix() {
		t.Errorf("refresh token exp = %d, want the consent's end %d (%s)", r.Exp, c.ExpiresAt.Unix(), body)
	}
	// Just before the consent ends a refresh works, with an access token
	// that ends with the consent.
	h.clk.Add(2*time.Hour - time.Minute)
	st, next := h.token(t, appA, thumbA, refreshForm(tok.RefreshToken))
	if st != 200 || next.ExpiresIn != 60 {
		t.Fatalf("refresh a minute before the consent ends = %d %+v", st, next)
	}
	h.clk.Add(time.Minute)
	if st, b := h.token(t, appA, thumbA, refreshForm(next.RefreshToken)); st != 400 || b.Error != "invalid_grant" {
		t.Errorf("refresh at the consent's end = %d %+v", st, b)
	}
}

// TestRefreshExpires: a refresh token dies after RefreshTTL.
func TestRefreshExpires(t *testing.T) {
	h := newHarnessConfig(t, oauth.Config{RefreshTTL: time.Hour})
	_, tok := h.authorize(t, appA, alice, oauth.ValidityAgreement, "accounts")
	h.clk.Add(time.Hour)
	if st, b := h.token(t, appA, thumbA, refreshForm(tok.RefreshToken)); st != 400 || b.Error != "invalid_grant" {
		t.Errorf("expired refresh = %d %+v", st, b)
	}
}

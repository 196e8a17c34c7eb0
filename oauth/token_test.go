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

func TestTokenAuthorizationCode(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	c, tok := h.authorize(t, appA, alice, oauth.ValidityAgreement, "transfers", "accounts")
	if tok.TokenType != "Bearer" || tok.ExpiresIn != 300 || tok.Scope != "accounts transfers" ||
		tok.ConsentID != c.ID || tok.ACR != oauth.ACRTwoFactor || len(tok.AccessToken) != 43 ||
		len(tok.RefreshToken) != 43 || tok.AccessToken == tok.RefreshToken {
		t.Errorf("token response = %+v", tok)
	}
	g, err := h.srv.Introspect(ctx, tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if g.AppID != appA || g.UserID != alice || g.ConsentID != c.ID || g.ACR != oauth.ACRTwoFactor ||
		g.CertThumbprint != thumbA || len(g.Accounts) != 1 || g.Accounts[0] != c.Accounts[0] || g.OneTime ||
		len(g.Scopes) != 2 || !g.ExpiresAt.Equal(t0.Add(5*time.Minute)) {
		t.Errorf("grant = %+v", g)
	}
	// An A1 app's access token lives 30 minutes; an app without a
	// certificate gets unbound tokens.
	_, tokB := h.authorize(t, appB, bob, oauth.ValidityAgreement, "accounts")
	if tokB.ExpiresIn != 1800 {
		t.Errorf("A1 expires_in = %d", tokB.ExpiresIn)
	}
	if g, _ := h.srv.Introspect(ctx, tokB.AccessToken); g == nil || g.CertThumbprint != "" {
		t.Errorf("A1 grant = %+v", g)
	}
	for _, kind := range []string{oauth.EventConsent, oauth.EventCode, oauth.EventToken} {
		if !hasEvent(h.events(t, alice), kind) {
			t.Errorf("no %s event", kind)
		}
	}
	h.noSecrets(t, tok.AccessToken, tok.RefreshToken, tokB.AccessToken, tokB.RefreshToken)
}

func TestTokenLifetimesConfigured(t *testing.T) {
	h := newHarnessConfig(t, oauth.Config{AccessTTL: map[string]time.Duration{"A2": time.Minute}})
	_, tok := h.authorize(t, appA, alice, oauth.ValidityAgreement, "accounts")
	if tok.ExpiresIn != 60 {
		t.Errorf("expires_in = %d, want 60", tok.ExpiresIn)
	}
	// Never beyond the consent: a consent ending in 2 minutes bounds a
	// 30-minute A1 token.
	h = newHarness(t)
	c := oauth.Consent{AppID: appB, UserID: alice, Scopes: []string{"accounts"}, Accounts: []string{"a"},
		Validity: oauth.ValidityUntil, ExpiresAt: t0.Add(2 * time.Minute), SessionID: "s"}
	cc, err := h.srv.CreateConsent(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	st, b := h.token(t, appB, "", codeForm(h.code(t, cc, oauth.ACROneFactor), redirectB, verifier))
	if st != 200 || b.ExpiresIn != 120 || b.ACR != oauth.ACROneFactor {
		t.Errorf("token = %d %+v, want expires_in 120", st, b)
	}
}

// TestTokenCodeRefusals: RFC 6749 §4.1.3, RFC 7636 §4.6, RFC 8705.
func TestTokenCodeRefusals(t *testing.T) {
	for _, tc := range []struct {
		name    string
		app     string // presenting app (default appA)
		thumb   string // presented thumbprint (default thumbA)
		form    func(code string) url.Values
		before  func(h *harness, c *oauth.Consent)
		status  int
		errCode string
	}{
		{name: "PKCE verifier missing", form: func(code string) url.Values { return codeForm(code, redirectA, "") },
			status: 400, errCode: "invalid_request"},
		{name: "PKCE verifier wrong", form: func(code string) url.Values {
			return codeForm(code, redirectA, "wrongwrongwrongwrongwrongwrongwrongwrongwrong")
		}, status: 400, errCode: "invalid_grant"},
		{name: "PKCE verifier is the challenge (plain)", form: func(code string) url.Values {
			return codeForm(code, redirectA, challenge(verifier))
		}, status: 400, errCode: "invalid_grant"},
		{name: "PKCE verifier too short", form: func(code string) url.Values { return codeForm(code, redirectA, "short") },
			status: 400, errCode: "invalid_request"},
		{name: "PKCE verifier bad character", form: func(code string) url.Values { return codeForm(code, redirectA, verifier+"!") },
			status: 400, errCode: "invalid_request"},
		{name: "redirect mismatch", form: func(code string) url.Values { return codeForm(code, "https://a.example/other", verifier) },
			status: 400, errCode: "invalid_grant"},
		{name: "redirect with a trailing slash", form: func(code string) url.Values { return codeForm(code, redirectA+"/", verifier) },
			status: 400, errCode: "invalid_grant"},
		{name: "redirect missing", form: func(code string) url.Values { return codeForm(code, "", verifier) },
			status: 400, errCode: "invalid_request"},
		{name: "code missing", form: func(string) url.Values { return codeForm("", redirectA, verifier) },
			status: 400, errCode: "invalid_request"},
		{name: "code unknown", form: func(string) url.Values {
			return codeForm("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", redirectA, verifier)
		}, status: 400, errCode: "invalid_grant"},
		{name: "code malformed", form: func(code string) url.Values { return codeForm(code+"x", redirectA, verifier) },
			status: 400, errCode: "invalid_grant"},
		{name: "code expired", before: func(h *harness, _ *oauth.Consent) { h.clk.Add(oauth.DefaultCodeTTL) },
			status: 400, errCode: "invalid_grant"},
		{name: "code of another app", app: appB, thumb: "-", status: 400, errCode: "invalid_grant"},
		{name: "certificate thumbprint wrong", thumb: "AAAA" + thumbA[4:], status: 400, errCode: "invalid_grant"},
		{name: "certificate missing", thumb: "-", status: 400, errCode: "invalid_grant"},
		{name: "consent revoked after the code", before: func(h *harness, c *oauth.Consent) {
			h.srv.RevokeConsent(context.Background(), c.UserID, c.ID)
		}, status: 400, errCode: "invalid_grant"},
		{name: "app no longer active", before: func(h *harness, _ *oauth.Consent) { h.apps.remove(appA) },
			status: 401, errCode: "invalid_client"},
		{name: "grant type unsupported", form: func(code string) url.Values {
			f := codeForm(code, redirectA, verifier)
			f.Set("grant_type", "password")
			return f
		}, status: 400, errCode: "unsupported_grant_type"},
		{name: "grant type missing", form: func(code string) url.Values {
			f := codeForm(code, redirectA, verifier)
			f.Del("grant_type")
			return f
		}, status: 400, errCode: "invalid_request"},
		{name: "parameter repeated", form: func(code string) url.Values {
			f := codeForm(code, redirectA, verifier)
			f.Add("code", code)
			return f
		}, status: 400, errCode: "invalid_request"},
		{name: "no app", app: "-", status: 401, errCode: "invalid_client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			c := h.consent(t, appA, alice, oauth.ValidityAgreement, "accounts")
			code := h.code(t, c, oauth.ACRTwoFactor)
			if tc.before != nil {
				tc.before(h, c)
			}
			form := codeForm(code, redirectA, verifier)
			if tc.form != nil {
				form = tc.form(code)
			}
			app, thumb := orDefault(tc.app, appA), orDefault(tc.thumb, thumbA)
			st, b := h.token(t, app, thumb, form)
			if st != tc.status || b.Error != tc.errCode || b.AccessToken != "" {
				t.Fatalf("Token = %d %+v; want %d %s", st, b, tc.status, tc.errCode)
			}
			h.noSecrets(t, code, verifier)
		})
	}
}

func orDefault(v, def string) string {
	switch v {
	case "":
		return def
	case "-":
		return ""
	}
	return v
}

// TestCodeReuseRevokes: RFC 6749 §4.1.2, §10.5.
func TestCodeReuseRevokes(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	c := h.consent(t, appA, alice, oauth.ValidityAgreement, "accounts")
	code := h.code(t, c, oauth.ACRTwoFactor)
	form := codeForm(code, redirectA, verifier)
	st, first := h.token(t, appA, thumbA, form)
	if st != 200 {
		t.Fatalf("first use: %d %+v", st, first)
	}
	// A refresh made before the reuse belongs to the same family.
	st, refreshed := h.token(t, appA, thumbA, refreshForm(first.RefreshToken))
	if st != 200 {
		t.Fatalf("refresh: %d %+v", st, refreshed)
	}
	st, second := h.token(t, appA, thumbA, form)
	if st != 400 || second.Error != "invalid_grant" || second.AccessToken != "" {
		t.Fatalf("second use = %d %+v, want invalid_grant", st, second)
	}
	for name, at := range map[string]string{"first": first.AccessToken, "refreshed": refreshed.AccessToken} {
		if _, err := h.srv.Introspect(ctx, at); !errors.Is(err, oauth.ErrTokenRevoked) {
			t.Errorf("%s access token after code reuse: %v, want ErrTokenRevoked", name, err)
		}
	}
	if st, b := h.token(t, appA, thumbA, refreshForm(refreshed.RefreshToken)); st != 400 || b.Error != "invalid_grant" {
		t.Errorf("refresh after code reuse = %d %+v", st, b)
	}
	if !hasEvent(h.events(t, alice), oauth.EventCodeReuse) {
		t.Error("no code_reuse event")
	}
	// Another consent's tokens are untouched.
	_, other := h.authorize(t, appA, alice, oauth.ValidityAgreement, "accounts")
	if !h.active(t, other.AccessToken) {
		t.Error("code reuse revoked an unrelated token")
	}
}

// TestCodeOfAnotherAppBurnsIt: a code presented by another app is refused,
// raises an alert and can no longer be redeemed by its own app either.
func TestCodeOfAnotherAppBurnsIt(t *testing.T) {
	h := newHarness(t)
	c := h.consent(t, appA, alice, oauth.ValidityAgreement, "accounts")
	code := h.code(t, c, oauth.ACRTwoFactor)
	if st, b := h.token(t, appB, "", codeForm(code, redirectA, verifier)); st != 400 || b.Error != "invalid_grant" {
		t.Fatalf("other app = %d %+v", st, b)
	}
	if alerts := h.events(t, ""); len(alerts) != 1 || alerts[0].AppID != appB {
		t.Errorf("alerts = %+v", alerts)
	}
	if st, b := h.token(t, appA, thumbA, codeForm(code, redirectA, verifier)); st != 400 || b.Error != "invalid_grant" {
		t.Errorf("own app after another presented the code = %d %+v", st, b)
	}
}

func TestCodeUsableUntilItExpires(t *testing.T) {
	h := newHarness(t)
	c := h.consent(t, appA, alice, oauth.ValidityAgreement, "accounts")
	code := h.code(t, c, oauth.ACRTwoFactor)
	h.clk.Add(oauth.DefaultCodeTTL - time.Millisecond)
	if st, b := h.token(t, appA, thumbA, codeForm(code, redirectA, verifier)); st != 200 {
		t.Errorf("code just before expiry = %d %+v", st, b)
	}
}

// TestOnceConsentNoRefresh: a once-consent yields an access token only.
func TestOnceConsentNoRefresh(t *testing.T) {
	h := newHarness(t)
	_, tok := h.authorize(t, appA, alice, oauth.ValidityOnce, "transfers")
	if tok.RefreshToken != "" || tok.AccessToken == "" {
		t.Errorf("once consent token = %+v", tok)
	}
	g, err := h.srv.Introspect(context.Background(), tok.AccessToken)
	if err != nil || !g.OneTime {
		t.Errorf("grant = %+v, %v; want OneTime", g, err)
	}
}

// TestCodeConcurrentUse: presentations of one code at once — at most one
// gets tokens, and since the code was presented more than once those
// tokens are revoked whatever the interleaving.
func TestCodeConcurrentUse(t *testing.T) {
	h := newHarness(t)
	c := h.consent(t, appA, alice, oauth.ValidityAgreement, "accounts")
	code := h.code(t, c, oauth.ACRTwoFactor)
	const n = 4
	out := make(chan tokenBody, n)
	for range n {
		go func() {
			st, body := h.srv.Token(context.Background(), appA, thumbA, codeForm(code, redirectA, verifier))
			var b tokenBody
			json.Unmarshal(body, &b)
			if st != 200 {
				b.AccessToken = ""
			}
			out <- b
		}()
	}
	var issued []string
	for range n { // every presentation has finished before the check
		if b := <-out; b.AccessToken != "" {
			issued = append(issued, b.AccessToken)
		}
	}
	for _, at := range issued {
		if h.active(t, at) {
			t.Error("a token of a code presented several times is active")
		}
	}
	if len(issued) > 1 {
		t.Errorf("%d presentations of one code got tokens", len(issued))
	}
}

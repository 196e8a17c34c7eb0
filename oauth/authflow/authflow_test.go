package authflow

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bankguard/bankguard/oauth"
	"github.com/bankguard/bankguard/oauth/pages"
)

func TestRunWithTwoFactors(t *testing.T) {
	e := newEnv(t)
	var steps []string
	f := e.flow("alice", alicePW)
	f.Progress = func(m string) { steps = append(steps, m) }
	toks, err := f.Run(context.Background(), fund())
	if err != nil {
		t.Fatal(err)
	}
	if toks.ACR != oauth.ACRTwoFactor || toks.Scope != "accounts holdings transfers" || toks.RefreshToken == "" ||
		toks.ConsentID == "" || toks.ExpiresIn != int(oauth.DefaultAccessTTLA2/time.Second) {
		t.Fatalf("tokens = %v", toks)
	}
	g, err := e.introspect(toks.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if g.AppID != testApp || g.UserID != "cust-alice" || !slices.Equal(g.Accounts, []string{"acc-a1", "acc-a2"}) || g.OneTime {
		t.Fatalf("grant = %+v", g)
	}
	c := e.consent(toks.ConsentID)
	if c.Validity != oauth.ValidityAgreement || !c.RiskAcknowledged || !c.ExpiresAt.Equal(start.AddDate(1, 0, 0)) {
		t.Fatalf("consent = %+v", c)
	}
	sent := e.lastForm()
	if sent.Get("action") != "approve" || sent.Get("risk_ack") != "yes" || sent.Get("csrf") == "" {
		t.Fatalf("consent form sent = %v", sent)
	}
	for _, s := range steps {
		if strings.Contains(s, alicePW) || strings.Contains(s, pages.TOTP(aliceSecret, start)) {
			t.Fatalf("a progress line holds a secret: %q", s)
		}
	}
	if len(steps) < 5 {
		t.Fatalf("progress = %q", steps)
	}
}

func TestRunWithOneFactor(t *testing.T) {
	e := newEnv(t)
	for _, user := range []struct{ name, pw string }{{"alice", alicePW}, {"bob", bobPW}} {
		f := e.flow(user.name, user.pw)
		toks, err := f.Run(context.Background(), Request{Scopes: []string{"accounts"}, SkipSecondFactor: true})
		if err != nil {
			t.Fatalf("%s: %v", user.name, err)
		}
		if toks.ACR != oauth.ACROneFactor || toks.Scope != "accounts" {
			t.Fatalf("%s: tokens = %v", user.name, toks)
		}
	}
}

func TestSecondFactorRefusals(t *testing.T) {
	tests := []struct {
		name  string
		flow  func(e *env) *Flow
		req   Request
		check func(t *testing.T, err error)
	}{
		{
			name: "a fund scope when the flow skips the second factor",
			flow: func(e *env) *Flow { return e.flow("alice", alicePW) },
			req:  Request{Scopes: []string{"transfers"}, AcknowledgeRisk: true, SkipSecondFactor: true},
			check: func(t *testing.T, err error) {
				if !errors.Is(err, ErrSecondFactorRequired) {
					t.Fatalf("err = %v", err)
				}
			},
		},
		{
			name:  "a fund scope for a user without a second factor",
			flow:  func(e *env) *Flow { return e.flow("bob", bobPW) },
			req:   fund(),
			check: wantPage("sign-in", http.StatusForbidden, "second_factor_not_enrolled"),
		},
		{
			name: "a wrong TOTP secret",
			flow: func(e *env) *Flow {
				f := e.flow("alice", alicePW)
				f.TOTPSecret = []byte("not alice's secret at all")
				return f
			},
			req:   fund(),
			check: wantPage("second factor", http.StatusUnauthorized, "second_factor_failed"),
		},
		{
			name: "a wrong TOTP secret is not retried forever",
			flow: func(e *env) *Flow {
				f := e.flow("alice", alicePW)
				f.TOTPSecret, f.RetryTOTP = []byte("not alice's secret at all"), true
				return f
			},
			req:   fund(),
			check: wantPage("second factor", http.StatusUnauthorized, "second_factor_failed"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			_, err := tt.flow(e).Run(context.Background(), tt.req)
			tt.check(t, err)
		})
	}
}

// A TOTP code is accepted once: a second sign-in within the same 30-second
// step is refused, unless the flow waits for the next step (RetryTOTP).
func TestTOTPCodeUsedTwice(t *testing.T) {
	e := newEnv(t)
	f := e.flow("alice", alicePW)
	if _, err := f.Run(context.Background(), fund()); err != nil {
		t.Fatal(err)
	}
	_, err := f.Run(context.Background(), fund())
	wantPage("second factor", http.StatusUnauthorized, "second_factor_failed")(t, err)

	before := e.clock.now()
	f.RetryTOTP = true
	toks, err := f.Run(context.Background(), fund())
	if err != nil {
		t.Fatal(err)
	}
	if toks.ACR != oauth.ACRTwoFactor {
		t.Fatalf("acr = %s", toks.ACR)
	}
	if waited := e.clock.now().Sub(before); waited <= 0 || waited > 30*time.Second {
		t.Fatalf("waited %s for the next step", waited)
	}
}

func TestSignInRefused(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct{ user, pw string }{{"alice", "wrong password"}, {"nobody", alicePW}} {
		_, err := e.flow(c.user, c.pw).Run(context.Background(), fund())
		wantPage("sign-in", http.StatusUnauthorized, "login_failed")(t, err)
		if err.Error() != "authflow: the bank refused the sign-in: login_failed" {
			t.Fatalf("message = %q", err)
		}
		if strings.Contains(err.Error(), c.pw) {
			t.Fatal("the error holds the password")
		}
	}
}

func TestExchangeTwice(t *testing.T) {
	e := newEnv(t)
	f := e.flow("alice", alicePW)
	g, err := f.Authorize(context.Background(), Request{Scopes: []string{"accounts"}})
	if err != nil {
		t.Fatal(err)
	}
	toks, err := f.Exchange(context.Background(), g)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Exchange(context.Background(), g)
	wantEndpoint("token", http.StatusBadRequest, "invalid_grant")(t, err)
	if strings.Contains(err.Error(), g.Code) {
		t.Fatal("the error holds the code")
	}
	// RFC 6749 §4.1.2: the reuse revokes what the code issued.
	if _, err := e.introspect(toks.AccessToken); !errors.Is(err, oauth.ErrTokenRevoked) {
		t.Fatalf("access token after code reuse: %v", err)
	}
}

func TestExchangeRefusals(t *testing.T) {
	tests := []struct {
		name   string
		change func(e *env, g *Grant)
		want   func(t *testing.T, err error)
	}{
		{"wrong verifier", func(_ *env, g *Grant) { g.Verifier = randomString(32) },
			wantEndpoint("token", 400, "invalid_grant")},
		{"no verifier", func(_ *env, g *Grant) { g.Verifier = "" },
			wantEndpoint("token", 400, "invalid_request")},
		{"other redirect uri", func(_ *env, g *Grant) { g.RedirectURI = "https://app-1.example/other" },
			wantEndpoint("token", 400, "invalid_grant")},
		{"expired code", func(e *env, _ *Grant) { e.clock.advance(oauth.DefaultCodeTTL) },
			wantEndpoint("token", 400, "invalid_grant")},
		{"unknown code", func(_ *env, g *Grant) { g.Code = randomString(32) },
			wantEndpoint("token", 400, "invalid_grant")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			f := e.flow("alice", alicePW)
			g, err := f.Authorize(context.Background(), Request{Scopes: []string{"accounts"}})
			if err != nil {
				t.Fatal(err)
			}
			tt.change(e, g)
			toks, err := f.Exchange(context.Background(), g)
			if toks != nil {
				t.Fatalf("tokens issued: %v", toks)
			}
			tt.want(t, err)
		})
	}
}

// A request the gateway does not accept (here: signed with another key)
// is refused with the gateway's problem code.
func TestTokenRequestBadSignature(t *testing.T) {
	e := newEnv(t)
	f := e.flow("alice", alicePW)
	g, err := f.Authorize(context.Background(), Request{Scopes: []string{"accounts"}})
	if err != nil {
		t.Fatal(err)
	}
	other := e.flow("alice", alicePW)
	other.App.Signer = mustSigner(t, []byte("another key of thirty-two bytes or more"))
	_, err = other.Exchange(context.Background(), g)
	wantEndpoint("token", http.StatusUnauthorized, "signature_invalid")(t, err)
}

func TestRefreshRotates(t *testing.T) {
	e := newEnv(t)
	f := e.flow("alice", alicePW)
	first, err := f.Run(context.Background(), Request{Scopes: []string{"accounts", "holdings"}})
	if err != nil {
		t.Fatal(err)
	}
	second, err := f.Refresh(context.Background(), first.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken ||
		second.ConsentID != first.ConsentID || second.ACR != first.ACR {
		t.Fatalf("refresh did not rotate: %v -> %v", first, second)
	}
	if _, err := e.introspect(second.AccessToken); err != nil {
		t.Fatalf("new access token: %v", err)
	}
	// The spent refresh token presented again revokes the family.
	_, err = f.Refresh(context.Background(), first.RefreshToken)
	wantEndpoint("token", 400, "invalid_grant")(t, err)
	if _, err := e.introspect(second.AccessToken); !errors.Is(err, oauth.ErrTokenRevoked) {
		t.Fatalf("access token after refresh reuse: %v", err)
	}
	if _, err := f.Refresh(context.Background(), ""); err == nil {
		t.Fatal("an empty refresh token was sent")
	}
}

func TestRevoke(t *testing.T) {
	e := newEnv(t)
	f := e.flow("alice", alicePW)
	toks, err := f.Run(context.Background(), Request{Scopes: []string{"accounts"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Revoke(context.Background(), toks.AccessToken); err != nil {
		t.Fatal(err)
	}
	if _, err := e.introspect(toks.AccessToken); !errors.Is(err, oauth.ErrTokenRevoked) {
		t.Fatalf("access token after revocation: %v", err)
	}
	if err := f.Revoke(context.Background(), toks.RefreshToken); err != nil {
		t.Fatal(err)
	}
	_, err = f.Refresh(context.Background(), toks.RefreshToken)
	wantEndpoint("token", 400, "invalid_grant")(t, err)
	if err := f.Revoke(context.Background(), ""); err == nil {
		t.Fatal("an empty token was sent")
	}
}

func TestConsentChoices(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	f := e.flow("alice", alicePW)

	toks, err := f.Run(ctx, Request{Scopes: []string{"accounts"}, Accounts: []string{"acc-a2"}, Validity: oauth.ValidityOnce})
	if err != nil {
		t.Fatal(err)
	}
	c := e.consent(toks.ConsentID)
	if !slices.Equal(c.Accounts, []string{"acc-a2"}) || c.Validity != oauth.ValidityOnce || toks.RefreshToken != "" {
		t.Fatalf("one-time consent = %+v, tokens %v", c, toks)
	}

	until := time.Date(2026, 6, 30, 0, 0, 0, 0, start.Location())
	toks, err = f.Run(ctx, Request{Scopes: []string{"accounts"}, Validity: oauth.ValidityUntil, Until: until})
	if err != nil {
		t.Fatal(err)
	}
	if c := e.consent(toks.ConsentID); c.Validity != oauth.ValidityUntil || !c.ExpiresAt.Equal(until.AddDate(0, 0, 1)) {
		t.Fatalf("dated consent = %+v", c)
	}
}

func TestConsentRefusals(t *testing.T) {
	tests := []struct {
		name string
		req  Request
		want func(t *testing.T, err error)
	}{
		{"fund scope without the risk acknowledged", Request{Scopes: []string{"transfers"}},
			wantPage("consent", http.StatusBadRequest, "consent_invalid")},
		{"an account that is not the user's", Request{Scopes: []string{"accounts"}, Accounts: []string{"acc-b1"}},
			wantPage("consent", http.StatusBadRequest, "consent_invalid")},
		{"until without a date", Request{Scopes: []string{"accounts"}, Validity: oauth.ValidityUntil},
			wantPage("consent", http.StatusBadRequest, "consent_invalid")},
		{"until after the agreement", Request{Scopes: []string{"accounts"}, Validity: oauth.ValidityUntil, Until: start.AddDate(2, 0, 0)},
			wantPage("consent", http.StatusBadRequest, "consent_invalid")},
		{"denied", Request{Scopes: []string{"accounts"}, Deny: true}, wantRedirect("access_denied")},
		{"unknown scope", Request{Scopes: []string{"everything"}}, wantRedirect("invalid_scope")},
		{"no scope", Request{}, wantRedirect("invalid_scope")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			g, err := e.flow("alice", alicePW).Authorize(context.Background(), tt.req)
			if g != nil {
				t.Fatalf("a code was returned: %v", g)
			}
			tt.want(t, err)
		})
	}
}

func TestAuthorizeRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	f := e.flow("alice", alicePW)
	f.RedirectURI = "https://evil.example/callback"
	_, err := f.Authorize(ctx, fund())
	wantPage("authorization request", http.StatusBadRequest, "redirect_uri_invalid")(t, err)

	f = e.flow("alice", alicePW)
	f.AppID = "app-unknown"
	_, err = f.Authorize(ctx, fund())
	wantPage("authorization request", http.StatusBadRequest, "client_unknown")(t, err)

	f = e.flow("alice", alicePW)
	f.BaseURL = strings.Replace(f.BaseURL, "https://", "http://", 1)
	if _, err := f.Authorize(ctx, fund()); err == nil || !strings.Contains(err.Error(), "https") {
		t.Fatalf("plain http: %v", err)
	}
	if _, err := f.Exchange(ctx, &Grant{Code: "x", Verifier: "y", RedirectURI: testRedirect}); err == nil {
		t.Fatal("a token request over plain http")
	}

	f = e.flow("alice", alicePW)
	f.RedirectURI = ""
	if _, err := f.Authorize(ctx, fund()); err == nil {
		t.Fatal("no redirect uri accepted")
	}
}

// Secrets stay out of what the types print.
func TestStringsHoldNoSecrets(t *testing.T) {
	g := &Grant{Code: "the-code-secret", Verifier: "the-verifier-secret", RedirectURI: testRedirect, State: "st"}
	toks := &Tokens{AccessToken: "the-access-secret", RefreshToken: "the-refresh-secret", TokenType: "Bearer",
		Scope: "accounts", ConsentID: "cns_1", ACR: oauth.ACRTwoFactor, ExpiresIn: 300}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(format, g) + fmt.Sprintf(format, toks)
		if strings.Contains(out, "secret") {
			t.Fatalf("%s prints a secret: %s", format, out)
		}
	}
}

func wantPage(step string, status int, code string) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var pe *PageError
		if !errors.As(err, &pe) || pe.Step != step || pe.Status != status || pe.Code != code {
			t.Fatalf("err = %v (%#v), want the %s page's %d %s", err, pe, step, status, code)
		}
	}
}

func wantEndpoint(endpoint string, status int, code string) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var ee *EndpointError
		if !errors.As(err, &ee) || ee.Endpoint != endpoint || ee.Status != status || ee.Code != code {
			t.Fatalf("err = %v, want the %s endpoint's %d %s", err, endpoint, status, code)
		}
	}
}

func wantRedirect(code string) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var re *RedirectError
		if !errors.As(err, &re) || re.Code != code {
			t.Fatalf("err = %v, want the redirect error %s", err, code)
		}
	}
}

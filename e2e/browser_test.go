package e2e

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bankguard/bankguard/demo"
	"github.com/bankguard/bankguard/internal/chromiumtest"
	"github.com/bankguard/bankguard/oauth"
	"github.com/bankguard/bankguard/oauth/authflow"
	"github.com/bankguard/bankguard/oauth/pages"
	"github.com/bankguard/bankguard/pii"
	"github.com/bankguard/bankguard/sdk"
)

// TestBrowserAuthorizationFlow runs the user-authorization flow of issue 5 in
// real headless Chromium against the demo: the user signs in at the bank with
// a password and a TOTP code, shares ONE of their accounts with
// demo-a2-ecdsa for the agreement term and acknowledges the risk warning; the
// bank redirects to the app with a code (captured, never loaded: nothing
// listens at *.demo.invalid); the app exchanges it (PKCE S256) and calls the
// gateway, which shows the shared account only and refuses the other one;
// then the user signs in to the self-service page, revokes the consent there,
// and the app's next call is refused with token_revoked.
func TestBrowserAuthorizationFlow(t *testing.T) {
	bin := chromiumtest.Find(t, "the browser test of the authorization flow")
	s := startDemo(t)
	const appID = "demo-a2-ecdsa"
	app, ok := s.profile.App(appID)
	if !ok || app.Name == "" {
		t.Fatalf("the demo profile has no named app %s", appID)
	}
	user := s.profile.Users[0]
	password, secret := bfUserSecrets(t, s, user.Username)

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	b := bfStartBrowser(t, ctx, bin, s)
	defer b.close()

	// 1. The app's authorization request: PKCE S256 with our own verifier,
	// a random state, the registered redirect URI.
	verifier, state := bfRandom(t, 32), bfRandom(t, 16)
	redirectURI := demo.RedirectURI(appID)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"response_type": {"code"}, "client_id": {appID}, "redirect_uri": {redirectURI},
		"scope": {"accounts transfers"}, "state": {state},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	b.open(s.profile.URL(authflow.PathAuthorize+"?"+q.Encode()), authflow.PathLogin)

	// 2. Sign in: password, then the TOTP code (transfers is a fund scope).
	b.signIn(user.Username, password)
	firstCode := time.Now()
	b.fill("code", pages.TOTP(secret, firstCode), "the one-time code")
	consentPage := b.submit(`form[action="/oauth/totp"] button[type=submit]`, authflow.PathConsent)
	// The consent form's answer redirects to the app: form-action allows it.
	if csp := bfHeader(consentPage, "Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://"+appID+".demo.invalid") {
		t.Errorf("the consent page's CSP %q does not let its form redirect to the app", csp)
	}

	// The consent page: the app's name, the fund warning, the user's
	// accounts with none ticked beforehand.
	page := b.text("main")
	for _, want := range []string{app.Name, "I have read and understood this warning"} {
		if !strings.Contains(page, want) {
			t.Errorf("the consent page does not show %q", want)
		}
	}
	if hits := pii.Find(page); len(hits) != 0 {
		t.Errorf("the consent page shows an unmasked %s", hits[0].Kind)
	}
	offered := bfEval[[]bfCheckbox](b, `Array.from(document.querySelectorAll('input[name=account]'), e => ({id: e.value, checked: e.checked, label: e.closest('label').textContent.trim()}))`)
	if len(offered) < 2 {
		t.Fatalf("the consent page offers %d account(s); the test needs two, to share one and keep one", len(offered))
	}
	for _, c := range offered {
		if c.Checked || !bfContains(user.Accounts, c.ID) {
			t.Fatalf("consent page: account %s checked=%t, user's own=%t; want unchecked and own", c.ID, c.Checked, bfContains(user.Accounts, c.ID))
		}
	}
	shared, kept := offered[0].ID, offered[1].ID
	sharedLabel, keptLabel := offered[0].Label, offered[1].Label
	b.click(`input[name=account][value="` + shared + `"]`)
	b.click(`input[name=validity][value=agreement]`)
	b.click(`input[name=risk_ack][value=yes]`)
	ticked := bfEval[[]string](b, `Array.from(document.querySelectorAll('input[name=account]:checked'), e => e.value)`)
	if len(ticked) != 1 || ticked[0] != shared {
		t.Fatalf("ticked accounts %v, want only %s", ticked, shared)
	}
	b.screenshot("consent.png")

	// Approve: the bank redirects to the app; the browser's request there
	// is intercepted and its URL read (the code is never printed).
	callback := b.approve(redirectURI)
	cq := callback.Query()
	if cq.Get("state") != state || len(cq["state"]) != 1 || cq.Get("error") != "" || cq.Get("code") == "" || len(cq["code"]) != 1 {
		t.Fatalf("the redirect to the app carries state ok=%t, error %q, a code=%t; want the state sent, no error, one code",
			cq.Get("state") == state, cq.Get("error"), cq.Get("code") != "")
	}

	// 3. The app exchanges the code (signed POST /oauth/token).
	f, err := authflow.FromProfile(ctx, s.profile, appID, user.Username, redirectURI)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := f.Exchange(ctx, &authflow.Grant{Code: cq.Get("code"), Verifier: verifier, RedirectURI: redirectURI, State: state})
	if err != nil {
		t.Fatalf("exchanging the code: %v", err)
	}
	if tokens.ACR != oauth.ACRTwoFactor || !bfContains(strings.Fields(tokens.Scope), "transfers") || tokens.ConsentID == "" {
		t.Fatalf("tokens %v: want acr %s, the transfers scope and a consent id", tokens, oauth.ACRTwoFactor)
	}

	// 4. Calls through the gateway with the token: only the shared account
	// is listed, masked; the balance of the other one is refused.
	resp := bfCall(t, s, appID, tokens.AccessToken, "/v1/accounts")
	expect(t, resp, http.StatusOK, "")
	var list struct {
		Accounts []struct {
			ID         string `json:"id"`
			CardNumber string `json:"card_number"`
		} `json:"accounts"`
	}
	if err := json.Unmarshal(resp.Body, &list); err != nil {
		t.Fatalf("GET /v1/accounts: %v", err)
	}
	if len(list.Accounts) != 1 || list.Accounts[0].ID != shared {
		t.Fatalf("GET /v1/accounts lists %d account(s); want exactly the one shared, %s", len(list.Accounts), shared)
	}
	if card := bfCardNumber(s, shared); card == "" || list.Accounts[0].CardNumber == card || len(pii.Find(string(resp.Body))) != 0 {
		t.Errorf("GET /v1/accounts: the shared account's card number is not masked")
	}
	expect(t, bfCall(t, s, appID, tokens.AccessToken, "/v1/accounts/"+shared+"/balance"), http.StatusOK, "")
	expect(t, bfCall(t, s, appID, tokens.AccessToken, "/v1/accounts/"+kept+"/balance"), http.StatusForbidden, "resource_forbidden")

	// 5. The self-service page. The consent ended the bank session, so the
	// user signs in again; the bank takes a TOTP code once per 30 s step, so
	// wait until the clock reaches the step after the first code's.
	b.open(s.profile.URL("/account"), authflow.PathLogin)
	b.signIn(user.Username, password)
	now, err := bfNextStep(ctx, firstCode)
	if err != nil {
		t.Fatal(err)
	}
	b.fill("code", pages.TOTP(secret, now), "the one-time code")
	b.submit(`form[action="/oauth/totp"] button[type=submit]`, "/account")
	active := bfEval[[]bfConsentRow](b, `Array.from(document.querySelectorAll('section.consent'), s => ({app: s.querySelector('h3').textContent, id: s.querySelector('input[name=consent]').value, text: s.textContent}))`)
	if len(active) != 1 || active[0].App != app.Name || active[0].ID != tokens.ConsentID {
		t.Fatalf("the self-service page lists %d active consent(s) %v; want the one of %q, %s", len(active), active, app.Name, tokens.ConsentID)
	}
	if !strings.Contains(active[0].Text, sharedLabel) || strings.Contains(active[0].Text, keptLabel) {
		t.Errorf("the consent on the self-service page does not show exactly the shared account")
	}
	b.screenshot("account.png")
	b.submit(`section.consent form[action="/account/revoke"] button[type=submit]`, "/account")
	if n := bfEval[int](b, `document.querySelectorAll('section.consent').length`); n != 0 {
		t.Fatalf("after the revocation the self-service page still lists %d active consent(s)", n)
	}
	if notice := bfEval[string](b, `document.querySelector('p.notice')?.textContent ?? ''`); !strings.Contains(notice, "The authorization is revoked") {
		t.Errorf("no notice of the revocation on the self-service page")
	}
	if past := bfEval[string](b, `document.querySelector('main table')?.textContent ?? ''`); !strings.Contains(past, app.Name) || !strings.Contains(past, "revoked") {
		t.Errorf("the revoked consent is not in the past authorizations")
	}
	b.screenshot("account-revoked.png")

	// The app's next call with the token is refused.
	expect(t, bfCall(t, s, appID, tokens.AccessToken, "/v1/accounts"), http.StatusUnauthorized, "token_revoked")

	// 6. No page had a script error or a CSP violation (a blocked form
	// post would have stopped the flow, and Chromium logs it as an error).
	if p := b.problems.Take(); len(p) > 0 {
		t.Errorf("the bank's pages reported problems:\n%s", strings.Join(p, "\n"))
	}
	// The listener does see a CSP violation: an image added to the page
	// through DevTools is blocked by the bank's default-src 'none'.
	b.cspProbe()
}

// bfUserSecrets reads a demo user's password and TOTP secret from the files
// the profile names.
func bfUserSecrets(t *testing.T, s *sandbox, username string) (string, []byte) {
	t.Helper()
	u, ok := s.profile.User(username)
	if !ok {
		t.Fatalf("the profile has no user %q", username)
	}
	pw, err := os.ReadFile(s.profile.Path(u.PasswordFile))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(s.profile.Path(u.TOTPSecretFile))
	if err != nil {
		t.Fatal(err)
	}
	secret, err := authflow.DecodeTOTPSecret(raw)
	if err != nil {
		t.Fatalf("user %s: %v", username, err)
	}
	password := strings.TrimRight(string(pw), "\r\n")
	if password == "" {
		t.Fatalf("user %s: empty password file", username)
	}
	return password, secret
}

// bfCheckbox is an account checkbox of the consent page.
type bfCheckbox struct {
	ID      string `json:"id"`
	Checked bool   `json:"checked"`
	Label   string `json:"label"`
}

// bfConsentRow is an active consent on the self-service page.
type bfConsentRow struct {
	App  string `json:"app"`
	ID   string `json:"id"`
	Text string `json:"text"`
}

// bfCall sends a signed GET as appID with the user's access token.
func bfCall(t *testing.T, s *sandbox, appID, token, path string) *sdk.Response {
	t.Helper()
	req, err := sdk.NewRequest(context.Background(), http.MethodGet, s.profile.URL(path), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := s.client(appID).Do(req)
	if err != nil {
		t.Fatalf("GET %s as %s: %s", path, appID, bfRedact(err, token))
	}
	checkCommon(t, resp.Response, resp.Body)
	return resp
}

// bfCardNumber is the sandbox's card number of an account ("" if unknown).
func bfCardNumber(s *sandbox, accountID string) string {
	for _, u := range s.node.Sandbox.Users() {
		for _, a := range u.Accounts {
			if a.ID == accountID {
				return a.CardNumber
			}
		}
	}
	return ""
}

// bfNextStep waits until the clock reaches the TOTP step after the one of
// used and returns the time then.
func bfNextStep(ctx context.Context, used time.Time) (time.Time, error) {
	next := used.Truncate(30 * time.Second).Add(30 * time.Second)
	for {
		now := time.Now()
		if !now.Before(next) {
			return now, nil
		}
		timer := time.NewTimer(next.Sub(now))
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return time.Time{}, ctx.Err()
		}
	}
}

// bfRandom returns n random bytes in base64url.
func bfRandom(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// bfRedact is err's text with each secret replaced.
func bfRedact(err error, secrets ...string) string {
	s := err.Error()
	for _, x := range secrets {
		if x != "" {
			s = strings.ReplaceAll(s, x, "[redacted]")
		}
	}
	return s
}

// bfContains reports whether l holds s.
func bfContains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

package pages

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bankguard/bankguard/oauth"
)

// The whole flow for a fund scope: sign-in, TOTP, consent with account
// choice and risk acknowledgement, redirect with the code and the state.
func TestFullFlowWithSecondFactor(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	b.start("accounts transfers")
	r := b.login("alice", alicePassword)
	if !strings.Contains(r.body, `action="/oauth/totp"`) {
		t.Fatalf("a fund scope must ask for the second factor; got %d %q", r.StatusCode, r.errorCode())
	}
	r = b.totp(TOTP(aliceSecret, e.clock.now()))
	for _, want := range []string{"好记账 GoodLedger", DefaultScopeText()["accounts"], DefaultScopeText()["transfers"],
		"借记卡 6219 **** 0120", "信用卡 6225 **** 8841", msgRiskWarning.ZH, msgRiskWarning.EN, `name="risk_ack"`, "2026-12-31", `type="date"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the consent page lacks %q", want)
		}
	}
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://app.example;") {
		t.Errorf("CSP %q does not let the consent form's answer redirect to the app", csp)
	}
	sid := b.cookie()
	r = b.post("/oauth/consent", approveForm("acc-a2"))
	got := mustRedirectToApp(t, r)
	if r.StatusCode != http.StatusSeeOther || got.Get("code") != "code-1" || got.Get("state") != "st-123" || got.Has("error") {
		t.Fatalf("redirect %d %v", r.StatusCode, got)
	}
	consents, codes, _ := e.consents.snapshot()
	if len(consents) != 1 || len(codes) != 1 {
		t.Fatalf("%d consents, %d codes; want 1, 1", len(consents), len(codes))
	}
	c, cr := consents[0], codes[0]
	if c.AppID != "app-1" || c.UserID != "cust-alice" || !slices.Equal(c.Scopes, []string{"accounts", "transfers"}) ||
		!slices.Equal(c.Accounts, []string{"acc-a2"}) || c.Validity != oauth.ValidityAgreement || !c.ExpiresAt.Equal(agreement) ||
		!c.CreatedAt.Equal(start) || !c.RiskAcknowledged || c.SessionID == "" {
		t.Errorf("consent %+v", c)
	}
	if c.SessionID == sid || strings.Contains(sid, c.SessionID) {
		t.Error("the consent records the session cookie itself")
	}
	if cr.AppID != "app-1" || cr.RedirectURI != appRedirect || cr.CodeChallenge != testChallenge || cr.CodeChallengeMethod != "S256" || cr.ConsentID != "c-1" ||
		cr.UserID != "cust-alice" || cr.ACR != oauth.ACRTwoFactor || cr.SessionID != c.SessionID || !cr.AuthenticatedAt.Equal(start) {
		t.Errorf("code request %+v", cr)
	}
	if kinds := e.eventKinds("cust-alice"); !slices.Equal(kinds, []string{EventLogin}) { // the consent is the server's to record
		t.Errorf("events %v", kinds)
	}
	// The session ended with the consent.
	if b.cookie() != "" {
		t.Error("the session cookie outlived the consent")
	}
	b.setCookie(sid)
	if r := b.get("/oauth/consent"); r.errorCode() != codeSessionExpired {
		t.Errorf("after the consent the session still answers: %d %q", r.StatusCode, r.errorCode())
	}
}

// Without a fund scope a password is enough: acr records one factor.
func TestFlowWithoutFundScopeIsOneFactor(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	r := b.toConsent("alice", "accounts")
	if strings.Contains(r.body, `name="risk_ack"`) {
		t.Error("a risk warning without a fund scope")
	}
	r = b.post("/oauth/consent", url.Values{"action": {"approve"}, "account": {"acc-a1"}, "validity": {"once"}})
	mustRedirectToApp(t, r)
	consents, codes, _ := e.consents.snapshot()
	if codes[0].ACR != oauth.ACROneFactor || consents[0].Validity != oauth.ValidityOnce ||
		!consents[0].ExpiresAt.Equal(start.Add(oauth.DefaultOnceTTL)) || consents[0].RiskAcknowledged {
		t.Errorf("consent %+v, acr %s", consents[0], codes[0].ACR)
	}
}

func TestFundScopeNeedsAnEnrolledSecondFactor(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	b.start("transfers")
	r := b.login("bob", bobPassword)
	if r.StatusCode != http.StatusForbidden || r.errorCode() != codeNotEnrolled {
		t.Fatalf("got %d %q, want 403 %s", r.StatusCode, r.errorCode(), codeNotEnrolled)
	}
	if b.cookie() != "" {
		t.Error("the session survived")
	}
	if consents, _, _ := e.consents.snapshot(); len(consents) != 0 {
		t.Error("a consent was made")
	}
}

// A wrong password shows the same page as an unknown user; a wrong one
// does not move the session on.
func TestWrongPasswordIsRefused(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	b.start("accounts")
	r := b.login("bob", "wrong")
	if r.StatusCode != http.StatusUnauthorized || r.errorCode() != codeLoginFailed {
		t.Fatalf("got %d %q", r.StatusCode, r.errorCode())
	}
	if r := b.get("/oauth/consent"); r.StatusCode != http.StatusSeeOther || r.location() != pathLogin {
		t.Errorf("consent without sign-in: %d to %q", r.StatusCode, r.location())
	}
	b.get(pathLogin)
	r = b.follow(b.post("/oauth/login", url.Values{"username": {"bob"}}))
	if r.StatusCode != http.StatusBadRequest {
		t.Errorf("an empty password: %d", r.StatusCode)
	}
}

func TestDenyRedirectsWithAccessDenied(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	b.toConsent("bob", "accounts")
	r := b.post("/oauth/consent", url.Values{"action": {"deny"}})
	got := mustRedirectToApp(t, r)
	if got.Get("error") != "access_denied" || got.Get("state") != "st-123" || got.Has("code") {
		t.Errorf("redirect query %v", got)
	}
	if consents, codes, _ := e.consents.snapshot(); len(consents)+len(codes) != 0 {
		t.Error("a denial made a consent or a code")
	}
	if kinds := e.eventKinds("cust-bob"); !slices.Contains(kinds, EventConsentDenied) {
		t.Errorf("events %v", kinds)
	}
}

// Every way the consent form can be wrong: the page comes back with the
// error, nothing is recorded, and the request still waits.
func TestConsentFormRefusals(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	b.toConsent("alice", "accounts transfers")
	form := func(edit func(url.Values)) url.Values {
		f := approveForm("acc-a1")
		edit(f)
		return f
	}
	tests := []struct {
		name string
		form url.Values
		want msg
	}{
		{"no account", form(func(f url.Values) { f.Del("account") }), msgNoAccount},
		{"another user's account", form(func(f url.Values) { f["account"] = []string{"acc-a1", "acc-b1"} }), msgBadAccount},
		{"no risk acknowledgement", form(func(f url.Values) { f.Del("risk_ack") }), msgRiskNotAck},
		{"risk acknowledgement not yes", form(func(f url.Values) { f.Set("risk_ack", "on") }), msgRiskNotAck},
		{"no validity", form(func(f url.Values) { f.Del("validity") }), msgNoValidity},
		{"unknown validity", form(func(f url.Values) { f.Set("validity", "forever") }), msgNoValidity},
		{"date after agreement end", form(func(f url.Values) { f.Set("validity", "until"); f.Set("until", "2027-01-01") }), msgBadDate},
		{"date in the past", form(func(f url.Values) { f.Set("validity", "until"); f.Set("until", "2026-03-01") }), msgBadDate},
		{"no date", form(func(f url.Values) { f.Set("validity", "until") }), msgBadDate},
		{"malformed date", form(func(f url.Values) { f.Set("validity", "until"); f.Set("until", "01/05/2026") }), msgBadDate},
		{"unknown action", form(func(f url.Values) { f.Set("action", "grant") }), msgRequestInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.post("/oauth/consent", tt.form)
			if r.StatusCode != http.StatusBadRequest || r.errorCode() != codeConsentInvalid || !strings.Contains(r.body, tt.want.ZH) {
				t.Fatalf("got %d %q, want 400 %s with %q", r.StatusCode, r.errorCode(), codeConsentInvalid, tt.want.EN)
			}
		})
	}
	if consents, codes, _ := e.consents.snapshot(); len(consents)+len(codes) != 0 {
		t.Fatal("a refused form made a consent or a code")
	}
	// The last day of the agreement is allowed and ends with the agreement.
	r := b.post("/oauth/consent", form(func(f url.Values) { f.Set("validity", "until"); f.Set("until", "2026-12-31") }))
	mustRedirectToApp(t, r)
	consents, _, _ := e.consents.snapshot()
	if c := consents[0]; c.Validity != oauth.ValidityUntil || !c.ExpiresAt.Equal(agreement) {
		t.Errorf("consent %v until %v", c.Validity, c.ExpiresAt)
	}
}

func TestConsentUntilADateEndsAtTheEndOfThatDay(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	b.toConsent("bob", "accounts")
	mustRedirectToApp(t, b.post("/oauth/consent", url.Values{"action": {"approve"}, "account": {"acc-b1"}, "validity": {"until"}, "until": {"2026-03-02"}}))
	consents, _, _ := e.consents.snapshot()
	if want := time.Date(2026, 3, 3, 0, 0, 0, 0, time.FixedZone("CST", 8*3600)); !consents[0].ExpiresAt.Equal(want) {
		t.Errorf("expires %v, want %v", consents[0].ExpiresAt, want)
	}
}

// Submitting the consent form twice issues one code.
func TestConsentSubmittedTwiceIssuesOneCode(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	page := b.toConsent("bob", "accounts").body
	sid := b.cookie()
	mustRedirectToApp(t, b.post("/oauth/consent", url.Values{"action": {"approve"}, "account": {"acc-b1"}, "validity": {"agreement"}}))
	b.setCookie(sid)
	b.page = page
	r := b.post("/oauth/consent", url.Values{"action": {"approve"}, "account": {"acc-b1"}, "validity": {"agreement"}})
	if r.location() != "" || r.errorCode() != codeSessionExpired {
		t.Errorf("second submission: %d %q to %q", r.StatusCode, r.errorCode(), r.location())
	}
	if _, codes, _ := e.consents.snapshot(); len(codes) != 1 {
		t.Errorf("%d codes issued", len(codes))
	}
}

// If the app loses its registration or the redirect URI during the flow,
// the consent page refuses at the bank and never redirects.
func TestConsentRefusedWhenTheAppChanged(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	b.toConsent("bob", "accounts")
	e.apps.set(oauth.AppInfo{ID: "app-1", Name: "好记账 GoodLedger", RedirectURIs: []string{"https://app.example/new"}, AgreementEnd: agreement})
	r := b.post("/oauth/consent", url.Values{"action": {"deny"}})
	if r.StatusCode != http.StatusBadRequest || r.errorCode() != codeClientUnknown || r.location() != "" {
		t.Errorf("got %d %q to %q", r.StatusCode, r.errorCode(), r.location())
	}
}

func TestConsentStoreFailureIsInternalAndQuiet(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	b.toConsent("alice", "transfers")
	e.consents.mu.Lock()
	e.consents.failNext = errors.New("database is locked")
	e.consents.mu.Unlock()
	r := b.post("/oauth/consent", approveForm("acc-a1"))
	if r.StatusCode != http.StatusInternalServerError || r.errorCode() != codeInternal || strings.Contains(r.body, "database") {
		t.Errorf("got %d %q", r.StatusCode, r.errorCode())
	}
	if !strings.Contains(e.logs.String(), "database is locked") {
		t.Error("the cause was not logged")
	}
}

func TestUnknownPathAndMethod(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	if r := b.get("/oauth/nothing"); r.StatusCode != http.StatusNotFound || r.errorCode() != codeNotFound {
		t.Errorf("unknown path: %d %q", r.StatusCode, r.errorCode())
	}
	r := b.postRaw("/oauth/authorize", url.Values{})
	if r.StatusCode != http.StatusMethodNotAllowed || r.Header.Get("Allow") != http.MethodGet {
		t.Errorf("POST authorize: %d, Allow %q", r.StatusCode, r.Header.Get("Allow"))
	}
	if r := b.get("/account/revoke"); r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET revoke: %d", r.StatusCode)
	}
}

package pages

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bankguard/bankguard/oauth"
)

// signInAccount signs in on the self-service page (with the second factor
// when the user has one) and returns the page.
func signInAccount(t *testing.T, b *browser, user, pw string) *response {
	t.Helper()
	r := b.get(pathAccount)
	if r.StatusCode != http.StatusSeeOther || r.location() != pathLogin {
		t.Fatalf("the self-service page without a session: %d to %q", r.StatusCode, r.location())
	}
	if p := b.follow(r); !strings.Contains(p.body, `action="/oauth/login"`) {
		t.Fatalf("no sign-in page: %d", p.StatusCode)
	}
	r = b.login(user, pw)
	if strings.Contains(r.body, `action="/oauth/totp"`) {
		r = b.totp(TOTP(aliceSecret, b.e.clock.now()))
	}
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, `action="/account/logout"`) {
		t.Fatalf("want the self-service page, got %d %q", r.StatusCode, r.errorCode())
	}
	return r
}

func seedConsents(e *env) {
	e.consents.mu.Lock()
	defer e.consents.mu.Unlock()
	e.consents.consents = []oauth.Consent{
		{ID: "c-old", AppID: "app-1", UserID: "cust-alice", Scopes: []string{"accounts"}, Accounts: []string{"acc-a1"},
			Validity: oauth.ValidityUntil, ExpiresAt: start.Add(-time.Hour), CreatedAt: start.Add(-48 * time.Hour)},
		{ID: "c-bob", AppID: "app-1", UserID: "cust-bob", Scopes: []string{"accounts"}, Accounts: []string{"acc-b1"},
			Validity: oauth.ValidityAgreement, ExpiresAt: agreement, CreatedAt: start.Add(-time.Hour)},
		{ID: "c-live", AppID: "app-1", UserID: "cust-alice", Scopes: []string{"accounts", "transfers"}, Accounts: []string{"acc-a2", "acc-gone-9876"},
			Validity: oauth.ValidityAgreement, ExpiresAt: agreement, CreatedAt: start.Add(-time.Hour), RiskAcknowledged: true},
	}
}

func TestAccountPageListsTheUsersConsents(t *testing.T) {
	e := newEnv(t, nil)
	seedConsents(e)
	b := e.browser()
	r := signInAccount(t, b, "alice", alicePassword)
	for _, want := range []string{"张**", "好记账 GoodLedger", DefaultScopeText()["transfers"], "信用卡 6225 **** 8841", "****9876",
		"已过期", `value="c-live"`, "2026-03-02 09:00", eventKinds[EventLogin].ZH} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	for _, leak := range []string{"张三丰", "c-bob", "acc-gone-9876", `value="c-old"`} {
		if strings.Contains(r.body, leak) {
			t.Errorf("the page shows %q", leak)
		}
	}
	// The self-service sign-in asks for the second factor of a user who has one.
	if kinds := e.eventKinds("cust-alice"); !slices.Equal(kinds, []string{EventLogin}) {
		t.Errorf("events %v", kinds)
	}
}

func TestRevokeFromTheAccountPage(t *testing.T) {
	e := newEnv(t, nil)
	seedConsents(e)
	b := e.browser()
	signInAccount(t, b, "alice", alicePassword)
	r := b.post(pathRevoke, url.Values{"consent": {"c-live"}})
	if r.StatusCode != http.StatusSeeOther || r.location() != pathAccount {
		t.Fatalf("revoke: %d to %q", r.StatusCode, r.location())
	}
	if _, _, revoked := e.consents.snapshot(); !slices.Equal(revoked, []string{"c-live"}) {
		t.Errorf("revoked %v", revoked)
	}
	page := b.follow(r)
	if !strings.Contains(page.body, msgRevoked.ZH) || strings.Contains(page.body, `value="c-live"`) || !strings.Contains(page.body, "已撤销") {
		t.Error("the page does not show the revocation")
	}
}

func TestRevokeRefusals(t *testing.T) {
	e := newEnv(t, nil)
	seedConsents(e)
	b := e.browser()
	signInAccount(t, b, "alice", alicePassword)
	csrf := csrfOf(b.page)
	for _, tt := range []struct {
		name   string
		form   url.Values
		status int
		code   string
	}{
		{"no csrf", url.Values{"consent": {"c-live"}}, http.StatusForbidden, codeCSRF},
		{"wrong csrf", url.Values{"consent": {"c-live"}, "csrf": {"x" + csrf}}, http.StatusForbidden, codeCSRF},
		{"another user's consent", url.Values{"consent": {"c-bob"}, "csrf": {csrf}}, http.StatusNotFound, codeNotFound},
		{"unknown consent", url.Values{"consent": {"c-none"}, "csrf": {csrf}}, http.StatusNotFound, codeNotFound},
		{"no consent", url.Values{"csrf": {csrf}}, http.StatusNotFound, codeNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := b.postRaw(pathRevoke, tt.form)
			if r.StatusCode != tt.status || r.errorCode() != tt.code {
				t.Errorf("got %d %q, want %d %s", r.StatusCode, r.errorCode(), tt.status, tt.code)
			}
		})
	}
	if _, _, revoked := e.consents.snapshot(); len(revoked) != 0 {
		t.Errorf("revoked %v", revoked)
	}
	// An ended session revokes nothing: back to sign-in.
	e.clock.advance(6 * time.Minute)
	r := b.postRaw(pathRevoke, url.Values{"consent": {"c-live"}, "csrf": {csrf}})
	if r.StatusCode != http.StatusSeeOther || r.location() != pathLogin {
		t.Errorf("after the idle timeout: %d to %q", r.StatusCode, r.location())
	}
	if _, _, revoked := e.consents.snapshot(); len(revoked) != 0 {
		t.Errorf("revoked %v after the session ended", revoked)
	}
}

func TestLogout(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	signInAccount(t, b, "bob", bobPassword)
	sid := b.cookie()
	r := b.post(pathLogout, nil)
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, msgLoggedOut.ZH) || b.cookie() != "" {
		t.Fatalf("logout: %d, cookie %q", r.StatusCode, b.cookie())
	}
	b.setCookie(sid)
	if r := b.get(pathAccount); r.location() != pathLogin {
		t.Errorf("the session outlived the logout: %d to %q", r.StatusCode, r.location())
	}
	if kinds := e.eventKinds("cust-bob"); !slices.Equal(kinds, []string{EventLogin, EventLogout}) {
		t.Errorf("events %v", kinds)
	}
}

// A session in the middle of an authorization is not a self-service one.
func TestAccountPageDuringAFlowContinuesTheFlow(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	b.toConsent("bob", "accounts")
	if r := b.get(pathAccount); r.StatusCode != http.StatusSeeOther || r.location() != pathConsent {
		t.Errorf("got %d to %q", r.StatusCode, r.location())
	}
}

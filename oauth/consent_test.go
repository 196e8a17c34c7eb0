package oauth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bankguard/bankguard/oauth"
)

func TestCreateConsentValidity(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	base := oauth.Consent{AppID: appA, UserID: alice, Scopes: []string{"accounts", "accounts"},
		Accounts: []string{"acc-2", "acc-1", "acc-2"}, SessionID: "sess-1"}

	agreement := base
	agreement.Validity = oauth.ValidityAgreement
	agreement.ExpiresAt = t0.Add(1000 * 24 * time.Hour) // ignored: the agreement decides
	c, err := h.srv.CreateConsent(ctx, agreement)
	if err != nil {
		t.Fatal(err)
	}
	app, _ := h.apps.App(ctx, appA)
	if !c.ExpiresAt.Equal(app.AgreementEnd) || c.ID == "" || !c.CreatedAt.Equal(t0) {
		t.Errorf("agreement consent = %+v", c)
	}
	if len(c.Scopes) != 1 || len(c.Accounts) != 2 || c.Accounts[0] != "acc-1" {
		t.Errorf("scopes and accounts not normalized: %v %v", c.Scopes, c.Accounts)
	}

	once := base
	once.Validity = oauth.ValidityOnce
	c, err = h.srv.CreateConsent(ctx, once)
	if err != nil || !c.ExpiresAt.Equal(t0.Add(oauth.DefaultOnceTTL)) {
		t.Errorf("once consent = %+v, %v", c, err)
	}

	until := base
	until.Validity = oauth.ValidityUntil
	until.ExpiresAt = t0.Add(48 * time.Hour)
	c, err = h.srv.CreateConsent(ctx, until)
	if err != nil || !c.ExpiresAt.Equal(until.ExpiresAt) {
		t.Errorf("until consent = %+v, %v", c, err)
	}
	if hist := h.events(t, alice); len(hist) != 3 || hist[0].Kind != oauth.EventConsent {
		t.Errorf("consent events = %+v", hist)
	}
}

// TestCreateConsentRefusals: T/PCAC 0008-2020 5.3.2, 6.2.2, 11.3.2.
func TestCreateConsentRefusals(t *testing.T) {
	h := newHarness(t)
	ok := func() oauth.Consent {
		return oauth.Consent{AppID: appA, UserID: alice, Scopes: []string{"accounts", "transfers"},
			Accounts: []string{"acc-1"}, Validity: oauth.ValidityAgreement, SessionID: "sess-1", RiskAcknowledged: true}
	}
	if _, err := h.srv.CreateConsent(context.Background(), ok()); err != nil {
		t.Fatalf("the base consent is refused: %v", err)
	}
	for _, tc := range []struct {
		name   string
		change func(c *oauth.Consent)
	}{
		{"no scope", func(c *oauth.Consent) { c.Scopes = nil }},
		{"empty scope", func(c *oauth.Consent) { c.Scopes = []string{""} }},
		{"malformed scope", func(c *oauth.Consent) { c.Scopes = []string{"accounts transfers"} }},
		{"account scope without accounts", func(c *oauth.Consent) { c.Accounts = nil }},
		{"empty account id", func(c *oauth.Consent) { c.Accounts = []string{""} }},
		{"fund scope without risk acknowledgement", func(c *oauth.Consent) { c.RiskAcknowledged = false }},
		{"unknown validity", func(c *oauth.Consent) { c.Validity = "forever" }},
		{"no validity", func(c *oauth.Consent) { c.Validity = "" }},
		{"until beyond the agreement", func(c *oauth.Consent) {
			c.Validity, c.ExpiresAt = oauth.ValidityUntil, t0.Add(366*24*time.Hour)
		}},
		{"until in the past", func(c *oauth.Consent) { c.Validity, c.ExpiresAt = oauth.ValidityUntil, t0.Add(-time.Second) }},
		{"until now", func(c *oauth.Consent) { c.Validity, c.ExpiresAt = oauth.ValidityUntil, t0 }},
		{"until without a date", func(c *oauth.Consent) { c.Validity = oauth.ValidityUntil }},
		{"unknown app", func(c *oauth.Consent) { c.AppID = "app-nobody" }},
		{"agreement ended", func(c *oauth.Consent) { c.AppID = appOld }},
		{"no user", func(c *oauth.Consent) { c.UserID = "" }},
		{"no session", func(c *oauth.Consent) { c.SessionID = "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok()
			tc.change(&c)
			got, err := h.srv.CreateConsent(context.Background(), c)
			if !errors.Is(err, oauth.ErrInvalidConsent) || got != nil {
				t.Errorf("CreateConsent = %+v, %v; want ErrInvalidConsent", got, err)
			}
		})
	}
	if list, _ := h.srv.ConsentsOf(context.Background(), alice); len(list) != 1 {
		t.Errorf("refused consents were stored: %d consents", len(list))
	}
	// A non-account, non-fund scope needs neither accounts nor the warning.
	c := oauth.Consent{AppID: appA, UserID: alice, Scopes: []string{"holdings"}, Validity: oauth.ValidityOnce, SessionID: "s"}
	if _, err := h.srv.CreateConsent(context.Background(), c); err != nil {
		t.Errorf("holdings consent refused: %v", err)
	}
}

func TestOnceConsentBoundedByAgreement(t *testing.T) {
	h := newHarness(t)
	h.apps.m[appB] = oauth.AppInfo{ID: appB, Level: "A1", RedirectURIs: []string{redirectB}, AgreementEnd: t0.Add(time.Minute)}
	c := h.consent(t, appB, alice, oauth.ValidityOnce, "accounts")
	if !c.ExpiresAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("once consent outlives the agreement: %v", c.ExpiresAt)
	}
}

func TestIssueCodeRefusals(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	c := h.consent(t, appA, alice, oauth.ValidityAgreement, "accounts")
	other := h.consent(t, appB, alice, oauth.ValidityAgreement, "accounts")
	revoked := h.consent(t, appA, alice, oauth.ValidityAgreement, "accounts")
	if err := h.srv.RevokeConsent(ctx, alice, revoked.ID); err != nil {
		t.Fatal(err)
	}
	ok := func() oauth.CodeRequest {
		return oauth.CodeRequest{AppID: appA, RedirectURI: redirectA, CodeChallenge: challenge(verifier),
			CodeChallengeMethod: "S256", ConsentID: c.ID, UserID: alice, ACR: oauth.ACRTwoFactor, SessionID: "sess-1"}
	}
	if _, err := h.srv.IssueCode(ctx, ok()); err != nil {
		t.Fatalf("the base request is refused: %v", err)
	}
	authErr := func(code string) func(error) bool {
		return func(err error) bool {
			var ae *oauth.AuthError
			return errors.As(err, &ae) && ae.Code == code
		}
	}
	is := func(target error) func(error) bool { return func(err error) bool { return errors.Is(err, target) } }
	for _, tc := range []struct {
		name   string
		change func(r *oauth.CodeRequest)
		want   func(error) bool
	}{
		{"redirect not registered", func(r *oauth.CodeRequest) { r.RedirectURI = "https://evil.example/cb" }, is(oauth.ErrRedirectURI)},
		{"redirect with a query added", func(r *oauth.CodeRequest) { r.RedirectURI = redirectA + "?x=1" }, is(oauth.ErrRedirectURI)},
		{"redirect with a path added", func(r *oauth.CodeRequest) { r.RedirectURI = redirectA + "/../evil" }, is(oauth.ErrRedirectURI)},
		{"redirect in other case", func(r *oauth.CodeRequest) { r.RedirectURI = "https://A.example/cb" }, is(oauth.ErrRedirectURI)},
		{"redirect missing", func(r *oauth.CodeRequest) { r.RedirectURI = "" }, is(oauth.ErrRedirectURI)},
		{"redirect of another app", func(r *oauth.CodeRequest) { r.RedirectURI = redirectB }, is(oauth.ErrRedirectURI)},
		{"PKCE plain", func(r *oauth.CodeRequest) { r.CodeChallengeMethod, r.CodeChallenge = "plain", verifier }, authErr("invalid_request")},
		{"PKCE method missing (plain)", func(r *oauth.CodeRequest) { r.CodeChallengeMethod = "" }, authErr("invalid_request")},
		{"PKCE method lower case", func(r *oauth.CodeRequest) { r.CodeChallengeMethod = "s256" }, authErr("invalid_request")},
		{"PKCE challenge missing", func(r *oauth.CodeRequest) { r.CodeChallenge = "" }, authErr("invalid_request")},
		{"PKCE challenge too short", func(r *oauth.CodeRequest) { r.CodeChallenge = "abc" }, authErr("invalid_request")},
		{"PKCE challenge not base64url", func(r *oauth.CodeRequest) { r.CodeChallenge = challenge(verifier)[:42] + "=" }, authErr("invalid_request")},
		{"consent of another app", func(r *oauth.CodeRequest) { r.ConsentID = other.ID }, authErr("invalid_request")},
		{"consent of another user", func(r *oauth.CodeRequest) { r.UserID = bob }, authErr("invalid_request")},
		{"no user", func(r *oauth.CodeRequest) { r.UserID = "" }, authErr("invalid_request")},
		{"consent revoked", func(r *oauth.CodeRequest) { r.ConsentID = revoked.ID }, authErr("invalid_request")},
		{"consent unknown", func(r *oauth.CodeRequest) { r.ConsentID = "cns_nope" }, authErr("invalid_request")},
		{"unknown acr", func(r *oauth.CodeRequest) { r.ACR = "bankguard:0fa" }, authErr("server_error")},
		{"unknown app", func(r *oauth.CodeRequest) { r.AppID = "app-nobody" }, is(oauth.ErrNotFound)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ok()
			tc.change(&r)
			code, err := h.srv.IssueCode(ctx, r)
			if code != "" || !tc.want(err) {
				t.Errorf("IssueCode = %q, %v", code, err)
			}
		})
	}
	t.Run("consent expired", func(t *testing.T) {
		u := h.consent(t, appA, bob, oauth.ValidityUntil, "accounts")
		h.clk.Add(3 * time.Hour)
		defer h.clk.Add(-3 * time.Hour)
		r := ok()
		r.ConsentID, r.UserID = u.ID, bob
		if _, err := h.srv.IssueCode(ctx, r); !authErr("invalid_request")(err) {
			t.Errorf("IssueCode = %v", err)
		}
	})
}

// TestRevokeConsent: the user's close-service channel, T/PCAC 0008-2020 5.3.2.
func TestRevokeConsent(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	c, tok := h.authorize(t, appA, alice, oauth.ValidityAgreement, "accounts")
	_, tok2 := h.authorize(t, appA, alice, oauth.ValidityAgreement, "accounts") // another consent

	for _, tc := range []struct{ name, user, id string }{
		{"another user", bob, c.ID},
		{"no user", "", c.ID},
		{"unknown consent", alice, "cns_nope"},
	} {
		if err := h.srv.RevokeConsent(ctx, tc.user, tc.id); !errors.Is(err, oauth.ErrNotFound) {
			t.Errorf("RevokeConsent(%s) = %v, want ErrNotFound", tc.name, err)
		}
	}
	if !h.active(t, tok.AccessToken) {
		t.Fatal("a refused revocation revoked the token")
	}
	if err := h.srv.RevokeConsent(ctx, alice, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.srv.Introspect(ctx, tok.AccessToken); !errors.Is(err, oauth.ErrTokenRevoked) {
		t.Errorf("Introspect after revocation = %v, want ErrTokenRevoked", err)
	}
	if st, b := h.token(t, appA, thumbA, refreshForm(tok.RefreshToken)); st != 400 || b.Error != "invalid_grant" {
		t.Errorf("refresh after revocation = %d %s", st, b.Error)
	}
	if !h.active(t, tok2.AccessToken) {
		t.Error("revoking one consent revoked another")
	}
	if err := h.srv.RevokeConsent(ctx, alice, c.ID); err != nil {
		t.Errorf("revoking twice = %v", err)
	}
	list, err := h.srv.ConsentsOf(ctx, alice)
	if err != nil || len(list) != 2 || list[1].ID != c.ID || list[1].RevokedAt.IsZero() {
		t.Errorf("ConsentsOf = %+v, %v", list, err)
	}
	if !hasEvent(h.events(t, alice), oauth.EventConsentRevoked) {
		t.Error("no consent_revoked event")
	}
	if _, err := h.srv.ConsentsOf(ctx, ""); err == nil {
		t.Error("ConsentsOf(\"\") answered")
	}
}

package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bankguard/bankguard/oauth"
	"github.com/bankguard/bankguard/oauth/pages"
)

// TestAuthzSignInRefusals: the bank's sign-in pages refuse a form without
// its CSRF token, a locked-out user (with the same answer as a wrong
// password) and a TOTP code used a second time. Users: the first customer
// signs in one-factor (CSRF), the second is locked out, the third uses its
// TOTP code (twice), the fourth signs in one-factor after the lockout.
func TestAuthzSignInRefusals(t *testing.T) {
	s := startDemo(t)
	ctx := context.Background()
	users := s.node.Sandbox.Users()
	if len(users) < 4 {
		t.Fatalf("the demo has %d customers, the test needs 4", len(users))
	}
	var secrets []string
	defer func() { authzNoSecretInLogs(t, s, secrets...) }()

	t.Run("CSRF token missing or foreign on the sign-in form: 403 csrf_invalid", func(t *testing.T) {
		u := users[0]
		password := authzPassword(t, s, u)
		secrets = append(secrets, password)
		b := authzNewBrowser(t, s)
		page := b.signInPage(t, authzAppSM2)
		foreign := authzNewBrowser(t, s).signInPage(t, authzAppSM2).csrf
		for _, tc := range []struct {
			name string
			csrf []string
		}{
			{"missing", nil},
			{"empty", []string{""}},
			{"another session's", []string{foreign}},
		} {
			form := url.Values{"username": {authzUsername(u)}, "password": {password}}
			if tc.csrf != nil {
				form["csrf"] = tc.csrf
			}
			p := b.post(t, "/oauth/login", form)
			if p.status != http.StatusForbidden || p.code != "csrf_invalid" || p.location != "" {
				t.Fatalf("%s token: page %d data-error %q to %q, want 403 csrf_invalid without a redirect", tc.name, p.status, p.code, p.location)
			}
		}
		// Nothing was done: with its own token the same form signs in.
		form := url.Values{"csrf": {page.csrf}, "username": {authzUsername(u)}, "password": {password}}
		if p := b.post(t, "/oauth/login", form); p.status != http.StatusSeeOther || p.location != "/oauth/consent" {
			t.Fatalf("with the page's token: %d to %q (data-error %q), want 303 to the consent page", p.status, p.location, p.code)
		}
	})

	t.Run("locked-out user: the right password fails with the generic login_failed", func(t *testing.T) {
		u := users[1]
		password := authzPassword(t, s, u)
		secrets = append(secrets, password)
		b := authzNewBrowser(t, s)
		page := b.signInPage(t, authzAppSM2)
		signIn := func(pw string) authzPageResp {
			p := b.post(t, "/oauth/login", url.Values{"csrf": {page.csrf}, "username": {authzUsername(u)}, "password": {pw}})
			if p.csrf != "" {
				page.csrf = p.csrf
			}
			return p
		}
		// Five failures lock the user (the default max_failures); the sixth
		// is refused while locked.
		for i := 1; i <= 6; i++ {
			p := signIn("wrong-password-" + strings.Repeat("x", i))
			if p.status != http.StatusUnauthorized || p.code != "login_failed" {
				t.Fatalf("wrong password #%d: page %d data-error %q, want 401 login_failed", i, p.status, p.code)
			}
		}
		p := signIn(password)
		if p.status != http.StatusUnauthorized || p.code != "login_failed" || p.location != "" {
			t.Fatalf("right password while locked: page %d data-error %q to %q, want 401 login_failed", p.status, p.code, p.location)
		}
		// Through the whole flow too: the bank's sign-in page refuses.
		_, err := authzFlow(t, s, authzAppSM2, u).Run(ctx, authzReadOnly)
		authzPageRefusal(t, err, "sign-in", http.StatusUnauthorized, "login_failed")
		// The lock is the user's, not the address's: another user signs in.
		tok := authzRun(t, authzFlow(t, s, authzAppSM2, users[3]), authzReadOnly)
		secrets = append(secrets, tok.AccessToken, tok.RefreshToken)
		history, err := s.node.Authorization.Events(ctx, u.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !authzHasEvent(history, pages.EventLocked, "") {
			t.Fatal("the lockout is not in the user's history")
		}
	})

	t.Run("TOTP code replayed in a second flow within its step: second_factor_failed", func(t *testing.T) {
		u := users[2]
		// Both flows answer with the code of the same instant: the very same
		// code, whichever step the bank's clock is in by then (it accepts the
		// step before and after its own).
		at := time.Now()
		first := authzFlow(t, s, authzAppECDSA, u)
		first.Now = func() time.Time { return at }
		tok := authzRun(t, first, authzFunds)
		secrets = append(secrets, tok.AccessToken, tok.RefreshToken)

		second := authzFlow(t, s, authzAppECDSA, u)
		second.Now = func() time.Time { return at }
		_, err := second.Run(ctx, authzFunds)
		authzPageRefusal(t, err, "second factor", http.StatusUnauthorized, "second_factor_failed")
		history, err := s.node.Authorization.Events(ctx, u.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !authzHasEvent(history, pages.EventSecondFactorFailed, "code already used") {
			t.Fatal("the user's history does not record the refusal as a code already used")
		}
	})
}

// authzHasEvent reports whether the history holds an event of kind whose
// detail contains detail.
func authzHasEvent(history []oauth.Event, kind, detail string) bool {
	for _, e := range history {
		if e.Kind == kind && strings.Contains(e.Detail, detail) {
			return true
		}
	}
	return false
}

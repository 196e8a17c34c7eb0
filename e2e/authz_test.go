package e2e

// Issue 5's negative table of user authorization, shown through the running
// demo: the bank's pages, its token endpoint behind the gateway's signature
// check, and the gateway's user-token stage in front of the sandbox bank.
// Each refusal is asserted by its HTTP status and its code.
//
// TOTP plan: a user's code is accepted once per 30-second step, so each demo
// signs a given user in with a second factor at most once (authzFunds); all
// other sign-ins are one-factor (authzReadOnly), which need no code. An
// expired consent cannot be reached end to end in a test's time (a dated
// consent lasts at least to the end of the day the user picks); the tests
// revoke the consent at the bank instead, and expiry itself is covered by the
// unit tests of package oauth.

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/bankguard/bankguard/demo"
	"github.com/bankguard/bankguard/oauth"
	"github.com/bankguard/bankguard/oauth/authflow"
)

// TestAuthzTokenEndpointRefusals: code reuse, PKCE, redirect URIs, a token
// in another app's hands, revocation and refresh-token reuse. Every sign-in
// is one-factor.
func TestAuthzTokenEndpointRefusals(t *testing.T) {
	s := startDemo(t)
	ctx := context.Background()
	user := s.node.Sandbox.Users()[0]
	own := "/v1/accounts/" + user.Accounts[0].ID + "/balance"
	var secrets []string
	defer func() { authzNoSecretInLogs(t, s, secrets...) }()

	t.Run("code reused: second exchange invalid_grant, first exchange's tokens revoked", func(t *testing.T) {
		f := authzFlow(t, s, authzAppSM2, user)
		g := authzAuthorize(t, f, authzReadOnly)
		secrets = append(secrets, g.Code, g.Verifier)
		tok, err := f.Exchange(ctx, g)
		if err != nil {
			t.Fatalf("first exchange: %v", err)
		}
		secrets = append(secrets, tok.AccessToken, tok.RefreshToken)
		expect(t, authzCall(t, s, authzAppSM2, tok.AccessToken, "GET", own, nil), 200, "")

		_, err = f.Exchange(ctx, g)
		authzEndpointRefusal(t, err, 400, "invalid_grant")
		expect(t, authzCall(t, s, authzAppSM2, tok.AccessToken, "GET", own, nil), 401, "token_revoked")
		_, err = f.Refresh(ctx, tok.RefreshToken)
		authzEndpointRefusal(t, err, 400, "invalid_grant")
	})

	// Each presentation below is refused and uses the code up: the correct
	// grant presented afterwards is refused too.
	for _, tc := range []struct {
		name   string
		change func(g *authflow.Grant)
		status int
		code   string
	}{
		{"PKCE wrong code_verifier", func(g *authflow.Grant) { g.Verifier, _ = authzPKCE() }, 400, "invalid_grant"},
		{"PKCE code_verifier missing", func(g *authflow.Grant) { g.Verifier = "" }, 400, "invalid_request"},
		{"redirect_uri differs at the token endpoint", func(g *authflow.Grant) { g.RedirectURI = demo.RedirectURI(authzAppECDSA) }, 400, "invalid_grant"},
		{"redirect_uri missing at the token endpoint", func(g *authflow.Grant) { g.RedirectURI = "" }, 400, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := authzFlow(t, s, authzAppSM2, user)
			g := authzAuthorize(t, f, authzReadOnly)
			secrets = append(secrets, g.Code, g.Verifier)
			bad := *g
			tc.change(&bad)
			_, err := f.Exchange(ctx, &bad)
			authzEndpointRefusal(t, err, tc.status, tc.code)
			if tc.code == "invalid_grant" {
				// The code was presented: it is spent whatever came of it.
				_, err = f.Exchange(ctx, g)
				authzEndpointRefusal(t, err, 400, "invalid_grant")
			}
		})
	}

	// The bank never redirects to a return address the app has not
	// registered, not even one that differs only slightly (exact match).
	registered := demo.RedirectURI(authzAppSM2)
	for _, tc := range []struct{ name, uri string }{
		{"another host", "https://attacker.example/callback"},
		{"a longer path", registered + "/more"},
		{"an added query", registered + "?next=https://attacker.example/"},
		{"another app's URI", demo.RedirectURI(authzAppECDSA)},
	} {
		t.Run("unregistered redirect_uri at the authorization endpoint: "+tc.name, func(t *testing.T) {
			b := authzNewBrowser(t, s)
			p := b.get(t, authzAuthorizeURL(s, authzAuthorizeQuery(authzAppSM2, tc.uri, "accounts")))
			authzExpectPage(t, p, http.StatusBadRequest, "redirect_uri_invalid")
		})
	}

	// Without an S256 challenge the bank starts no sign-in: the error goes
	// back to the (registered) redirect URI, RFC 6749 §4.1.2.1.
	for _, tc := range []struct {
		name   string
		change func(q url.Values)
	}{
		{"code_challenge missing", func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }},
		{"code_challenge_method plain", func(q url.Values) { q.Set("code_challenge_method", "plain") }},
		{"code_challenge_method missing (plain)", func(q url.Values) { q.Del("code_challenge_method") }},
	} {
		t.Run("PKCE at the authorization endpoint: "+tc.name+": error=invalid_request to the app", func(t *testing.T) {
			q := authzAuthorizeQuery(authzAppSM2, registered, "accounts")
			tc.change(q)
			p := authzNewBrowser(t, s).get(t, authzAuthorizeURL(s, q))
			loc, err := url.Parse(p.location)
			if p.status != http.StatusFound || err != nil || !strings.HasPrefix(p.location, registered+"?") {
				t.Fatalf("answer %d to %q, want 302 to the registered redirect URI", p.status, p.location)
			}
			if got := loc.Query(); got.Get("error") != "invalid_request" || got.Get("state") != authzState || got.Has("code") {
				t.Fatalf("redirect carries error %q, state %q, a code: %t; want invalid_request, the state, no code",
					got.Get("error"), got.Get("state"), got.Has("code"))
			}
		})
	}

	t.Run("token presented by another app: 401 token_invalid, an alert, and it cannot revoke it", func(t *testing.T) {
		tok := authzRun(t, authzFlow(t, s, authzAppSM2, user), authzReadOnly)
		secrets = append(secrets, tok.AccessToken, tok.RefreshToken)
		expect(t, authzCall(t, s, authzAppSM2, tok.AccessToken, "GET", own, nil), 200, "")
		expect(t, authzCall(t, s, authzAppECDSA, tok.AccessToken, "GET", own, nil), 401, "token_invalid")
		expect(t, authzCall(t, s, authzAppECDSA, tok.AccessToken, "GET", "/v1/accounts", nil), 401, "token_invalid")
		if !strings.Contains(s.logs.String(), `"kind":"token_other_app"`) {
			t.Fatal("no alert was logged for the token presented by another app")
		}
		// Nor can the other app revoke it (RFC 7009 answers 200 regardless).
		if err := authzFlow(t, s, authzAppECDSA, user).Revoke(ctx, tok.AccessToken); err != nil {
			t.Fatalf("revocation by another app: %v", err)
		}
		expect(t, authzCall(t, s, authzAppSM2, tok.AccessToken, "GET", own, nil), 200, "")
		if !strings.Contains(s.logs.String(), `"kind":"revoke_other_app"`) {
			t.Fatal("no alert was logged for the revocation attempt by another app")
		}
	})

	t.Run("token revoked by the app (RFC 7009): 401 token_revoked", func(t *testing.T) {
		f := authzFlow(t, s, authzAppSM2, user)
		tok := authzRun(t, f, authzReadOnly)
		secrets = append(secrets, tok.AccessToken, tok.RefreshToken)
		expect(t, authzCall(t, s, authzAppSM2, tok.AccessToken, "GET", own, nil), 200, "")
		if err := f.Revoke(ctx, tok.AccessToken); err != nil {
			t.Fatalf("revoke: %v", err)
		}
		expect(t, authzCall(t, s, authzAppSM2, tok.AccessToken, "GET", own, nil), 401, "token_revoked")
	})

	t.Run("refresh token reused: invalid_grant and the whole family revoked", func(t *testing.T) {
		f := authzFlow(t, s, authzAppSM2, user)
		first := authzRun(t, f, authzReadOnly)
		secrets = append(secrets, first.AccessToken, first.RefreshToken)
		second, err := f.Refresh(ctx, first.RefreshToken)
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		secrets = append(secrets, second.AccessToken, second.RefreshToken)
		if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
			t.Fatal("the refresh token was not rotated")
		}
		expect(t, authzCall(t, s, authzAppSM2, second.AccessToken, "GET", own, nil), 200, "")

		_, err = f.Refresh(ctx, first.RefreshToken)
		authzEndpointRefusal(t, err, 400, "invalid_grant")
		expect(t, authzCall(t, s, authzAppSM2, second.AccessToken, "GET", own, nil), 401, "token_revoked")
		_, err = f.Refresh(ctx, second.RefreshToken)
		authzEndpointRefusal(t, err, 400, "invalid_grant")
	})
}

// TestAuthzGatewayRefusals: what the gateway's user-token stage refuses on
// the account and fund APIs, and what a transfer carries. Second factors:
// the first customer once (the transfers) and one other customer once (the
// unshared paying account).
func TestAuthzGatewayRefusals(t *testing.T) {
	s := startDemo(t)
	ctx := context.Background()
	users := s.node.Sandbox.Users()
	payer, payee := users[0], users[1]
	from := authzTransferable(payer)[0]
	var secrets []string
	defer func() { authzNoSecretInLogs(t, s, secrets...) }()

	t.Run("one-factor token on the fund API: 403 second_factor_required", func(t *testing.T) {
		// A one-factor authorization of a fund scope, made with the real
		// server (the pages would not make one), exchanged at the signed token
		// endpoint with our own PKCE pair.
		c, err := s.node.Authorization.CreateConsent(ctx, oauth.Consent{AppID: authzAppECDSA, UserID: payer.ID,
			Scopes: []string{"transfers"}, Accounts: []string{from.ID}, Validity: oauth.ValidityAgreement,
			SessionID: "authz-e2e-one-factor", RiskAcknowledged: true})
		if err != nil {
			t.Fatal(err)
		}
		verifier, challenge := authzPKCE()
		code, err := s.node.Authorization.IssueCode(ctx, oauth.CodeRequest{AppID: authzAppECDSA,
			RedirectURI: demo.RedirectURI(authzAppECDSA), CodeChallenge: challenge, CodeChallengeMethod: "S256",
			ConsentID: c.ID, UserID: payer.ID, ACR: oauth.ACROneFactor, SessionID: "authz-e2e-one-factor"})
		if err != nil {
			t.Fatal(err)
		}
		f := authzFlow(t, s, authzAppECDSA, payer)
		tok, err := f.Exchange(ctx, &authflow.Grant{Code: code, Verifier: verifier, RedirectURI: demo.RedirectURI(authzAppECDSA)})
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		secrets = append(secrets, code, verifier, tok.AccessToken, tok.RefreshToken)
		if tok.ACR != oauth.ACROneFactor || tok.ConsentID != c.ID {
			t.Fatalf("tokens %v, want acr %s under consent %s", tok, oauth.ACROneFactor, c.ID)
		}
		body := authzTransferBody(t, s, payer, from.ID, payee, "1.00")
		expect(t, authzCall(t, s, authzAppECDSA, tok.AccessToken, "POST", "/v1/transfers", body), 403, "second_factor_required")
	})

	t.Run("another user's account in the path: 403 resource_forbidden", func(t *testing.T) {
		tok := authzRun(t, authzFlow(t, s, authzAppSM2, payer), authzReadOnly)
		secrets = append(secrets, tok.AccessToken, tok.RefreshToken)
		expect(t, authzCall(t, s, authzAppSM2, tok.AccessToken, "GET", "/v1/accounts/"+from.ID+"/balance", nil), 200, "")
		for _, path := range []string{"/balance", "/transactions"} {
			resp := authzCall(t, s, authzAppSM2, tok.AccessToken, "GET", "/v1/accounts/"+payee.Accounts[0].ID+path, nil)
			expect(t, resp, 403, "resource_forbidden")
		}
	})

	t.Run("transfer from an own account the consent does not share: 403 resource_forbidden", func(t *testing.T) {
		u := authzUser(t, users, 2, payer.ID)
		accts := authzTransferable(u)
		shared, unshared := accts[0], accts[1]
		req := authzFunds
		req.Accounts = []string{shared.ID}
		tok := authzRun(t, authzFlow(t, s, authzAppECDSA, u), req)
		secrets = append(secrets, tok.AccessToken, tok.RefreshToken)
		if tok.ACR != oauth.ACRTwoFactor {
			t.Fatalf("acr %s, want %s", tok.ACR, oauth.ACRTwoFactor)
		}
		body := string(authzTransferBody(t, s, u, unshared.ID, payee, "1.00"))
		member := `"from_account_id":"` + shared.ID + `"`
		// The gateway and the bank must read the same paying account: a
		// repeated member is refused whichever copy either side would read.
		for _, tc := range []struct {
			name, body string
			status     int
			code       string
		}{
			{"unshared account", body, 403, "resource_forbidden"},
			{"shared account repeated before", strings.Replace(body, "{", "{"+member+",", 1), 403, "resource_forbidden"},
			{"shared account repeated after", strings.Replace(body, "}", ","+member+"}", 1), 403, "resource_forbidden"},
			{"shared account under another letter case", strings.Replace(body, "}", `,"FROM_ACCOUNT_ID":"`+shared.ID+`"}`, 1), 400, "request_invalid"},
		} {
			resp := authzCall(t, s, authzAppECDSA, tok.AccessToken, "POST", "/v1/transfers", []byte(tc.body))
			if resp.StatusCode != tc.status || problemCode(t, resp.Body) != tc.code {
				t.Fatalf("%s: %d %s, want %d %s", tc.name, resp.StatusCode, problemCode(t, resp.Body), tc.status, tc.code)
			}
		}
		expect(t, authzCall(t, s, authzAppECDSA, tok.AccessToken, "GET", "/v1/accounts/"+unshared.ID+"/balance", nil), 403, "resource_forbidden")
		// The same token moves money from the shared account.
		ok := authzTransferBody(t, s, u, shared.ID, payee, "1.00")
		expect(t, authzCall(t, s, authzAppECDSA, tok.AccessToken, "POST", "/v1/transfers", ok), 201, "")
	})

	t.Run("one-time consent reused: first call 200, second 401 token_revoked", func(t *testing.T) {
		req := authzReadOnly
		req.Validity = oauth.ValidityOnce
		tok := authzRun(t, authzFlow(t, s, authzAppSM2, payer), req)
		secrets = append(secrets, tok.AccessToken)
		if tok.RefreshToken != "" {
			t.Fatal("a one-time consent came with a refresh token")
		}
		expect(t, authzCall(t, s, authzAppSM2, tok.AccessToken, "GET", "/v1/accounts", nil), 200, "")
		expect(t, authzCall(t, s, authzAppSM2, tok.AccessToken, "GET", "/v1/accounts", nil), 401, "token_revoked")
	})

	t.Run("consent revoked at the bank (stands in for an expired consent): 401 token_revoked", func(t *testing.T) {
		f := authzFlow(t, s, authzAppSM2, payer)
		tok := authzRun(t, f, authzReadOnly)
		secrets = append(secrets, tok.AccessToken, tok.RefreshToken)
		expect(t, authzCall(t, s, authzAppSM2, tok.AccessToken, "GET", "/v1/accounts", nil), 200, "")
		if err := s.node.Authorization.RevokeConsent(ctx, payer.ID, tok.ConsentID); err != nil {
			t.Fatal(err)
		}
		expect(t, authzCall(t, s, authzAppSM2, tok.AccessToken, "GET", "/v1/accounts", nil), 401, "token_revoked")
		_, err := f.Refresh(ctx, tok.RefreshToken)
		authzEndpointRefusal(t, err, 400, "invalid_grant")
	})

	t.Run("transfer carries its consent; Idempotency-Key replays once, conflicts with another amount", func(t *testing.T) {
		tok := authzRun(t, authzFlow(t, s, authzAppECDSA, payer), authzFunds)
		secrets = append(secrets, tok.AccessToken, tok.RefreshToken)
		if tok.ACR != oauth.ACRTwoFactor || tok.ConsentID == "" {
			t.Fatalf("tokens %v, want a two-factor authorization with a consent", tok)
		}
		const key, amount = "authz-e2e-0001", "3.21"
		before := authzBalance(t, s, authzAppECDSA, tok.AccessToken, from.ID)
		type result struct {
			ID           string `json:"id"`
			Status       string `json:"status"`
			ConsentID    string `json:"consent_id"`
			BalanceAfter string `json:"balance_after"`
		}
		var first, again result
		resp := authzCall(t, s, authzAppECDSA, tok.AccessToken, "POST", "/v1/transfers",
			authzTransferBody(t, s, payer, from.ID, payee, amount), "Idempotency-Key", key)
		expect(t, resp, 201, "")
		if err := json.Unmarshal(resp.Body, &first); err != nil {
			t.Fatal(err)
		}
		if first.ConsentID != tok.ConsentID || first.ID == "" || first.Status != "completed" {
			t.Fatalf("transfer id %q, status %q, consent %q; want completed under consent %q", first.ID, first.Status, first.ConsentID, tok.ConsentID)
		}
		// The retry carries a freshly sealed password: a different body on
		// the wire, the same transfer.
		resp = authzCall(t, s, authzAppECDSA, tok.AccessToken, "POST", "/v1/transfers",
			authzTransferBody(t, s, payer, from.ID, payee, amount), "Idempotency-Key", key)
		expect(t, resp, 201, "")
		if err := json.Unmarshal(resp.Body, &again); err != nil {
			t.Fatal(err)
		}
		if again != first {
			t.Fatalf("the retry answered %+v, want the first transfer %+v", again, first)
		}
		after := authzBalance(t, s, authzAppECDSA, tok.AccessToken, from.ID)
		if want := before - authzFen(t, amount); after != want || authzFen(t, first.BalanceAfter) != want {
			t.Fatalf("balance %d fen (transfer says %s), want %d: one debit of %s", after, first.BalanceAfter, want, amount)
		}

		resp = authzCall(t, s, authzAppECDSA, tok.AccessToken, "POST", "/v1/transfers",
			authzTransferBody(t, s, payer, from.ID, payee, "4.56"), "Idempotency-Key", key)
		expect(t, resp, 422, "idempotency_conflict")
		if got := authzBalance(t, s, authzAppECDSA, tok.AccessToken, from.ID); got != after {
			t.Fatalf("the conflicting request moved money: balance %d fen, want %d", got, after)
		}
	})
}

// TestAuthzAdminDisconnect: the bank's active disconnect of an app and of a
// user (T/PCAC 0008-2020 5.2.1 e) through the admin API. One-factor only.
func TestAuthzAdminDisconnect(t *testing.T) {
	s := startDemo(t)
	users := s.node.Sandbox.Users()
	a, b := users[0], users[1]
	admin := s.adminClient(true)
	revoke := func(t *testing.T, path string) map[string]any {
		t.Helper()
		resp, err := admin.Post(s.profile.Target.AdminURL+path, "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatalf("%s: %d, body not JSON: %v", path, resp.StatusCode, err)
		}
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %v", path, resp.StatusCode, out["code"])
		}
		return out
	}
	balance := func(u int) string { return "/v1/accounts/" + users[u].Accounts[0].ID + "/balance" }
	var secrets []string
	defer func() { authzNoSecretInLogs(t, s, secrets...) }()

	// aOther stays valid through both disconnects: another app, another user.
	aOther := authzRun(t, authzFlow(t, s, authzAppECDSA, a), authzReadOnly)
	secrets = append(secrets, aOther.AccessToken, aOther.RefreshToken)

	t.Run("POST /admin/v1/apps/{app}/revoke-tokens: 200 with a count, the app's token 401 token_revoked", func(t *testing.T) {
		tok := authzRun(t, authzFlow(t, s, authzAppSM2, a), authzReadOnly)
		secrets = append(secrets, tok.AccessToken, tok.RefreshToken)
		expect(t, authzCall(t, s, authzAppSM2, tok.AccessToken, "GET", balance(0), nil), 200, "")
		out := revoke(t, "/admin/v1/apps/"+authzAppSM2+"/revoke-tokens")
		// The app's only authorization: its access and refresh token.
		if out["app_id"] != authzAppSM2 || out["revoked_tokens"] != float64(2) {
			t.Fatalf("answer %v, want app %s and 2 revoked tokens", out, authzAppSM2)
		}
		expect(t, authzCall(t, s, authzAppSM2, tok.AccessToken, "GET", balance(0), nil), 401, "token_revoked")
		_, err := authzFlow(t, s, authzAppSM2, a).Refresh(context.Background(), tok.RefreshToken)
		authzEndpointRefusal(t, err, 400, "invalid_grant")
		expect(t, authzCall(t, s, authzAppECDSA, aOther.AccessToken, "GET", balance(0), nil), 200, "")
	})

	t.Run("POST /admin/v1/users/{user}/revoke-tokens: 200 with a count, the user's token 401 token_revoked", func(t *testing.T) {
		// A new authorization of the disconnected app works again.
		tok := authzRun(t, authzFlow(t, s, authzAppSM2, b), authzReadOnly)
		secrets = append(secrets, tok.AccessToken, tok.RefreshToken)
		expect(t, authzCall(t, s, authzAppSM2, tok.AccessToken, "GET", balance(1), nil), 200, "")
		out := revoke(t, "/admin/v1/users/"+b.ID+"/revoke-tokens")
		if out["user_id"] != b.ID || out["revoked_tokens"] != float64(2) {
			t.Fatalf("answer %v, want user %s and 2 revoked tokens", out, b.ID)
		}
		expect(t, authzCall(t, s, authzAppSM2, tok.AccessToken, "GET", balance(1), nil), 401, "token_revoked")
		expect(t, authzCall(t, s, authzAppECDSA, aOther.AccessToken, "GET", balance(0), nil), 200, "")
	})
}

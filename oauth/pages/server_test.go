package pages

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bankguard/bankguard/oauth"
)

// The pages wired to the real authorization server, as the gateway wires
// them: consent and code through the pages, the code redeemed with the PKCE
// verifier, the grant introspected with its accounts and acr; then the
// revoke button kills the token at once.
func TestPagesWithTheAuthorizationServer(t *testing.T) {
	e := newEnv(t, nil)
	srv := oauth.NewServer(oauth.NewMemStore(), e.apps, oauth.Config{SubjectKey: []byte(strings.Repeat("k", 32))}, e.clock.now)
	users, _ := NewMemUsers(
		User{ID: "cust-alice", Username: "alice", PasswordHash: aliceHash, TOTPSecret: aliceSecret, Name: "张三丰"})
	h, err := New(Config{}, users, MemAccounts{"cust-alice": aliceAccts}, e.apps, srv, srv, e.clock.now)
	if err != nil {
		t.Fatal(err)
	}
	if h.history == nil {
		t.Fatal("the server's history is not picked up")
	}
	e.srv = httptest.NewTLSServer(h)
	defer e.srv.Close()

	b := e.browser()
	b.toConsent("alice", "accounts transfers")
	code := mustRedirectToApp(t, b.post(pathConsent, approveForm("acc-a1"))).Get("code")
	status, body := srv.Token(t.Context(), "app-1", "", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {appRedirect}, "code_verifier": {"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"}})
	var tok struct {
		AccessToken string `json:"access_token"`
		ConsentID   string `json:"consent_id"`
	}
	if err := json.Unmarshal(body, &tok); status != http.StatusOK || err != nil {
		t.Fatalf("token: %d %s", status, body)
	}
	g, err := srv.Introspect(t.Context(), tok.AccessToken)
	if err != nil || g.UserID != "cust-alice" || g.ACR != oauth.ACRTwoFactor || !slices.Equal(g.Accounts, []string{"acc-a1"}) {
		t.Fatalf("grant %+v, %v", g, err)
	}

	e.clock.advance(30 * time.Second) // the next TOTP step: the first code is used
	page := signInAccount(t, b, "alice", alicePassword)
	if !strings.Contains(page.body, `value="`+tok.ConsentID+`"`) || !strings.Contains(page.body, eventKinds[oauth.EventToken].ZH) {
		t.Fatal("the self-service page lacks the consent or the server's history")
	}
	if r := b.post(pathRevoke, url.Values{"consent": {tok.ConsentID}}); r.location() != pathAccount {
		t.Fatalf("revoke: %d %q", r.StatusCode, r.errorCode())
	}
	if _, err := srv.Introspect(t.Context(), tok.AccessToken); !errors.Is(err, oauth.ErrTokenRevoked) {
		t.Errorf("after the revoke button: %v, want %v", err, oauth.ErrTokenRevoked)
	}
}

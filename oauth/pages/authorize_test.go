package pages

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bankguard/bankguard/oauth"
)

// An unknown client or a redirect URI that is not exactly a registered one
// is shown at the bank: never a redirect, never a session.
func TestAuthorizeRefusedAtTheBank(t *testing.T) {
	e := newEnv(t, nil)
	with := func(edit func(url.Values)) string {
		q := authzQuery("accounts")
		edit(q)
		return q.Encode()
	}
	tests := []struct {
		name, query, code string
	}{
		{"unknown client", with(func(q url.Values) { q.Set("client_id", "app-x") }), codeClientUnknown},
		{"no client", with(func(q url.Values) { q.Del("client_id") }), codeClientUnknown},
		{"client twice", with(func(q url.Values) { q.Add("client_id", "app-1") }), codeClientUnknown},
		{"no redirect_uri", with(func(q url.Values) { q.Del("redirect_uri") }), codeRedirectURIInvalid},
		{"unregistered redirect_uri", with(func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") }), codeRedirectURIInvalid},
		{"registered prefix plus path", with(func(q url.Values) { q.Set("redirect_uri", appRedirect+"/x") }), codeRedirectURIInvalid},
		{"registered plus query", with(func(q url.Values) { q.Set("redirect_uri", appRedirect+"?next=https://evil.example") }), codeRedirectURIInvalid},
		{"other case", with(func(q url.Values) { q.Set("redirect_uri", "https://APP.example/cb") }), codeRedirectURIInvalid},
		{"redirect_uri twice", with(func(q url.Values) { q.Add("redirect_uri", "https://evil.example/cb") }), codeRedirectURIInvalid},
		{"fragment", with(func(q url.Values) { q.Set("redirect_uri", appRedirect+"#x") }), codeRedirectURIInvalid},
		{"bad query encoding", "client_id=app-1&redirect_uri=%zz", codeRequestInvalid},
		// Even with the other errors present, the redirect URI is checked first.
		{"unregistered and bad response_type", with(func(q url.Values) {
			q.Set("redirect_uri", "https://evil.example/cb")
			q.Set("response_type", "token")
		}), codeRedirectURIInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := e.browser()
			r := b.get("/oauth/authorize?" + tt.query)
			if r.StatusCode != http.StatusBadRequest || r.errorCode() != tt.code {
				t.Fatalf("got %d %q, want 400 %q", r.StatusCode, r.errorCode(), tt.code)
			}
			if loc := r.location(); loc != "" {
				t.Errorf("redirected to %q", loc)
			}
			if b.cookie() != "" {
				t.Error("a session was started")
			}
			if strings.Contains(r.body, "evil.example") {
				t.Error("the page shows the unregistered URI")
			}
		})
	}
}

// Once the redirect URI is known good, other errors go back to the app with
// RFC 6749 §4.1.2.1's error codes and the state.
func TestAuthorizeErrorsRedirectToTheApp(t *testing.T) {
	e := newEnv(t, nil)
	e.apps.set(oauth.AppInfo{ID: "app-old", Name: "Old", RedirectURIs: []string{appRedirect}, AgreementEnd: start.Add(-time.Hour)})
	e.apps.set(oauth.AppInfo{ID: "app-noterm", Name: "No term", RedirectURIs: []string{appRedirect}})
	tests := []struct {
		name      string
		edit      func(url.Values)
		code      string
		wantState bool
	}{
		{"no response_type", func(q url.Values) { q.Del("response_type") }, "invalid_request", true},
		{"response_type token", func(q url.Values) { q.Set("response_type", "token") }, "unsupported_response_type", true},
		{"response_type twice", func(q url.Values) { q.Add("response_type", "code") }, "invalid_request", true},
		{"no challenge", func(q url.Values) { q.Del("code_challenge") }, "invalid_request", true},
		{"no method", func(q url.Values) { q.Del("code_challenge_method") }, "invalid_request", true},
		{"plain method", func(q url.Values) { q.Set("code_challenge_method", "plain") }, "invalid_request", true},
		{"short challenge", func(q url.Values) { q.Set("code_challenge", testChallenge[:42]) }, "invalid_request", true},
		{"challenge with padding", func(q url.Values) { q.Set("code_challenge", testChallenge[:42]+"=") }, "invalid_request", true},
		{"unknown scope", func(q url.Values) { q.Set("scope", "accounts admin") }, "invalid_scope", true},
		{"no scope", func(q url.Values) { q.Del("scope") }, "invalid_scope", true},
		{"blank scope", func(q url.Values) { q.Set("scope", " ") }, "invalid_scope", true},
		{"scope twice", func(q url.Values) { q.Add("scope", "transfers") }, "invalid_request", true},
		{"state twice", func(q url.Values) { q.Add("state", "other") }, "invalid_request", false},
		{"state too long", func(q url.Values) { q.Set("state", strings.Repeat("s", maxState+1)) }, "invalid_request", false},
		{"agreement ended", func(q url.Values) { q.Set("client_id", "app-old") }, "unauthorized_client", true},
		{"no agreement end", func(q url.Values) { q.Set("client_id", "app-noterm") }, "unauthorized_client", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := e.browser()
			q := authzQuery("accounts")
			tt.edit(q)
			r := b.get("/oauth/authorize?" + q.Encode())
			got := mustRedirectToApp(t, r)
			if got.Get("error") != tt.code {
				t.Errorf("error=%q, want %q", got.Get("error"), tt.code)
			}
			if tt.wantState != (got.Get("state") == "st-123") || got.Has("code") {
				t.Errorf("redirect query %v", got)
			}
			if b.cookie() != "" {
				t.Error("a session was started")
			}
		})
	}
}

func TestAuthorizeRedirectKeepsTheRegisteredQuery(t *testing.T) {
	e := newEnv(t, nil)
	q := authzQuery("accounts")
	q.Set("redirect_uri", "https://app.example/cb2?tenant=7")
	q.Set("response_type", "token")
	r := e.browser().get("/oauth/authorize?" + q.Encode())
	if want := "https://app.example/cb2?tenant=7&error="; !strings.HasPrefix(r.location(), want) {
		t.Errorf("Location %q, want prefix %q", r.location(), want)
	}
}

// The request waits in the server-side session: nothing of it travels in
// the pages' forms where the user could edit it.
func TestAuthorizeKeepsTheRequestServerSide(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	r := b.get("/oauth/authorize?" + authzQuery("accounts transfers").Encode())
	if r.StatusCode != http.StatusSeeOther || r.location() != pathLogin || b.cookie() == "" {
		t.Fatalf("got %d to %q, want 303 to the sign-in page with a session", r.StatusCode, r.location())
	}
	page := b.follow(r)
	if !strings.Contains(page.body, "好记账 GoodLedger") {
		t.Error("the sign-in page does not name the app")
	}
	for _, leak := range []string{"st-123", testChallenge, "redirect_uri", "app.example", `name="scope"`, `name="state"`} {
		if strings.Contains(page.body, leak) {
			t.Errorf("the sign-in page carries %q", leak)
		}
	}
	// Consent later: hidden inputs are only the CSRF token.
	page = b.login("alice", alicePassword)
	page = b.totp(TOTP(aliceSecret, e.clock.now()))
	if n := strings.Count(page.body, `type="hidden"`); n != 1 {
		t.Errorf("the consent page has %d hidden inputs, want only the CSRF token", n)
	}
}

// A new authorization drops the browser's previous session.
func TestAuthorizeStartsAFreshSession(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	b.start("accounts")
	b.login("bob", bobPassword)
	old := b.cookie()
	b.start("accounts")
	if b.cookie() == old {
		t.Fatal("the session was reused")
	}
	b.setCookie(old)
	if r := b.get("/oauth/consent"); r.StatusCode != http.StatusBadRequest || r.errorCode() != codeSessionExpired {
		t.Errorf("the old session still works: %d %q", r.StatusCode, r.errorCode())
	}
}

func TestAuthorizeRefusesWhenSessionsAreFull(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxSessions = 2 })
	e.browser().start("accounts")
	e.browser().start("accounts")
	r := e.browser().get("/oauth/authorize?" + authzQuery("accounts").Encode())
	if r.StatusCode != http.StatusServiceUnavailable || r.errorCode() != codeBusy {
		t.Errorf("got %d %q, want 503 busy", r.StatusCode, r.errorCode())
	}
	// Expired sessions are swept to make room.
	e.clock.advance(31 * time.Minute)
	if r := e.browser().get("/oauth/authorize?" + authzQuery("accounts").Encode()); r.StatusCode != http.StatusSeeOther {
		t.Errorf("after expiry: %d, want 303", r.StatusCode)
	}
}

func TestFormOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://app.example/cb":          "https://app.example",
		"https://App.Example:8443/cb?x=1": "https://app.example:8443",
		"com.example.app:/oauth":          "com.example.app:",
		"http://[::1]:9000/cb":            "http://[::1]:9000",
		"https://a.example;script-src/cb": "",
		"/relative":                       "",
	} {
		if got := formOrigin(in); got != want {
			t.Errorf("formOrigin(%q) = %q, want %q", in, got, want)
		}
	}
}

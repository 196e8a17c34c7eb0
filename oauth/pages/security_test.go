package pages

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCSRFTokenRequiredOnEveryForm(t *testing.T) {
	e := newEnv(t, nil)
	for _, tt := range []struct {
		name string
		at   func(b *browser) // brings the browser to the form
		path string
		form url.Values
	}{
		{"login", func(b *browser) { b.start("accounts") }, pathLogin, url.Values{"username": {"bob"}, "password": {bobPassword}}},
		{"totp", func(b *browser) { b.start("transfers"); b.login("alice", alicePassword) }, pathTOTP, url.Values{"code": {TOTP(aliceSecret, start)}}},
		{"consent", func(b *browser) { b.toConsent("bob", "accounts") }, pathConsent, url.Values{"action": {"approve"}, "account": {"acc-b1"}, "validity": {"agreement"}}},
		{"deny", func(b *browser) { b.toConsent("bob", "accounts") }, pathConsent, url.Values{"action": {"deny"}}},
	} {
		for _, token := range []string{"", "wrong", "missing"} {
			t.Run(tt.name+"/"+token, func(t *testing.T) {
				b := e.browser()
				tt.at(b)
				f := url.Values{}
				for k, v := range tt.form {
					f[k] = v
				}
				if token != "missing" {
					f.Set("csrf", token)
				}
				r := b.postRaw(tt.path, f)
				if r.StatusCode != http.StatusForbidden || r.errorCode() != codeCSRF || r.location() != "" {
					t.Errorf("got %d %q to %q, want 403 %s", r.StatusCode, r.errorCode(), r.location(), codeCSRF)
				}
			})
		}
	}
	// Another session's token is no good either.
	b1, b2 := e.browser(), e.browser()
	b1.start("accounts")
	b2.start("accounts")
	r := b2.postRaw(pathLogin, url.Values{"csrf": {csrfOf(b1.page)}, "username": {"bob"}, "password": {bobPassword}})
	if r.StatusCode != http.StatusForbidden {
		t.Errorf("another session's token: %d", r.StatusCode)
	}
	if consents, codes, _ := e.consents.snapshot(); len(consents)+len(codes) != 0 {
		t.Error("a form without a valid token made a consent or a code")
	}
	if r := b2.get(pathConsent); r.location() != pathLogin {
		t.Error("a sign-in without a valid token went through")
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	e := newEnv(t, nil)
	r := e.browser().get("/oauth/authorize?" + authzQuery("accounts").Encode())
	sc := r.Header.Get("Set-Cookie")
	for _, want := range []string{CookieName + "=", "Path=/", "HttpOnly", "Secure", "SameSite=Lax"} {
		if !strings.Contains(sc, want) {
			t.Errorf("Set-Cookie %q lacks %s", sc, want)
		}
	}
	if strings.Contains(strings.ToLower(sc), "domain=") {
		t.Errorf("Set-Cookie %q has a Domain: __Host- cookies must not", sc)
	}
	v := strings.SplitN(strings.SplitN(sc, ";", 2)[0], "=", 2)[1]
	if raw, err := base64.RawURLEncoding.DecodeString(v); err != nil || len(raw) != 32 {
		t.Errorf("session id %q is not 256 random bits", v)
	}
}

// The session id changes at sign-in and again after the second factor; the
// old ids are dead (session fixation).
func TestSessionIDRotatesAtSignIn(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	b.start("transfers")
	anon := b.cookie()
	b.login("alice", alicePassword)
	half := b.cookie()
	b.totp(TOTP(aliceSecret, e.clock.now()))
	full := b.cookie()
	if anon == half || half == full || anon == full {
		t.Fatal("the session id did not change at each sign-in step")
	}
	for _, old := range []string{anon, half} {
		b2 := e.browser()
		b2.setCookie(old)
		if r := b2.get(pathConsent); r.StatusCode != http.StatusBadRequest || r.errorCode() != codeSessionExpired {
			t.Errorf("an old session id still works: %d %q", r.StatusCode, r.errorCode())
		}
	}
}

// After IdleTimeout without a request the sign-in is gone: back to the
// sign-in page, the waiting request kept, nothing consented.
func TestIdleSessionEnds(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	b.toConsent("bob", "accounts")
	e.clock.advance(4 * time.Minute)
	if r := b.get(pathConsent); r.StatusCode != http.StatusOK {
		t.Fatalf("within the idle timeout: %d", r.StatusCode)
	}
	e.clock.advance(5*time.Minute + time.Second)
	r := b.post(pathConsent, url.Values{"action": {"approve"}, "account": {"acc-b1"}, "validity": {"agreement"}})
	if r.StatusCode != http.StatusSeeOther || r.location() != pathLogin {
		t.Fatalf("after the idle timeout: %d to %q, want back to sign-in", r.StatusCode, r.location())
	}
	if consents, _, _ := e.consents.snapshot(); len(consents) != 0 {
		t.Fatal("an expired session gave consent")
	}
	page := b.follow(r)
	if !strings.Contains(page.body, msgTimedOut.ZH) || !strings.Contains(page.body, `action="/oauth/login"`) {
		t.Error("the sign-in page does not say the session timed out")
	}
	// Signing in again continues the same request.
	r = b.login("bob", bobPassword)
	mustRedirectToApp(t, b.post(pathConsent, url.Values{"action": {"approve"}, "account": {"acc-b1"}, "validity": {"agreement"}}))
}

// However busy, a session ends SessionLifetime after sign-in; with the
// authorization request also past its time, there is nothing to go back to.
func TestAbsoluteSessionLifetime(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	b.toConsent("bob", "accounts")
	for i := 0; i < 7; i++ {
		e.clock.advance(4 * time.Minute)
		if r := b.get(pathConsent); r.StatusCode != http.StatusOK {
			t.Fatalf("at %d min: %d", 4*(i+1), r.StatusCode)
		}
	}
	e.clock.advance(2 * time.Minute)
	r := b.get(pathConsent)
	if r.StatusCode != http.StatusBadRequest || r.errorCode() != codeSessionExpired {
		t.Errorf("after 30 min: %d %q, want 400 %s", r.StatusCode, r.errorCode(), codeSessionExpired)
	}
}

// An authorization request waits SessionLifetime for the user, however
// fresh the sign-in.
func TestAuthorizationRequestExpires(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	b.start("accounts")
	for i := 0; i < 7; i++ {
		e.clock.advance(4 * time.Minute)
		b.get(pathLogin)
	}
	if r := b.login("bob", bobPassword); !strings.Contains(r.body, `action="/oauth/consent"`) {
		t.Fatalf("sign-in at 28 min: %d %q", r.StatusCode, r.errorCode())
	}
	e.clock.advance(3 * time.Minute)
	r := b.post(pathConsent, url.Values{"action": {"approve"}, "account": {"acc-b1"}, "validity": {"agreement"}})
	if r.StatusCode != http.StatusBadRequest || r.errorCode() != codeSessionExpired || r.location() != "" {
		t.Errorf("consent at 31 min: %d %q to %q", r.StatusCode, r.errorCode(), r.location())
	}
	if _, codes, _ := e.consents.snapshot(); len(codes) != 0 {
		t.Error("a code was issued for an expired request")
	}
}

// The self-service page: an ended session goes back to sign-in.
func TestIdleAccountSessionGoesBackToSignIn(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	signInAccount(t, b, "bob", bobPassword)
	e.clock.advance(6 * time.Minute)
	r := b.get(pathAccount)
	if r.StatusCode != http.StatusSeeOther || r.location() != pathLogin {
		t.Errorf("got %d to %q", r.StatusCode, r.location())
	}
}

// MaxFailures wrong passwords lock the user: then even the right password
// gets the very page a wrong one does, as does an unknown user. The lock
// lasts LockoutBase, doubling each time.
func TestLockoutWithBackoff(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	b.start("accounts")
	errorText := regexp.MustCompile(`(?s)<p class="error".*?</p>`)
	var wrongPage string
	for i := 0; i < 5; i++ {
		r := b.login("bob", "guess")
		if r.StatusCode != http.StatusUnauthorized || r.errorCode() != codeLoginFailed {
			t.Fatalf("failure %d: %d %q", i+1, r.StatusCode, r.errorCode())
		}
		wrongPage = errorText.FindString(r.body)
	}
	r := b.login("bob", bobPassword)
	if r.StatusCode != http.StatusUnauthorized || errorText.FindString(r.body) != wrongPage {
		t.Fatalf("locked user with the right password: %d %q, want the wrong-password page", r.StatusCode, r.errorCode())
	}
	if r := b.login("nobody", "guess"); r.StatusCode != http.StatusUnauthorized || errorText.FindString(r.body) != wrongPage {
		t.Errorf("unknown user: %d, want the wrong-password page", r.StatusCode)
	}
	kinds := e.eventKinds("cust-bob")
	if !slices.Contains(kinds, EventLocked) || !slices.Contains(kinds, EventLoginFailed) {
		t.Errorf("events %v", kinds)
	}
	e.clock.advance(61 * time.Second)
	if r := b.login("bob", bobPassword); !strings.Contains(r.body, `action="/oauth/consent"`) {
		t.Fatalf("after the lockout: %d %q", r.StatusCode, r.errorCode())
	}
	// Success clears the count; a second lockout within the day doubles.
	b.start("accounts")
	for i := 0; i < 5; i++ {
		b.login("bob", "guess")
	}
	e.clock.advance(61 * time.Second)
	for i := 0; i < 5; i++ { // locked again, then 5 more failures: second lockout, 2 min
		b.login("bob", "guess")
	}
	e.clock.advance(61 * time.Second)
	if r := b.login("bob", bobPassword); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("one minute into the second lockout: %d", r.StatusCode)
	}
	e.clock.advance(61 * time.Second)
	if r := b.login("bob", bobPassword); !strings.Contains(r.body, `action="/oauth/consent"`) {
		t.Errorf("after the second lockout: %d %q", r.StatusCode, r.errorCode())
	}
}

func TestUnknownUserLocksLikeAKnownOne(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxFailures = 2 })
	b := e.browser()
	b.start("accounts")
	for i := 0; i < 3; i++ {
		if r := b.login("ghost", "x"); r.StatusCode != http.StatusUnauthorized || r.errorCode() != codeLoginFailed {
			t.Fatalf("attempt %d: %d %q", i, r.StatusCode, r.errorCode())
		}
	}
	if n := e.h.limiter.users["name:ghost"]; n == nil || !e.h.limiter.locked("name:ghost", e.clock.now()) {
		t.Error("an unknown name is not locked like a known one")
	}
}

// IPMaxFailures failures from one address within IPWindow refuse further
// attempts, whatever the user name, until the window moves on.
func TestPerAddressFailureWindow(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.IPMaxFailures = 3 })
	b := e.browser()
	b.start("accounts")
	for _, u := range []string{"u1", "u2", "u3"} {
		if r := b.login(u, "x"); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s: %d", u, r.StatusCode)
		}
	}
	r := b.login("bob", bobPassword)
	if r.StatusCode != http.StatusTooManyRequests || r.errorCode() != codeTooManyAttempts || r.Header.Get("Retry-After") == "" {
		t.Fatalf("got %d %q, Retry-After %q; want 429", r.StatusCode, r.errorCode(), r.Header.Get("Retry-After"))
	}
	e.clock.advance(15 * time.Minute)
	b.follow(b.get(pathLogin))
	if r := b.login("bob", bobPassword); !strings.Contains(r.body, `action="/oauth/consent"`) {
		t.Errorf("after the window: %d %q", r.StatusCode, r.errorCode())
	}
}

// A TOTP code is accepted once: the same code in a new sign-in is refused.
func TestTOTPReplayRefused(t *testing.T) {
	e := newEnv(t, nil)
	code := TOTP(aliceSecret, e.clock.now())
	b := e.browser()
	b.start("transfers")
	b.login("alice", alicePassword)
	if r := b.totp(code); !strings.Contains(r.body, `action="/oauth/consent"`) {
		t.Fatalf("first use: %d %q", r.StatusCode, r.errorCode())
	}
	e.clock.advance(10 * time.Second) // same step
	b2 := e.browser()
	b2.start("transfers")
	b2.login("alice", alicePassword)
	r := b2.totp(code)
	if r.StatusCode != http.StatusUnauthorized || r.errorCode() != codeSecondFactorFailed {
		t.Fatalf("replay: %d %q, want 401 %s", r.StatusCode, r.errorCode(), codeSecondFactorFailed)
	}
	// The previous step's code, valid by the window, is older than the one
	// used: refused too.
	if r := b2.totp(TOTP(aliceSecret, e.clock.now().Add(-30*time.Second))); r.errorCode() != codeSecondFactorFailed {
		t.Errorf("an older code: %d %q", r.StatusCode, r.errorCode())
	}
	if r := b2.totp("000000"); r.errorCode() != codeSecondFactorFailed {
		t.Errorf("a wrong code: %d %q", r.StatusCode, r.errorCode())
	}
	if r := b2.get(pathConsent); r.location() != pathTOTP {
		t.Errorf("consent without the second factor: %d to %q", r.StatusCode, r.location())
	}
	e.clock.advance(30 * time.Second)
	b2.get(pathTOTP)
	if r := b2.totp(TOTP(aliceSecret, e.clock.now())); !strings.Contains(r.body, `action="/oauth/consent"`) {
		t.Errorf("the next step's code: %d %q", r.StatusCode, r.errorCode())
	}
}

// Wrong codes count towards the lockout: after MaxFailures the half-signed-in
// session ends and the user is locked.
func TestTOTPFailuresLockTheUser(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	b.start("transfers")
	b.login("alice", alicePassword)
	var r *response
	for i := 0; i < 5; i++ {
		r = b.totp("000000")
	}
	if !strings.Contains(r.body, `action="/oauth/login"`) || !strings.Contains(r.body, msgTOTPLocked.ZH) {
		t.Fatalf("after 5 wrong codes: %d %q, want the sign-in page", r.StatusCode, r.errorCode())
	}
	if r := b.login("alice", alicePassword); r.StatusCode != http.StatusUnauthorized || r.errorCode() != codeLoginFailed {
		t.Errorf("locked user signed in: %d %q", r.StatusCode, r.errorCode())
	}
}

// Every response carries the security headers, whatever the page.
func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	bad := authzQuery("accounts")
	bad.Set("redirect_uri", "https://evil.example/")
	responses := map[string]*response{
		"authorize error page": b.get("/oauth/authorize?" + bad.Encode()),
		"authorize redirect":   b.get("/oauth/authorize?" + authzQuery("accounts").Encode()),
		"login page":           b.get(pathLogin),
		"not found":            b.get("/nope"),
		"consent page":         e.browser().toConsent("bob", "accounts"),
		"csrf refusal":         b.postRaw(pathLogin, url.Values{}),
	}
	for name, r := range responses {
		h := r.Header
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "style-src 'sha256-", "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %s", name, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe") || strings.Contains(csp, "script-src") {
			t.Errorf("%s: CSP %q allows too much", name, csp)
		}
		for k, want := range map[string]string{"X-Frame-Options": "DENY", "Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"} {
			if got := h.Get(k); got != want {
				t.Errorf("%s: %s = %q, want %q", name, k, got, want)
			}
		}
	}
}

// The embedded stylesheet is what the CSP hash admits, and the pages load
// nothing else: no script, no external URL.
func TestPagesAreSelfContained(t *testing.T) {
	e := newEnv(t, nil)
	r := e.browser().toConsent("alice", "accounts transfers")
	m := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatal("no <style>")
	}
	sum := sha256.Sum256([]byte(m[1]))
	if want := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(r.Header.Get("Content-Security-Policy"), want) {
		t.Errorf("the CSP does not admit the page's style (%s)", want)
	}
	for _, bad := range []string{"<script", "http://", "src=", "<link", "style=\"", "onclick"} {
		if strings.Contains(r.body, bad) {
			t.Errorf("the page contains %q", bad)
		}
	}
}

// Passwords, codes and cookies never reach the log or the history.
func TestNoSecretsInLogsOrHistory(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	b.start("transfers")
	b.login("alice", "wrong-password-123")
	b.login("alice", alicePassword)
	used := TOTP(aliceSecret, e.clock.now())
	b.totp("999999")
	b.totp(used)
	sid := b.cookie()
	r := b.post(pathConsent, approveForm("acc-a1"))
	code := mustRedirectToApp(t, r).Get("code")
	evs, _ := e.events.Events(t.Context(), "cust-alice", 100)
	var history strings.Builder
	for _, ev := range evs {
		history.WriteString(ev.Kind + " " + ev.Detail + "\n")
	}
	for _, where := range map[string]string{"log": e.logs.String(), "history": history.String()} {
		for _, secret := range []string{"wrong-password-123", alicePassword, used, "999999", sid, code, string(aliceSecret), "127.0.0.1"} {
			if strings.Contains(where, secret) {
				t.Errorf("%q leaked", secret)
			}
		}
	}
	if !strings.Contains(history.String(), "127.0.0.*") {
		t.Errorf("history %q lacks the masked address", history.String())
	}
}

package authflow

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// newRun is a run of an authorization whose state is "st-1", as step and
// finish see it.
func newRun(t *testing.T) *run {
	t.Helper()
	f := &Flow{BaseURL: "https://bank.example", AppID: testApp, RedirectURI: "https://app.example/cb?tenant=7"}
	base, err := f.base()
	if err != nil {
		t.Fatal(err)
	}
	return &run{f: f, base: base, client: f.browser(), verifier: "v", state: "st-1", answered: map[string]int{}}
}

// The bank's last redirect decides: only to the registered redirect URI,
// with the state sent and a code, is a code returned; nothing else is
// followed, and no error repeats the code.
func TestBankRedirects(t *testing.T) {
	const secret = "SECRETCODE"
	tests := []struct {
		name     string
		location string
		want     string // in the error; "" for success
		is       func(error) bool
	}{
		{"the code", "https://app.example/cb?tenant=7&code=" + secret + "&state=st-1", "", nil},
		{"another state", "https://app.example/cb?tenant=7&code=" + secret + "&state=st-2", "state", nil},
		{"no state", "https://app.example/cb?tenant=7&code=" + secret, "state", nil},
		{"two states", "https://app.example/cb?tenant=7&code=" + secret + "&state=st-1&state=st-1", "state", nil},
		{"no code", "https://app.example/cb?tenant=7&state=st-1", "no authorization code", nil},
		{"two codes", "https://app.example/cb?tenant=7&code=a&code=b&state=st-1", "no authorization code", nil},
		{"an error", "https://app.example/cb?tenant=7&error=access_denied&error_description=the+user+said+no&state=st-1", "access_denied",
			func(err error) bool {
				var re *RedirectError
				return errors.As(err, &re) && re.Description == "the user said no"
			}},
		{"another host", "https://evil.example/cb?tenant=7&code=" + secret + "&state=st-1", "unexpected address (https://evil.example)", nil},
		{"another path", "https://app.example/cb2?tenant=7&code=" + secret + "&state=st-1", "unexpected address", nil},
		{"the registered query missing", "https://app.example/cb?code=" + secret + "&state=st-1", "unexpected address", nil},
		{"plain http", "http://app.example/cb?tenant=7&code=" + secret + "&state=st-1", "unexpected address", nil},
		{"a fragment", "https://app.example/cb?tenant=7&code=" + secret + "&state=st-1#x", "unexpected address", nil},
		{"no location", "", "without a valid location", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRun(t)
			from, _ := url.Parse("https://bank.example/oauth/consent")
			next, g, err := r.step(context.Background(), &response{url: from, status: http.StatusSeeOther, location: tt.location})
			if next != nil {
				t.Fatal("the redirect was followed")
			}
			if tt.want == "" {
				if err != nil || g == nil || g.Code != secret || g.Verifier != "v" || g.RedirectURI != r.f.RedirectURI {
					t.Fatalf("grant %v, err %v", g, err)
				}
				return
			}
			if g != nil || err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("grant %v, err %v; want an error with %q", g, err, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("the error holds the code: %v", err)
			}
			if tt.is != nil && !tt.is(err) {
				t.Fatalf("err = %#v", err)
			}
		})
	}
}

// A form that posts anywhere but the bank is not filled in: the password
// never leaves for another origin.
func TestFormsPostOnlyToTheBank(t *testing.T) {
	r := newRun(t)
	from, _ := url.Parse("https://bank.example/oauth/login")
	body := `<main><form method="post" action="https://evil.example/oauth/login"><input type="hidden" name="csrf" value="c">` +
		`<input name="username"><input name="password" type="password"></form></main>`
	_, _, err := r.step(context.Background(), &response{url: from, status: http.StatusOK, body: []byte(body)})
	if err == nil || !strings.Contains(err.Error(), "unexpected page") {
		t.Fatalf("err = %v", err)
	}
}

// A page the flow does not know, or a bank error without a code, ends the
// run with the status.
func TestUnexpectedPages(t *testing.T) {
	r := newRun(t)
	from, _ := url.Parse("https://bank.example/oauth/authorize")
	if _, _, err := r.step(context.Background(), &response{url: from, status: http.StatusBadGateway, body: []byte("bad gateway")}); err == nil || !strings.Contains(err.Error(), "502") {
		t.Fatalf("err = %v", err)
	}
	if _, _, err := r.step(context.Background(), &response{url: from, status: http.StatusOK, body: []byte("<main>hello</main>")}); err == nil || !strings.Contains(err.Error(), "unexpected page") {
		t.Fatalf("err = %v", err)
	}
	// The same page answered twice is refused, not looped on.
	r.answered[PathLogin] = 1
	login := `<main><form method="post" action="/oauth/login"><input type="hidden" name="csrf" value="c"></form></main>`
	if _, _, err := r.step(context.Background(), &response{url: from, status: http.StatusOK, body: []byte(login)}); err == nil || !strings.Contains(err.Error(), "sign in again") {
		t.Fatalf("err = %v", err)
	}
}

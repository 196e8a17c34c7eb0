package authflow

import (
	"slices"
	"testing"
)

func TestParsePage(t *testing.T) {
	body := `<!doctype html><html><body>
<MAIN class="x" data-error="login_failed"><h1>Sign in</h1>
<input type="hidden" name="outside" value="ignored">
<form method="post" action="/oauth/consent" title='a > b'>
<input type="hidden" name="csrf" value="a&amp;b&#34;c">
<label><input type="checkbox" name="account" value="acc-1" checked> one</label>
<label><input type=checkbox name=account value=acc-2></label>
<input type="checkbox" name="account" value="acc-1">
<input type="radio" name="validity" value="once" required>
<INPUT TYPE="HIDDEN" NAME="extra" VALUE="x" />
</form>
<form action="/account/logout"><input type="hidden" name="csrf" value="other"></form>
</MAIN></body></html>`
	p := parsePage([]byte(body))
	if p.errorCode != "login_failed" {
		t.Fatalf("error code = %q", p.errorCode)
	}
	if len(p.forms) != 2 || p.forms[0].action != "/oauth/consent" || p.forms[1].action != "/account/logout" {
		t.Fatalf("forms = %+v", p.forms)
	}
	fm := p.formFor(PathConsent)
	if h := fm.hidden(); h.Get("csrf") != `a&b"c` || h.Get("extra") != "x" || len(h) != 2 {
		t.Fatalf("hidden = %v", h)
	}
	if got := fm.values("account"); !slices.Equal(got, []string{"acc-1", "acc-2"}) {
		t.Fatalf("accounts = %q", got)
	}
	if p.formFor(PathLogin) != nil {
		t.Fatal("a login form found")
	}
	if p := parsePage([]byte(`<main><p>fine</p></main>`)); p.errorCode != "" || len(p.forms) != 0 {
		t.Fatalf("page = %+v", p)
	}
}

// The parser reads whatever a server sends: it must not panic, and what it
// returns stays bounded.
func FuzzParsePage(f *testing.F) {
	f.Add([]byte(`<main data-error="x"><form action="/oauth/login"><input type="hidden" name="csrf" value="c"></form></main>`))
	f.Add([]byte(`<form action='/a'><input name=a value=b><input type="checkbox" name="account" value="&amp;"></form`))
	f.Add([]byte(`<main data-error="` + "\x00\xff\n" + `">`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p := parsePage(body)
		if len(p.errorCode) > 64 {
			t.Fatalf("error code of %d bytes", len(p.errorCode))
		}
		for i := range p.forms {
			_ = p.forms[i].hidden()
			_ = p.forms[i].values("account")
		}
	})
}

package authflow

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bankguard/bankguard/httpsig"
	"github.com/bankguard/bankguard/oauth"
	"github.com/bankguard/bankguard/profile"
)

// writeProfile writes a profile of the env to a directory: its CA, the
// app's HMAC key, a pinned bank key (so that no key is fetched) and alice
// with her password and TOTP secret files.
func writeProfile(t *testing.T, e *env) *profile.Profile {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: e.http.Certificate().Raw}))
	write("app.key", []byte(base64.StdEncoding.EncodeToString(appKey)+"\n"))
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	pubPEM, err := httpsig.MarshalPublicKeyPEM(pub)
	if err != nil {
		t.Fatal(err)
	}
	write("bank.pem", pubPEM)
	write("alice.pw", []byte(alicePW+"\n"))
	// As an authenticator app might show it: lower case, grouped, padded.
	enc := strings.ToLower(base32.StdEncoding.EncodeToString(aliceSecret))
	write("alice.totp", []byte(enc[:8]+" "+enc[8:]+"\n"))
	p := &profile.Profile{
		Schema:   profile.Schema,
		Target:   profile.Target{BaseURL: e.http.URL, CACert: "ca.pem"},
		BankKeys: profile.BankKeys{Pinned: []profile.PinnedKey{{KeyID: "bank-1", Alg: httpsig.AlgEd25519, PublicKeyFile: "bank.pem"}}},
		Apps: []profile.App{{AppID: testApp, Level: "A2", Credentials: []profile.Credential{
			{KeyID: "app-1-key", Alg: httpsig.AlgHMACSHA256, SecretFile: "app.key"}}}},
		Users: []profile.User{
			{Username: "alice", PasswordFile: "alice.pw", TOTPSecretFile: "alice.totp"},
			{Username: "nopw"},
			{Username: "badtotp", PasswordFile: "alice.pw", TOTPSecretFile: "bank.pem"},
			{Username: "gone", PasswordFile: "missing.pw"},
		},
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	p.SetDir(dir)
	return p
}

func TestFromProfile(t *testing.T) {
	e := newEnv(t)
	p := writeProfile(t, e)
	f, err := FromProfile(context.Background(), p, testApp, "alice", testRedirect)
	if err != nil {
		t.Fatal(err)
	}
	if f.Password != alicePW || !bytes.Equal(f.TOTPSecret, aliceSecret) || f.AppID != testApp || f.RedirectURI != testRedirect {
		t.Fatalf("flow = %+v", f)
	}
	if f.HTTP == nil || f.HTTP.Transport == nil || f.App == nil || f.App.KeyID != "app-1-key" {
		t.Fatal("clients not set")
	}
	f.Now = e.clock.now // the bank's clock, for the TOTP code
	toks, err := f.Run(context.Background(), fund())
	if err != nil {
		t.Fatal(err)
	}
	if toks.ACR != oauth.ACRTwoFactor {
		t.Fatalf("tokens = %v", toks)
	}
}

func TestFromProfileRefusals(t *testing.T) {
	e := newEnv(t)
	p := writeProfile(t, e)
	tests := []struct {
		name, app, user, redirect, want string
	}{
		{"no such user", testApp, "mallory", testRedirect, `no user "mallory"`},
		{"no user name", testApp, "", testRedirect, `no user ""`},
		{"no password file", testApp, "nopw", testRedirect, "no password_file"},
		{"a missing password file", testApp, "gone", testRedirect, "missing.pw"},
		{"a TOTP file that is not base32", testApp, "badtotp", testRedirect, "not a base32 TOTP secret"},
		{"no such app", "app-9", "alice", testRedirect, `no app "app-9"`},
		{"no redirect uri", testApp, "alice", "", "redirect uri"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := FromProfile(context.Background(), p, tt.app, tt.user, tt.redirect)
			if f != nil || err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("flow %v, err %v; want %q", f, err, tt.want)
			}
			if strings.Contains(err.Error(), alicePW) || strings.Contains(err.Error(), "PUBLIC KEY") {
				t.Fatalf("the error quotes a file: %v", err)
			}
		})
	}
}

func TestDecodeTOTPSecret(t *testing.T) {
	raw := base32.StdEncoding.EncodeToString(aliceSecret)
	for _, in := range []string{raw, strings.TrimRight(raw, "="), strings.ToLower(raw) + "\r\n", raw[:4] + " " + raw[4:]} {
		got, err := DecodeTOTPSecret([]byte(in))
		if err != nil || !bytes.Equal(got, aliceSecret) {
			t.Fatalf("%q: %x %v", in, got, err)
		}
	}
	for _, in := range []string{"", "  \n", "not base32!", "AAAAAAAA"} {
		if _, err := DecodeTOTPSecret([]byte(in)); err == nil || strings.Contains(err.Error(), in) && in != "" {
			t.Fatalf("%q: err = %v", in, err)
		}
	}
}

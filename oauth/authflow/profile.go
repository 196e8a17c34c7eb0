package authflow

import (
	"bytes"
	"context"
	"encoding/base32"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/bankguard/bankguard/profile"
)

// FromProfile builds a Flow for the profile's user username and app appID:
// the user's password and TOTP secret from the files the profile names
// (the secret base32 as authenticator apps take it; no TOTP file: no
// second factor), the app's signing client (p.Client, with its client
// certificate) for the token endpoint, and a browser that trusts the
// target's CA but presents no client certificate — the user is not the app.
// redirectURI is one of the app's registered redirect URIs; nothing needs
// to listen there, the flow reads the code from the bank's redirect.
//
// The user is looked up first, so that a profile without that user fails
// before any network call. Errors name files, never their contents.
func FromProfile(ctx context.Context, p *profile.Profile, appID, username, redirectURI string) (*Flow, error) {
	if p == nil {
		return nil, errors.New("authflow: no profile")
	}
	var user *profile.User
	for i := range p.Users {
		if p.Users[i].Username == username {
			user = &p.Users[i]
			break
		}
	}
	if username == "" || user == nil {
		return nil, fmt.Errorf("authflow: the profile has no user %q (it has %d user(s))", clip(username, 64), len(p.Users))
	}
	if user.PasswordFile == "" {
		return nil, fmt.Errorf("authflow: user %q has no password_file in the profile", username)
	}
	pw, err := os.ReadFile(p.Path(user.PasswordFile))
	if err != nil {
		return nil, fmt.Errorf("authflow: user %q: password file: %w", username, err)
	}
	password := strings.TrimRight(string(pw), "\r\n")
	if password == "" {
		return nil, fmt.Errorf("authflow: user %q: the password file is empty", username)
	}
	var secret []byte
	if user.TOTPSecretFile != "" {
		b, err := os.ReadFile(p.Path(user.TOTPSecretFile))
		if err != nil {
			return nil, fmt.Errorf("authflow: user %q: TOTP secret file: %w", username, err)
		}
		if secret, err = DecodeTOTPSecret(b); err != nil {
			return nil, fmt.Errorf("authflow: user %q: TOTP secret file: %w", username, err)
		}
	}
	if redirectURI == "" {
		return nil, errors.New("authflow: a redirect uri is required")
	}
	if _, ok := p.App(appID); !ok {
		return nil, fmt.Errorf("authflow: the profile has no app %q", clip(appID, 64))
	}
	browser, err := p.HTTPClient(nil)
	if err != nil {
		return nil, err
	}
	app, err := p.Client(ctx, appID)
	if err != nil {
		return nil, err
	}
	return &Flow{
		BaseURL: p.Target.BaseURL, HTTP: browser, App: app, AppID: appID, RedirectURI: redirectURI,
		Username: username, Password: password, TOTPSecret: secret,
	}, nil
}

// DecodeTOTPSecret decodes a TOTP secret in base32 (RFC 4648, as in
// otpauth:// URIs): case, spaces, line ends and padding do not matter.
// Its error never quotes the input.
func DecodeTOTPSecret(b []byte) ([]byte, error) {
	s := strings.ToUpper(strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' || r == '=' {
			return -1
		}
		return r
	}, string(b)))
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
	if err != nil || len(secret) == 0 {
		return nil, errors.New("not a base32 TOTP secret")
	}
	if bytes.Count(secret, []byte{0}) == len(secret) {
		return nil, errors.New("the TOTP secret is all zeros")
	}
	return secret, nil
}

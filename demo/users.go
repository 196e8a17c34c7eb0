package demo

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bankguard/bankguard/node"
	"github.com/bankguard/bankguard/oauth/pages"
	"github.com/bankguard/bankguard/registry"
	"github.com/bankguard/bankguard/sandbox"
	"github.com/bankguard/bankguard/store/sqlite"
)

// The files of a demo user's sign-in credentials, in DIR/demo/users/ID/: the
// password and the TOTP secret (RFC 6238, base32 as authenticator apps take
// it). Demo data only: a real bank never hands these out.
const (
	PasswordFile   = "password"
	TOTPSecretFile = "totp-secret"
)

// RedirectURI is a demo app's registered redirect URI. Nothing listens
// there: `bankguard call --user` and the assessor read the code from the
// bank's redirect without following it.
func RedirectURI(appID string) string { return "https://" + appID + ".demo.invalid/callback" }

// seedUsers registers the sandbox bank's customers as users of the bank's
// sign-in pages, once, with a random password and TOTP secret each.
func seedUsers(ctx context.Context, st *sqlite.Store, dir string) error {
	for _, u := range sandbox.New(sandbox.Options{Seed: node.SandboxSeed}).Users() {
		if _, err := st.UserByID(ctx, u.ID); err == nil {
			continue
		}
		userDir := filepath.Join(dir, "demo", "users", u.ID)
		if err := os.MkdirAll(userDir, 0o700); err != nil {
			return err
		}
		password, err := randomText(18)
		if err != nil {
			return err
		}
		totp := make([]byte, 20)
		if _, err := rand.Read(totp); err != nil {
			return err
		}
		hash, err := pages.HashPassword(password)
		if err != nil {
			return err
		}
		if err := writePrivate(filepath.Join(userDir, PasswordFile), []byte(password+"\n")); err != nil {
			return err
		}
		enc := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(totp)
		if err := writePrivate(filepath.Join(userDir, TOTPSecretFile), []byte(enc+"\n")); err != nil {
			return err
		}
		if err := st.PutUser(ctx, pages.User{ID: u.ID, Username: strings.ToLower(u.ID), PasswordHash: hash, TOTPSecret: totp, Name: u.Name}); err != nil {
			return fmt.Errorf("demo: user %s: %w", u.ID, err)
		}
	}
	return nil
}

// authorizationFields gives a demo app what user authorization needs: a
// redirect URI and an agreement that runs a year from its registration.
func authorizationFields(rec *registry.App) bool {
	if len(rec.RedirectURIs) > 0 && !rec.AgreementEnd.IsZero() {
		return false
	}
	rec.RedirectURIs = []string{RedirectURI(rec.ID)}
	rec.AgreementEnd = time.Now().AddDate(1, 0, 0).UTC().Truncate(time.Second)
	return true
}

func randomText(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

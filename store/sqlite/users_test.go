package sqlite

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/bankguard/bankguard/oauth"
	"github.com/bankguard/bankguard/oauth/pages"
)

func TestUsersSealTheSecondFactor(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := openTest(t, filepath.Join(dir, "reg.db"), 1)
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("0123456789abcdefghij")
	if err := s.PutUser(ctx, pages.User{ID: "U1", Username: "wang", PasswordHash: "$argon2id$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA", TOTPSecret: secret, Name: "王小明"}); err != nil {
		t.Fatal(err)
	}
	u, err := s.UserByName(ctx, "wang")
	if err != nil || u.ID != "U1" || !bytes.Equal(u.TOTPSecret, secret) || u.Name != "王小明" {
		t.Fatalf("UserByName: %+v, %v", u, err)
	}
	if _, err := s.UserByID(ctx, "U2"); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("unknown user: %v", err)
	}
	if err := s.PutUser(ctx, pages.User{ID: "U3", Username: "li"}); err == nil {
		t.Error("a user without a password hash was stored")
	}
	s.Close()
	for _, f := range []string{"reg.db", "reg.db-wal"} {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		if bytes.Contains(b, secret) {
			t.Errorf("%s holds the TOTP secret in clear", f)
		}
	}
}

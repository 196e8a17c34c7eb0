package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bankguard/bankguard/oauth"
	"github.com/bankguard/bankguard/oauth/oauthtest"
)

func TestOAuthStoreConformance(t *testing.T) {
	oauthtest.Run(t, func(t *testing.T) oauth.Store {
		s, err := openTest(t, filepath.Join(t.TempDir(), "bankguard.db"), 1)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

type oneApp struct{ info oauth.AppInfo }

func (a oneApp) App(_ context.Context, id string) (*oauth.AppInfo, error) {
	if id != a.info.ID {
		return nil, oauth.ErrNotFound
	}
	info := a.info
	return &info, nil
}

// TestOAuthServerOnSQLite runs the flow on the embedded store: what the
// server issues survives a reopen, a reused code revokes what it issued,
// and neither codes nor tokens reach the file in clear (5.2.1 d).
func TestOAuthServerOnSQLite(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bankguard.db")
	s, err := openTest(t, path, 1)
	if err != nil {
		t.Fatal(err)
	}
	now := oauthtest.T0
	clock := func() time.Time { return now }
	app := oneApp{oauth.AppInfo{ID: "app-a", Name: "A", Level: "A2", RedirectURIs: []string{"https://a.example/cb"},
		AgreementEnd: now.Add(24 * time.Hour), CertThumbprint: "thumb-a"}}
	cfg := oauth.Config{SubjectKey: bytes.Repeat([]byte{7}, 32)}
	srv := oauth.NewServer(s, app, cfg, clock)

	c, err := srv.CreateConsent(ctx, oauth.Consent{AppID: "app-a", UserID: "cust-0001", Scopes: []string{"accounts", "transfers"},
		Accounts: []string{"acc-1"}, Validity: oauth.ValidityAgreement, SessionID: "s1", RiskAcknowledged: true})
	if err != nil {
		t.Fatal(err)
	}
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	sum := sha256.Sum256([]byte(verifier))
	code, err := srv.IssueCode(ctx, oauth.CodeRequest{AppID: "app-a", RedirectURI: "https://a.example/cb",
		CodeChallenge: base64.RawURLEncoding.EncodeToString(sum[:]), CodeChallengeMethod: "S256",
		ConsentID: c.ID, UserID: "cust-0001", ACR: oauth.ACRTwoFactor, SessionID: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {"https://a.example/cb"}, "code_verifier": {verifier}}
	st, body := srv.Token(ctx, "app-a", "thumb-a", form)
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	json.Unmarshal(body, &tok)
	if st != 200 || tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Fatalf("token = %d %s", st, body)
	}
	s.Close()

	s, err = openTest(t, path, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	srv = oauth.NewServer(s, app, cfg, clock)
	g, err := srv.Introspect(ctx, tok.AccessToken)
	if err != nil || g.ConsentID != c.ID || len(g.Accounts) != 1 || g.CertThumbprint != "thumb-a" {
		t.Fatalf("Introspect after reopen = %+v, %v", g, err)
	}
	if st, body := srv.Token(ctx, "app-a", "thumb-a", form); st != 400 || !bytes.Contains(body, []byte("invalid_grant")) {
		t.Errorf("code reuse = %d %s", st, body)
	}
	if _, err := srv.Introspect(ctx, tok.AccessToken); !errors.Is(err, oauth.ErrTokenRevoked) {
		t.Errorf("Introspect after code reuse = %v, want ErrTokenRevoked", err)
	}
	if evs, err := srv.Events(ctx, "cust-0001", 0); err != nil || len(evs) < 4 {
		t.Errorf("events = %+v, %v", evs, err)
	}

	for _, f := range []string{path, path + "-wal"} {
		b, _ := os.ReadFile(f)
		for name, secret := range map[string]string{"code": code, "access token": tok.AccessToken,
			"refresh token": tok.RefreshToken, "verifier": verifier} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("the %s is in %s in clear", name, filepath.Base(f))
			}
		}
	}
}

package main

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bankguard/bankguard/oauth"
)

func TestUserRequest(t *testing.T) {
	req, err := userRequest("accounts, transfers,", "until", "2026-06-30")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(req.Scopes, []string{"accounts", "transfers"}) || req.Validity != oauth.ValidityUntil ||
		!req.Until.Equal(time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)) || !req.AcknowledgeRisk || len(req.Accounts) != 0 {
		t.Fatalf("request = %+v", req)
	}
	if req, err := userRequest("accounts,holdings,transfers", "agreement", ""); err != nil || req.Validity != oauth.ValidityAgreement || len(req.Scopes) != 3 {
		t.Fatalf("defaults: %+v %v", req, err)
	}
}

// Flags --user cannot work with are refused before anything is sent.
func TestCallUserFlagsRefused(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown validity", []string{"--validity", "forever"}, "--validity must be once, until or agreement"},
		{"until without a date", []string{"--validity", "until"}, "--until YYYY-MM-DD"},
		{"until with a bad date", []string{"--validity", "until", "--until", "30/06/2026"}, "--until YYYY-MM-DD"},
		{"a date without until", []string{"--validity", "once", "--until", "2026-06-30"}, "--until goes with --validity until"},
		{"no scope", []string{"--scope", " , "}, "--scope names no scope"},
		{"an Authorization header too", []string{"-H", "authorization: Bearer x"}, "do not pass one with -H"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"call", "--profile", filepath.Join(t.TempDir(), "none.json"), "--user", "cust-0001"}, tt.args...)
			code, _, stderr := runCmd(append(args, "GET", "/v1/accounts")...)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Fatalf("%d %q, want %q", code, stderr, tt.want)
			}
		})
	}
}

// writeCallProfile writes a valid profile with one app and one user whose
// files do not matter: the user lookup fails or succeeds before any is read.
func writeCallProfile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "profile.json")
	doc := `{"schema": "bankguard-profile/v1",
  "target": {"base_url": "https://127.0.0.1:1"},
  "bank_keys": {},
  "apps": [{"app_id": "demo-a2-sm2", "level": "A2",
    "credentials": [{"keyid": "k1", "alg": "hmac-sha256", "secret_file": "app.key"}]}],
  "users": [{"username": "cust-0001", "password_file": "users/cust-0001/password"},
    {"username": "cust-0002"}],
  "endpoints": {}}`
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCallUserNotInProfile(t *testing.T) {
	path := writeCallProfile(t)
	code, stdout, stderr := runCmd("call", "--profile", path, "--user", "mallory", "GET", "/v1/accounts")
	if code != 2 || !strings.Contains(stderr, `authorization as mallory: authflow: the profile has no user "mallory"`) || stdout != "" {
		t.Fatalf("%d %q %q", code, stdout, stderr)
	}
	code, _, stderr = runCmd("call", "--profile", path, "--user", "cust-0002", "GET", "/v1/accounts")
	if code != 2 || !strings.Contains(stderr, "no password_file") {
		t.Fatalf("user without a password: %d %q", code, stderr)
	}
	code, _, stderr = runCmd("call", "--profile", path, "--user", "cust-0001", "GET", "/v1/accounts")
	if code != 2 || !strings.Contains(stderr, "password file") || strings.Contains(stderr, "authorized as") {
		t.Fatalf("missing password file: %d %q", code, stderr)
	}
}

func TestPrintHeadersRedactsAuthorization(t *testing.T) {
	var out bytes.Buffer
	printHeaders(&out, ">", http.Header{"Authorization": {"Bearer s3cr3t-token"}, "Signature": {"sig=:abc:"}})
	if strings.Contains(out.String(), "s3cr3t") || !strings.Contains(out.String(), "Authorization: Bearer [redacted]") ||
		!strings.Contains(out.String(), "Signature: sig=:abc:") {
		t.Fatalf("%q", out.String())
	}
}

package config

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bankguard/bankguard/gateway/signature"
)

func readValid(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("testdata/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseValid(t *testing.T) {
	f, err := Parse([]byte(readValid(t)), "valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if f.Signature.MaxFuture != 30*time.Second || f.Signature.A2ClientCert != signature.CertRequired {
		t.Fatalf("signature = %+v", f.Signature)
	}
	if f.Limits.MaxBodyBytes != 1<<20 || f.Limits.ReadHeaderTimeout != 5*time.Second {
		t.Fatalf("defaults not applied: %+v", f.Limits)
	}
	if f.InterfaceVersion != "1.0.0" {
		t.Fatalf("interface version %q", f.InterfaceVersion)
	}
}

func TestRefusesSecrets(t *testing.T) {
	valid := readValid(t)
	const hmacValue = "c2VjcmV0LXZhbHVlLXRoYXQtbXVzdC1uZXZlci1iZS1lY2hvZWQ="
	tests := []struct {
		name, edit, wantField string
	}{
		{name: "hmac secret", edit: "app_secret: " + hmacValue + "\n", wantField: "app_secret"},
		{name: "nested password", edit: "upstreams:\n  core:\n    url: http://10.0.0.5:8080\n    password: " + hmacValue + "\n", wantField: "upstreams.core.password"},
		{name: "master key inline", edit: "master_key: " + hmacValue + "\n", wantField: "master_key"},
		{name: "PEM private key anywhere", edit: "notes: \"-----BEGIN PRIVATE KEY-----\\n" + hmacValue + "\\n-----END PRIVATE KEY-----\"\n", wantField: "notes"},
		{name: "token", edit: "api_token: " + hmacValue + "\n", wantField: "api_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := valid
			if strings.HasPrefix(tt.edit, "upstreams:") {
				doc = strings.Replace(valid, "upstreams:\n  core:\n    url: http://10.0.0.5:8080\n", tt.edit, 1)
			} else {
				doc = tt.edit + valid
			}
			_, err := Parse([]byte(doc), "bankguard.yaml")
			if err == nil {
				t.Fatal("configuration with a secret accepted")
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.wantField) || !strings.Contains(msg, "bankguard.yaml:") {
				t.Fatalf("error does not name the field and line: %s", msg)
			}
			if strings.Contains(msg, hmacValue) {
				t.Fatalf("error echoes the secret: %s", msg)
			}
		})
	}
}

func TestSecretNames(t *testing.T) {
	for name, want := range map[string]bool{
		"app_secret": true, "client_secret_value": true, "password": true, "db_passwd": true,
		"private_key": true, "signing_key": true, "api_token": true, "credentials": true,
		"private_key_file": false, "master_key_file": false, "key_file": false, "secret_env": false,
		"access_token_ttl": false, "key_id": false, "token_lifetime": false,
	} {
		got := secretName.MatchString(name) && !fileSuffix.MatchString(name)
		if got != want {
			t.Errorf("%s: treated as secret = %v, want %v", name, got, want)
		}
	}
}

func TestRefusesInvalid(t *testing.T) {
	valid := readValid(t)
	tests := []struct {
		name, from, to, want string
	}{
		{name: "unknown field", from: "bank_code: C99999", to: "bank_code: C99999\nbank_kode: x", want: "bank_kode"},
		{name: "bad bank code", from: "bank_code: C99999", to: "bank_code: c9", want: "bank_code"},
		{name: "no TLS", from: "    cert_file: /etc/bankguard/tls/server.pem\n    key_file: /etc/bankguard/tls/server-key.pem\nadmin:", to: "admin:", want: "gateway.tls"},
		{name: "symmetric response signing", from: "alg: sm2-sm3", to: "alg: hmac-sm3", want: "response_signing[0]"},
		{name: "upstream not http", from: "url: http://10.0.0.5:8080", to: "url: ftp://10.0.0.5", want: "upstreams.core.url"},
		{name: "api upstream undefined", from: "upstream: core", to: "upstream: mainframe", want: "apis[0].upstream"},
		{name: "admin without client CA", from: "    client_ca_file: /etc/bankguard/tls/operators-ca.pem\n", to: "", want: "admin"},
		{name: "signature window too long", from: "max_age: 5m", to: "max_age: 5h", want: "max_age"},
		{name: "not YAML", from: "data_dir:", to: "data_dir: [", want: "valid.yaml"},
		{name: "audit key shared with response signing", from: "/etc/bankguard/keys/audit-sm2-2026.pem", to: "/etc/bankguard/keys/bank-sm2-2026.pem", want: "key of its own"},
		{name: "audit retention too short", from: "  witness_dir:", to: "  transaction_days: 90\n  witness_dir:", want: "transaction_days"},
		{name: "access token lifetime of an unknown level", from: "bank_code: C99999", to: "bank_code: C99999\nauthorization:\n  access_ttl: {A3: 5m}", want: "authorization.access_ttl"},
		{name: "access token lifetime too long", from: "bank_code: C99999", to: "bank_code: C99999\nauthorization:\n  access_ttl: {A2: 48h}", want: "authorization.access_ttl.A2"},
		{name: "negative idle timeout", from: "bank_code: C99999", to: "bank_code: C99999\nauthorization:\n  idle_timeout: -1m", want: "authorization.idle_timeout"},
		{name: "audit key not SM2", from: "    key_id: audit-sm2-2026\n    alg: sm2-sm3", to: "    key_id: audit-sm2-2026\n    alg: ed25519", want: "audit.signing_key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := strings.Replace(valid, tt.from, tt.to, 1)
			if doc == valid {
				t.Fatalf("test edit %q matched nothing", tt.from)
			}
			_, err := Parse([]byte(doc), "valid.yaml")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want mention of %q", err, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(readValid(f)))
	f.Add([]byte("secret: x\n"))
	f.Add([]byte("a: !!binary AAAA\n"))
	f.Add([]byte("apis: [{openapi: x, upstream: y}]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = Parse(b, "fuzz.yaml") // must not panic
	})
}

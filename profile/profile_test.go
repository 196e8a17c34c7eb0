package profile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readProfile(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("testdata/profile.json")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLoadValid(t *testing.T) {
	p, err := Load("testdata/profile.json")
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("testdata")
	if got := p.Path("ca.pem"); got != filepath.Join(abs, "ca.pem") {
		t.Fatalf("Path = %s", got)
	}
	if p.URL("/v1/ping") != "https://api.bank.example:8443/v1/ping" {
		t.Fatalf("URL = %s", p.URL("/v1/ping"))
	}
	if a, ok := p.App("assessor-a2"); !ok || a.ClientCert == "" {
		t.Fatal("app lookup")
	}
}

func TestRefusesInvalid(t *testing.T) {
	valid := readProfile(t)
	tests := []struct {
		name, from, to, want string
	}{
		{name: "wrong schema", from: `"bankguard-profile/v1"`, to: `"bankguard-profile/v9"`, want: "schema"},
		{name: "plain http target", from: `"https://api.bank.example:8443"`, to: `"http://api.bank.example"`, want: "target.base_url"},
		{name: "unknown field", from: `"ca_cert": "ca.pem"`, to: `"ca_cert": "ca.pem", "cacert": "x"`, want: "cacert"},
		{name: "bad level", from: `"level": "A2"`, to: `"level": "A3"`, want: "apps[1].level"},
		{name: "unknown alg", from: `"alg": "sm2-sm3"`, to: `"alg": "rsa-v1_5-sha1"`, want: "apps[1].credentials[0].alg"},
		{name: "hmac without secret file", from: `"secret_file": "apps/a1/secret"`, to: `"private_key_file": "x.pem"`, want: "apps[0].credentials[0]"},
		{name: "inline secret", from: `"secret_file": "apps/a1/secret"`, to: `"secret": "abc"`, want: "secret"},
		{name: "cert without key", from: `,
      "client_key": "apps/a2/client-key.pem"`, to: ``, want: "apps[1].client_cert"},
		{name: "duplicate app", from: `"app_id": "assessor-a2"`, to: `"app_id": "assessor-a1"`, want: "apps[1].app_id"},
		{name: "endpoint names unknown app", from: `"app": "assessor-a1"}`, to: `"app": "ghost"}`, want: "endpoints.a1_read.app"},
		{name: "relative path without slash", from: `"path": "/v1/transfers"`, to: `"path": "v1/transfers"`, want: "endpoints.a2_transfer.path"},
		{name: "rate limit without limit", from: `"limit": 10`, to: `"limit": 0`, want: "endpoints.rate_limited"},
		{name: "trailing data", from: "}\n}\n", to: "}\n}\n{}", want: "after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := strings.Replace(valid, tt.from, tt.to, 1)
			if doc == valid {
				t.Fatalf("edit %q matched nothing", tt.from)
			}
			_, err := Parse([]byte(doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want mention of %q", err, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(readProfile(f)))
	f.Add([]byte(`{"schema":"bankguard-profile/v1"}`))
	f.Add([]byte(`{"endpoints":{"rate_limited":{"limit":-1}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err == nil && p.Validate() != nil {
			t.Fatal("Parse accepted a profile Validate refuses")
		}
	})
}

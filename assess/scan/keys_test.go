package scan

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bankguard/bankguard/assess"
)

// testKey generates a P-256 key for the test: its PKCS#8 PEM, its private
// scalar and a piece of the PEM body that must never show in a finding.
type testKey struct {
	pem, body, d []byte
}

func newTestKey(t *testing.T) testKey {
	t.Helper()
	for {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		d, err := k.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		jwk := base64.RawURLEncoding.EncodeToString(d)
		if !mixed(jwk) { // a JWK "d" without digits or without one case: draw again
			continue
		}
		p := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
		body := strings.Split(string(p), "\n")[1]
		return testKey{pem: p, body: []byte(body[10:50]), d: d}
	}
}

func pemOf(t *testing.T, b *pem.Block) string {
	t.Helper()
	return string(pem.EncodeToMemory(b))
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPrivateKeysFound plants private keys in each form files.private-keys
// knows and expects a failure at the right file and line, without the key.
func TestPrivateKeysFound(t *testing.T) {
	k := newTestKey(t)
	pemText := string(k.pem)
	indented := "  " + strings.ReplaceAll(strings.TrimSpace(pemText), "\n", "\n  ")
	escaped := strings.ReplaceAll(pemText, "\n", `\n`)
	encrypted := pemOf(t, &pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: randomBytes(t, 180)})
	legacy := pemOf(t, &pem.Block{Type: "RSA PRIVATE KEY", Bytes: randomBytes(t, 600),
		Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC," + randomHex(t, 16)}})
	pfx := append([]byte{0x30, 0x82, 0x01, 0x00, 0x02, 0x01, 0x03, 0x30, 0x82, 0x00, 0xf0}, pkcs12OID...)
	pfx = append(append(pfx, 0x01, 0xa0, 0x00), randomBytes(t, 200)...)

	tests := []struct {
		name, file, content string
		rule                string
		line                int
		encrypted           bool
	}{
		{"go raw string", "src/keys.go", "package keys\n\nconst signingKey = `" + pemText + "`\n", rulePEM, 3, false},
		{"pem file", "config/app-key.pem", pemText, rulePEM, 1, false},
		{"yaml block", "config/app.yaml", "app_id: a2\nsigning_key: |\n" + indented + "\n", rulePEM, 3, false},
		{"json escaped", "config/app.json", "{\n\"private_key\": \"" + escaped + "\"\n}\n", rulePEM, 2, false},
		{"encrypted pkcs8", "config/enc.pem", "# kept encrypted\n" + encrypted, rulePEM, 2, true},
		{"encrypted legacy", "src/legacy.pem", legacy, rulePEM, 1, true},
		{"sm2 hex", "config/sm2.properties", "sm2.private-key=" + randomHex(t, 32) + "\n", ruleKeyValue, 1, false},
		{"go hex", "src/sm2.go", "package sm2\n\nvar priKeyHex = \"" + randomHex(t, 32) + "\"\n", ruleKeyValue, 3, false},
		{"jwk d", "config/jwk.json", "{\"kty\":\"EC\",\"crv\":\"P-256\",\n \"d\": \"" + base64.RawURLEncoding.EncodeToString(k.d) + "\"}\n", ruleKeyValue, 2, false},
		{"pkcs12 by name", "config/client.p12", string(randomBytes(t, 64)), rulePKCS12, 0, false},
		{"pkcs12 by shape", "config/store.bin", string(pfx), rulePKCS12, 0, false},
	}
	for _, tc := range tests {
		for _, side := range []string{SideBank, SideApp} {
			t.Run(tc.name+"/"+side, func(t *testing.T) {
				dir := t.TempDir()
				plant(t, dir, map[string]string{tc.file: tc.content})
				o := Options{Config: filepath.Join(dir, "config"), Src: filepath.Join(dir, "src"), Side: side}
				mkdirs(t, o.Config, o.Src)
				r := run(t, o, "files.private-keys")
				if r.Verdict != assess.Fail {
					t.Fatalf("verdict %s (%s), want fail", r.Verdict, r.Reason)
				}
				wantFinding(t, r, tc.rule, tc.file, tc.line)
				noLeak(t, r, string(k.body))
				noLeak(t, r, base64.RawURLEncoding.EncodeToString(k.d))
				want := []string{"3.3.4-2"}
				if side == SideApp {
					want = []string{"9.2.2-1", "11.3.5-2"}
					if tc.encrypted {
						want = []string{"9.2.2-1"} // encrypted storage is what 11.3.5-2 asks
					}
				}
				if got := r.Findings[0].Items; !slices.Equal(got, want) {
					t.Errorf("items %v, want %v", got, want)
				}
				if tc.encrypted != strings.Contains(r.Findings[0].Message, "encrypted") {
					t.Errorf("message %q: encrypted should be %v", r.Findings[0].Message, tc.encrypted)
				}
			})
		}
	}
}

// TestPrivateKeysClean checks that public keys, certificates, key file names
// and documentation examples are not taken for private keys.
func TestPrivateKeysClean(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	plant(t, dir, map[string]string{
		"config/bank-pub.pem":  pemOf(t, &pem.Block{Type: "PUBLIC KEY", Bytes: pub}),
		"config/ca.pem":        pemOf(t, &pem.Block{Type: "CERTIFICATE", Bytes: randomBytes(t, 300)}),
		"config/profile.json":  `{"private_key_file": "apps/a2/signing-key.pem", "client_key": "apps/a2/client-key.pem"}`,
		"config/doc.md":        "```\n-----BEGIN EC PRIVATE KEY-----\n(your key here)\n-----END EC PRIVATE KEY-----\n```\n",
		"src/parse.go":         "package x\n\nconst header = \"-----BEGIN PRIVATE KEY-----\"\n",
		"src/digest.go":        "package x\n\nvar sha = \"" + randomHex(t, 32) + "\"\n",
		"config/public.yaml":   "public_key: " + base64.StdEncoding.EncodeToString(randomBytes(t, 65)) + "\n",
		"config/truststore.js": "var privateKeyPath = \"/etc/keys/" + randomHex(t, 30) + "\";\n",
	})
	o := Options{Config: filepath.Join(dir, "config"), Src: filepath.Join(dir, "src")}
	r := run(t, o, "files.private-keys")
	if r.Verdict != assess.Pass {
		for _, f := range r.Findings {
			t.Logf("%s line %d: %s", f.Path, f.Line, f.Message)
		}
		t.Errorf("verdict %s (%s), want pass", r.Verdict, r.Reason)
	}
}

func TestIsPKCS12(t *testing.T) {
	good := append([]byte{0x30, 0x80, 0x02, 0x01, 0x03, 0x30, 0x81, 0x90}, pkcs12OID...)
	good = append(good, 0x02)
	tests := []struct {
		name string
		data []byte
		want bool
	}{
		{"pfx, indefinite length, signedData", good, true},
		{"empty", nil, false},
		{"version 2", append([]byte{0x30, 0x10, 0x02, 0x01, 0x02, 0x30, 0x10}, pkcs12OID...), false},
		{"truncated", good[:10], false},
		{"other content type", append(append([]byte{0x30, 0x10, 0x02, 0x01, 0x03, 0x30, 0x10}, pkcs12OID...), 0x06), false},
		{"text", []byte("-----BEGIN CERTIFICATE-----"), false},
	}
	for _, tc := range tests {
		if got := isPKCS12(tc.data); got != tc.want {
			t.Errorf("%s: isPKCS12 = %v, want %v", tc.name, got, tc.want)
		}
	}
}

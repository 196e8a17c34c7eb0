package secret

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testKey(t *testing.T, b byte) *MasterKey {
	t.Helper()
	raw := make([]byte, MasterKeySize)
	for i := range raw {
		raw[i] = b
	}
	k, err := NewMasterKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpen(t *testing.T) {
	k := testKey(t, 1)
	sealed := k.Seal([]byte("hmac key material"), "credential:a")
	if strings.Contains(sealed, "hmac key material") {
		t.Fatal("sealed value holds the plaintext")
	}
	got, err := k.Open(sealed, "credential:a")
	if err != nil || string(got) != "hmac key material" {
		t.Fatalf("Open = %q, %v", got, err)
	}
}

func TestOpenRefuses(t *testing.T) {
	k := testKey(t, 1)
	sealed := k.Seal([]byte("s3cret-material"), "credential:a")
	flipped := []byte(sealed)
	flipped[len(flipped)-3] ^= 'A' ^ 'B'
	tests := []struct {
		name   string
		key    *MasterKey
		sealed string
		aad    string
	}{
		{name: "moved to another record", key: k, sealed: sealed, aad: "credential:b"},
		{name: "other master key", key: testKey(t, 2), sealed: sealed, aad: "credential:a"},
		{name: "altered ciphertext", key: k, sealed: string(flipped), aad: "credential:a"},
		{name: "not sealed", key: k, sealed: "plain", aad: "credential:a"},
		{name: "truncated", key: k, sealed: sealed[:len(sealPrefix)+len(k.ID())+3], aad: "credential:a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if pt, err := tt.key.Open(tt.sealed, tt.aad); err == nil {
				t.Fatalf("Open accepted, gave %q", pt)
			}
		})
	}
}

func TestLoadFileRefusesOpenPermissions(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "master.key")
	if _, err := Generate(path); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(path); err != nil {
		t.Fatalf("0600 file refused: %v", err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("0644 file: err = %v, want a refusal naming chmod 600", err)
	}
}

func TestGenerateNeverOverwrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	k1, err := Generate(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(path); err == nil {
		t.Fatal("second Generate overwrote the key")
	}
	k2, err := LoadFile(path)
	if err != nil || k2.ID() != k1.ID() {
		t.Fatalf("reloaded key differs: %v", err)
	}
}

func TestLoadPrefersEnvironment(t *testing.T) {
	t.Setenv(EnvVar, strings.Repeat("ab", MasterKeySize))
	k, err := Load(filepath.Join(t.TempDir(), "absent"))
	if err != nil {
		t.Fatal(err)
	}
	if k.ID() == "" {
		t.Fatal("no key id")
	}
	t.Setenv(EnvVar, "too-short")
	if _, err := Load(""); err == nil || strings.Contains(err.Error(), "too-short") {
		t.Fatalf("bad env key: err = %v (must refuse without echoing the value)", err)
	}
}

func TestLoadWithoutKey(t *testing.T) {
	t.Setenv(EnvVar, "") // restored after the test
	os.Unsetenv(EnvVar)
	if _, err := Load(""); err == nil {
		t.Fatal("Load without env or file succeeded")
	}
}

package fieldcrypt_test

import (
	"crypto/rand"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"

	"github.com/bankguard/bankguard/fieldcrypt"
	"github.com/bankguard/bankguard/httpsig"
)

var update = flag.Bool("update", false, "regenerate the test vectors in testdata/vector")

// The interoperability vectors of docs/envelope.md: an SM2 key pair, a
// reconciliation document, the patterns, its encrypted form and a sealed
// payment password. Implementations in other languages should decrypt them.
const (
	vectorDir      = "testdata/vector"
	vectorKID      = "app-0001-enc-1"
	vectorBankKID  = "bank-enc-2026"
	vectorPassword = "123456"
)

var vectorPatterns = []string{"/entries/*/account_number", "/entries/*/amount", "/summary"}

// vectorKey loads the vector's private key with httpsig's PEM parser.
func vectorKey(t testing.TB) *sm2.PrivateKey {
	t.Helper()
	pemBytes, err := os.ReadFile(filepath.Join(vectorDir, "private.pem"))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := httpsig.ParsePrivateKeyPEM(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	k, ok := signer.(*sm2.PrivateKey)
	if !ok {
		t.Fatalf("vector key is %T, want *sm2.PrivateKey", signer)
	}
	return k
}

func readVector(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectorDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeVector(t testing.TB, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(vectorDir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestVector(t *testing.T) {
	if *update {
		regenerateVector(t)
	}
	key := vectorKey(t)
	pub, err := httpsig.ParsePublicKeyPEM(readVector(t, "public.pem"))
	if err != nil || !key.PublicKey.Equal(pub) {
		t.Fatalf("public.pem does not match private.pem: %v", err)
	}
	plain := readVector(t, "plain.json")
	enc := readVector(t, "encrypted.json")
	if id, err := fieldcrypt.EnvelopeKeyID(enc); err != nil || id != vectorKID {
		t.Fatalf("EnvelopeKeyID = %q, %v", id, err)
	}
	dec, err := fieldcrypt.DecryptFields(enc, key)
	if err != nil {
		t.Fatal(err)
	}
	if want := compact(t, string(plain)); string(dec) != want {
		t.Fatalf("vector decrypts to\n%s\nwant\n%s", dec, want)
	}
	steps, err := fieldcrypt.VectorSteps(enc, key)
	if err != nil {
		t.Fatal(err)
	}
	if want := string(readVector(t, "steps.txt")); steps != want {
		t.Fatalf("intermediate values differ from steps.txt:\n%s", steps)
	}
	sealed := strings.TrimSpace(string(readVector(t, "sealed.txt")))
	if id, err := fieldcrypt.ParseSealed(sealed); err != nil || id != vectorBankKID {
		t.Fatalf("ParseSealed = %q, %v", id, err)
	}
	pt, err := fieldcrypt.OpenValue(sealed, key, vectorBankKID)
	if err != nil || string(pt) != vectorPassword {
		t.Fatalf("OpenValue = %q, %v", pt, err)
	}
	// A fresh encryption of the same document decrypts the same way.
	again, err := fieldcrypt.EncryptFields(plain, vectorPatterns, &key.PublicKey, vectorKID)
	if err != nil {
		t.Fatal(err)
	}
	if dec2, err := fieldcrypt.DecryptFields(again, key); err != nil || string(dec2) != string(dec) {
		t.Fatalf("re-encryption round trip: %v", err)
	}
}

// regenerateVector writes new vectors; the key is kept if it exists. The
// same key serves as the application's and, for the sealed value, the
// bank's encryption key, to keep the vector small.
func regenerateVector(t *testing.T) {
	if _, err := os.Stat(filepath.Join(vectorDir, "private.pem")); err != nil {
		k, err := sm2.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		pemBytes, err := httpsig.MarshalPrivateKeyPEM(k)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(vectorDir, 0o755); err != nil {
			t.Fatal(err)
		}
		writeVector(t, "private.pem", pemBytes)
	}
	key := vectorKey(t)
	pubPEM, err := httpsig.MarshalPublicKeyPEM(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	writeVector(t, "public.pem", pubPEM)
	enc, err := fieldcrypt.EncryptFields(readVector(t, "plain.json"), vectorPatterns, &key.PublicKey, vectorKID)
	if err != nil {
		t.Fatal(err)
	}
	writeVector(t, "encrypted.json", append(enc, '\n'))
	steps, err := fieldcrypt.VectorSteps(enc, key)
	if err != nil {
		t.Fatal(err)
	}
	writeVector(t, "steps.txt", []byte(steps))
	sealed, err := fieldcrypt.SealValue([]byte(vectorPassword), &key.PublicKey, vectorBankKID)
	if err != nil {
		t.Fatal(err)
	}
	writeVector(t, "sealed.txt", []byte(sealed+"\n"))
}

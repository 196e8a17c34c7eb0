package fieldcrypt_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"

	"github.com/bankguard/bankguard/fieldcrypt"
)

const bankKID = "bank-enc-2026"

func TestSealRoundTrip(t *testing.T) {
	key := newKey(t)
	for _, pt := range []string{"1", "123456", "P@ssw0rd! 中文", strings.Repeat("x", fieldcrypt.MaxSealedPlaintext)} {
		s, err := fieldcrypt.SealValue([]byte(pt), &key.PublicKey, bankKID)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(s, "sm2:v1:"+bankKID+":") || (len(pt) >= 6 && strings.Contains(s, pt)) {
			t.Fatalf("sealed value has the wrong shape: %.40s", s)
		}
		id, err := fieldcrypt.ParseSealed(s)
		if err != nil || id != bankKID {
			t.Fatalf("ParseSealed = %q, %v", id, err)
		}
		got, err := fieldcrypt.OpenValue(s, key, bankKID)
		if err != nil || string(got) != pt {
			t.Fatalf("OpenValue = %q, %v", got, err)
		}
		// The ciphertext is plain C1 ‖ C3 ‖ C2, so a GB/T 32918.4 decrypter opens it.
		raw, _ := base64.StdEncoding.DecodeString(s[len("sm2:v1:"+bankKID+":"):])
		if got, err := sm2.Decrypt(key, raw); err != nil || string(got) != pt {
			t.Fatalf("sm2.Decrypt of the raw ciphertext = %q, %v", got, err)
		}
	}
	a, _ := fieldcrypt.SealValue([]byte("123456"), &key.PublicKey, bankKID)
	b, _ := fieldcrypt.SealValue([]byte("123456"), &key.PublicKey, bankKID)
	if a == b {
		t.Fatal("sealing twice gave the same value")
	}
}

// sealedWith builds "sm2:v1:<kid>:" + base64(ct).
func sealedWith(kid string, ct []byte) string {
	return "sm2:v1:" + kid + ":" + base64.StdEncoding.EncodeToString(ct)
}

func TestParseSealedRefuses(t *testing.T) {
	key := newKey(t)
	var good, b64 string
	// A ciphertext whose base64 has '+' or '/', so the url-safe form differs.
	for !strings.ContainsAny(b64, "+/") {
		var err error
		if good, err = fieldcrypt.SealValue([]byte("123456"), &key.PublicKey, bankKID); err != nil {
			t.Fatal(err)
		}
		b64 = good[len("sm2:v1:"+bankKID+":"):]
	}
	ct, _ := base64.StdEncoding.DecodeString(b64)
	mod := func(f func(c []byte) []byte) string {
		return sealedWith(bankKID, f(append([]byte(nil), ct...)))
	}
	asn1ct, err := sm2.EncryptASN1(rand.Reader, &key.PublicKey, []byte("123456"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, s string }{
		{"empty", ""},
		{"six digits", "123456"},
		{"password", "P@ssw0rd!"},
		{"chinese password", "我的密码123"},
		{"long passphrase", strings.Repeat("correct horse battery staple ", 10)},
		{"base64 of a password", "MTIzNDU2"},
		{"hex ciphertext", hex.EncodeToString(ct)},
		{"bare base64 ciphertext", b64},
		{"prefix and short text", "sm2:v1:k:short"},
		{"prefix and base64 password", "sm2:v1:" + bankKID + ":MTIzNDU2"},
		{"prefix only", "sm2:v1:"},
		{"no key id", "sm2:v1::" + b64},
		{"no key id separator", "sm2:v1:" + b64},
		{"invalid key id", sealedWith("bank key", ct)},
		{"key id too long", sealedWith(strings.Repeat("k", 129), ct)},
		{"wrong prefix case", "SM2:v1:" + bankKID + ":" + b64},
		{"unknown version", "sm2:v2:" + bankKID + ":" + b64},
		{"sm4 prefix", "sm4gcm:v1:" + bankKID + ":" + b64},
		{"leading space", " " + good},
		{"trailing newline", good + "\n"},
		{"line break in base64", good[:60] + "\n" + good[60:]},
		{"unpadded base64", strings.TrimRight(good, "=")},
		{"url-safe base64", "sm2:v1:" + bankKID + ":" + base64.URLEncoding.EncodeToString(ct)},
		{"96 bytes", mod(func(c []byte) []byte { return c[:96] })},
		{"c1 and c3 without c2", mod(func(c []byte) []byte { return c[:97] })},
		{"compressed c1", mod(func(c []byte) []byte { c[0] = 0x02; return c })},
		{"asn.1 ciphertext", sealedWith(bankKID, asn1ct)},
		{"c1 not on the curve", mod(func(c []byte) []byte { c[64] ^= 1; return c })},
		{"c1 all zero", mod(func(c []byte) []byte { clear(c[1:65]); return c })},
		{"too long", sealedWith(bankKID, append(ct, make([]byte, fieldcrypt.MaxSealedPlaintext)...))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := fieldcrypt.ParseSealed(tt.s)
			if !errors.Is(err, fieldcrypt.ErrNotSealed) || id != "" {
				t.Fatalf("got %q, %v; want ErrNotSealed", id, err)
			}
			if tt.s != "" && len(tt.s) > 3 && strings.Contains(err.Error(), tt.s) {
				t.Fatalf("error %q repeats the input", err)
			}
			if _, err := fieldcrypt.OpenValue(tt.s, key, bankKID); !errors.Is(err, fieldcrypt.ErrNotSealed) {
				t.Fatalf("OpenValue: got %v, want ErrNotSealed", err)
			}
		})
	}
}

func TestOpenValueRefuses(t *testing.T) {
	key, other := newKey(t), newKey(t)
	good, err := fieldcrypt.SealValue([]byte("123456"), &key.PublicKey, bankKID)
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := base64.StdEncoding.DecodeString(good[len("sm2:v1:"+bankKID+":"):])
	mod := func(f func(c []byte) []byte) string {
		return sealedWith(bankKID, f(append([]byte(nil), ct...)))
	}
	tests := []struct {
		name string
		s    string
		priv *sm2.PrivateKey
		kid  string
		want error
	}{
		{"wrong key", good, other, bankKID, fieldcrypt.ErrDecrypt},
		{"other key id", good, key, "bank-enc-2025", fieldcrypt.ErrUnknownKey},
		{"key id relabelled", sealedWith("bank-enc-2025", ct), key, "bank-enc-2025", nil},
		{"altered c2", mod(func(c []byte) []byte { c[len(c)-1] ^= 1; return c }), key, bankKID, fieldcrypt.ErrDecrypt},
		{"altered c3", mod(func(c []byte) []byte { c[70] ^= 1; return c }), key, bankKID, fieldcrypt.ErrDecrypt},
		{"truncated c2", mod(func(c []byte) []byte { return c[:len(c)-1] }), key, bankKID, fieldcrypt.ErrDecrypt},
		{"truncated to c1 and c3", mod(func(c []byte) []byte { return c[:97] }), key, bankKID, fieldcrypt.ErrNotSealed},
		{"nil key", good, nil, bankKID, fieldcrypt.ErrInvalidKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pt, err := fieldcrypt.OpenValue(tt.s, tt.priv, tt.kid)
			if tt.want == nil {
				// The key id is a label, not bound to the ciphertext: the
				// key decides. Documented in docs/envelope.md.
				if err != nil || string(pt) != "123456" {
					t.Fatalf("got %q, %v", pt, err)
				}
				return
			}
			if !errors.Is(err, tt.want) || pt != nil {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if strings.Contains(err.Error(), "123456") {
				t.Fatalf("error %q contains the plaintext", err)
			}
		})
	}
}

func TestSealValueRefuses(t *testing.T) {
	key := newKey(t)
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	offCurve := &ecdsa.PublicKey{Curve: sm2.P256(), X: key.X, Y: new(big.Int).Add(key.Y, big.NewInt(1))}
	tests := []struct {
		name string
		pt   []byte
		pub  *ecdsa.PublicKey
		kid  string
		want error
	}{
		{"empty", nil, &key.PublicKey, bankKID, fieldcrypt.ErrMalformed},
		{"over 1 KiB", bytes.Repeat([]byte("x"), fieldcrypt.MaxSealedPlaintext+1), &key.PublicKey, bankKID, fieldcrypt.ErrTooLarge},
		{"key id with colon", []byte("1"), &key.PublicKey, "bank:1", fieldcrypt.ErrMalformed},
		{"nil key", []byte("1"), nil, bankKID, fieldcrypt.ErrInvalidKey},
		{"p-256 key", []byte("1"), &p256.PublicKey, bankKID, fieldcrypt.ErrInvalidKey},
		{"point off the curve", []byte("1"), offCurve, bankKID, fieldcrypt.ErrInvalidKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if s, err := fieldcrypt.SealValue(tt.pt, tt.pub, tt.kid); !errors.Is(err, tt.want) || s != "" {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestCheckSensitive(t *testing.T) {
	key := newKey(t)
	sealed, err := fieldcrypt.SealValue([]byte("123456"), &key.PublicKey, bankKID)
	if err != nil {
		t.Fatal(err)
	}
	old, err := fieldcrypt.SealValue([]byte("123456"), &key.PublicKey, "bank-enc-2020")
	if err != nil {
		t.Fatal(err)
	}
	known := func(id string) bool { return id == bankKID }
	q := func(s string) string { return `"` + s + `"` }
	tests := []struct {
		name     string
		doc      string
		patterns []string
		bad      string
		want     error
	}{
		{"sealed", `{"amount":"10.00","payment_password":` + q(sealed) + `}`, []string{"/payment_password"}, "", nil},
		{"absent field", `{"amount":"10.00"}`, []string{"/payment_password"}, "", nil},
		{"sealed in every element", `{"auth":[{"pin":` + q(sealed) + `},{"pin":` + q(sealed) + `}]}`, []string{"/auth/*/pin"}, "", nil},
		{"plaintext password", `{"payment_password":"123456"}`, []string{"/payment_password"}, "/payment_password", fieldcrypt.ErrNotSealed},
		{"password as a number", `{"payment_password":123456}`, []string{"/payment_password"}, "/payment_password", fieldcrypt.ErrNotSealed},
		{"password null", `{"payment_password":null}`, []string{"/payment_password"}, "/payment_password", fieldcrypt.ErrNotSealed},
		{"password as an object", `{"payment_password":{"v":` + q(sealed) + `}}`, []string{"/payment_password"}, "/payment_password", fieldcrypt.ErrNotSealed},
		{"short fake sealed", `{"payment_password":"sm2:v1:k:short"}`, []string{"/payment_password"}, "/payment_password", fieldcrypt.ErrNotSealed},
		{"unknown key id", `{"payment_password":` + q(old) + `}`, []string{"/payment_password"}, "/payment_password", fieldcrypt.ErrUnknownKey},
		{"first offender in document order", `{"auth":[{"pin":` + q(sealed) + `},{"pin":"1111"},{"pin":"2222"}],"zz":"x"}`, []string{"/zz", "/auth/*/pin"}, "/auth/1/pin", fieldcrypt.ErrNotSealed},
		{"escaped pointer", `{"a/b":{"~":"123456"}}`, []string{"/a~1b/~0"}, "/a~1b/~0", fieldcrypt.ErrNotSealed},
		{"not json", `{"payment_password":`, []string{"/payment_password"}, "", fieldcrypt.ErrMalformed},
		{"bad pattern", `{}`, []string{"payment_password"}, "", fieldcrypt.ErrMalformed},
		{"duplicate member hides a plaintext", `{"payment_password":` + q(sealed) + `,"payment_password":"123456"}`, []string{"/payment_password"}, "", fieldcrypt.ErrMalformed},
		{"too deep", strings.Repeat("[", 65) + strings.Repeat("]", 65), []string{"/0"}, "", fieldcrypt.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad, err := fieldcrypt.CheckSensitive([]byte(tt.doc), tt.patterns, known)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) || bad != tt.bad {
				t.Fatalf("got %q, %v; want %q, %v", bad, err, tt.bad, tt.want)
			}
			if err != nil && (strings.Contains(err.Error(), "123456") || strings.Contains(err.Error(), "1111")) {
				t.Fatalf("error %q contains the plaintext", err)
			}
		})
	}
	if _, err := fieldcrypt.CheckSensitive([]byte(`{}`), nil, nil); !errors.Is(err, fieldcrypt.ErrMalformed) {
		t.Fatalf("nil knownKeyIDs: got %v", err)
	}
}

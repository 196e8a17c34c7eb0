package fieldcrypt_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"

	"github.com/bankguard/bankguard/fieldcrypt"
)

// newKey returns a fresh SM2 key pair.
func newKey(t testing.TB) *sm2.PrivateKey {
	t.Helper()
	k, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// compact is the form DecryptFields returns for documents written with
// only the escapes it uses itself.
func compact(t testing.TB, s string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

const reconciliation = `{
  "statement_id": "STL-20260301-0001",
  "currency": "CNY",
  "entries": [
    {"seq": 1, "account_number": "6222020200112233445", "amount": 1234567890123456789.0100, "memo": "工资 \"三月\"\n", "cleared": true},
    {"seq": 2, "account_number": "6222020200112233446", "amount": -0.5e-3, "memo": null, "cleared": false},
    {"seq": 3, "account_number": "6222020200112233447", "amount": 0, "memo": {"ref": ["a", 1, null]}, "cleared": true}
  ],
  "summary": {"count": 3, "total": 1234567890123456789.0095, "by_day": [{"d": "2026-03-01", "n": 3}]},
  "weird/name": {"til~de": "x"},
  "empty": {}
}`

func TestRoundTrip(t *testing.T) {
	key := newKey(t)
	tests := []struct {
		name     string
		doc      string
		patterns []string
		fields   []string // concrete pointers the envelope must list
		wrapped  bool
		hidden   []string // texts the encrypted document must not contain
	}{
		{
			name:     "array wildcard, strings numbers objects null",
			doc:      reconciliation,
			patterns: []string{"/entries/*/account_number", "/entries/*/amount", "/entries/*/memo"},
			fields: []string{
				"/entries/0/account_number", "/entries/0/amount", "/entries/0/memo",
				"/entries/1/account_number", "/entries/1/amount", "/entries/1/memo",
				"/entries/2/account_number", "/entries/2/amount", "/entries/2/memo",
			},
			hidden: []string{"6222020200112233445", "1234567890123456789.0100", "三月", `"ref"`},
		},
		{
			name:     "whole objects, arrays and booleans",
			doc:      reconciliation,
			patterns: []string{"/summary", "/entries/*/cleared", "/empty"},
			fields:   []string{"/entries/0/cleared", "/entries/1/cleared", "/entries/2/cleared", "/summary", "/empty"},
			hidden:   []string{`"cleared":true`, `"cleared":false`, "by_day", "{}"},
		},
		{
			name:     "nested wildcards and an index",
			doc:      reconciliation,
			patterns: []string{"/summary/by_day/*/*", "/entries/2/memo/ref/1"},
			fields:   []string{"/entries/2/memo/ref/1", "/summary/by_day/0/d", "/summary/by_day/0/n"},
		},
		{
			name:     "escaped member names",
			doc:      reconciliation,
			patterns: []string{"/weird~1name/til~0de"},
			fields:   []string{"/weird~1name/til~0de"},
		},
		{
			name:     "outer selection wins over inner",
			doc:      reconciliation,
			patterns: []string{"/summary/count", "/summary", "/summary/*"},
			fields:   []string{"/summary"},
		},
		{
			name:     "wildcard at the root of an object",
			doc:      `{"a":1,"b":[true],"c":"x"}`,
			patterns: []string{"/*"},
			fields:   []string{"/a", "/b", "/c"},
		},
		{
			name:     "nothing selected",
			doc:      reconciliation,
			patterns: []string{"/absent", "/entries/9/amount", "/currency/x"},
			fields:   []string{},
		},
		{
			name:     "array root is wrapped",
			doc:      `[{"card":"6222020200112233445","n":1},{"card":"6222020200112233446","n":2}]`,
			patterns: []string{"/*/card"},
			fields:   []string{"/0/card", "/1/card"},
			wrapped:  true,
			hidden:   []string{"62220202"},
		},
		{
			name:     "scalar root is wrapped",
			doc:      `12345678901234567890123`,
			patterns: []string{"/x"},
			fields:   []string{},
			wrapped:  true,
		},
		{
			name:     "member named like the wrapper",
			doc:      `{"data":{"secret":"s"}}`,
			patterns: []string{"/data/secret"},
			fields:   []string{"/data/secret"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := fieldcrypt.EncryptFields([]byte(tt.doc), tt.patterns, &key.PublicKey, "app-1.enc")
			if err != nil {
				t.Fatal(err)
			}
			env := envelopeOf(t, enc)
			if env.V != 1 || env.Alg != "SM2-SM4-GCM" || env.Kid != "app-1.enc" || env.Wrapped != tt.wrapped {
				t.Fatalf("envelope header %+v", env)
			}
			if strings.Join(env.Fields, " ") != strings.Join(tt.fields, " ") {
				t.Fatalf("fields %q, want %q", env.Fields, tt.fields)
			}
			if !strings.HasPrefix(string(enc), `{"bankguard_encryption":{"v":1,"alg":"SM2-SM4-GCM",`) {
				t.Fatalf("envelope is not the first member: %.80s", enc)
			}
			for _, h := range tt.hidden {
				if strings.Contains(string(enc), h) {
					t.Fatalf("encrypted document still contains %q", h)
				}
			}
			if id, err := fieldcrypt.EnvelopeKeyID(enc); err != nil || id != "app-1.enc" {
				t.Fatalf("EnvelopeKeyID = %q, %v", id, err)
			}
			dec, err := fieldcrypt.DecryptFields(enc, key)
			if err != nil {
				t.Fatal(err)
			}
			if want := compact(t, tt.doc); string(dec) != want {
				t.Fatalf("round trip\n got %s\nwant %s", dec, want)
			}
		})
	}
}

// TestEncryptedValuesDiffer checks that equal values get different
// ciphertexts (fresh nonces) and that each is a well-formed sm4gcm value.
func TestEncryptedValuesDiffer(t *testing.T) {
	key := newKey(t)
	enc, err := fieldcrypt.EncryptFields([]byte(`{"a":[7,7,7]}`), []string{"/a/*"}, &key.PublicKey, "k")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ A []string }
	if err := json.Unmarshal(enc, &doc); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, v := range doc.A {
		b64, ok := strings.CutPrefix(v, "sm4gcm:v1:")
		raw, err := base64.StdEncoding.DecodeString(b64)
		if !ok || err != nil || len(raw) != 12+len("7")+16 {
			t.Fatalf("value %q is not sm4gcm:v1:base64(nonce‖ct‖tag)", v)
		}
		if seen[v] {
			t.Fatal("two fields have the same ciphertext")
		}
		seen[v] = true
	}
}

func TestMaxDepth(t *testing.T) {
	key := newKey(t)
	deep := func(n int) string { return strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) }
	pat := "/" + strings.TrimSuffix(strings.Repeat("a/", 64), "/")
	enc, err := fieldcrypt.EncryptFields([]byte(deep(64)), []string{pat}, &key.PublicKey, "k")
	if err != nil {
		t.Fatalf("64 deep: %v", err)
	}
	if dec, err := fieldcrypt.DecryptFields(enc, key); err != nil || string(dec) != deep(64) {
		t.Fatalf("64 deep round trip: %v", err)
	}
	if _, err := fieldcrypt.EncryptFields([]byte(deep(65)), []string{"/a"}, &key.PublicKey, "k"); !errors.Is(err, fieldcrypt.ErrTooLarge) {
		t.Fatalf("65 deep: %v, want ErrTooLarge", err)
	}
	// An array root 64 deep still round-trips once wrapped.
	arr := strings.Repeat("[", 64) + "1" + strings.Repeat("]", 64)
	enc, err = fieldcrypt.EncryptFields([]byte(arr), []string{"/0/0"}, &key.PublicKey, "k")
	if err != nil {
		t.Fatal(err)
	}
	if dec, err := fieldcrypt.DecryptFields(enc, key); err != nil || string(dec) != arr {
		t.Fatalf("wrapped 64 deep round trip: %v", err)
	}
}

func TestEncryptFieldsRefuses(t *testing.T) {
	key := newKey(t)
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		doc      string
		patterns []string
		pub      *ecdsa.PublicKey
		kid      string
		want     error
	}{
		{"not json", `{"a":`, []string{"/a"}, &key.PublicKey, "k", fieldcrypt.ErrMalformed},
		{"trailing data", `{"a":1} {}`, []string{"/a"}, &key.PublicKey, "k", fieldcrypt.ErrMalformed},
		{"duplicate member", `{"a":1,"a":2}`, []string{"/a"}, &key.PublicKey, "k", fieldcrypt.ErrMalformed},
		{"envelope member present", `{"bankguard_encryption":1}`, []string{"/a"}, &key.PublicKey, "k", fieldcrypt.ErrMalformed},
		{"pattern without slash", `{"a":1}`, []string{"a"}, &key.PublicKey, "k", fieldcrypt.ErrMalformed},
		{"pattern naming the root", `{"a":1}`, []string{""}, &key.PublicKey, "k", fieldcrypt.ErrMalformed},
		{"pattern with bad escape", `{"a":1}`, []string{"/a~2"}, &key.PublicKey, "k", fieldcrypt.ErrMalformed},
		{"invalid key id", `{"a":1}`, []string{"/a"}, &key.PublicKey, "app:1", fieldcrypt.ErrMalformed},
		{"empty key id", `{"a":1}`, []string{"/a"}, &key.PublicKey, "", fieldcrypt.ErrMalformed},
		{"nil key", `{"a":1}`, []string{"/a"}, nil, "k", fieldcrypt.ErrInvalidKey},
		{"p-256 key", `{"a":1}`, []string{"/a"}, &p256.PublicKey, "k", fieldcrypt.ErrInvalidKey},
		{"document too large", `"` + strings.Repeat("x", fieldcrypt.MaxDocumentSize) + `"`, nil, &key.PublicKey, "k", fieldcrypt.ErrTooLarge},
		{"result too large", `[` + strings.Repeat("1,", 2<<20) + `1]`, []string{"/*"}, &key.PublicKey, "k", fieldcrypt.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := fieldcrypt.EncryptFields([]byte(tt.doc), tt.patterns, tt.pub, tt.kid)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

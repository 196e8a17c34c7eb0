package fieldcrypt_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/bankguard/bankguard/fieldcrypt"
)

// The fuzz targets use the vector key, so that seeds encrypted with it stay
// decryptable in every fuzzing worker.

func FuzzDecryptFields(f *testing.F) {
	key := vectorKey(f)
	f.Add(readVector(f, "encrypted.json"))
	for _, seed := range []struct {
		doc      string
		patterns []string
	}{
		{`{"a":"x","b":[1,{"c":null}]}`, []string{"/a", "/b/*"}},
		{`[true,false]`, []string{"/1"}},
		{`{"s":"\u2028\"\\\n"}`, []string{"/s"}},
		{`{}`, nil},
	} {
		enc, err := fieldcrypt.EncryptFields([]byte(seed.doc), seed.patterns, &key.PublicKey, "k")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
	}
	f.Add([]byte(`{"bankguard_encryption":{"v":1,"alg":"SM2-SM4-GCM","kid":"k","wrapped_key":"","fields":["/a"]},"a":"sm4gcm:v1:"}`))
	f.Add([]byte(`{"bankguard_encryption":{"v":1,"alg":"SM2-SM4-GCM","kid":"k","wrapped_key":"","fields":[],"wrapped":true},"data":[]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		out, err := fieldcrypt.DecryptFields(doc, key)
		if err != nil {
			if out != nil {
				t.Fatal("output with an error")
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("decrypted output is not json: %q", out)
		}
	})
}

func FuzzParseSealed(f *testing.F) {
	key := vectorKey(f)
	f.Add(strings.TrimSpace(string(readVector(f, "sealed.txt"))))
	for _, s := range []string{"", "123456", "sm2:v1:k:short", "sm2:v1:k:" + strings.Repeat("A", 132), "sm2:v1:a:b:c", "sm2:v1:" + strings.Repeat("k", 200) + ":"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := fieldcrypt.ParseSealed(s)
		if err != nil {
			if id != "" || !errors.Is(err, fieldcrypt.ErrNotSealed) {
				t.Fatalf("ParseSealed = %q, %v", id, err)
			}
			if len(s) >= 8 && strings.Contains(err.Error(), s) {
				t.Fatalf("error repeats the input")
			}
			return
		}
		// A sealed value has exactly one spelling.
		b64 := strings.TrimPrefix(s, "sm2:v1:"+id+":")
		raw, err := base64.StdEncoding.DecodeString(b64)
		if !fieldcrypt.ValidKeyID(id) || err != nil || base64.StdEncoding.EncodeToString(raw) != b64 {
			t.Fatalf("accepted a non-canonical sealed value %q", s)
		}
		if len(raw) < fieldcrypt.MinSealedCiphertext || len(raw) > fieldcrypt.MaxSealedCiphertext || raw[0] != 4 {
			t.Fatalf("accepted a ciphertext of the wrong shape %q", s)
		}
		if pt, err := fieldcrypt.OpenValue(s, key, id); err != nil && pt != nil {
			t.Fatal("plaintext with an error")
		}
	})
}

func FuzzCheckSensitive(f *testing.F) {
	sealed := strings.TrimSpace(string(readVector(f, "sealed.txt")))
	f.Add([]byte(`{"payment_password":"`+sealed+`"}`), "/payment_password")
	f.Add([]byte(`{"payment_password":"123456"}`), "/payment_password")
	f.Add([]byte(`{"auth":[{"pin":"`+sealed+`"},{"pin":1}]}`), "/auth/*/pin")
	f.Add([]byte(`[[[]],{"a/b":{"~":null}}]`), "/*/a~1b/~0")
	f.Add([]byte(`{"a":{"a":{"a":"x"}}}`), "/*/*")
	known := func(id string) bool { return id == vectorBankKID }
	f.Fuzz(func(t *testing.T, doc []byte, pattern string) {
		bad, err := fieldcrypt.CheckSensitive(doc, []string{pattern}, known)
		switch {
		case err == nil && bad != "":
			t.Fatalf("pointer %q without an error", bad)
		case bad != "" && !errors.Is(err, fieldcrypt.ErrNotSealed) && !errors.Is(err, fieldcrypt.ErrUnknownKey):
			t.Fatalf("pointer %q with error %v", bad, err)
		case err != nil && bad == "" && !errors.Is(err, fieldcrypt.ErrMalformed) && !errors.Is(err, fieldcrypt.ErrTooLarge):
			t.Fatalf("error %v without a pointer", err)
		}
		if bad != "" && !strings.HasPrefix(bad, "/") {
			t.Fatalf("pointer %q is not a json pointer", bad)
		}
	})
}

// FuzzRoundTrip checks that decryption restores what encryption was given,
// for any document and pattern EncryptFields accepts.
func FuzzRoundTrip(f *testing.F) {
	key := vectorKey(f)
	f.Add(readVector(f, "plain.json"), "/entries/*/amount")
	f.Add([]byte(`[1,"2",{"3":[4]},null,true]`), "/*")
	f.Add([]byte(`{"a~b":{"c/d":[1e400,-0.0,"é\u2029"]}}`), "/a~0b/c~1d/2")
	f.Add([]byte(`"x"`), "/0")
	f.Fuzz(func(t *testing.T, doc []byte, pattern string) {
		enc, err := fieldcrypt.EncryptFields(doc, []string{pattern}, &key.PublicKey, "k")
		if err != nil {
			return
		}
		dec, err := fieldcrypt.DecryptFields(enc, key)
		if err != nil {
			t.Fatalf("encrypted document does not decrypt: %v", err)
		}
		if !sameJSON(t, doc, dec) {
			t.Fatalf("round trip changed the document:\n%q\n%q", doc, dec)
		}
	})
}

// sameJSON compares two documents as values (numbers as literals) and the
// member order of their objects.
func sameJSON(t *testing.T, a, b []byte) bool {
	decode := func(d []byte) (any, []string) {
		dec := json.NewDecoder(bytes.NewReader(d))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%v", err)
		}
		var keys []string
		dec = json.NewDecoder(bytes.NewReader(d))
		for {
			tok, err := dec.Token()
			if err != nil {
				break
			}
			if s, ok := tok.(string); ok {
				keys = append(keys, s)
			}
		}
		return v, keys
	}
	va, ka := decode(a)
	vb, kb := decode(b)
	return reflect.DeepEqual(va, vb) && reflect.DeepEqual(ka, kb)
}

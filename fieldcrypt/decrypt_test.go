package fieldcrypt_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/bankguard/bankguard/fieldcrypt"
)

// envelopeJSON is the envelope as an application decodes it.
type envelopeJSON struct {
	V          int      `json:"v"`
	Alg        string   `json:"alg"`
	Kid        string   `json:"kid"`
	WrappedKey string   `json:"wrapped_key"`
	Fields     []string `json:"fields"`
	Wrapped    bool     `json:"wrapped"`
}

func envelopeOf(t testing.TB, doc []byte) envelopeJSON {
	t.Helper()
	var d struct {
		Env envelopeJSON `json:"bankguard_encryption"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	return d.Env
}

// edit decodes doc into maps (numbers kept as json.Number), lets f change
// it and encodes it again. Member order is lost, which decryption ignores.
func edit(t testing.TB, doc []byte, f func(d map[string]any, env map[string]any)) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var d map[string]any
	if err := dec.Decode(&d); err != nil {
		t.Fatal(err)
	}
	env, _ := d["bankguard_encryption"].(map[string]any)
	f(d, env)
	out, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// flip changes one byte, at offset from the end, of a base64 value after prefix.
func flip(t testing.TB, v any, prefix string, fromEnd int) string {
	t.Helper()
	s, _ := v.(string)
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, prefix))
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-fromEnd] ^= 0x01
	return prefix + base64.StdEncoding.EncodeToString(raw)
}

func TestDecryptFieldsRefuses(t *testing.T) {
	key, other := newKey(t), newKey(t)
	plain := `{"id":"r1","a":"6222020200112233445","b":{"n":12.50},"c":[1,2],"d":"open"}`
	enc, err := fieldcrypt.EncryptFields([]byte(plain), []string{"/a", "/b", "/c/*"}, &key.PublicKey, "app-1")
	if err != nil {
		t.Fatal(err)
	}
	arrEnc, err := fieldcrypt.EncryptFields([]byte(`[{"a":1}]`), []string{"/0/a"}, &key.PublicKey, "app-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fieldcrypt.DecryptFields(enc, key); err != nil {
		t.Fatalf("the untouched document must decrypt: %v", err)
	}
	setEnv := func(name string, v any) []byte {
		return edit(t, enc, func(_, env map[string]any) { env[name] = v })
	}
	tests := []struct {
		name string
		doc  []byte
		want error
	}{
		{"missing envelope", []byte(plain), fieldcrypt.ErrNoEnvelope},
		{"array root without envelope", []byte(`[1,2]`), fieldcrypt.ErrNoEnvelope},
		{"envelope removed", edit(t, enc, func(d, _ map[string]any) { delete(d, "bankguard_encryption") }), fieldcrypt.ErrNoEnvelope},
		{"unknown version", setEnv("v", json.Number("2")), fieldcrypt.ErrUnsupported},
		{"version as string", setEnv("v", "1"), fieldcrypt.ErrUnsupported},
		{"version 1.0", setEnv("v", json.Number("1.0")), fieldcrypt.ErrUnsupported},
		{"missing version", edit(t, enc, func(_, env map[string]any) { delete(env, "v") }), fieldcrypt.ErrUnsupported},
		{"unknown algorithm", setEnv("alg", "SM2-SM4-CBC"), fieldcrypt.ErrUnsupported},
		{"unknown value version", edit(t, enc, func(d, _ map[string]any) {
			d["a"] = strings.Replace(d["a"].(string), "sm4gcm:v1:", "sm4gcm:v2:", 1)
		}), fieldcrypt.ErrUnsupported},
		{"altered ciphertext", edit(t, enc, func(d, _ map[string]any) { d["a"] = flip(t, d["a"], "sm4gcm:v1:", 20) }), fieldcrypt.ErrDecrypt},
		{"altered tag", edit(t, enc, func(d, _ map[string]any) { d["a"] = flip(t, d["a"], "sm4gcm:v1:", 1) }), fieldcrypt.ErrDecrypt},
		{"altered nonce", edit(t, enc, func(d, _ map[string]any) {
			s := d["a"].(string)
			raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "sm4gcm:v1:"))
			raw[0] ^= 0x80
			d["a"] = "sm4gcm:v1:" + base64.StdEncoding.EncodeToString(raw)
		}), fieldcrypt.ErrDecrypt},
		{"altered wrapped key", edit(t, enc, func(_, env map[string]any) { env["wrapped_key"] = flip(t, env["wrapped_key"], "", 1) }), fieldcrypt.ErrDecrypt},
		{"altered key id", setEnv("kid", "app-2"), fieldcrypt.ErrDecrypt},
		{"ciphertexts swapped", edit(t, enc, func(d, _ map[string]any) { d["a"], d["b"] = d["b"], d["a"] }), fieldcrypt.ErrDecrypt},
		{"ciphertexts swapped in an array", edit(t, enc, func(d, _ map[string]any) {
			c := d["c"].([]any)
			c[0], c[1] = c[1], c[0]
		}), fieldcrypt.ErrDecrypt},
		{"ciphertext moved to an unlisted field", edit(t, enc, func(d, env map[string]any) {
			d["d"] = d["a"]
			env["fields"] = []any{"/d", "/b", "/c/0", "/c/1"}
			delete(d, "a")
		}), fieldcrypt.ErrDecrypt},
		{"field dropped from the list, plaintext put back", edit(t, enc, func(d, env map[string]any) {
			d["a"] = "6222020200112233445"
			env["fields"] = []any{"/b", "/c/0", "/c/1"}
		}), fieldcrypt.ErrDecrypt},
		{"fields reordered", setEnv("fields", []any{"/b", "/a", "/c/0", "/c/1"}), fieldcrypt.ErrDecrypt},
		{"envelope from another document", edit(t, enc, func(d, _ map[string]any) {
			other, err := fieldcrypt.EncryptFields([]byte(plain), []string{"/a", "/b", "/c/*"}, &key.PublicKey, "app-1")
			if err != nil {
				t.Fatal(err)
			}
			d["bankguard_encryption"] = envelopeAny(t, other)
		}), fieldcrypt.ErrDecrypt},
		{"field listed but not encrypted", edit(t, enc, func(d, _ map[string]any) { d["a"] = "6222020200112233445" }), fieldcrypt.ErrEnvelope},
		{"field listed but a number", edit(t, enc, func(d, _ map[string]any) { d["a"] = json.Number("7") }), fieldcrypt.ErrEnvelope},
		{"field listed but absent", edit(t, enc, func(d, _ map[string]any) { delete(d, "b") }), fieldcrypt.ErrEnvelope},
		{"field listed twice", setEnv("fields", []any{"/a", "/a", "/b", "/c/0", "/c/1"}), fieldcrypt.ErrEnvelope},
		{"field listed inside another", setEnv("fields", []any{"/a", "/b", "/b/n", "/c/0", "/c/1"}), fieldcrypt.ErrEnvelope},
		{"field index with leading zero", setEnv("fields", []any{"/a", "/b", "/c/00", "/c/1"}), fieldcrypt.ErrEnvelope},
		{"version null", setEnv("v", nil), fieldcrypt.ErrUnsupported},
		{"envelope is a string", edit(t, enc, func(d, _ map[string]any) { d["bankguard_encryption"] = "x" }), fieldcrypt.ErrMalformed},
		{"unknown envelope member", setEnv("extra", true), fieldcrypt.ErrMalformed},
		{"invalid key id", setEnv("kid", "app 1"), fieldcrypt.ErrMalformed},
		{"wrapped key not base64", setEnv("wrapped_key", "!!!"), fieldcrypt.ErrMalformed},
		{"wrapped key unpadded", edit(t, enc, func(_, env map[string]any) {
			env["wrapped_key"] = strings.TrimRight(env["wrapped_key"].(string), "=")
		}), fieldcrypt.ErrMalformed},
		{"wrapped key with line break", edit(t, enc, func(_, env map[string]any) {
			s := env["wrapped_key"].(string)
			env["wrapped_key"] = s[:40] + "\n" + s[40:]
		}), fieldcrypt.ErrMalformed},
		{"wrapped key truncated", edit(t, enc, func(_, env map[string]any) {
			s := env["wrapped_key"].(string)
			raw, _ := base64.StdEncoding.DecodeString(s)
			env["wrapped_key"] = base64.StdEncoding.EncodeToString(raw[:len(raw)-1])
		}), fieldcrypt.ErrMalformed},
		{"fields not an array", setEnv("fields", "/a"), fieldcrypt.ErrMalformed},
		{"field not a pointer", setEnv("fields", []any{"a"}), fieldcrypt.ErrMalformed},
		{"field naming the root", setEnv("fields", []any{""}), fieldcrypt.ErrMalformed},
		{"field not a string", setEnv("fields", []any{json.Number("1")}), fieldcrypt.ErrMalformed},
		{"wrapped not a boolean", setEnv("wrapped", "yes"), fieldcrypt.ErrMalformed},
		{"wrapped set on an object document", setEnv("wrapped", true), fieldcrypt.ErrMalformed},
		{"wrapper unset", edit(t, arrEnc, func(_, env map[string]any) { delete(env, "wrapped") }), fieldcrypt.ErrEnvelope},
		{"wrapper with an extra member", edit(t, arrEnc, func(d, _ map[string]any) { d["x"] = true }), fieldcrypt.ErrMalformed},
		{"ciphertext truncated", edit(t, enc, func(d, _ map[string]any) { d["a"] = "sm4gcm:v1:AAAA" }), fieldcrypt.ErrMalformed},
		{"ciphertext not base64", edit(t, enc, func(d, _ map[string]any) { d["a"] = "sm4gcm:v1:%%%%" }), fieldcrypt.ErrMalformed},
		{"not json", enc[:len(enc)-1], fieldcrypt.ErrMalformed},
		{"trailing data", append(append([]byte(nil), enc...), " {}"...), fieldcrypt.ErrMalformed},
		{"duplicate envelope", append([]byte(`{"bankguard_encryption":{},`), enc[1:]...), fieldcrypt.ErrMalformed},
		{"too large", append(append([]byte(nil), enc...), bytes.Repeat([]byte(" "), fieldcrypt.MaxDocumentSize)...), fieldcrypt.ErrTooLarge},
		{"too deep", []byte(strings.Repeat("[", 70) + strings.Repeat("]", 70)), fieldcrypt.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := fieldcrypt.DecryptFields(tt.doc, key)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if out != nil {
				t.Fatal("a refused document returned output")
			}
			if strings.Contains(err.Error(), "6222020200112233445") || strings.Contains(err.Error(), "12.50") {
				t.Fatalf("error %q contains plaintext", err)
			}
		})
	}
	t.Run("wrong key", func(t *testing.T) {
		if _, err := fieldcrypt.DecryptFields(enc, other); !errors.Is(err, fieldcrypt.ErrDecrypt) {
			t.Fatalf("got %v, want ErrDecrypt", err)
		}
	})
	t.Run("nil key", func(t *testing.T) {
		if _, err := fieldcrypt.DecryptFields(enc, nil); !errors.Is(err, fieldcrypt.ErrInvalidKey) {
			t.Fatalf("got %v, want ErrInvalidKey", err)
		}
	})
}

func envelopeAny(t testing.TB, doc []byte) any {
	t.Helper()
	var d map[string]any
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&d); err != nil {
		t.Fatal(err)
	}
	return d["bankguard_encryption"]
}

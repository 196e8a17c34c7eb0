package fieldcrypt

import (
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/base64"
	"io"
	"strings"

	"github.com/emmansun/gmsm/ecdh"
	"github.com/emmansun/gmsm/sm2"
)

// SealedPrefix starts every sealed value: "sm2:v1:<keyid>:<base64>".
const SealedPrefix = "sm2:v1:"

// Sizes of a sealed value's SM2 ciphertext C1 ‖ C3 ‖ C2 (GB/T 32918.4).
const (
	c1Size = 65 // 0x04 ‖ x ‖ y
	c3Size = 32 // SM3
	// MinSealedCiphertext is the shortest ciphertext: C1, C3 and one byte.
	MinSealedCiphertext = c1Size + c3Size + 1
	// MaxSealedCiphertext is the ciphertext of a MaxSealedPlaintext secret.
	MaxSealedCiphertext = c1Size + c3Size + MaxSealedPlaintext
	// maxSealedLen bounds the text of a sealed value before it is decoded.
	maxSealedLen = len(SealedPrefix) + MaxKeyIDLength + 1 + (MaxSealedCiphertext+2)/3*4
)

// SealValue encrypts a short secret, such as a payment password, to the
// bank's SM2 encryption public key (never a signing key) known as keyID:
// the result is "sm2:v1:<keyID>:<base64 of C1 ‖ C3 ‖ C2>", standard padded
// base64. plaintext must be 1 to MaxSealedPlaintext bytes. Payment
// passwords never travel in clear: T/PCAC 0008-2020 3.2.5.
func SealValue(plaintext []byte, bankKey *ecdsa.PublicKey, keyID string) (string, error) {
	return sealValue(rand.Reader, plaintext, bankKey, keyID)
}

func sealValue(random io.Reader, plaintext []byte, bankKey *ecdsa.PublicKey, keyID string) (string, error) {
	if err := checkPublicKey(bankKey); err != nil {
		return "", err
	}
	if !ValidKeyID(keyID) {
		return "", wrap(ErrMalformed, "invalid key id")
	}
	if len(plaintext) == 0 {
		return "", wrap(ErrMalformed, "nothing to seal")
	}
	if len(plaintext) > MaxSealedPlaintext {
		return "", wrap(ErrTooLarge, "secret over 1 KiB")
	}
	ct, err := sm2.Encrypt(random, bankKey, plaintext, sm2Opts)
	if err != nil {
		return "", wrap(ErrInvalidKey, "cannot encrypt to the key")
	}
	return SealedPrefix + keyID + ":" + base64.StdEncoding.EncodeToString(ct), nil
}

// ParseSealed checks that s is a well-formed sealed value without
// decrypting it and returns its key id. The gateway uses it to pass sealed
// inputs on to the bank's backend and to refuse plaintext ones.
//
// It is strict: the prefix, a valid key id, canonical standard base64, a
// ciphertext of MinSealedCiphertext to MaxSealedCiphertext bytes whose C1 is
// an uncompressed point of the SM2 curve. Anything else, including every
// plausible plaintext password, wraps ErrNotSealed; the error never
// repeats s.
func ParseSealed(s string) (keyID string, err error) {
	keyID, _, err = parseSealed(s)
	return keyID, err
}

func parseSealed(s string) (keyID string, ct []byte, err error) {
	if len(s) > maxSealedLen {
		return "", nil, wrap(ErrNotSealed, "too long for a sealed value")
	}
	rest, ok := strings.CutPrefix(s, SealedPrefix)
	if !ok {
		return "", nil, wrap(ErrNotSealed, "missing the "+SealedPrefix+" prefix")
	}
	keyID, b64, ok := strings.Cut(rest, ":")
	if !ok || !ValidKeyID(keyID) {
		return "", nil, wrap(ErrNotSealed, "missing or invalid key id")
	}
	ct, ok = decodeBase64(b64)
	if !ok {
		return "", nil, wrap(ErrNotSealed, "ciphertext is not canonical base64")
	}
	if len(ct) < MinSealedCiphertext || len(ct) > MaxSealedCiphertext {
		return "", nil, wrap(ErrNotSealed, "ciphertext has the wrong length for sm2")
	}
	if ct[0] != 0x04 {
		return "", nil, wrap(ErrNotSealed, "ciphertext does not start with an uncompressed point")
	}
	// NewPublicKey checks that C1 is a point of the curve, not the identity.
	if _, err := ecdh.P256().NewPublicKey(ct[:c1Size]); err != nil {
		return "", nil, wrap(ErrNotSealed, "ciphertext c1 is not a point of the sm2 curve")
	}
	return keyID, ct, nil
}

// OpenValue decrypts a sealed value with the SM2 private key known as keyID
// (the bank's backend, the sandbox). A value sealed to another key id wraps
// ErrUnknownKey; a wrong key or an altered ciphertext wraps ErrDecrypt.
func OpenValue(s string, priv *sm2.PrivateKey, keyID string) ([]byte, error) {
	if err := checkPrivateKey(priv); err != nil {
		return nil, err
	}
	id, ct, err := parseSealed(s)
	if err != nil {
		return nil, err
	}
	if id != keyID {
		return nil, wrap(ErrUnknownKey, "value is sealed to another key")
	}
	pt, err := sm2.Decrypt(priv, ct)
	if err != nil {
		return nil, wrap(ErrDecrypt, "sealed value does not open (wrong key or altered)")
	}
	return pt, nil
}

// CheckSensitive verifies that every value at the given JSON-pointer
// patterns of a JSON body is a sealed value (a JSON string accepted by
// ParseSealed) for a key id that knownKeyIDs accepts. On the first offending
// field, in document order, it returns that field's concrete pointer and an
// error wrapping ErrNotSealed or ErrUnknownKey; a body or pattern that is
// not well formed gives an empty pointer and ErrMalformed or ErrTooLarge.
// Patterns that select nothing are not an error: whether a field is
// required is the schema's business. Sensitive inputs: T/PCAC 0008-2020 3.2.5.
func CheckSensitive(doc []byte, patterns []string, knownKeyIDs func(string) bool) (badPointer string, err error) {
	if knownKeyIDs == nil {
		return "", wrap(ErrMalformed, "no key id check given")
	}
	pats, err := parsePatterns(patterns)
	if err != nil {
		return "", err
	}
	root, err := parseJSON(doc, MaxDepth)
	if err != nil {
		return "", err
	}
	for _, m := range matchAll(root, pats) {
		v := m.parent.kids[m.index]
		if v.kind != kindString {
			return m.ptr, wrap(ErrNotSealed, "field "+quotePointer(m.ptr)+" is not a sealed string")
		}
		id, err := ParseSealed(v.s)
		if err != nil {
			return m.ptr, wrap(ErrNotSealed, "field "+quotePointer(m.ptr)+" is not sealed")
		}
		if !knownKeyIDs(id) {
			return m.ptr, wrap(ErrUnknownKey, "field "+quotePointer(m.ptr)+" is sealed to an unknown key")
		}
	}
	return "", nil
}

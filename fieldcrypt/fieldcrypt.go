// Package fieldcrypt encrypts individual fields of JSON documents with the
// national algorithms, in both directions of an open-banking exchange.
//
//   - Bank → application: EncryptFields replaces designated fields of a
//     response (clearing and reconciliation data) with SM4-GCM ciphertexts
//     under a fresh data key, which is wrapped with the receiving
//     application's SM2 encryption key; DecryptFields reverses it. The
//     envelope is specified for application developers in docs/envelope.md.
//     Clearing and reconciliation data encrypted in transit: T/PCAC
//     0008-2020 3.2.5.
//   - Application → bank: SealValue encrypts a short secret such as a
//     payment password to the bank's SM2 encryption key; the gateway checks
//     with ParseSealed and CheckSensitive that such fields arrive sealed and
//     passes them on still sealed; the bank's backend opens them with
//     OpenValue. Payment passwords are never in clear: T/PCAC 0008-2020 3.2.5.
//
// Fields are named by JSON pointers (RFC 6901) in which a segment "*"
// matches any object member or array index: "/entries/*/account_number". (A
// member literally named "*" is therefore only selected with its siblings.)
//
// Errors wrap one of the package's sentinel errors (test with errors.Is) and
// add a short reason. They never contain a plaintext, a ciphertext or key
// material; they may name a field's JSON pointer, which is not secret (the
// envelope lists the encrypted pointers in clear).
package fieldcrypt

import (
	"crypto/ecdsa"
	"errors"

	"github.com/emmansun/gmsm/sm2"
)

// Limits on the documents and values the package accepts.
const (
	// MaxDocumentSize is the largest JSON document accepted, in bytes.
	MaxDocumentSize = 16 << 20
	// MaxDepth is the deepest nesting of objects and arrays accepted in a
	// document (the root container is at depth 1). A document whose root is
	// not an object gains one level when it is wrapped (see EncryptFields).
	MaxDepth = 64
	// MaxSealedPlaintext is the largest secret SealValue encrypts, in bytes.
	MaxSealedPlaintext = 1024
	// MaxKeyIDLength is the longest key id accepted.
	MaxKeyIDLength = 128
)

// Sentinel errors.
var (
	// ErrMalformed reports input that is not what the function expects: a
	// document that is not JSON, has duplicate member names or trailing data,
	// an invalid pattern, key id or envelope member.
	ErrMalformed = errors.New("fieldcrypt: malformed input")
	// ErrTooLarge reports a document, value or nesting over the limits.
	ErrTooLarge = errors.New("fieldcrypt: input too large")
	// ErrInvalidKey reports a missing key or a key that is not on the SM2 curve.
	ErrInvalidKey = errors.New("fieldcrypt: invalid key")
	// ErrNoEnvelope reports a document without a bankguard_encryption member.
	ErrNoEnvelope = errors.New("fieldcrypt: no encryption envelope")
	// ErrUnsupported reports an envelope or value of an unknown version or
	// algorithm.
	ErrUnsupported = errors.New("fieldcrypt: unsupported version or algorithm")
	// ErrEnvelope reports an envelope that does not match its document: a
	// listed field that is absent or not encrypted, a field listed twice.
	ErrEnvelope = errors.New("fieldcrypt: envelope does not match document")
	// ErrDecrypt reports a ciphertext that does not open: wrong key, altered
	// ciphertext or envelope, or a ciphertext moved to another field. It is
	// deliberately vague.
	ErrDecrypt = errors.New("fieldcrypt: decryption failed")
	// ErrNotSealed reports a value that is not a well-formed sealed value,
	// such as a plaintext password.
	ErrNotSealed = errors.New("fieldcrypt: value is not sealed")
	// ErrUnknownKey reports a sealed value for a key id that is not known or
	// not the expected one.
	ErrUnknownKey = errors.New("fieldcrypt: unknown key id")
)

// fcError wraps a sentinel with a reason.
type fcError struct {
	kind   error
	reason string
}

func (e *fcError) Error() string { return e.kind.Error() + ": " + e.reason }
func (e *fcError) Unwrap() error { return e.kind }

func wrap(kind error, reason string) error { return &fcError{kind: kind, reason: reason} }

// quotePointer renders a JSON pointer for an error message, shortened so a
// hostile envelope cannot make errors (and the logs they end in) huge.
func quotePointer(p string) string {
	const max = 96
	if len(p) > max {
		p = p[:max] + "…"
	}
	return "\"" + p + "\""
}

// ValidKeyID reports whether id can name a key: 1 to MaxKeyIDLength
// characters among A-Z a-z 0-9 and "._~-" (the URL-unreserved characters),
// KeyAlg is the "alg" of an encryption key in the bank's key document at
// /.well-known/bankguard/encryption-keys.
const KeyAlg = "sm2-encrypt"

// so that it needs no escaping in a sealed value or a file name.
func ValidKeyID(id string) bool {
	if len(id) == 0 || len(id) > MaxKeyIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == '_', c == '~', c == '-':
		default:
			return false
		}
	}
	return true
}

// checkPublicKey accepts a non-nil public key on the SM2 curve.
func checkPublicKey(pub *ecdsa.PublicKey) error {
	if pub == nil || pub.X == nil || pub.Y == nil || !sm2.IsSM2PublicKey(pub) {
		return wrap(ErrInvalidKey, "need an sm2 public key")
	}
	if _, err := sm2.PublicKeyToECDH(pub); err != nil {
		return wrap(ErrInvalidKey, "sm2 public key is not a point of the curve")
	}
	return nil
}

// checkPrivateKey accepts a non-nil private key on the SM2 curve.
func checkPrivateKey(priv *sm2.PrivateKey) error {
	if priv == nil || priv.D == nil || priv.Curve != sm2.P256() {
		return wrap(ErrInvalidKey, "need an sm2 private key")
	}
	return nil
}

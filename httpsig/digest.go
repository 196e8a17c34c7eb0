package httpsig

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"

	"github.com/emmansun/gmsm/sm3"
)

// Content-Digest algorithms (RFC 9530 §5) and the profile's sm3 extension.
const (
	// DigestSHA256 is SHA-256.
	DigestSHA256 = "sha-256"
	// DigestSHA512 is SHA-512.
	DigestSHA512 = "sha-512"
	// DigestSM3 is SM3 (GB/T 32905).
	DigestSM3 = "sm3"
)

// digest appends the digest of body under alg to dst; ok is false for an
// unsupported algorithm.
func digest(dst []byte, alg string, body []byte) (out []byte, ok bool) {
	switch alg {
	case DigestSHA256:
		d := sha256.Sum256(body)
		return append(dst, d[:]...), true
	case DigestSHA512:
		d := sha512.Sum512(body)
		return append(dst, d[:]...), true
	case DigestSM3:
		d := sm3.Sum(body)
		return append(dst, d[:]...), true
	}
	return dst, false
}

// ContentDigest returns the Content-Digest field value for body under alg,
// e.g. `sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:`.
func ContentDigest(alg string, body []byte) (string, error) {
	var buf [sha512.Size]byte
	d, ok := digest(buf[:0], alg, body)
	if !ok {
		return "", wrap(ErrUnsupportedAlg, "unknown digest algorithm")
	}
	return alg + "=:" + base64.StdEncoding.EncodeToString(d) + ":", nil
}

// VerifyContentDigest checks body against the Content-Digest field lines
// (h.Values("Content-Digest")). Every supported algorithm present must match;
// the comparison is constant-time. Members with other algorithms are ignored.
//
// It returns ErrDigestMissing when no supported algorithm is present (or the
// field is absent), ErrDigestMismatch on a mismatch, and ErrMalformed when the
// field is not a valid Dictionary or a supported member is not a Byte
// Sequence.
func VerifyContentDigest(fieldValues []string, body []byte) error {
	if len(fieldValues) == 0 {
		return ErrDigestMissing
	}
	p := sfParser{s: joinLines(fieldValues)}
	checked, mismatch := 0, false
	err := p.dict(func(alg string, hasValue bool) error {
		var want, got [sha512.Size]byte
		g, ok := digest(got[:0], alg, body)
		if !ok {
			if hasValue {
				return p.skipMember()
			}
			return p.skipParams()
		}
		if !hasValue || p.peek() != ':' {
			return malformed("content-digest member is not a byte sequence")
		}
		v, err := p.bytes()
		if err != nil {
			return err
		}
		if err := p.skipParams(); err != nil {
			return err
		}
		n, err := decodedLen(v.b64)
		if err != nil {
			return err
		}
		checked++
		if n != len(g) {
			mismatch = true
			return nil
		}
		w, err := decodeBytes(want[:0], v.b64)
		if err != nil {
			return err
		}
		if subtle.ConstantTimeCompare(w, g) != 1 {
			mismatch = true
		}
		return nil
	})
	switch {
	case err != nil:
		return err
	case mismatch:
		return ErrDigestMismatch
	case checked == 0:
		return ErrDigestMissing
	}
	return nil
}

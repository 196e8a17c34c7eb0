package httpsig

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"sync"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Signature algorithms: RFC 9421 §3.3 and the two extensions of the bankguard
// profile.
const (
	// AlgHMACSHA256 is HMAC with SHA-256 (RFC 9421 §3.3.3).
	AlgHMACSHA256 = "hmac-sha256"
	// AlgHMACSM3 is HMAC with SM3 (GB/T 32905), keys of at least 32 bytes.
	AlgHMACSM3 = "hmac-sm3"
	// AlgECDSAP256SHA256 is ECDSA on P-256 with SHA-256, value r‖s (RFC 9421 §3.3.4).
	AlgECDSAP256SHA256 = "ecdsa-p256-sha256"
	// AlgRSAPSSSHA512 is RSASSA-PSS with SHA-512 and a 64-byte salt (RFC 9421 §3.3.1).
	AlgRSAPSSSHA512 = "rsa-pss-sha512"
	// AlgEd25519 is Ed25519 (RFC 9421 §3.3.6).
	AlgEd25519 = "ed25519"
	// AlgSM2SM3 is the SM2 signature (GB/T 32918.2) over SM3 with the
	// default distinguishing ID "1234567812345678"; the value is r‖s.
	AlgSM2SM3 = "sm2-sm3"
)

// MinHMACKeySize is the shortest HMAC key, in bytes, that NewSigner and
// NewVerifier accept.
const MinHMACKeySize = 32

// sm2UID is the default distinguishing identifier of GB/T 32918.2 / GM/T 0009.
var sm2UID = []byte("1234567812345678")

// Symmetric reports whether alg is one of the HMAC algorithms.
func Symmetric(alg string) bool { return alg == AlgHMACSHA256 || alg == AlgHMACSM3 }

// Supported reports whether the package implements alg.
func Supported(alg string) bool {
	switch alg {
	case AlgHMACSHA256, AlgHMACSM3, AlgECDSAP256SHA256, AlgRSAPSSSHA512, AlgEd25519, AlgSM2SM3:
		return true
	}
	return false
}

// Signer computes signatures with one key and algorithm. Implementations are
// safe for concurrent use.
type Signer interface {
	// Alg returns the algorithm name, e.g. "ed25519".
	Alg() string
	// Sign returns the signature of the signature base.
	Sign(base []byte) ([]byte, error)
}

// Verifier checks signatures with one key and algorithm. Implementations are
// safe for concurrent use.
type Verifier interface {
	// Alg returns the algorithm name.
	Alg() string
	// Verify returns nil if sig is a valid signature of base, and an error
	// wrapping ErrVerification otherwise.
	Verify(base, sig []byte) error
}

// NewSigner returns a Signer for alg. key is a []byte secret for the HMAC
// algorithms, a P-256 *ecdsa.PrivateKey, an *rsa.PrivateKey (2048 bits or
// more), an ed25519.PrivateKey, or an *sm2.PrivateKey (or an *ecdsa.PrivateKey
// on the SM2 curve). A key that does not fit alg is an error wrapping
// ErrInvalidKey; an unknown alg wraps ErrUnsupportedAlg.
func NewSigner(alg string, key any) (Signer, error) {
	switch alg {
	case AlgHMACSHA256, AlgHMACSM3:
		k, ok := key.([]byte)
		if !ok {
			return nil, keyErr(alg, "needs a []byte secret")
		}
		return newHMAC(alg, k)
	case AlgECDSAP256SHA256:
		k, ok := key.(*ecdsa.PrivateKey)
		if !ok || k == nil || k.Curve != elliptic.P256() {
			return nil, keyErr(alg, "needs a p-256 ecdsa private key")
		}
		return ecdsaSigner{k}, nil
	case AlgRSAPSSSHA512:
		k, ok := key.(*rsa.PrivateKey)
		if !ok || k == nil || k.N == nil || k.N.BitLen() < 2048 {
			return nil, keyErr(alg, "needs an rsa private key of 2048 bits or more")
		}
		return rsaSigner{k}, nil
	case AlgEd25519:
		k, ok := key.(ed25519.PrivateKey)
		if !ok || len(k) != ed25519.PrivateKeySize {
			return nil, keyErr(alg, "needs an ed25519 private key")
		}
		return ed25519Signer{k}, nil
	case AlgSM2SM3:
		switch k := key.(type) {
		case *sm2.PrivateKey:
			if k != nil && k.Curve == sm2.P256() {
				return newSM2Signer(k)
			}
		case *ecdsa.PrivateKey:
			if k != nil && k.Curve == sm2.P256() {
				return newSM2Signer(&sm2.PrivateKey{PrivateKey: *k})
			}
		}
		return nil, keyErr(alg, "needs an sm2 private key")
	}
	return nil, wrap(ErrUnsupportedAlg, "unknown signature algorithm")
}

// NewVerifier returns a Verifier for alg. key is a []byte secret for the HMAC
// algorithms, an *ecdsa.PublicKey (on P-256 for ecdsa-p256-sha256, on the SM2
// curve for sm2-sm3), an *rsa.PublicKey (2048 bits or more) or an
// ed25519.PublicKey. A key that does not fit alg is an error wrapping
// ErrInvalidKey; an unknown alg wraps ErrUnsupportedAlg.
func NewVerifier(alg string, key any) (Verifier, error) {
	switch alg {
	case AlgHMACSHA256, AlgHMACSM3:
		k, ok := key.([]byte)
		if !ok {
			return nil, keyErr(alg, "needs a []byte secret")
		}
		return newHMAC(alg, k)
	case AlgECDSAP256SHA256:
		k, ok := key.(*ecdsa.PublicKey)
		if !ok || k == nil || k.Curve != elliptic.P256() || k.X == nil || k.Y == nil {
			return nil, keyErr(alg, "needs a p-256 ecdsa public key")
		}
		if _, err := k.ECDH(); err != nil {
			return nil, keyErr(alg, "public key is not a valid p-256 point")
		}
		return ecdsaVerifier{k}, nil
	case AlgRSAPSSSHA512:
		k, ok := key.(*rsa.PublicKey)
		if !ok || k == nil || k.N == nil || k.N.BitLen() < 2048 {
			return nil, keyErr(alg, "needs an rsa public key of 2048 bits or more")
		}
		return rsaVerifier{k}, nil
	case AlgEd25519:
		k, ok := key.(ed25519.PublicKey)
		if !ok || len(k) != ed25519.PublicKeySize {
			return nil, keyErr(alg, "needs an ed25519 public key")
		}
		return ed25519Verifier{k}, nil
	case AlgSM2SM3:
		k, ok := key.(*ecdsa.PublicKey)
		if !ok || k == nil || k.Curve != sm2.P256() || k.X == nil || k.Y == nil {
			return nil, keyErr(alg, "needs an sm2 public key")
		}
		if _, err := sm2.PublicKeyToECDH(k); err != nil {
			return nil, keyErr(alg, "public key is not a valid sm2 point")
		}
		za, err := sm2.CalculateZA(k, sm2UID)
		if err != nil {
			return nil, keyErr(alg, "needs an sm2 public key")
		}
		return &sm2Verifier{pub: k, za: za}, nil
	}
	return nil, wrap(ErrUnsupportedAlg, "unknown signature algorithm")
}

func keyErr(alg, reason string) error { return wrap(ErrInvalidKey, alg+" "+reason) }

var errBadSignature = wrap(ErrVerification, "signature does not match")

// hmacAlg implements both Signer and Verifier for the HMAC algorithms. Keyed
// hash states are pooled: HMAC verification is the gateway's hot path.
type hmacAlg struct {
	alg  string
	pool sync.Pool // of *hmacState
}

type hmacState struct {
	mac hash.Hash
	sum [32]byte // SHA-256 and SM3 both produce 32 bytes
}

func newHMAC(alg string, key []byte) (*hmacAlg, error) {
	if len(key) < MinHMACKeySize {
		return nil, keyErr(alg, "key must be at least 32 bytes")
	}
	k := append([]byte(nil), key...)
	h := sha256.New
	if alg == AlgHMACSM3 {
		h = sm3.New
	}
	a := &hmacAlg{alg: alg}
	a.pool.New = func() any { return &hmacState{mac: hmac.New(h, k)} }
	return a, nil
}

func (a *hmacAlg) Alg() string { return a.alg }

func (a *hmacAlg) Sign(base []byte) ([]byte, error) {
	st := a.pool.Get().(*hmacState)
	defer a.put(st)
	st.mac.Write(base)
	return st.mac.Sum(nil), nil
}

// Verify compares in constant time.
func (a *hmacAlg) Verify(base, sig []byte) error {
	st := a.pool.Get().(*hmacState)
	defer a.put(st)
	st.mac.Write(base)
	if !hmac.Equal(st.mac.Sum(st.sum[:0]), sig) {
		return errBadSignature
	}
	return nil
}

func (a *hmacAlg) put(st *hmacState) {
	st.mac.Reset()
	a.pool.Put(st)
}

type ecdsaSigner struct{ k *ecdsa.PrivateKey }

func (ecdsaSigner) Alg() string { return AlgECDSAP256SHA256 }

func (s ecdsaSigner) Sign(base []byte) ([]byte, error) {
	d := sha256.Sum256(base)
	der, err := ecdsa.SignASN1(rand.Reader, s.k, d[:])
	if err != nil {
		return nil, err
	}
	sig, ok := rawFromDER(der)
	if !ok {
		return nil, wrap(ErrInvalidKey, "unexpected ecdsa signature encoding")
	}
	return sig, nil
}

type ecdsaVerifier struct{ k *ecdsa.PublicKey }

func (ecdsaVerifier) Alg() string { return AlgECDSAP256SHA256 }

func (v ecdsaVerifier) Verify(base, sig []byte) error {
	if len(sig) != 64 {
		return errBadSignature
	}
	d := sha256.Sum256(base)
	var der [72]byte
	if !ecdsa.VerifyASN1(v.k, d[:], derRS(der[:0], sig[:32], sig[32:])) {
		return errBadSignature
	}
	return nil
}

var pssOptions = &rsa.PSSOptions{SaltLength: 64, Hash: crypto.SHA512}

type rsaSigner struct{ k *rsa.PrivateKey }

func (rsaSigner) Alg() string { return AlgRSAPSSSHA512 }

func (s rsaSigner) Sign(base []byte) ([]byte, error) {
	d := sha512.Sum512(base)
	return rsa.SignPSS(rand.Reader, s.k, crypto.SHA512, d[:], pssOptions)
}

type rsaVerifier struct{ k *rsa.PublicKey }

func (rsaVerifier) Alg() string { return AlgRSAPSSSHA512 }

func (v rsaVerifier) Verify(base, sig []byte) error {
	d := sha512.Sum512(base)
	if rsa.VerifyPSS(v.k, crypto.SHA512, d[:], sig, pssOptions) != nil {
		return errBadSignature
	}
	return nil
}

type ed25519Signer struct{ k ed25519.PrivateKey }

func (ed25519Signer) Alg() string { return AlgEd25519 }

func (s ed25519Signer) Sign(base []byte) ([]byte, error) { return ed25519.Sign(s.k, base), nil }

type ed25519Verifier struct{ k ed25519.PublicKey }

func (ed25519Verifier) Alg() string { return AlgEd25519 }

func (v ed25519Verifier) Verify(base, sig []byte) error {
	if len(sig) != ed25519.SignatureSize || !ed25519.Verify(v.k, base, sig) {
		return errBadSignature
	}
	return nil
}

// sm2Signer holds the private key and its ZA, computed once.
type sm2Signer struct {
	k  *sm2.PrivateKey
	za []byte
}

func newSM2Signer(k *sm2.PrivateKey) (*sm2Signer, error) {
	za, err := sm2.CalculateZA(&k.PublicKey, sm2UID)
	if err != nil {
		return nil, keyErr(AlgSM2SM3, "cannot compute za")
	}
	return &sm2Signer{k: k, za: za}, nil
}

func (*sm2Signer) Alg() string { return AlgSM2SM3 }

// Sign signs SM3(ZA ‖ base) (GB/T 32918.2 §6.1) and returns r‖s.
func (s *sm2Signer) Sign(base []byte) ([]byte, error) {
	h := sm3.New()
	h.Write(s.za)
	h.Write(base)
	var digest [sm3.Size]byte
	der, err := sm2.SignASN1(rand.Reader, s.k, h.Sum(digest[:0]), nil)
	if err != nil {
		return nil, err
	}
	sig, ok := rawFromDER(der)
	if !ok {
		return nil, wrap(ErrInvalidKey, "unexpected sm2 signature encoding")
	}
	return sig, nil
}

// rawFromDER turns an ASN.1 SEQUENCE of two positive INTEGERs of at most 32
// bytes into the 64-byte r‖s.
func rawFromDER(der []byte) ([]byte, bool) {
	var seq, r, s cryptobyte.String
	in := cryptobyte.String(der)
	if !in.ReadASN1(&seq, casn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1(&r, casn1.INTEGER) || !seq.ReadASN1(&s, casn1.INTEGER) || !seq.Empty() {
		return nil, false
	}
	out := make([]byte, 64)
	for i, v := range [][]byte{r, s} {
		if len(v) == 0 || v[0]&0x80 != 0 { // empty or negative
			return nil, false
		}
		if len(v) > 1 && v[0] == 0 {
			v = v[1:]
		}
		if len(v) > 32 {
			return nil, false
		}
		copy(out[32*i+32-len(v):32*i+32], v)
	}
	return out, true
}

// sm2Verifier holds the public key and its ZA, computed once.
type sm2Verifier struct {
	pub *ecdsa.PublicKey
	za  []byte
}

func (*sm2Verifier) Alg() string { return AlgSM2SM3 }

// Verify checks an r‖s signature over SM3(ZA ‖ base); ASN.1 signatures are
// refused.
func (v *sm2Verifier) Verify(base, sig []byte) error {
	if len(sig) != 64 {
		return errBadSignature
	}
	h := sm3.New()
	h.Write(v.za)
	h.Write(base)
	var digest [sm3.Size]byte
	var der [72]byte
	if !sm2.VerifyASN1(v.pub, h.Sum(digest[:0]), derRS(der[:0], sig[:32], sig[32:])) {
		return errBadSignature
	}
	return nil
}

// derRS encodes two unsigned big-endian integers as an ASN.1 SEQUENCE of two
// INTEGERs into dst (72 bytes suffice for 32-byte halves).
func derRS(dst, r, s []byte) []byte {
	r, s = trimZeros(r), trimZeros(s)
	rl, sl := len(r)+int(r[0]>>7), len(s)+int(s[0]>>7)
	dst = append(dst, 0x30, byte(4+rl+sl))
	dst = appendDERInt(dst, r, rl)
	return appendDERInt(dst, s, sl)
}

func appendDERInt(dst, v []byte, n int) []byte {
	dst = append(dst, 0x02, byte(n))
	if n > len(v) {
		dst = append(dst, 0)
	}
	return append(dst, v...)
}

// trimZeros drops leading zero bytes, keeping at least one byte.
func trimZeros(b []byte) []byte {
	for len(b) > 1 && b[0] == 0 {
		b = b[1:]
	}
	return b
}

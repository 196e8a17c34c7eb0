package httpsig

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// oidRSASSAPSS identifies RSASSA-PSS keys in PKCS#8 (RFC 8017); RFC 9421's
// test-key-rsa-pss uses it, and crypto/x509 does not accept it.
var oidRSASSAPSS = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}

// ParsePrivateKeyPEM parses the first PEM block of pemBytes as a private key:
// "PRIVATE KEY" (PKCS#8, including SM2 and RSASSA-PSS keys), "EC PRIVATE KEY"
// (SEC 1, P-256 or SM2) or "RSA PRIVATE KEY" (PKCS#1). SM2 keys are returned
// as *sm2.PrivateKey. Encrypted PEM is not supported.
func ParsePrivateKeyPEM(pemBytes []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, wrap(ErrInvalidKey, "no pem block")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = parsePKCS8(block.Bytes)
	case "EC PRIVATE KEY":
		var k *ecdsa.PrivateKey
		if k, err = smx509.ParseECPrivateKey(block.Bytes); err == nil && k.Curve == sm2.P256() {
			key, err = new(sm2.PrivateKey).FromECPrivateKey(k)
		} else {
			key = k
		}
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, wrap(ErrInvalidKey, "unsupported pem block type "+block.Type)
	}
	if err != nil {
		return nil, wrap(ErrInvalidKey, "cannot parse private key")
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, wrap(ErrInvalidKey, "unsupported private key type")
	}
	return signer, nil
}

func parsePKCS8(der []byte) (any, error) {
	var k struct {
		Version    int
		Algo       pkix.AlgorithmIdentifier
		PrivateKey []byte
	}
	if rest, err := asn1.Unmarshal(der, &k); err == nil && len(rest) == 0 && k.Algo.Algorithm.Equal(oidRSASSAPSS) {
		return x509.ParsePKCS1PrivateKey(k.PrivateKey)
	}
	return smx509.ParsePKCS8PrivateKey(der)
}

// MarshalPrivateKeyPEM encodes key as a PKCS#8 "PRIVATE KEY" PEM block. It
// accepts *ecdsa.PrivateKey, *rsa.PrivateKey, ed25519.PrivateKey and
// *sm2.PrivateKey.
func MarshalPrivateKeyPEM(key crypto.Signer) ([]byte, error) {
	if k, ok := key.(*ecdsa.PrivateKey); ok && k.Curve == sm2.P256() {
		key = &sm2.PrivateKey{PrivateKey: *k}
	}
	der, err := smx509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, wrap(ErrInvalidKey, "cannot marshal private key")
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParsePublicKeyPEM parses the first PEM block of pemBytes as a public key:
// "PUBLIC KEY" (PKIX SubjectPublicKeyInfo, SM2 included) or "RSA PUBLIC KEY"
// (PKCS#1). An SM2 key is an *ecdsa.PublicKey on the SM2 curve.
func ParsePublicKeyPEM(pemBytes []byte) (crypto.PublicKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, wrap(ErrInvalidKey, "no pem block")
	}
	var key any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		key, err = smx509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		return nil, wrap(ErrInvalidKey, "unsupported pem block type "+block.Type)
	}
	if err != nil {
		return nil, wrap(ErrInvalidKey, "cannot parse public key")
	}
	return key, nil
}

// MarshalPublicKeyPEM encodes pub as a PKIX "PUBLIC KEY" PEM block; SM2 keys
// get the SM2 curve identifier.
func MarshalPublicKeyPEM(pub crypto.PublicKey) ([]byte, error) {
	der, err := smx509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, wrap(ErrInvalidKey, "cannot marshal public key")
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// AlgForKey returns the default algorithm for a private or public key: P-256
// → ecdsa-p256-sha256, SM2 → sm2-sm3, RSA → rsa-pss-sha512, Ed25519 →
// ed25519. A []byte secret has no default (hmac-sha256 or hmac-sm3 must be
// chosen); it and other keys are an error wrapping ErrInvalidKey.
func AlgForKey(key any) (string, error) {
	switch k := key.(type) {
	case *sm2.PrivateKey:
		if k != nil {
			return AlgSM2SM3, nil
		}
	case *ecdsa.PrivateKey:
		if k != nil {
			return algForCurve(k.Curve)
		}
	case *ecdsa.PublicKey:
		if k != nil {
			return algForCurve(k.Curve)
		}
	case *rsa.PrivateKey, *rsa.PublicKey:
		return AlgRSAPSSSHA512, nil
	case ed25519.PrivateKey, ed25519.PublicKey:
		return AlgEd25519, nil
	case []byte:
		return "", wrap(ErrInvalidKey, "a shared secret needs an explicit hmac algorithm")
	}
	return "", wrap(ErrInvalidKey, "unsupported key type")
}

func algForCurve(c elliptic.Curve) (string, error) {
	switch c {
	case elliptic.P256():
		return AlgECDSAP256SHA256, nil
	case sm2.P256():
		return AlgSM2SM3, nil
	}
	return "", wrap(ErrInvalidKey, "unsupported elliptic curve")
}

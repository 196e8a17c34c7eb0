package httpsig_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/bankguard/bankguard/httpsig"
	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSM3KnownAnswers uses the two examples of GB/T 32905-2016 Appendix A.
func TestSM3KnownAnswers(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"abc", "66c7f0f4 62eeedd9 d1f2d46b dc10e4e2 4167c487 5cf2f7a2 297da02b 8f4ba8e0"},
		{strings.Repeat("abcd", 16), "debe9ff9 2275b8a1 38604889 c18e5a4d 6fdb70e5 387e5765 293dcba3 9c0c5732"},
	} {
		got := sm3.Sum([]byte(tt.in))
		if !bytes.Equal(got[:], unhex(t, tt.want)) {
			t.Errorf("SM3(%q) = %x", tt.in, got)
		}
		// The sm3 content digest is the same function.
		d, err := httpsig.ContentDigest(httpsig.DigestSM3, []byte(tt.in))
		if err != nil || !strings.HasPrefix(d, "sm3=:") {
			t.Fatalf("ContentDigest: %q %v", d, err)
		}
		if err := httpsig.VerifyContentDigest([]string{d}, []byte(tt.in)); err != nil {
			t.Error(err)
		}
	}
}

// TestHMACSM3KnownAnswers uses GM/T 0042-2015 Appendix D.3, as reproduced in
// intel/intel-ipsec-mb test/kat-app/hmac_sm3.json.c (vector 2) and in
// GmSSL's HMAC-SM3 test data (vector 1).
func TestHMACSM3KnownAnswers(t *testing.T) {
	seq := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i + 1)
		}
		return b
	}
	for _, tt := range []struct {
		key, msg []byte
		want     string
	}{
		{seq(32), []byte(strings.Repeat("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 2)),
			"ca05e144ed05d1857840d1f318a4a8669e559fc8391f414485bfdf7bb408963a"},
		{seq(37), bytes.Repeat([]byte{0xcd}, 50),
			"220bf579ded555393f0159f66c99877822a3ecf610d1552154b41d44b94db3ae"},
	} {
		s := mustSigner(t, httpsig.AlgHMACSM3, tt.key)
		got, err := s.Sign(tt.msg)
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(got) != tt.want {
			t.Errorf("HMAC-SM3 = %x, want %s", got, tt.want)
		}
		if err := mustVerifier(t, httpsig.AlgHMACSM3, tt.key).Verify(tt.msg, got); err != nil {
			t.Error(err)
		}
	}
}

// rfc2104 computes HMAC from its definition in RFC 2104 §2 with the SM3
// compression exposed by sm3.Sum only, independently of crypto/hmac.
func rfc2104(key, msg []byte) []byte {
	const blockSize = 64
	if len(key) > blockSize {
		k := sm3.Sum(key)
		key = k[:]
	}
	k0 := make([]byte, blockSize)
	copy(k0, key)
	inner := make([]byte, 0, blockSize+len(msg))
	outer := make([]byte, 0, blockSize+sm3.Size)
	for _, b := range k0 {
		inner = append(inner, b^0x36)
		outer = append(outer, b^0x5c)
	}
	ih := sm3.Sum(append(inner, msg...))
	oh := sm3.Sum(append(outer, ih[:]...))
	return oh[:]
}

func TestHMACSM3MatchesRFC2104(t *testing.T) {
	for _, kl := range []int{32, 63, 64, 65, 200} {
		for _, ml := range []int{0, 1, 55, 56, 64, 1000} {
			key, msg := make([]byte, kl), make([]byte, ml)
			rand.Read(key)
			rand.Read(msg)
			got, _ := mustSigner(t, httpsig.AlgHMACSM3, key).Sign(msg)
			if !bytes.Equal(got, rfc2104(key, msg)) {
				t.Fatalf("key %d msg %d: HMAC-SM3 differs from RFC 2104", kl, ml)
			}
		}
	}
}

// TestSM2KnownAnswer verifies the signature example of GM/T 0003.5-2012
// Appendix A (recommended curve, default ID "1234567812345678", message
// "message digest"), which several independent implementations reproduce.
func TestSM2KnownAnswer(t *testing.T) {
	d := new(big.Int).SetBytes(unhex(t, "3945208F 7B2144B1 3F36E38A C6D39F95 88939369 2860B51A 42FB81EF 4DF7C5B8"))
	pub := &ecdsa.PublicKey{
		Curve: sm2.P256(),
		X:     new(big.Int).SetBytes(unhex(t, "09F9DF31 1E5421A1 50DD7D16 1E4BC5C6 72179FAD 1833FC07 6BB08FF3 56F35020")),
		Y:     new(big.Int).SetBytes(unhex(t, "CCEA490C E26775A5 2DC6EA71 8CC1AA60 0AED05FB F35E084A 6632F607 2DA9AD13")),
	}
	msg := []byte("message digest")
	sig := unhex(t, "F5A03B06 48D2C463 0EEAC513 E1BB81A1 5944DA38 27D5B741 43AC7EAC EEE720B3"+
		"B1B6AA29 DF212FD8 763182BC 0D421CA1 BB9038FD 1F7F42D4 840B69C4 85BBC1AA")

	// The public key belongs to d.
	x, y := sm2.P256().ScalarBaseMult(d.Bytes())
	if x.Cmp(pub.X) != 0 || y.Cmp(pub.Y) != 0 {
		t.Fatal("public key does not match the private key")
	}
	// e = SM3(ZA ‖ M) as printed in the standard.
	za, err := sm2.CalculateZA(pub, []byte("1234567812345678"))
	if err != nil {
		t.Fatal(err)
	}
	e := sm3.Sum(append(za, msg...))
	if want := unhex(t, "F0B43E94 BA45ACCA ACE692ED 534382EB 17E6AB5A 19CE7B31 F4486FDF C0D28640"); !bytes.Equal(e[:], want) {
		t.Fatalf("e = %x", e)
	}
	v := mustVerifier(t, httpsig.AlgSM2SM3, pub)
	if err := v.Verify(msg, sig); err != nil {
		t.Fatalf("standard signature: %v", err)
	}
	bad := bytes.Clone(sig)
	bad[63] ^= 1
	if err := v.Verify(msg, bad); !errors.Is(err, httpsig.ErrVerification) {
		t.Fatalf("altered signature: %v", err)
	}
	if err := v.Verify([]byte("message digesT"), sig); !errors.Is(err, httpsig.ErrVerification) {
		t.Fatalf("altered message: %v", err)
	}

	// The same signature in ASN.1 DER is refused: the profile carries r‖s.
	der, _ := asn1.Marshal(struct{ R, S *big.Int }{
		new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])})
	if !sm2.VerifyASN1WithSM2(pub, nil, msg, der) {
		t.Fatal("gmsm rejects the standard signature")
	}
	if err := v.Verify(msg, der); !errors.Is(err, httpsig.ErrVerification) {
		t.Fatalf("ASN.1 signature: %v, want ErrVerification", err)
	}
}

func TestSM2RoundTrip(t *testing.T) {
	priv, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s := mustSigner(t, httpsig.AlgSM2SM3, priv)
	v := mustVerifier(t, httpsig.AlgSM2SM3, &priv.PublicKey)
	for i := 0; i < 20; i++ {
		msg := []byte(strings.Repeat("x", i*7))
		sig, err := s.Sign(msg)
		if err != nil {
			t.Fatal(err)
		}
		if len(sig) != 64 {
			t.Fatalf("signature of %d bytes, want r‖s of 64", len(sig))
		}
		if err := v.Verify(msg, sig); err != nil {
			t.Fatal(err)
		}
		// gmsm agrees: the signature is a GM/T 0009 signature with the default ID.
		der, _ := asn1.Marshal(struct{ R, S *big.Int }{
			new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])})
		if !sm2.VerifyASN1WithSM2(&priv.PublicKey, []byte("1234567812345678"), msg, der) {
			t.Fatal("gmsm does not verify our signature")
		}
		if err := v.Verify(msg, der); err == nil {
			t.Fatal("an ASN.1 signature was accepted")
		}
	}
	// An *ecdsa.PrivateKey on the SM2 curve is accepted as well.
	if _, err := httpsig.NewSigner(httpsig.AlgSM2SM3, &priv.PrivateKey); err != nil {
		t.Fatal(err)
	}
}

// TestSignVerifyAllAlgorithms round-trips every algorithm and checks that a
// signature from another key or of another base fails.
func TestSignVerifyAllAlgorithms(t *testing.T) {
	for _, alg := range []string{httpsig.AlgHMACSHA256, httpsig.AlgHMACSM3, httpsig.AlgECDSAP256SHA256,
		httpsig.AlgRSAPSSSHA512, httpsig.AlgEd25519, httpsig.AlgSM2SM3} {
		t.Run(alg, func(t *testing.T) {
			priv1, pub1 := newKey(t, alg)
			_, pub2 := newKey(t, alg)
			if !httpsig.Supported(alg) || httpsig.Symmetric(alg) != strings.HasPrefix(alg, "hmac-") {
				t.Fatal("Supported/Symmetric")
			}
			s := mustSigner(t, alg, priv1)
			if s.Alg() != alg {
				t.Fatalf("Alg() = %s", s.Alg())
			}
			base := []byte(`"@method": GET` + "\n" + `"@signature-params": ("@method")`)
			sig, err := s.Sign(base)
			if err != nil {
				t.Fatal(err)
			}
			if err := mustVerifier(t, alg, pub1).Verify(base, sig); err != nil {
				t.Fatal(err)
			}
			if err := mustVerifier(t, alg, pub2).Verify(base, sig); !errors.Is(err, httpsig.ErrVerification) {
				t.Fatalf("other key: %v", err)
			}
			if err := mustVerifier(t, alg, pub1).Verify(append(base, ' '), sig); !errors.Is(err, httpsig.ErrVerification) {
				t.Fatalf("other base: %v", err)
			}
			if err := mustVerifier(t, alg, pub1).Verify(base, sig[:len(sig)-1]); !errors.Is(err, httpsig.ErrVerification) {
				t.Fatalf("short signature: %v", err)
			}
			if got, err := httpsig.AlgForKey(pub1); !httpsig.Symmetric(alg) && (err != nil || got != alg) {
				t.Fatalf("AlgForKey = %s, %v", got, err)
			}
		})
	}
}

// newKey returns a fresh key pair (or twice the same secret) for alg.
func newKey(t testing.TB, alg string) (priv, pub any) {
	t.Helper()
	switch alg {
	case httpsig.AlgHMACSHA256, httpsig.AlgHMACSM3:
		k := make([]byte, 32)
		rand.Read(k)
		return k, k
	case httpsig.AlgECDSAP256SHA256:
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		return k, &k.PublicKey
	case httpsig.AlgRSAPSSSHA512:
		k, _ := rsa.GenerateKey(rand.Reader, 2048)
		return k, &k.PublicKey
	case httpsig.AlgEd25519:
		pub, k, _ := ed25519.GenerateKey(rand.Reader)
		return k, pub
	case httpsig.AlgSM2SM3:
		k, _ := sm2.GenerateKey(rand.Reader)
		return k, &k.PublicKey
	}
	t.Fatalf("no key for %s", alg)
	return nil, nil
}

// TestKeyTypeMismatch: a key of the wrong type, curve or size is refused.
func TestKeyTypeMismatch(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	sm2Key, _ := sm2.GenerateKey(rand.Reader)
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	tests := []struct {
		name, alg string
		key       any
		signer    bool
	}{
		{"hmac short", httpsig.AlgHMACSHA256, make([]byte, 31), true},
		{"hmac-sm3 short", httpsig.AlgHMACSM3, make([]byte, 16), false},
		{"hmac string", httpsig.AlgHMACSHA256, strings.Repeat("k", 40), true},
		{"ecdsa with p384", httpsig.AlgECDSAP256SHA256, p384, true},
		{"ecdsa with sm2 curve", httpsig.AlgECDSAP256SHA256, &sm2Key.PublicKey, false},
		{"ecdsa with ed25519", httpsig.AlgECDSAP256SHA256, edPub, false},
		{"sm2 with p256", httpsig.AlgSM2SM3, &p256.PublicKey, false},
		{"sm2 signer with p256", httpsig.AlgSM2SM3, p256, true},
		{"rsa with ecdsa", httpsig.AlgRSAPSSSHA512, p256, true},
		{"rsa 1024", httpsig.AlgRSAPSSSHA512, &small.PublicKey, false},
		{"ed25519 with private key as public", httpsig.AlgEd25519, edPriv, false},
		{"ed25519 signer with public key", httpsig.AlgEd25519, edPub, true},
		{"nil", httpsig.AlgEd25519, nil, false},
		{"typed nil", httpsig.AlgECDSAP256SHA256, (*ecdsa.PublicKey)(nil), false},
		{"p256 point off the curve", httpsig.AlgECDSAP256SHA256, &ecdsa.PublicKey{Curve: elliptic.P256(), X: big.NewInt(1), Y: big.NewInt(1)}, false},
		{"sm2 point off the curve", httpsig.AlgSM2SM3, &ecdsa.PublicKey{Curve: sm2.P256(), X: big.NewInt(1), Y: big.NewInt(1)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.signer {
				_, err = httpsig.NewSigner(tt.alg, tt.key)
			} else {
				_, err = httpsig.NewVerifier(tt.alg, tt.key)
			}
			if !errors.Is(err, httpsig.ErrInvalidKey) {
				t.Fatalf("got %v, want ErrInvalidKey", err)
			}
		})
	}
	if _, err := httpsig.NewSigner("rsa-v1_5-sha256", small); !errors.Is(err, httpsig.ErrUnsupportedAlg) {
		t.Fatalf("unknown alg: %v", err)
	}
	if _, err := httpsig.NewVerifier("hmac-md5", make([]byte, 32)); !errors.Is(err, httpsig.ErrUnsupportedAlg) {
		t.Fatalf("unknown alg: %v", err)
	}
}

// TestKeyPEM round-trips every key type through PEM, SM2 included, and
// checks the parsed key still signs for its default algorithm.
func TestKeyPEM(t *testing.T) {
	for _, alg := range []string{httpsig.AlgECDSAP256SHA256, httpsig.AlgRSAPSSSHA512, httpsig.AlgEd25519, httpsig.AlgSM2SM3} {
		t.Run(alg, func(t *testing.T) {
			priv, pub := newKey(t, alg)
			privPEM, err := httpsig.MarshalPrivateKeyPEM(priv.(crypto.Signer))
			if err != nil {
				t.Fatal(err)
			}
			pubPEM, err := httpsig.MarshalPublicKeyPEM(pub)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(privPEM, []byte("-----BEGIN PRIVATE KEY-----")) {
				t.Fatalf("not PKCS#8: %s", privPEM)
			}
			priv2, err := httpsig.ParsePrivateKeyPEM(privPEM)
			if err != nil {
				t.Fatal(err)
			}
			pub2, err := httpsig.ParsePublicKeyPEM(pubPEM)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := httpsig.AlgForKey(priv2); got != alg {
				t.Fatalf("AlgForKey(parsed private key) = %s", got)
			}
			if alg == httpsig.AlgSM2SM3 {
				if _, ok := priv2.(*sm2.PrivateKey); !ok {
					t.Fatalf("SM2 key parsed as %T", priv2)
				}
			}
			sig, err := mustSigner(t, alg, priv2).Sign([]byte("base"))
			if err != nil {
				t.Fatal(err)
			}
			if err := mustVerifier(t, alg, pub2).Verify([]byte("base"), sig); err != nil {
				t.Fatal(err)
			}
		})
	}
	// SEC 1 "EC PRIVATE KEY" on the SM2 curve.
	k, _ := sm2.GenerateKey(rand.Reader)
	der, err := smx509.MarshalSM2PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := httpsig.ParsePrivateKeyPEM(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := parsed.(*sm2.PrivateKey); !ok {
		t.Fatalf("SEC 1 SM2 key parsed as %T", parsed)
	}
	for _, bad := range []string{"", "not pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
		"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"} {
		if _, err := httpsig.ParsePrivateKeyPEM([]byte(bad)); !errors.Is(err, httpsig.ErrInvalidKey) {
			t.Errorf("ParsePrivateKeyPEM(%q) = %v", bad, err)
		}
		if _, err := httpsig.ParsePublicKeyPEM([]byte(bad)); !errors.Is(err, httpsig.ErrInvalidKey) {
			t.Errorf("ParsePublicKeyPEM(%q) = %v", bad, err)
		}
	}
	if _, err := httpsig.AlgForKey(make([]byte, 32)); !errors.Is(err, httpsig.ErrInvalidKey) {
		t.Errorf("AlgForKey(secret) = %v", err)
	}
}

// TestVerifierConcurrent exercises the pooled HMAC state from many goroutines
// (run with -race).
func TestVerifierConcurrent(t *testing.T) {
	for _, alg := range []string{httpsig.AlgHMACSM3, httpsig.AlgSM2SM3} {
		priv, pub := newKey(t, alg)
		s, v := mustSigner(t, alg, priv), mustVerifier(t, alg, pub)
		done := make(chan error)
		for g := 0; g < 8; g++ {
			go func() {
				var err error
				for i := 0; i < 20 && err == nil; i++ {
					msg := []byte(strings.Repeat("m", g*10+i))
					sig, _ := s.Sign(msg)
					err = v.Verify(msg, sig)
					if err == nil && v.Verify(append(msg, '!'), sig) == nil {
						err = errors.New("altered message verified")
					}
				}
				done <- err
			}()
		}
		for g := 0; g < 8; g++ {
			if err := <-done; err != nil {
				t.Fatalf("%s: %v", alg, err)
			}
		}
	}
}

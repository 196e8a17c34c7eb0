package httpsig_test

import (
	"testing"

	"github.com/bankguard/bankguard/httpsig"
)

// The gateway's hot path for one request: parse the signature fields, build
// the signature base (five components) and verify.
func benchmarkVerify(b *testing.B, alg string, priv, pub any) {
	in := profileInput("sig")
	in.Params.Alg = alg
	r := signedRequest(b, mustSigner(b, alg, priv), in)
	v := mustVerifier(b, alg, pub)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		sigs, err := httpsig.ParseSignatures(r.Header)
		if err != nil {
			b.Fatal(err)
		}
		if err := sigs[0].Verify(httpsig.NewRequestMessage(r), v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyHMACSM3(b *testing.B) {
	benchmarkVerify(b, httpsig.AlgHMACSM3, testSecret, testSecret)
}

func BenchmarkVerifySM2(b *testing.B) {
	priv, pub := newKey(b, httpsig.AlgSM2SM3)
	benchmarkVerify(b, httpsig.AlgSM2SM3, priv, pub)
}

func BenchmarkVerifyEd25519(b *testing.B) {
	priv, pub := newKey(b, httpsig.AlgEd25519)
	benchmarkVerify(b, httpsig.AlgEd25519, priv, pub)
}

func BenchmarkVerifyContentDigestSM3(b *testing.B) {
	d, _ := httpsig.ContentDigest(httpsig.DigestSM3, testBody)
	fields := []string{d}
	b.ReportAllocs()
	for b.Loop() {
		if err := httpsig.VerifyContentDigest(fields, testBody); err != nil {
			b.Fatal(err)
		}
	}
}

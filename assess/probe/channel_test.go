package probe

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bankguard/bankguard/assess"
)

func TestJudgeVersions(t *testing.T) {
	ok := tlsAttempt{sent: true}
	refused := tlsAttempt{sent: true, err: errors.New("remote error: tls: protocol version not supported")}
	local := tlsAttempt{err: errors.New("tls: no supported versions")}
	tests := []struct {
		name                   string
		v10, v11, v12, v13     tlsAttempt
		want                   assess.Verdict
		reasonHas, reasonLacks string
	}{
		{name: "modern only", v10: refused, v11: refused, v12: ok, v13: ok, want: assess.Pass},
		{name: "TLS 1.3 only", v10: refused, v11: refused, v12: refused, v13: ok, want: assess.Pass},
		{name: "TLS 1.0 accepted", v10: ok, v11: refused, v12: ok, v13: ok, want: assess.Fail, reasonHas: "TLS 1.0", reasonLacks: "TLS 1.1"},
		{name: "TLS 1.1 accepted", v10: refused, v11: ok, v12: ok, v13: ok, want: assess.Fail, reasonHas: "TLS 1.1"},
		{name: "nothing accepted", v10: refused, v11: refused, v12: refused, v13: refused, want: assess.Error},
		{name: "old versions not offered", v10: local, v11: local, v12: ok, v13: ok, want: assess.NotTested},
	}
	for _, tc := range tests {
		got := map[uint16]tlsAttempt{tls.VersionTLS10: tc.v10, tls.VersionTLS11: tc.v11, tls.VersionTLS12: tc.v12, tls.VersionTLS13: tc.v13}
		r := judgeVersions("bank.example:443", got)
		if r.Verdict != tc.want {
			t.Errorf("%s: %s (%s), want %s", tc.name, r.Verdict, r.Reason, tc.want)
		}
		if !strings.Contains(r.Reason, tc.reasonHas) || tc.reasonLacks != "" && strings.Contains(r.Reason, tc.reasonLacks) {
			t.Errorf("%s: reason %q should name %q and not %q", tc.name, r.Reason, tc.reasonHas, tc.reasonLacks)
		}
	}
}

func TestKeyStrength(t *testing.T) {
	rsaKey := func(bits int) *rsa.PublicKey {
		return &rsa.PublicKey{N: new(big.Int).Lsh(big.NewInt(1), uint(bits-1)), E: 65537}
	}
	tests := []struct {
		name string
		key  any
		want bool
	}{
		{"RSA 1024", rsaKey(1024), false},
		{"RSA 2048", rsaKey(2048), true},
		{"P-224", &ecdsa.PublicKey{Curve: elliptic.P224()}, false},
		{"P-256", &ecdsa.PublicKey{Curve: elliptic.P256()}, true},
		{"unknown", "not a key", false},
	}
	for _, tc := range tests {
		if desc, ok := keyStrength(&x509.Certificate{PublicKey: tc.key}); ok != tc.want {
			t.Errorf("%s (%s): adequate %v, want %v", tc.name, desc, ok, tc.want)
		}
	}
	if !weakSignature(x509.SHA1WithRSA) || !weakSignature(x509.MD5WithRSA) || weakSignature(x509.ECDSAWithSHA256) {
		t.Error("weakSignature misjudges SHA-1, MD5 or SHA-256")
	}
}

func TestCertProblems(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name     string
		from, to time.Time
		hosts    []string
		want     []string
	}{
		{"good", now.Add(-time.Hour), now.Add(time.Hour), []string{"bank.example"}, nil},
		{"expired", now.Add(-2 * time.Hour), now.Add(-time.Hour), []string{"bank.example"}, []string{"expired on"}},
		{"not yet valid", now.Add(time.Hour), now.Add(2 * time.Hour), []string{"bank.example"}, []string{"not valid before"}},
		{"other host", now.Add(-time.Hour), now.Add(time.Hour), []string{"other.example"}, []string{"not valid for the host bank.example (it names other.example)"}},
	}
	for _, tc := range tests {
		c := selfSignedCert(t, tc.from, tc.to, tc.hosts)
		got := certProblems([]*x509.Certificate{c}, "bank.example", now)
		if len(got) != len(tc.want) {
			t.Errorf("%s: problems %q, want %q", tc.name, got, tc.want)
			continue
		}
		for i := range got {
			if !strings.Contains(got[i], tc.want[i]) {
				t.Errorf("%s: problem %q, want %q", tc.name, got[i], tc.want[i])
			}
		}
	}
}

func TestVerifyChain(t *testing.T) {
	now := time.Now()
	c := selfSignedCert(t, now.Add(-time.Hour), now.Add(time.Hour), []string{"bank.example"})
	if err := verifyChain([]*x509.Certificate{c}, x509.NewCertPool(), now); err == nil {
		t.Error("a certificate from an untrusted issuer verified")
	}
	roots := x509.NewCertPool()
	roots.AddCert(c)
	if err := verifyChain([]*x509.Certificate{c}, roots, now); err != nil {
		t.Errorf("a certificate from a trusted issuer: %v", err)
	}
}

func selfSignedCert(t *testing.T, from, to time.Time, hosts []string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: from, NotAfter: to, DNSNames: hosts, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPlainAPIAnswer(t *testing.T) {
	problemJSON := http.Header{"Content-Type": {"application/problem+json"}}
	tests := []struct {
		name string
		x    *Exchange
		api  bool
	}{
		{"TLS server's 400", &Exchange{Status: 400, Header: http.Header{}, Body: []byte("Client sent an HTTP request to an HTTPS server.\n")}, false},
		{"API answer", &Exchange{Status: 200, Header: http.Header{}}, true},
		{"redirect", &Exchange{Status: 301, Header: http.Header{"Location": {"https://bank.example/"}}}, true},
		{"gateway refusal", &Exchange{Status: 401, Header: http.Header{"X-Request-Id": {"T1"}}}, true},
		{"problem+json", &Exchange{Status: 401, Header: problemJSON, Body: []byte(`{"status":401,"code":"signature_missing"}`)}, true},
	}
	for _, tc := range tests {
		if got := plainAPIAnswer(tc.x); (got != "") != tc.api {
			t.Errorf("%s: %q, want an API answer: %v", tc.name, got, tc.api)
		}
	}
}

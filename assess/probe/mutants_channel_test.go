package probe_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bankguard/bankguard/assess"
	"github.com/bankguard/bankguard/assess/internal/weak"
	"github.com/bankguard/bankguard/profile"
)

// channelMutants are the mutants of the checks in channel.go, data.go and
// audit.go.
var channelMutants = []mutant{
	{check: "tls.versions", onDemo: assess.Pass, name: "TLS 1.0 and 1.1 allowed",
		mutation: weak.Mutation{TLS: func(c *tls.Config) { c.MinVersion, c.CipherSuites = tls.VersionTLS10, nil }}},
	{check: "tls.versions", onDemo: assess.Pass, name: "TLS 1.1 allowed",
		mutation: weak.Mutation{TLS: func(c *tls.Config) { c.MinVersion, c.CipherSuites = tls.VersionTLS11, nil }}},
	{check: "tls.ciphers", onDemo: assess.Pass, name: "CBC suites enabled",
		mutation: weak.Mutation{TLS: channelSuites(tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA)}},
	{check: "tls.ciphers", onDemo: assess.Pass, name: "RC4 enabled",
		mutation: weak.Mutation{TLS: channelSuites(tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA)}},
	{check: "tls.certificate", onDemo: assess.Pass, name: "expired certificate",
		mutation: weak.Mutation{TLS: channelCertificate(channelExpired)}},
	{check: "tls.certificate", onDemo: assess.Pass, name: "certificate for another host",
		mutation: weak.Mutation{TLS: channelCertificate(channelWrongHost)}},
	{check: "tls.certificate", onDemo: assess.Pass, name: "RSA 1024-bit key",
		mutation: weak.Mutation{TLS: channelCertificate(channelWeakKey)}},
	{check: "tls.certificate", onDemo: assess.Pass, name: "self-signed certificate",
		mutation: weak.Mutation{TLS: channelCertificate(channelSelfSigned)}},
	{check: "transport.plaintext", onDemo: assess.Pass, name: "plain HTTP served on the TLS port",
		mutation: weak.Mutation{Plaintext: true}},
	{check: "pii.masked", onDemo: assess.Pass, name: "card number unmasked",
		mutation: weak.Mutation{Response: channelRewrite("/v1/accounts", channelSetAccount("card_number", "6222021234567890128"))}},
	{check: "pii.masked", onDemo: assess.Pass, name: "resident ID number unmasked",
		mutation: weak.Mutation{Response: channelRewrite("/v1/accounts", channelSetAccount("holder_id_number", "11010519491231002X"))}},
	{check: "pii.masked", onDemo: assess.Pass, name: "holder name unmasked",
		mutation: weak.Mutation{Response: channelRewrite("/v1/accounts", channelSetAccount("holder_name", "王小明"))}},
	{check: "transport.a2-response-protected", onDemo: assess.Pass, name: "bank signature stripped",
		mutation: weak.Mutation{Response: channelStripSignature}},
	{check: "transport.a2-response-protected", onDemo: assess.Pass, name: "signed answer altered",
		mutation: weak.Mutation{Response: channelRewrite("/balance", func(doc map[string]any) { doc["balance"] = "999999.99" })}},
	{check: "audit.records", onDemo: assess.Pass, name: "records not kept",
		mutation: weak.Mutation{Admin: true, Response: channelRewrite("/audit/records", func(doc map[string]any) { doc["records"] = []any{} })}},
	{check: "audit.records", onDemo: assess.Pass, name: "records without latency",
		mutation: weak.Mutation{Admin: true, Response: channelRewrite("/audit/records", channelDropField("latency_ms"))}},
	{check: "audit.integrity", onDemo: assess.Pass, name: "proof hashes corrupted",
		mutation: weak.Mutation{Admin: true, Response: channelRewrite("/audit/proof", channelCorruptProof)}},
	{check: "audit.integrity", onDemo: assess.Pass, name: "listed record differs from the proved one",
		mutation: weak.Mutation{Admin: true, Response: channelRewrite("/audit/records", channelSetRecords("status", 201))}},
}

// channelSuites makes the front offer, with TLS 1.2, an AEAD suite and the
// given weak ones.
func channelSuites(weakSuites ...uint16) func(*tls.Config) {
	return func(c *tls.Config) {
		c.CipherSuites = append([]uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, weakSuites...)
	}
}

// A certificate flaw the front's certificate has.
const (
	channelExpired = iota
	channelWrongHost
	channelWeakKey
	channelSelfSigned
)

// channelCertificate makes the front present a certificate with a flaw,
// issued by the demo CA (pki/ca.pem, pki/ca-key.pem) unless self-signed. A
// certificate that cannot be made leaves the front without one, which the
// check reports as an error.
func channelCertificate(flaw int) func(*tls.Config) {
	return func(c *tls.Config) {
		c.Certificates = nil
		if cert, err := channelIssue(theDemo.Dir, flaw); err == nil {
			c.Certificates = []tls.Certificate{cert}
		}
	}
}

// channelIssue issues the flawed certificate.
func channelIssue(dir string, flaw int) (tls.Certificate, error) {
	ca, err := tls.LoadX509KeyPair(filepath.Join(dir, "pki", "ca.pem"), filepath.Join(dir, "pki", "ca-key.pem"))
	if err != nil {
		return tls.Certificate{}, err
	}
	caCert, err := x509.ParseCertificate(ca.Certificate[0])
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()),
		Subject:      pkix.Name{CommonName: "flawed front"},
		NotBefore:    now.Add(-time.Hour), NotAfter: now.Add(90 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	var key crypto.Signer
	var signer any = ca.PrivateKey
	parent := caCert
	switch flaw {
	case channelExpired:
		tmpl.NotBefore, tmpl.NotAfter = now.Add(-48*time.Hour), now.Add(-24*time.Hour)
	case channelWrongHost:
		tmpl.DNSNames, tmpl.IPAddresses = []string{"wrong-host.example"}, nil
	case channelSelfSigned:
		parent = tmpl
	}
	if flaw == channelWeakKey {
		key, err = rsa.GenerateKey(rand.Reader, 1024)
	} else {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		return tls.Certificate{}, err
	}
	if flaw == channelSelfSigned {
		signer = key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// channelRewrite rewrites the JSON answers to paths ending in suffix.
func channelRewrite(suffix string, f func(doc map[string]any)) func(*http.Response) error {
	return func(resp *http.Response) error {
		if !strings.HasSuffix(resp.Request.URL.Path, suffix) || resp.StatusCode != http.StatusOK {
			return nil
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		var doc map[string]any
		if json.Unmarshal(b, &doc) == nil {
			f(doc)
			if nb, err := json.Marshal(doc); err == nil {
				b = nb
			}
		}
		resp.Body = io.NopCloser(strings.NewReader(string(b)))
		resp.ContentLength = int64(len(b))
		resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
}

// channelSetAccount sets a member of the first account of {"accounts": […]}.
func channelSetAccount(member, value string) func(map[string]any) {
	return func(doc map[string]any) {
		if list, _ := doc["accounts"].([]any); len(list) > 0 {
			if a, ok := list[0].(map[string]any); ok {
				a[member] = value
			}
		}
	}
}

// channelRecords applies f to every record of {"records": […]}.
func channelRecords(doc map[string]any, f func(map[string]any)) {
	list, _ := doc["records"].([]any)
	for _, r := range list {
		if m, ok := r.(map[string]any); ok {
			f(m)
		}
	}
}

// channelDropField removes a field from every listed audit record.
func channelDropField(field string) func(map[string]any) {
	return func(doc map[string]any) { channelRecords(doc, func(r map[string]any) { delete(r, field) }) }
}

// channelSetRecords changes a field of every listed audit record.
func channelSetRecords(field string, v any) func(map[string]any) {
	return func(doc map[string]any) { channelRecords(doc, func(r map[string]any) { r[field] = v }) }
}

// channelCorruptProof flips a bit of the proof's first hash (or of the
// checkpoint's root when the proof has no hash).
func channelCorruptProof(doc map[string]any) {
	flip := func(s any) any {
		b, err := base64.StdEncoding.DecodeString(s.(string))
		if err != nil || len(b) == 0 {
			return s
		}
		b[0] ^= 1
		return base64.StdEncoding.EncodeToString(b)
	}
	if hs, _ := doc["hashes"].([]any); len(hs) > 0 {
		hs[0] = flip(hs[0])
		return
	}
	if cp, ok := doc["checkpoint"].(map[string]any); ok {
		cp["root"] = flip(cp["root"])
	}
}

// channelStripSignature removes the bank's signature from every answer.
func channelStripSignature(resp *http.Response) error {
	resp.Header.Del("Signature")
	resp.Header.Del("Signature-Input")
	return nil
}

// channelIDs are the checks of channel.go, data.go and audit.go.
var channelIDs = []string{"tls.versions", "tls.ciphers", "tls.certificate", "transport.plaintext",
	"pii.masked", "transport.a2-response-protected", "audit.records", "audit.integrity"}

func TestChannelChecksOnAnUnreachableTarget(t *testing.T) {
	p, err := startDemo(t).LoadProfile()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.Target.BaseURL = "https://" + ln.Addr().String()
	ln.Close()
	for id, r := range runChecks(t, p, channelIDs...) {
		if r.Verdict != assess.Error {
			t.Errorf("%s on a closed port: %s (%s), want error", id, r.Verdict, r.Reason)
		}
	}
}

func TestChannelChecksWithoutTheirEndpoints(t *testing.T) {
	p, err := startDemo(t).LoadProfile()
	if err != nil {
		t.Fatal(err)
	}
	p.Endpoints.PersonalData, p.Endpoints.A2Read, p.Endpoints.AuditRecords = nil, nil, nil
	want := map[string]string{"pii.masked": "endpoints.personal_data", "transport.a2-response-protected": "endpoints.a2_read",
		"audit.records": "endpoints.audit_records", "audit.integrity": "endpoints.audit_records"}
	results := runChecks(t, p, channelIDs...)
	for id, field := range want {
		if r := results[id]; r.Verdict != assess.NotTested || !strings.Contains(r.Reason, field) {
			t.Errorf("%s without %s: %s (%s), want not_tested naming it", id, field, r.Verdict, r.Reason)
		}
	}
	p.Endpoints.AuditRecords = &profile.Endpoint{Method: "GET", Path: "/admin/v1/audit/records"}
	p.Target.AdminClientCert, p.Target.AdminClientKey = "", ""
	if r := runChecks(t, p, "audit.records")["audit.records"]; r.Verdict != assess.NotTested || !strings.Contains(r.Reason, "target.admin_client_cert") {
		t.Errorf("audit.records without admin credentials: %s (%s)", r.Verdict, r.Reason)
	}
}

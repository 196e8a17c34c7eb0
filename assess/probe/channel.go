package probe

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/bankguard/bankguard/assess"
	"github.com/bankguard/bankguard/profile"
)

// tlsDialTimeout bounds a TCP connection attempt, tlsHandshakeTimeout a TLS handshake.
const (
	tlsDialTimeout      = 5 * time.Second
	tlsHandshakeTimeout = 5 * time.Second
)

// channelChecks are the checks of the secure channel between the bank and the
// application party: TLS versions, cipher suites, the server certificate and
// the absence of a plaintext API (T/PCAC 0008-2020 5.2.2).
func channelChecks(t *Target) []assess.Check {
	return []assess.Check{
		{ID: "tls.versions", Title: "TLS 1.0 and 1.1 refused, TLS 1.2 or later accepted",
			Items: []string{"5.2.2-3"}, Run: t.checkTLSVersions},
		{ID: "tls.ciphers", Title: "Weak TLS 1.2 cipher suites refused, ECDHE with AEAD accepted",
			Items: []string{"5.2.2-3", "3.1-1"}, Run: t.checkTLSCiphers},
		{ID: "tls.certificate", Title: "Server certificate trusted, valid, for the host, with a strong key",
			Items: []string{"5.2.2-3", "3.1-1"}, Run: t.checkTLSCertificate},
		{ID: "transport.plaintext", Title: "No API answer over plain HTTP",
			Items: []string{"5.2.2-3"}, Run: t.checkPlaintext},
	}
}

// tlsTarget is where the target's TLS listener is and how a probe reaches it.
type tlsTarget struct {
	addr string // host:port
	host string
	port string
	// cfg trusts target.ca_cert (or the system roots) and names the host.
	cfg *tls.Config
}

// tlsTarget reads the target's address from target.base_url.
func (t *Target) tlsTarget() (*tlsTarget, error) {
	u, err := url.Parse(t.Profile.Target.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("target.base_url: %w", err)
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "443"
	}
	cfg, err := t.Profile.TLSConfig(nil)
	if err != nil {
		return nil, err
	}
	cfg.ServerName = host
	return &tlsTarget{addr: net.JoinHostPort(host, port), host: host, port: port, cfg: cfg}, nil
}

// probeConfig returns a configuration that offers exactly the versions from
// min to max and the given suites (nil: the library's defaults). It does not
// verify the certificate: the handshake only asks what the server accepts,
// and tls.certificate judges the certificate.
func (tt *tlsTarget) probeConfig(minV, maxV uint16, suites []uint16) *tls.Config {
	c := tt.cfg.Clone()
	c.MinVersion, c.MaxVersion, c.CipherSuites = minV, maxV, suites
	c.InsecureSkipVerify = true //nolint:gosec // the probe asks what the server accepts, not whom to trust
	return c
}

// tlsAttempt is the outcome of one TLS handshake.
type tlsAttempt struct {
	state tls.ConnectionState
	// dialErr: no TCP connection; err: the handshake failed.
	dialErr, err error
	// sent is false when the client library refused to offer the
	// configuration: nothing reached the server.
	sent bool
}

// accepted reports whether the server completed the handshake.
func (a tlsAttempt) accepted() bool { return a.dialErr == nil && a.err == nil }

// note describes the outcome for the evidence.
func (a tlsAttempt) note() string {
	switch {
	case a.dialErr != nil:
		return "no connection: " + a.dialErr.Error()
	case !a.sent:
		return "not offered: the assessor's TLS library refused to offer this (" + a.err.Error() + ")"
	case a.err != nil:
		return "refused: " + a.err.Error()
	}
	return fmt.Sprintf("accepted: %s with %s", tls.VersionName(a.state.Version), tls.CipherSuiteName(a.state.CipherSuite))
}

// handshake connects to the target and runs one TLS handshake with cfg.
func (tt *tlsTarget) handshake(ctx context.Context, cfg *tls.Config) tlsAttempt {
	d := net.Dialer{Timeout: tlsDialTimeout}
	conn, err := d.DialContext(ctx, "tcp", tt.addr)
	if err != nil {
		return tlsAttempt{dialErr: err}
	}
	cc := &countingConn{Conn: conn}
	tc := tls.Client(cc, cfg)
	defer tc.Close()
	hctx, cancel := context.WithTimeout(ctx, tlsHandshakeTimeout)
	defer cancel()
	err = tc.HandshakeContext(hctx)
	return tlsAttempt{state: tc.ConnectionState(), err: err, sent: cc.written > 0}
}

// countingConn counts the bytes written, to tell a server's refusal from the
// client's own.
type countingConn struct {
	net.Conn
	written int
}

func (c *countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.written += n
	return n, err
}

// tcpUnreachable is the error result for a target whose port cannot be reached.
func tcpUnreachable(addr string, err error, ev []assess.Evidence) assess.Result {
	return assess.Errorf("The target %s cannot be reached over TCP: %v.", addr, err).With(ev...)
}

// tlsVersions are the versions tls.versions offers, one at a time.
var tlsVersions = []uint16{tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS12, tls.VersionTLS13}

// allSuites are every suite the library can offer, so that a version probe
// fails for the version alone.
func allSuites() []uint16 {
	var ids []uint16
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		ids = append(ids, s.ID)
	}
	return ids
}

// checkTLSVersions offers TLS 1.0, 1.1, 1.2 and 1.3 one at a time: the old
// two must be refused and one of the others accepted. T/PCAC 0008-2020 5.2.2.
func (t *Target) checkTLSVersions(ctx context.Context) assess.Result {
	tt, err := t.tlsTarget()
	if err != nil {
		return assess.Errorf("The profile's target cannot be used: %v.", err)
	}
	var ev []assess.Evidence
	got := map[uint16]tlsAttempt{}
	for _, v := range tlsVersions {
		a := tt.handshake(ctx, tt.probeConfig(v, v, allSuites()))
		ev = append(ev, assess.Evidence{Title: "TLS handshake offering only " + tls.VersionName(v), Note: a.note()})
		if a.dialErr != nil {
			return tcpUnreachable(tt.addr, a.dialErr, ev)
		}
		got[v] = a
	}
	return judgeVersions(tt.addr, got).With(ev...)
}

// judgeVersions decides tls.versions from the handshakes by version.
func judgeVersions(addr string, got map[uint16]tlsAttempt) assess.Result {
	var old, modern, untested []string
	for _, v := range tlsVersions {
		a, name := got[v], tls.VersionName(v)
		switch {
		case a.accepted() && v < tls.VersionTLS12:
			old = append(old, name)
		case a.accepted():
			modern = append(modern, name)
		case !a.sent && v < tls.VersionTLS12:
			untested = append(untested, name)
		}
	}
	switch {
	case len(old) > 0:
		return assess.Failf("The target %s accepted a handshake offering only %s; TLS 1.0 and 1.1 must be refused.", addr, strings.Join(old, " and "))
	case len(modern) == 0:
		return assess.Errorf("The target %s refused TLS handshakes with every version offered (TLS 1.0 to 1.3).", addr)
	case len(untested) > 0:
		return assess.NotTestedf("The assessor's TLS library would not offer %s, so its refusal could not be observed; %s accepted.", strings.Join(untested, " and "), strings.Join(modern, " and "))
	}
	return assess.Passf("The target %s refused handshakes offering only TLS 1.0 or TLS 1.1 and accepted %s.", addr, strings.Join(modern, " and "))
}

// suiteFamily is a group of TLS 1.2 cipher suites tried together.
type suiteFamily struct {
	name   string
	suites []uint16
	// weak families must be refused; the strong one must be accepted.
	weak bool
}

// suiteFamilies are what tls.ciphers offers, one family per handshake.
var suiteFamilies = []suiteFamily{
	{name: "CBC-mode suites with ECDHE", weak: true, suites: []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
		tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256}},
	{name: "RSA key exchange suites (no forward secrecy)", weak: true, suites: []uint16{
		tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_256_CBC_SHA, tls.TLS_RSA_WITH_AES_128_CBC_SHA256}},
	{name: "3DES suites", weak: true, suites: []uint16{
		tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA}},
	{name: "RC4 suites", weak: true, suites: []uint16{
		tls.TLS_RSA_WITH_RC4_128_SHA, tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA, tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA}},
	{name: "ECDHE with AEAD suites", suites: []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256}},
}

// suiteNames lists the suites' names for the evidence.
func suiteNames(ids []uint16) string {
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = tls.CipherSuiteName(id)
	}
	return strings.Join(names, ", ")
}

// checkTLSCiphers offers, with TLS 1.2 only, one family of suites per
// handshake: CBC, RSA key exchange, 3DES and RC4 must be refused, ECDHE with
// AEAD accepted (or TLS 1.3, whose suites are all AEAD with ECDHE).
// T/PCAC 0008-2020 5.2.2, 3.1.
func (t *Target) checkTLSCiphers(ctx context.Context) assess.Result {
	tt, err := t.tlsTarget()
	if err != nil {
		return assess.Errorf("The profile's target cannot be used: %v.", err)
	}
	var ev []assess.Evidence
	var weakAccepted, notOffered []string
	strong := false
	for _, f := range suiteFamilies {
		a := tt.handshake(ctx, tt.probeConfig(tls.VersionTLS12, tls.VersionTLS12, f.suites))
		ev = append(ev, assess.Evidence{Title: "TLS 1.2 handshake offering only " + f.name + ": " + suiteNames(f.suites), Note: a.note()})
		switch {
		case a.dialErr != nil:
			return tcpUnreachable(tt.addr, a.dialErr, ev)
		case f.weak && a.accepted():
			weakAccepted = append(weakAccepted, fmt.Sprintf("%s (negotiated %s)", f.name, tls.CipherSuiteName(a.state.CipherSuite)))
		case !a.sent:
			notOffered = append(notOffered, f.name)
		case !f.weak && a.accepted():
			strong = true
		}
	}
	if len(weakAccepted) > 0 {
		return assess.Failf("With TLS 1.2 the target accepted weak cipher suites: %s.", strings.Join(weakAccepted, "; ")).With(ev...)
	}
	tail := ""
	if len(notOffered) > 0 {
		tail = fmt.Sprintf(" The assessor's TLS library could not offer %s, which were not tested.", strings.Join(notOffered, ", "))
	}
	if strong {
		return assess.Passf("With TLS 1.2 the target refused CBC, RSA key exchange, 3DES and RC4 suites and accepted ECDHE with AEAD.%s", tail).With(ev...)
	}
	a := tt.handshake(ctx, tt.probeConfig(tls.VersionTLS13, tls.VersionTLS13, nil))
	ev = append(ev, assess.Evidence{Title: "TLS 1.3 handshake (its suites are all AEAD with ECDHE)", Note: a.note()})
	if a.accepted() {
		return assess.Passf("The target refused every TLS 1.2 suite offered and accepted TLS 1.3, whose suites are all AEAD with ECDHE.%s", tail).With(ev...)
	}
	return assess.Errorf("The target refused every TLS 1.2 cipher suite offered and TLS 1.3: no handshake succeeded.").With(ev...)
}

// checkPlaintext sends the ping (or A1 read) request as plain HTTP to the
// target's port and to port 80: no API answer may come back. Plaintext API
// traffic is never acceptable: T/PCAC 0008-2020 5.2.2.
func (t *Target) checkPlaintext(ctx context.Context) assess.Result {
	tt, err := t.tlsTarget()
	if err != nil {
		return assess.Errorf("The profile's target cannot be used: %v.", err)
	}
	if a := tt.handshake(ctx, tt.probeConfig(tls.VersionTLS12, tls.VersionTLS13, nil)); a.dialErr != nil {
		return tcpUnreachable(tt.addr, a.dialErr, nil)
	}
	method, path := t.plaintextRequest()
	ports := []string{tt.port}
	if tt.port != "80" {
		ports = append(ports, "80") // cheap: a short dial, and a refusal is the usual answer
	}
	var ev []assess.Evidence
	var answered []string
	for _, port := range ports {
		dial := tlsDialTimeout
		if port != tt.port {
			dial = 2 * time.Second
		}
		x, api := t.plainHTTP(ctx, method, "http://"+net.JoinHostPort(tt.host, port)+path, dial)
		ev = append(ev, x.Evidence)
		if api != "" {
			answered = append(answered, fmt.Sprintf("port %s %s", port, api))
		}
	}
	if len(answered) > 0 {
		return assess.Failf("A plain HTTP %s %s got an API answer: %s; the API must be served over TLS only.", method, path, strings.Join(answered, "; ")).With(ev...)
	}
	return assess.Passf("A plain HTTP %s %s to port %s (and port 80) got no API answer.", method, path, tt.port).With(ev...)
}

// plaintextRequest is what checkPlaintext sends: the ping or A1 read
// endpoint, or GET / when the profile has neither.
func (t *Target) plaintextRequest() (method, path string) {
	for _, ep := range []*profile.Endpoint{t.Profile.Endpoints.Ping, t.Profile.Endpoints.A1Read} {
		if ep != nil {
			return ep.Method, ep.Path
		}
	}
	return http.MethodGet, "/"
}

// plainClient sends plain HTTP with short time limits and follows no redirect.
func plainClient(dial time.Duration) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DialContext:           (&net.Dialer{Timeout: dial}).DialContext,
			ResponseHeaderTimeout: tlsHandshakeTimeout,
			DisableKeepAlives:     true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// plainHTTP sends an unsigned plain HTTP request and says what API answer
// came back ("" when none: no connection, a reset, a TLS alert, or an error
// answer that is not the API's).
func (t *Target) plainHTTP(ctx context.Context, method, rawURL string, dial time.Duration) (*Exchange, string) {
	hc := plainClient(dial)
	defer hc.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, method, rawURL, nil)
	if err != nil {
		return &Exchange{Evidence: assess.Evidence{Title: "plain HTTP " + rawURL, Note: err.Error()}}, ""
	}
	x, err := t.Send(hc, "plain HTTP request to "+req.URL.Host, req)
	if err != nil && x.Status == 0 {
		return x, "" // no connection, a reset, or bytes that are not HTTP (a TLS alert)
	}
	return x, plainAPIAnswer(x)
}

// plainAPIAnswer says why an answer to a plain HTTP request is the API's, or
// "" when it is not.
func plainAPIAnswer(x *Exchange) string {
	switch {
	case x.Status >= 200 && x.Status < 400:
		return fmt.Sprintf("answered %d", x.Status)
	case x.Header.Get("X-Request-Id") != "":
		return fmt.Sprintf("answered %d with an X-Request-Id (the gateway processed the request)", x.Status)
	}
	if p, ok := x.Problem(); ok {
		return fmt.Sprintf("answered %d with a problem+json body (code %q)", x.Status, p.Code)
	}
	return ""
}

// certWarnDays is how soon an expiry is worth a note.
const certWarnDays = 30

// checkTLSCertificate judges the certificate the target presents: it chains
// to target.ca_cert (or the system roots), is within its validity, names the
// host, has an adequate key and no SHA-1 or MD5 signature.
// T/PCAC 0008-2020 5.2.2, 3.1.
func (t *Target) checkTLSCertificate(ctx context.Context) assess.Result {
	tt, err := t.tlsTarget()
	if err != nil {
		return assess.Errorf("The profile's target cannot be used: %v.", err)
	}
	a := tt.handshake(ctx, tt.probeConfig(tls.VersionTLS12, tls.VersionTLS13, nil))
	switch {
	case a.dialErr != nil:
		return tcpUnreachable(tt.addr, a.dialErr, nil)
	case a.err != nil || len(a.state.PeerCertificates) == 0:
		return assess.Errorf("The TLS handshake with %s failed, so its certificate could not be examined: %s.", tt.addr, a.note())
	}
	now := time.Now()
	chain := a.state.PeerCertificates
	problems := certProblems(chain, tt.host, now)
	if err := verifyChain(chain, tt.cfg.RootCAs, now); err != nil {
		problems = append(problems, err.Error())
	}
	ev := assess.Evidence{Title: "server certificate of " + tt.addr, Note: describeCert(chain[0])}
	if len(problems) > 0 {
		return assess.Failf("The server certificate of %s %s.", tt.addr, strings.Join(problems, "; ")).With(ev)
	}
	key, _ := keyStrength(chain[0])
	r := assess.Passf("The server certificate of %s chains to %s, is valid until %s, names %s, and has key %s and signature %s.",
		tt.addr, t.trustName(), chain[0].NotAfter.UTC().Format(time.DateOnly), tt.host, key, chain[0].SignatureAlgorithm)
	if left := chain[0].NotAfter.Sub(now); left < certWarnDays*24*time.Hour {
		r.Reason += fmt.Sprintf(" Note: it expires in %d days.", int(left.Hours()/24))
	}
	return r.With(ev)
}

// trustName says what the certificate is verified against.
func (t *Target) trustName() string {
	if t.Profile.Target.CACert != "" {
		return "the profile's CA (target.ca_cert)"
	}
	return "the system roots"
}

// certProblems lists what is wrong with the leaf and the certificates sent
// with it, apart from the chain of trust.
func certProblems(chain []*x509.Certificate, host string, now time.Time) []string {
	leaf := chain[0]
	var out []string
	switch {
	case now.Before(leaf.NotBefore):
		out = append(out, "is not valid before "+leaf.NotBefore.UTC().Format(time.RFC3339))
	case now.After(leaf.NotAfter):
		out = append(out, "expired on "+leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if err := leaf.VerifyHostname(host); err != nil {
		out = append(out, fmt.Sprintf("is not valid for the host %s (it names %s)", host, certNames(leaf)))
	}
	if key, ok := keyStrength(leaf); !ok {
		out = append(out, "has a weak key ("+key+")")
	}
	for i, c := range chain {
		if weakSignature(c.SignatureAlgorithm) && !certSelfSigned(c) {
			out = append(out, fmt.Sprintf("chain certificate %d (%s) is signed with %s", i, c.Subject.CommonName, c.SignatureAlgorithm))
		}
	}
	return out
}

// verifyChain checks that the chain leads to the trusted roots (nil: the
// system's). The leaf's validity and host name are judged by certProblems: a
// failure for the leaf's expiry alone is left to it.
func verifyChain(chain []*x509.Certificate, roots *x509.CertPool, now time.Time) error {
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	leaf := chain[0]
	_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now})
	var invalid x509.CertificateInvalidError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired && invalid.Cert == leaf:
		return nil
	}
	return fmt.Errorf("does not chain to a trusted CA (%v)", err)
}

// keyStrength describes the certificate's key and says whether it is
// adequate: RSA of 2048 bits or more, an elliptic curve of 256 bits or more
// (SM2 included), or Ed25519.
func keyStrength(c *x509.Certificate) (string, bool) {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		bits := k.N.BitLen()
		return fmt.Sprintf("RSA %d-bit", bits), bits >= 2048
	case *ecdsa.PublicKey:
		p := k.Curve.Params()
		return fmt.Sprintf("EC %s (%d-bit)", p.Name, p.BitSize), p.BitSize >= 256
	case ed25519.PublicKey:
		return "Ed25519", true
	}
	return c.PublicKeyAlgorithm.String(), false
}

// weakSignature reports a signature algorithm with MD2, MD5 or SHA-1.
func weakSignature(a x509.SignatureAlgorithm) bool {
	switch a {
	case x509.MD2WithRSA, x509.MD5WithRSA, x509.SHA1WithRSA, x509.DSAWithSHA1, x509.ECDSAWithSHA1:
		return true
	}
	return false
}

// certSelfSigned reports a root sent along: its own signature does not matter.
func certSelfSigned(c *x509.Certificate) bool {
	return c.CheckSignatureFrom(c) == nil
}

// certNames lists the names a certificate is valid for.
func certNames(c *x509.Certificate) string {
	names := slices.Clone(c.DNSNames)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		return "no DNS name or IP address"
	}
	return strings.Join(names, ", ")
}

// describeCert is the evidence of a certificate: who, by whom, for what,
// until when, with which key and signature. No key material.
func describeCert(c *x509.Certificate) string {
	key, _ := keyStrength(c)
	return fmt.Sprintf("subject %q, issuer %q, names %s, valid %s to %s, key %s, signature %s",
		c.Subject.CommonName, c.Issuer.CommonName, certNames(c),
		c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339), key, c.SignatureAlgorithm)
}

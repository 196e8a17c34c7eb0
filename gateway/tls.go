package gateway

import (
	"crypto/tls"
	"crypto/x509"
)

// tls12Suites are the only TLS 1.2 cipher suites offered: ECDHE key exchange
// (forward secrecy) with AEAD encryption. TLS 1.3 suites are all AEAD and
// not configurable. TLS ≥ 1.2 only: T/PCAC 0008-2020 3.2.4, 5.2.2.
var tls12Suites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// ServerTLS is the gateway listener's TLS configuration. Client certificates
// are asked for but optional at the handshake: A1 APIs do not need one, and
// A2 APIs check the certificate against the app's registered one per request.
// With clientCAs, a presented certificate must also chain to them.
func ServerTLS(cert tls.Certificate, clientCAs *x509.CertPool) *tls.Config {
	c := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		CipherSuites: tls12Suites,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequestClientCert,
		NextProtos:   []string{"h2", "http/1.1"},
	}
	if clientCAs != nil {
		c.ClientCAs = clientCAs
		c.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return c
}

// AdminTLS is the admin listener's TLS configuration: a client certificate
// from clientCAs is required.
func AdminTLS(cert tls.Certificate, clientCAs *x509.CertPool) *tls.Config {
	c := ServerTLS(cert, clientCAs)
	c.ClientAuth = tls.RequireAndVerifyClientCert
	return c
}

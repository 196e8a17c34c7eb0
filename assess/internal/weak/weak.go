// Package weak is the assessor's test target: the real demo gateway, and in
// front of it a TLS proxy that can switch one control off at a time (a
// Mutation). A check that passes on the demo and fails on its mutation is a
// check that can fail; the mutant table in assess/probe asserts it for every
// dynamic check. Only tests import this package.
package weak

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bankguard/bankguard/config"
	"github.com/bankguard/bankguard/demo"
	"github.com/bankguard/bankguard/gateway"
	"github.com/bankguard/bankguard/node"
	"github.com/bankguard/bankguard/profile"
)

// quiet drops the proxy's own log lines (refused handshakes are the point).
var quiet = log.New(io.Discard, "", 0)

// Demo is a running demo gateway and its profile.
type Demo struct {
	Dir     string
	Node    *node.Node
	Profile *profile.Profile
	path    string
}

// StartDemo prepares and starts the demo in dir, on loopback, and writes its
// profile. stop ends it.
func StartDemo(ctx context.Context, dir string) (d *Demo, stop func() error, err error) {
	ctx, cancel := context.WithCancel(ctx)
	cfgPath, err := demo.Prepare(ctx, demo.Options{Dir: dir, GatewayAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0"})
	if err != nil {
		cancel()
		return nil, nil, err
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	n, err := node.Start(ctx, cfg, node.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		cancel()
		return nil, nil, err
	}
	stop = func() error { cancel(); return n.Wait() }
	path, err := demo.WriteProfile(dir, "https://"+n.GatewayAddr.String(), "https://"+n.AdminAddr.String(), cfg, n.Sandbox.Users())
	if err != nil {
		stop()
		return nil, nil, err
	}
	p, err := profile.Load(path)
	if err != nil {
		stop()
		return nil, nil, err
	}
	return &Demo{Dir: dir, Node: n, Profile: p, path: path}, stop, nil
}

// LoadProfile reads a fresh copy of the demo's profile, to change freely.
func (d *Demo) LoadProfile() (*profile.Profile, error) { return profile.Load(d.path) }

// Mutation switches a control off, seen from outside: the front proxy
// weakens its TLS, answers plaintext, rewrites requests or the gateway's
// answers, or answers by itself.
type Mutation struct {
	// TLS changes the front's TLS configuration (for example allowing TLS 1.0).
	TLS func(*tls.Config)
	// Plaintext makes the front also serve plain HTTP on its port.
	Plaintext bool
	// Request changes a request before it is forwarded.
	Request func(*http.Request)
	// Response changes the gateway's answer before it is sent on.
	Response func(*http.Response) error
	// Handle answers a request by itself when it returns true.
	Handle func(w http.ResponseWriter, r *http.Request) bool
	// Admin applies the mutation to the admin API rather than the gateway.
	Admin bool
}

// Front starts a proxy with mutation m in front of the demo and returns a
// profile that points at it. The proxy presents the demo's server
// certificate and forwards each request with the client certificate the
// caller presented (looked up among the demo's certificates), so that the
// gateway sees the caller as it would directly.
func (d *Demo) Front(t testing.TB, m Mutation) *profile.Profile {
	t.Helper()
	p, err := d.LoadProfile()
	if err != nil {
		t.Fatal(err)
	}
	upstream, setURL := d.Node.GatewayAddr.String(), func(u string) { p.Target.BaseURL = u }
	if m.Admin {
		upstream, setURL = d.Node.AdminAddr.String(), func(u string) { p.Target.AdminURL = u }
	}
	f, err := d.newFront(upstream, m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.close)
	setURL("https://" + f.addr)
	return p
}

type front struct {
	addr  string
	close func()
}

func (d *Demo) newFront(upstream string, m Mutation) (*front, error) {
	cert, err := tls.LoadX509KeyPair(filepath.Join(d.Dir, "pki", "server.pem"), filepath.Join(d.Dir, "pki", "server-key.pem"))
	if err != nil {
		return nil, err
	}
	clients, err := d.clientCertificates()
	if err != nil {
		return nil, err
	}
	roots, err := d.roots()
	if err != nil {
		return nil, err
	}
	tcfg := gateway.ServerTLS(cert, nil) // as the gateway's own listener, until m.TLS weakens it
	tcfg.NextProtos = []string{"http/1.1"}
	if m.TLS != nil {
		m.TLS(tcfg)
	}
	transports := &transports{roots: roots, clients: clients, m: map[string]*http.Transport{}}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(&url.URL{Scheme: "https", Host: upstream})
			pr.Out.Host = pr.In.Host // the signature covers @authority as the caller sent it
			if m.Request != nil {
				m.Request(pr.Out)
			}
		},
		Transport:      transports,
		ModifyResponse: m.Response,
		ErrorLog:       quiet,
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m.Handle != nil && m.Handle(w, r) {
			return
		}
		rp.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, TLSConfig: tcfg, ReadHeaderTimeout: 5 * time.Second, ErrorLog: quiet}
	var tlsLn net.Listener = tls.NewListener(ln, tcfg)
	plain := make(chan net.Conn)
	if m.Plaintext {
		tlsLn = &sniffing{Listener: ln, tls: tcfg, plain: plain}
		go (&http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ErrorLog: quiet}).Serve(&chanListener{c: plain, addr: ln.Addr()})
	}
	go srv.Serve(tlsLn)
	return &front{addr: ln.Addr().String(), close: func() { srv.Close(); transports.close() }}, nil
}

func (d *Demo) roots() (*x509.CertPool, error) {
	b, err := os.ReadFile(filepath.Join(d.Dir, "pki", "ca.pem"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, errors.New("weak: no CA certificate")
	}
	return pool, nil
}

// clientCertificates are the demo's client certificates (the apps' and the
// admin's) by the SHA-256 of their DER.
func (d *Demo) clientCertificates() (map[[32]byte]tls.Certificate, error) {
	out := map[[32]byte]tls.Certificate{}
	add := func(certFile, keyFile string) error {
		c, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return err
		}
		out[sha256.Sum256(c.Certificate[0])] = c
		return nil
	}
	if err := add(filepath.Join(d.Dir, "pki", "admin.pem"), filepath.Join(d.Dir, "pki", "admin-key.pem")); err != nil {
		return nil, err
	}
	for _, a := range d.Profile.Apps {
		if a.ClientCert != "" {
			if err := add(d.Profile.Path(a.ClientCert), d.Profile.Path(a.ClientKey)); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// transports forwards with the caller's client certificate.
type transports struct {
	roots   *x509.CertPool
	clients map[[32]byte]tls.Certificate
	mu      sync.Mutex
	m       map[string]*http.Transport
}

func (ts *transports) RoundTrip(r *http.Request) (*http.Response, error) {
	key := ""
	var certs []tls.Certificate
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		sum := sha256.Sum256(r.TLS.PeerCertificates[0].Raw)
		if c, ok := ts.clients[sum]; ok {
			key, certs = string(sum[:]), []tls.Certificate{c}
		}
	}
	ts.mu.Lock()
	tr, ok := ts.m[key]
	if !ok {
		tr = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ts.roots, Certificates: certs, MinVersion: tls.VersionTLS12, ServerName: "localhost"}}
		ts.m[key] = tr
	}
	ts.mu.Unlock()
	return tr.RoundTrip(r)
}

func (ts *transports) close() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, tr := range ts.m {
		tr.CloseIdleConnections()
	}
}

// sniffing hands connections that start with a TLS handshake record to TLS
// and the others to the plaintext server.
type sniffing struct {
	net.Listener
	tls   *tls.Config
	plain chan net.Conn
}

func (s *sniffing) Accept() (net.Conn, error) {
	for {
		c, err := s.Listener.Accept()
		if err != nil {
			close(s.plain)
			return nil, err
		}
		pc := &peeked{Conn: c}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(c, pc.first[:]); err != nil {
			c.Close()
			continue
		}
		c.SetReadDeadline(time.Time{})
		if pc.first[0] == 0x16 { // TLS handshake record
			return tls.Server(pc, s.tls), nil
		}
		s.plain <- pc
	}
}

type peeked struct {
	net.Conn
	first [1]byte
	read  bool
}

func (p *peeked) Read(b []byte) (int, error) {
	if !p.read && len(b) > 0 {
		p.read = true
		b[0] = p.first[0]
		return 1, nil
	}
	return p.Conn.Read(b)
}

type chanListener struct {
	c    chan net.Conn
	addr net.Addr
}

func (l *chanListener) Accept() (net.Conn, error) {
	c, ok := <-l.c
	if !ok {
		return nil, net.ErrClosed
	}
	return c, nil
}
func (l *chanListener) Close() error   { return nil }
func (l *chanListener) Addr() net.Addr { return l.addr }

// AcceptRefusals turns the gateway's refusals with any of the given problem
// codes into 200 OK answers, as a gateway without the control would answer.
func AcceptRefusals(codes ...string) func(*http.Response) error {
	return func(resp *http.Response) error {
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
			return nil
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		var p struct{ Code string }
		if json.Unmarshal(b, &p) == nil {
			for _, c := range codes {
				if p.Code == c {
					b = []byte(`{"result":"ok"}`)
					resp.StatusCode, resp.Status = http.StatusOK, "200 OK"
					resp.Header.Set("Content-Type", "application/json")
					break
				}
			}
		}
		resp.Body = io.NopCloser(strings.NewReader(string(b)))
		resp.ContentLength = int64(len(b))
		resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
}

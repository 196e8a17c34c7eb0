package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
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
	"time"

	"github.com/bankguard/bankguard/config"
	"github.com/bankguard/bankguard/demo"
	"github.com/bankguard/bankguard/gateway"
	"github.com/bankguard/bankguard/gateway/proxy"
	"github.com/bankguard/bankguard/gateway/ratelimit"
	"github.com/bankguard/bankguard/gateway/risk"
	"github.com/bankguard/bankguard/gateway/waf"
	"github.com/bankguard/bankguard/metrics"
	"github.com/bankguard/bankguard/node"
)

// The APIs of the benchmark's OpenAPI document. All are served by the same
// backend with the same body, so the targets differ only in what sits in
// front of it. The load benchmark calls the two GETs; the Go benchmarks of
// issue 6 (traffic_test.go) also POST a 1 KiB JSON body to A1PostPath.
const (
	A1Path      = "/v1/bench/info"
	A2Path      = "/v1/bench/statement"
	A1PostPath  = "/v1/bench/quote"
	A1APIID     = "OPC999990199000100000001"
	A2APIID     = "OPC999990299000100000002"
	A1PostAPIID = "OPC999990199000100000003"
)

// The demo applications the benchmark signs as.
const (
	A1App = "demo-a1-hmac" // hmac-sm3
	A2App = "demo-a2-sm2"  // sm2-sm3, no client certificate
)

// openAPIDoc declares one A1 and one A2 GET operation, without parameters,
// and one A1 POST operation whose body is a JSON object. All have their
// responses scanned for personal data: the A2 one by default, the A1 ones
// because they say scan_pii.
const openAPIDoc = `openapi: 3.0.3
info:
  title: bankguard benchmark backend
  version: 1.0.0
paths:
  ` + A1Path + `:
    get:
      operationId: benchInfo
      summary: A1 read of a fixed 1 KiB JSON document
      x-bankguard:
        api_id: ` + A1APIID + `
        level: A1
        status: active
        scan_pii: true
      responses:
        '200':
          description: The fixed document.
          content:
            application/json:
              schema:
                type: object
  ` + A2Path + `:
    get:
      operationId: benchStatement
      summary: A2 read of the same fixed 1 KiB JSON document
      x-bankguard:
        api_id: ` + A2APIID + `
        level: A2
        status: active
      responses:
        '200':
          description: The fixed document.
          content:
            application/json:
              schema:
                type: object
  ` + A1PostPath + `:
    post:
      operationId: benchQuote
      summary: A1 fee quote for a transfer described by a JSON body of about 1 KiB
      x-bankguard:
        api_id: ` + A1PostAPIID + `
        level: A1
        status: active
        scan_pii: true
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
      responses:
        '200':
          description: The fixed document.
          content:
            application/json:
              schema:
                type: object
`

// The personal data in backendBody: what a masking gateway must not pass on.
const (
	benchCard     = "6219991234567890120" // 19 digits, valid Luhn check digit
	benchHolder   = "王小明"
	benchMobile   = "13812345678"
	benchIDNumber = "11010519491231002X" // valid GB 11643 check character
)

// backendBody is the backend's fixed answer: a JSON document of about 1 KiB,
// an account as a bank's backend describes it, with its holder's personal
// data (card number, name, mobile and resident ID numbers), followed by the
// wealth products it holds, whose fields the masker reads and leaves alone.
var backendBody = func() []byte {
	var b strings.Builder
	b.WriteString(`{"account":{"account_id":"AC202611260001","card_number":"` + benchCard + `","holder_name":"` + benchHolder + `",` +
		`"mobile":"` + benchMobile + `","id_number":"` + benchIDNumber + `","branch":"Shanghai Pudong Branch","currency":"CNY",` +
		`"balance":"52380.16","opened_at":"2019-03-14"},"products":[`)
	for i := 0; b.Len() < 980; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"WM%06d","name":"Steady Income No. %d","risk_level":"R2","rate":"2.%02d","currency":"CNY"}`, i, i, 10+i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}()

var backendLength = strconv.Itoa(len(backendBody))

// backend answers every request with backendBody. It is the same for all
// targets and does no per-API work.
func backend(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{backendLength}
	_, _ = w.Write(backendBody)
}

// quietLogger discards everything below warn, as a production node at level
// warn would, and writes what remains nowhere.
func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// serveBackend serves backend on a loopback port until ctx ends; done
// reports how the server stopped.
func serveBackend(ctx context.Context) (addr string, done <-chan error, err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("bench: backend: %w", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(backend), ReadHeaderTimeout: 5 * time.Second}
	ch := make(chan error, 1)
	go func() {
		err := srv.Serve(l)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		ch <- err
	}()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	return "http://" + l.Addr().String(), ch, nil
}

// The files the benchmark adds to the demo data directory.
const (
	// openAPIFile is the benchmark's OpenAPI document.
	openAPIFile = "bench-openapi.yaml"
	// OffDataDir is the data directory of the node that runs with its audit
	// log and masking off (target d): a copy of the demo's store, so that
	// it knows the same applications, and an audit log of its own that
	// nothing is appended to.
	OffDataDir = "audit-and-masking-off"
)

// prepare makes dir a demo data directory (keys, certificates, applications)
// with the benchmark's OpenAPI document and a copy of the store in
// OffDataDir. It runs before any node opens the store.
func prepare(ctx context.Context, dir string) error {
	path, err := demo.Prepare(ctx, demo.Options{Dir: dir, GatewayAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0"})
	if err != nil {
		return fmt.Errorf("bench: prepare: %w", err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, openAPIFile), []byte(openAPIDoc), 0o644); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	off := filepath.Join(dir, OffDataDir)
	if err := os.MkdirAll(off, 0o700); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	// demo.Prepare closed the store; a write-ahead log it left is copied too.
	db := filepath.Join(cfg.Path(cfg.DataDir), node.DatabaseFile)
	for _, suffix := range []string{"", "-wal"} {
		err := copyFile(db+suffix, filepath.Join(off, node.DatabaseFile+suffix))
		if err != nil && (suffix == "" || !errors.Is(err, fs.ErrNotExist)) {
			return fmt.Errorf("bench: copy the store: %w", err)
		}
	}
	return nil
}

// copyFile copies the file src to dst, which it creates with mode 0600.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// nodeConfig returns the configuration of the demo data directory dir (made
// by prepare) with backendURL as the only upstream and the benchmark's
// OpenAPI document as the only API source. The admin listener is left out.
// With off, the node keeps its store and audit log in OffDataDir.
//
// The load benchmark's targets are issues 2 and 3's (docs/benchmarks.md):
// the demo's issue 6 controls — injection filter, rate limits, risk rules,
// metrics — are turned off here, so that the targets stay what the tables
// say and comparable from run to run. What those controls cost is measured
// by BenchmarkStubTraffic (traffic_test.go). The blacklist stays: a node
// always runs it, and the demo exempts loopback from automatic blocks.
func nodeConfig(dir, backendURL string, off bool) (*config.File, error) {
	cfg, err := config.Load(filepath.Join(dir, demo.ConfigFile))
	if err != nil {
		return nil, err
	}
	cfg.Gateway.Addr = "127.0.0.1:0"
	cfg.Admin = config.Listener{}
	cfg.WAF, cfg.RateLimit, cfg.Risk = waf.Config{}, ratelimit.Config{}, risk.Config{}
	cfg.Metrics = metrics.Config{Disabled: true}
	cfg.Upstreams = map[string]config.Upstream{"bench": {URL: backendURL, Timeout: 10 * time.Second}}
	cfg.APIs = []config.APISource{{OpenAPI: filepath.Join(dir, openAPIFile), Upstream: "bench"}}
	if off {
		cfg.DataDir = OffDataDir
		cfg.Audit.WitnessDir = filepath.Join(OffDataDir, "witness")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("bench: configuration: %w", err)
	}
	return cfg, nil
}

// startNode starts a bankguard node with cfg and quiet logging; with off,
// its audit log and response masking are off (node.Options
// WithoutAuditAndMasking).
func startNode(ctx context.Context, cfg *config.File, off bool) (*node.Node, error) {
	n, err := node.Start(ctx, cfg, node.Options{Logger: quietLogger(), WithoutAuditAndMasking: off})
	if err != nil {
		return nil, fmt.Errorf("bench: start node: %w", err)
	}
	return n, nil
}

// newBaseline is the bare reverse proxy: NewSingleHostReverseProxy's job
// done with Rewrite, over the gateway's backend transport.
func newBaseline(backendURL string) (*httputil.ReverseProxy, error) {
	target, err := url.Parse(backendURL)
	if err != nil {
		return nil, err
	}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
		},
		Transport:  proxy.NewTransport(0),
		BufferPool: proxy.Buffers,
		ErrorLog:   log.New(io.Discard, "", 0),
	}, nil
}

// serveBaseline serves h through gateway.Server with the gateway's TLS
// configuration, certificate and timeouts from cfg: of the two listeners,
// only the handler differs.
func serveBaseline(ctx context.Context, cfg *config.File, h http.Handler) (url string, done <-chan error, err error) {
	t := cfg.Gateway.TLS
	cert, err := tls.LoadX509KeyPair(cfg.Path(t.CertFile), cfg.Path(t.KeyFile))
	if err != nil {
		return "", nil, fmt.Errorf("bench: baseline certificate: %w", err)
	}
	cas, err := certPool(cfg.Path(t.ClientCAFile))
	if err != nil {
		return "", nil, err
	}
	ready := make(chan string, 1)
	srv := &gateway.Server{
		Gateway:           h,
		GatewayAddr:       "127.0.0.1:0",
		GatewayTLS:        gateway.ServerTLS(cert, cas),
		ReadHeaderTimeout: cfg.Limits.ReadHeaderTimeout,
		ReadTimeout:       cfg.Limits.ReadTimeout,
		WriteTimeout:      cfg.Limits.WriteTimeout,
		IdleTimeout:       cfg.Limits.IdleTimeout,
		DrainTimeout:      time.Second,
		Logger:            quietLogger(),
		Ready:             func(g, _ net.Addr) { ready <- g.String() },
	}
	ch := make(chan error, 1)
	go func() { ch <- srv.Run(ctx) }()
	select {
	case addr := <-ready:
		return "https://" + addr, ch, nil
	case err := <-ch:
		return "", nil, fmt.Errorf("bench: baseline: %w", err)
	}
}

func certPool(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("bench: %s holds no certificate", file)
	}
	return pool, nil
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bankguard/bankguard/audit"
	"github.com/bankguard/bankguard/gateway"
	"github.com/bankguard/bankguard/gateway/proxy"
	"github.com/bankguard/bankguard/node"
	"github.com/bankguard/bankguard/pii"
	"github.com/bankguard/bankguard/registry"
	"github.com/bankguard/bankguard/sdk"
	"github.com/bankguard/bankguard/secret"
	"github.com/bankguard/bankguard/store/memory"
	"github.com/bankguard/bankguard/store/sqlite"
)

// The Stub benchmarks replace the backend connection with stubTransport, so
// that what remains is the handler's own work: no loopback round trip, no
// backend server, no network system calls. Their CPU profiles show the
// pipeline's hot spots; their allocs/op are the handler's alone (plus the
// stub's and the recorder's, the same in every one).

// stubTransport answers every backend request with backendBody in memory.
type stubTransport struct{}

// RoundTrip implements http.RoundTripper.
func (stubTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{
		Status: "200 OK", StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/json"}, "Content-Length": {backendLength}},
		Body:          io.NopCloser(bytes.NewReader(backendBody)),
		ContentLength: int64(len(backendBody)),
		Request:       r,
	}, nil
}

// controls are the node's personal-data controls a stub gateway runs with.
type controls struct {
	audit, mask bool
}

// The node's configurations: (b) and (c), and (d).
var (
	allControls = controls{audit: true, mask: true}
	noControls  = controls{}
)

var stub struct {
	once     sync.Once
	gateway  *gateway.Gateway
	baseline http.Handler
	err      error

	auditOnce  sync.Once
	audit      *audit.Writer
	auditStore *sqlite.AuditStore
	auditErr   error
}

// closeStubAudit stops the stub gateways' audit writer, if one was started.
func closeStubAudit() {
	if stub.audit != nil {
		stub.audit.Close()
	}
	if stub.auditStore != nil {
		stub.auditStore.Close()
	}
}

// liveNonces is the number of replay-store entries the LiveNonces
// benchmarks hold: what 3,333 req/s leave in a 300 s window, or 13,333 req/s
// (the store's default capacity over 300 s) after 75 s.
const liveNonces = 1_000_000

// filledNonces returns a replay store holding n entries that outlive the
// benchmark, keyed like the gateway's (keyid, NUL, 32-character nonce).
func filledNonces(n int) *memory.Nonces {
	ns := memory.NewNonces(0, nil)
	until := time.Now().Add(time.Hour)
	for i := range n {
		ns.Use(context.Background(), fmt.Sprintf("demo-a1-hmac-k1\x00%032d", i), until)
	}
	return ns
}

// stubHandlers returns a gateway built like the node's, on the node's
// registry and keys, and a bare ReverseProxy, both over stubTransport.
func stubHandlers(tb testing.TB) (*gateway.Gateway, http.Handler) {
	tb.Helper()
	env := sharedEnv(tb)
	stub.once.Do(func() {
		stub.gateway, stub.err = newStubGateway(env, memory.NewNonces(0, nil), allControls)
		target, _ := url.Parse(env.BackendURL)
		stub.baseline = &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(target)
				pr.SetXForwarded()
			},
			Transport:  stubTransport{},
			BufferPool: proxy.Buffers,
		}
	})
	if stub.err != nil {
		tb.Fatal(stub.err)
	}
	return stub.gateway, stub.baseline
}

// newStubGateway does what node.Start does to build its gateway, with
// stubTransport for the backend and the controls c. Each of more may change
// the options before the gateway is built (issue 6's controls: see
// traffic_test.go).
func newStubGateway(env *Env, nonces *memory.Nonces, c controls, more ...func(*gateway.Options) error) (*gateway.Gateway, error) {
	ctx := context.Background()
	cfg := env.Config
	key, err := secret.Load(cfg.Path(cfg.MasterKeyFile))
	if err != nil {
		return nil, err
	}
	st, err := sqlite.Open(ctx, filepath.Join(cfg.Path(cfg.DataDir), node.DatabaseFile), key)
	if err != nil {
		return nil, err
	}
	defer st.Close() // read once by gateway.New
	set, err := node.LoadBankKeys(cfg)
	if err != nil {
		return nil, err
	}
	backendURL, err := url.Parse(env.BackendURL)
	if err != nil {
		return nil, err
	}
	opts := gateway.Options{
		Store:            st,
		Nonces:           nonces,
		BankKeys:         set,
		Upstreams:        map[string]proxy.Upstream{"bench": {URL: backendURL, Transport: stubTransport{}}},
		Signature:        cfg.Signature,
		MaxBodyBytes:     cfg.Limits.MaxBodyBytes,
		InterfaceVersion: cfg.InterfaceVersion,
		Builtin:          []registry.API{gateway.PingAPI(cfg.BankCode)},
		Logger:           quietLogger(),
	}
	if c.mask {
		pk, err := key.Derive("bankguard pii pseudonym v1", 32)
		if err != nil {
			return nil, err
		}
		if opts.PII, err = pii.NewEngine(pk); err != nil {
			return nil, err
		}
	}
	if c.audit {
		if opts.Audit, err = stubAudit(env); err != nil {
			return nil, err
		}
	}
	for _, f := range more {
		if err := f(&opts); err != nil {
			return nil, err
		}
	}
	return gateway.New(ctx, opts)
}

// stubAudit returns the stub gateways' audit writer, one for all, started on
// first use like the node's, on a store of its own in the data directory.
func stubAudit(env *Env) (*audit.Writer, error) {
	stub.auditOnce.Do(func() {
		ctx := context.Background()
		cfg := env.Config
		key, err := node.LoadSigningKey(cfg, cfg.Audit.SigningKey)
		if err != nil {
			stub.auditErr = err
			return
		}
		h, err := audit.NewHasher(cfg.Audit.Hash)
		if err != nil {
			stub.auditErr = err
			return
		}
		if stub.auditStore, err = sqlite.OpenAudit(ctx, filepath.Join(env.Dir, "stub-audit.db")); err != nil {
			stub.auditErr = err
			return
		}
		stub.audit, stub.auditErr = audit.NewWriter(ctx, audit.WriterConfig{
			Store: stub.auditStore, Hasher: h, KeyID: key.KeyID, Signer: key.Signer, Logger: quietLogger()})
	})
	return stub.audit, stub.auditErr
}

// BenchmarkStubReverseProxy is the bare ReverseProxy over the stub.
func BenchmarkStubReverseProxy(b *testing.B) {
	_, rp := stubHandlers(b)
	drive(b, rp, A1Path, sharedEnv(b).A1)
}

// BenchmarkStubGatewayA1 is the gateway's A1 path over the stub, with the
// node's controls (audit and masking, as target b), without them (as target
// d), and with one of them. Each request waits for its audit record's fsync,
// so with audit ns/op is mostly the disk's; cpu-ns/op is the CPU cost.
func BenchmarkStubGatewayA1(b *testing.B) {
	env := sharedEnv(b)
	for _, bc := range []struct {
		name string
		c    controls
	}{
		{"audit+masking", allControls},
		{"off", noControls},
		{"audit", controls{audit: true}},
		{"masking", controls{mask: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			gw, err := newStubGateway(env, memory.NewNonces(0, nil), bc.c)
			if err != nil {
				b.Fatal(err)
			}
			drive(b, gw, A1Path, env.A1)
		})
	}
}

// BenchmarkStubGatewayA2 is the gateway's A2 path over the stub.
func BenchmarkStubGatewayA2(b *testing.B) {
	gw, _ := stubHandlers(b)
	drive(b, gw, A2Path, sharedEnv(b).A2)
}

// BenchmarkStubGatewayA1LiveNonces is BenchmarkStubGatewayA1/off with a
// replay store already holding liveNonces entries, as under sustained load:
// the garbage collector marks them on every cycle. (Without audit, whose
// fsync per request would hide the difference.)
func BenchmarkStubGatewayA1LiveNonces(b *testing.B) {
	env := sharedEnv(b)
	gw, err := newStubGateway(env, filledNonces(liveNonces), noControls)
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	drive(b, gw, A1Path, env.A1)
}

// BenchmarkStubReverseProxyLiveNonces is BenchmarkStubReverseProxy with the
// same live replay store in the heap (unused by the proxy), to separate what
// the store costs the garbage collector from what it costs to use it.
func BenchmarkStubReverseProxyLiveNonces(b *testing.B) {
	ns := filledNonces(liveNonces)
	_, rp := stubHandlers(b)
	runtime.GC()
	drive(b, rp, A1Path, sharedEnv(b).A1)
	runtime.KeepAlive(ns)
}

// BenchmarkStubGatewayA1Concurrent is BenchmarkStubGatewayA1 with 64
// requests in flight, as the load benchmark's 64 connections: the audit
// log's group commits carry as many records as arrive while one is written.
func BenchmarkStubGatewayA1Concurrent(b *testing.B) {
	env := sharedEnv(b)
	for _, bc := range []struct {
		name string
		c    controls
	}{
		{"audit+masking", allControls},
		{"off", noControls},
	} {
		b.Run(bc.name, func(b *testing.B) {
			gw, err := newStubGateway(env, memory.NewNonces(0, nil), bc.c)
			if err != nil {
				b.Fatal(err)
			}
			driveConcurrent(b, gw, A1Path, env.A1, 64)
		})
	}
}

// driveConcurrent serves b.N pre-signed requests from conns goroutines and
// reports the process's CPU time per request.
func driveConcurrent(b *testing.B, h http.Handler, path string, c *sdk.Client, conns int) {
	driveConcurrentRequests(b, h, func(n int) []*http.Request { return serverRequests(b, c, path, n) }, conns, nil)
}

// driveConcurrentRequests is driveConcurrent with the requests made by mk
// and answers other than 200 accepted by tolerate, as in driveRequests.
func driveConcurrentRequests(b *testing.B, h http.Handler, mk func(n int) []*http.Request, conns int, tolerate func(*httptest.ResponseRecorder) bool) {
	b.StopTimer()
	reqs := mk(b.N)
	var next, refused atomic.Int64
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.StartTimer()
	c0 := processCPU()
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(len(reqs)); i = next.Add(1) - 1 {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, reqs[i])
				if w.Code != http.StatusOK {
					if tolerate == nil || !tolerate(w) {
						b.Errorf("status %d: %s", w.Code, w.Body)
						return
					}
					refused.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64((processCPU()-c0).Nanoseconds())/float64(b.N), "cpu-ns/op")
	if tolerate != nil {
		b.ReportMetric(float64(refused.Load())*1e6/float64(b.N), "refused-ppm")
	}
}

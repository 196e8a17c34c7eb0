package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bankguard/bankguard/sdk"
)

// shared is the environment of the tests and benchmarks, started on first use
// and stopped by TestMain.
var shared struct {
	once sync.Once
	env  *Env
	dir  string
	err  error
}

func sharedEnv(tb testing.TB) *Env {
	tb.Helper()
	shared.once.Do(func() {
		if shared.dir, shared.err = os.MkdirTemp("", "bankguard-bench-test-"); shared.err != nil {
			return
		}
		shared.env, shared.err = StartEnv(context.Background(), shared.dir)
	})
	if shared.err != nil {
		tb.Fatal(shared.err)
	}
	return shared.env
}

func TestMain(m *testing.M) {
	if role := os.Getenv(RoleEnv); role != "" {
		// TestProcesses started this test binary as a server.
		if err := runChild(role, os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	closeStubAudit()
	if shared.env != nil {
		shared.env.Close()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// TestCheck runs the pre-flight check: the targets answer the backend's
// body, masked where masking is on; the nodes refuse unsigned requests; A2
// responses carry a valid bank signature; requests are audited where audit
// is on.
func TestCheck(t *testing.T) {
	env := sharedEnv(t)
	if _, err := env.Check(context.Background(), NewHTTPClient(env.RootCAs, 1)); err != nil {
		t.Fatal(err)
	}
}

// TestProcesses starts the servers as child processes, as the load
// benchmark does, checks them, and stops them.
func TestProcesses(t *testing.T) {
	env, err := StartProcesses(context.Background(), t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Check(context.Background(), NewHTTPClient(env.RootCAs, 1)); err != nil {
		t.Error(err)
	}
	if len(env.Procs) != 5 {
		t.Errorf("procs %v", env.Procs)
	}
	if err := env.Close(); err != nil {
		t.Error(err)
	}
}

// TestMeasure runs a very short load against each target, to prove the load
// generator counts what the targets answer and pre-signed requests are
// accepted, and a very short SM2 ceiling.
func TestMeasure(t *testing.T) {
	env := sharedEnv(t)
	cfg := LoadConfig{Conns: 4, Warm: 100 * time.Millisecond, Duration: 200 * time.Millisecond, MaxOthers: 1}
	for _, tc := range []struct {
		name   string
		url    string
		signer *sdk.Client
	}{
		{"baseline", env.BaselineURL + A1Path, env.A1},
		{"a1", env.GatewayURL + A1Path, env.A1},
		{"a2", env.GatewayURL + A2Path, env.A2},
		{"a1-off", env.GatewayOffURL + A1Path, env.A1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := &Target{Key: tc.name, Name: tc.name, URL: tc.url, Signer: tc.signer, HTTP: NewHTTPClient(env.RootCAs, cfg.Conns), Rate: 100}
			p, err := Measure(context.Background(), target, cfg, 0)
			if err != nil {
				t.Fatal(err)
			}
			if p.OK == 0 || p.Errors != 0 || p.P50 <= 0 || p.P99 < p.P50 {
				t.Fatalf("phase %+v", p)
			}
		})
	}
	if rate, err := SM2Ceiling(50 * time.Millisecond); err != nil || rate <= 0 {
		t.Fatalf("SM2 ceiling %v, %v", rate, err)
	}
}

func TestPercentile(t *testing.T) {
	var v []time.Duration
	for i := 1; i <= 100; i++ {
		v = append(v, time.Duration(i))
	}
	for _, tc := range []struct{ q, want int }{{50, 50}, {99, 99}, {100, 100}, {1, 1}} {
		if got := percentile(v, tc.q); got != time.Duration(tc.want) {
			t.Errorf("percentile(1..100, %d) = %d, want %d", tc.q, got, tc.want)
		}
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("percentile(nil) = %d", got)
	}
	if got := median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("median = %v", got)
	}
	if got := thousands(1234567.4); got != "1,234,567" {
		t.Errorf("thousands = %q", got)
	}
}

func TestCeilingBase(t *testing.T) {
	if b := ceilingBase(); len(b) != CeilingBaseSize || !strings.HasPrefix(string(b), `"@method": GET`) {
		t.Fatalf("base of %d bytes: %q", len(b), b)
	}
}

// The Go benchmarks drive the handlers directly with httptest, without TLS or
// the load generator, to count allocations per request. Each proxies to the
// same loopback backend over the same kind of transport, so the difference
// between BenchmarkGatewayA1 and BenchmarkReverseProxy is the gateway's own
// cost. allocs/op counts every allocation in the process during the loop,
// the backend's included.

// BenchmarkReverseProxy is the reference: the bare httputil.ReverseProxy.
func BenchmarkReverseProxy(b *testing.B) {
	env := sharedEnv(b)
	drive(b, env.Baseline, A1Path, env.A1)
}

// BenchmarkGatewayA1 is an A1 GET with an hmac-sm3 request signature, its
// response masked and its audit record committed (one fsync per request:
// the requests come one at a time, so group commit has nothing to group).
func BenchmarkGatewayA1(b *testing.B) {
	env := sharedEnv(b)
	drive(b, env.Node.Gateway, A1Path, env.A1)
}

// BenchmarkGatewayA1Off is BenchmarkGatewayA1 on the node with audit and
// masking off.
func BenchmarkGatewayA1Off(b *testing.B) {
	env := sharedEnv(b)
	drive(b, env.NodeOff.Gateway, A1Path, env.A1)
}

// BenchmarkGatewayA2 is an A2 GET with an sm2-sm3 request signature and the
// bank's SM2 response signature, masked and audited.
func BenchmarkGatewayA2(b *testing.B) {
	env := sharedEnv(b)
	drive(b, env.Node.Gateway, A2Path, env.A2)
}

// BenchmarkSM2VerifySign is the unit of the SM2 ceiling on one core.
func BenchmarkSM2VerifySign(b *testing.B) {
	p, err := newSM2Pair()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := p.op(); err != nil {
			b.Fatal(err)
		}
	}
}

// benchHost is the authority of the benchmark's server requests.
const benchHost = "gateway.bench.test"

// drive serves b.N pre-signed GETs of path with h. Requests are built and
// signed in batches with the timer stopped. Besides ns/op (wall time of one
// request after another) it reports cpu-ns/op: the process's CPU time per
// request, which includes the garbage collector's background work that a
// sequential benchmark otherwise hides on the idle second core.
func drive(b *testing.B, h http.Handler, path string, c *sdk.Client) {
	driveRequests(b, h, func(n int) []*http.Request { return serverRequests(b, c, path, n) }, nil)
}

// driveRequests is drive with the requests made by mk, n at a time. An
// answer other than 200 fails the benchmark unless tolerate (if not nil)
// accepts it; with tolerate, the share of answers it accepted is reported
// as refused-ppm (per million requests).
func driveRequests(b *testing.B, h http.Handler, mk func(n int) []*http.Request, tolerate func(*httptest.ResponseRecorder) bool) {
	const batch = 256
	var cpu time.Duration
	refused := 0
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		b.StopTimer()
		reqs := mk(min(batch, b.N-done))
		b.StartTimer()
		c0 := processCPU()
		for _, r := range reqs {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				if tolerate == nil || !tolerate(w) {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
				refused++
			}
		}
		cpu += processCPU() - c0
		done += len(reqs)
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	if tolerate != nil {
		b.ReportMetric(float64(refused)*1e6/float64(b.N), "refused-ppm")
	}
}

// processCPU is this process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// serverRequests returns n signed requests as a TLS server would hand them to
// its handler.
func serverRequests(b *testing.B, c *sdk.Client, path string, n int) []*http.Request {
	reqs := make([]*http.Request, n)
	for i := range reqs {
		r := httptest.NewRequest(http.MethodGet, "https://"+benchHost+path, nil)
		r.RequestURI = path
		if err := c.Sign(r); err != nil {
			b.Fatal(err)
		}
		reqs[i] = r
	}
	return reqs
}

// TestWriteMarkdown renders made-up results and checks the ratios, costs
// and verdicts in the tables.
func TestWriteMarkdown(t *testing.T) {
	procs := []Proc{{Name: RoleLoad}, {Name: RoleBackend}, {Name: RoleGateway}, {Name: RoleGatewayOff}, {Name: RoleBaseline}}
	phase := func(rps float64, server int, µs time.Duration) Phase {
		cpu := CPUShare{Capacity: 20 * time.Second, Procs: make([]time.Duration, len(procs))}
		cpu.Procs[server] = time.Duration(rps*10) * µs * time.Microsecond
		return Phase{OK: int(rps * 10), Elapsed: 10 * time.Second, P50: time.Millisecond, P99: 5 * time.Millisecond, CPU: cpu}
	}
	r := &Results{
		Machine: Machine{GoVersion: "go1.26", CPU: "test", NumCPU: 2, GOMAXPROCS: 2},
		Load:    LoadConfig{Conns: 64, Warm: time.Second, Duration: 10 * time.Second, MaxOthers: 0.1, Procs: procs},
		Rounds:  2, TLS: "TLS 1.3",
		Targets: []*Target{{Key: "a", Name: "baseline"}, {Key: "b", Name: "a1"}, {Key: "c", Name: "a2"}, {Key: "d", Name: "a1 off"}},
		Phases: map[string][]Phase{
			"a": {phase(10000, 4, 40), phase(10000, 4, 40)},
			"b": {phase(9000, 2, 50), phase(8500, 2, 50)},
			"c": {phase(2000, 2, 140), phase(2000, 2, 140)},
			"d": {phase(10000, 3, 40), phase(10000, 3, 44)},
		},
		Ceilings: []Ceiling{{Rate: 4000}, {Rate: 4000}},
	}
	var out strings.Builder
	r.WriteMarkdown(&out)
	for _, want := range []string{
		"(b)/(a) = **0.88**, by round 0.88 — target ≥ 0.80: met",
		"(c)/ceiling = **0.50**, by round 0.50 — target ≥ 0.80: **missed**",
		"(d)/(a) = 1.00, by round 1.00; audit + masking cost 1 − (b)/(d) = **12.5%**, by round 12.5% — target ≤ 15%: met",
		"| 1 | 10,000 | 9,000 | 2,000 | 10,000 | 4,000 | 0.90 | 0.50 | 10.0% |",
		"(a)/(b) by server CPU = **0.80**",
		"audit + masking cost 8.0 µs per request, 1 − (d)/(b) by server CPU = **16.0%**, by round 16.0% — target ≤ 15%: **missed**",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, out.String())
		}
	}
}

package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bankguard/bankguard/sdk"
)

// Target is one server under load.
type Target struct {
	// Key names the target in tables: "a", "b" or "c".
	Key string
	// Name describes it.
	Name string
	// URL is what every request asks for.
	URL string
	// Signer signs the requests. The baseline's requests carry signature
	// fields of the same size that nobody checks, so that all three targets
	// parse the same request.
	Signer *sdk.Client
	// HTTP sends the requests (see NewHTTPClient).
	HTTP *http.Client
	// Rate is the last measured rate in requests per second; it sizes the
	// pools of pre-signed requests.
	Rate float64
}

// NewHTTPClient is the load generator's client, the same for every target:
// HTTP/1.1 only, keep-alive, exactly conns connections, no compression.
func NewHTTPClient(roots *x509.CertPool, conns int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}},
			TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{}, // no HTTP/2
			ForceAttemptHTTP2:   false,
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			MaxConnsPerHost:     conns,
			IdleConnTimeout:     5 * time.Minute,
			DisableCompression:  true,
		},
	}
}

// signed holds the signature fields of one pre-signed request.
type signed struct{ input, sig string }

// presign signs n requests for t, using every core, so that the timed phase
// spends no client time on signatures. Each has its own nonce.
func presign(t *Target, n int) ([]signed, error) {
	out := make([]signed, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, runtime.GOMAXPROCS(0))
	for w := range errs {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				req, err := http.NewRequest(http.MethodGet, t.URL, nil)
				if err == nil {
					err = t.Signer.Sign(req)
				}
				if err != nil {
					errs[w] = err
					return
				}
				out[i] = signed{input: req.Header.Get("Signature-Input"), sig: req.Header.Get("Signature")}
			}
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// Phase is the outcome of one timed phase against one target.
type Phase struct {
	// OK counts 200 responses with the whole body read; Errors the rest.
	OK, Errors int
	// FirstError describes one failure, if any.
	FirstError string
	// Elapsed runs from the start until the last request in flight finished.
	Elapsed time.Duration
	// Short reports that the pre-signed requests ran out before the deadline.
	Short bool
	// P50 and P99 are latency percentiles of the successful requests.
	P50, P99 time.Duration
	// CPU is how the machine's CPU was shared during the phase.
	CPU CPUShare
	// Retries counts the times the phase was repeated because other
	// processes took too much CPU.
	Retries int
}

// RPS is the rate of successful requests.
func (p Phase) RPS() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.OK) / p.Elapsed.Seconds()
}

// runPhase sends the pool's requests to t over c.Conns connections, each
// worker one request at a time, until d has passed or the pool is used up.
func runPhase(ctx context.Context, t *Target, pool []signed, c LoadConfig, d time.Duration) Phase {
	var (
		next     atomic.Int64
		short    atomic.Bool
		firstErr sync.Once
		p        Phase
		wg       sync.WaitGroup
	)
	conns := c.Conns
	lat := make([][]time.Duration, conns)
	errs := make([]int, conns)
	cpu := sampleCPU(c.Procs)
	start := cpu.at
	deadline := start.Add(d)
	for w := range conns {
		wg.Go(func() {
			l := make([]time.Duration, 0, len(pool)/conns+16)
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(deadline) {
					break
				}
				i := int(next.Add(1) - 1)
				if i >= len(pool) {
					short.Store(true)
					break
				}
				if err := t.do(ctx, pool[i]); err != nil {
					errs[w]++
					firstErr.Do(func() { p.FirstError = err.Error() })
					continue
				}
				l = append(l, time.Since(t0))
			}
			lat[w] = l
		})
	}
	wg.Wait()
	p.Elapsed, p.Short, p.CPU = time.Since(start), short.Load(), shareSince(c.Procs, cpu)
	all := slices.Concat(lat...)
	slices.Sort(all)
	p.OK, p.Errors = len(all), sum(errs)
	p.P50, p.P99 = percentile(all, 50), percentile(all, 99)
	return p
}

// do sends one pre-signed request and reads the whole response.
func (t *Target) do(ctx context.Context, s signed) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.URL, nil)
	if err != nil {
		return err
	}
	req.Header["Signature-Input"] = []string{s.input}
	req.Header["Signature"] = []string{s.sig}
	resp, err := t.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// LoadConfig is how every target is loaded.
type LoadConfig struct {
	// Conns is the number of keep-alive connections, each with one request
	// in flight at a time.
	Conns int
	// Warm is the warm-up before each timed phase of Duration.
	Warm, Duration time.Duration
	// MaxOthers is the share of the machine's CPU that other processes may
	// take during a timed phase; above it the phase is repeated, up to
	// Retries times.
	MaxOthers float64
	Retries   int
	// Procs are the processes whose CPU time is accounted.
	Procs []Proc
}

// Measure warms t up (opening the connections, sizing the pool of
// pre-signed requests from the rate seen), then signs a fresh pool of at
// least minPool requests and runs the timed phase. A GC of this process runs
// before the timed phase so every one starts from a collected heap. A phase
// disturbed by other processes is repeated.
//
// The pool is live heap during the phase and so paces the garbage collector
// of the load generator (and, with -inprocess, of the servers); passing the
// same minPool for every target keeps that alike.
func Measure(ctx context.Context, t *Target, c LoadConfig, minPool int) (Phase, error) {
	pool, err := presign(t, int(2*t.Rate*c.Warm.Seconds())+8*c.Conns)
	if err != nil {
		return Phase{}, fmt.Errorf("%s: sign: %w", t.Name, err)
	}
	w := runPhase(ctx, t, pool, c, c.Warm)
	if w.OK == 0 {
		return Phase{}, fmt.Errorf("%s: warm-up: no request succeeded: %s", t.Name, w.FirstError)
	}
	t.Rate = w.RPS()
	var p Phase
	for try := 0; try <= c.Retries; try++ {
		pool = nil // let the previous pool go before the next is signed
		if pool, err = presign(t, max(minPool, PoolSize(t.Rate, c))); err != nil {
			return Phase{}, fmt.Errorf("%s: sign: %w", t.Name, err)
		}
		runtime.GC()
		p = runPhase(ctx, t, pool, c, c.Duration)
		p.Retries = try
		if p.OK > 0 {
			t.Rate = p.RPS()
		}
		if ctx.Err() != nil || p.CPU.Others <= c.MaxOthers {
			break
		}
	}
	return p, ctx.Err()
}

// PoolSize is how many pre-signed requests a timed phase at rate needs,
// with half as many again in reserve.
func PoolSize(rate float64, c LoadConfig) int {
	return int(1.5*rate*c.Duration.Seconds()) + 8*c.Conns
}

// percentile returns the q-th percentile (nearest rank) of sorted.
func percentile(sorted []time.Duration, q int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*q + 99) / 100
	return sorted[max(0, min(len(sorted)-1, i-1))]
}

func sum(v []int) int {
	n := 0
	for _, x := range v {
		n += x
	}
	return n
}

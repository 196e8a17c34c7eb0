package main

import (
	"crypto/rand"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"github.com/bankguard/bankguard/httpsig"
)

// CeilingBaseSize is the size of the signature base the SM2 ceiling signs and
// verifies: about what an A2 request's or response's base measures.
const CeilingBaseSize = 300

// sm2Pair is an SM2 signer and the verifier of its public key, with a base
// and its signature: one SM2 request verification plus one SM2 response
// signature is what an A2 call costs the gateway in public-key operations.
type sm2Pair struct {
	signer   httpsig.Signer
	verifier httpsig.Verifier
	base     []byte
	sig      []byte
}

func newSM2Pair() (*sm2Pair, error) {
	key, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	p := &sm2Pair{base: ceilingBase()}
	if p.signer, err = httpsig.NewSigner(httpsig.AlgSM2SM3, key); err != nil {
		return nil, err
	}
	if p.verifier, err = httpsig.NewVerifier(httpsig.AlgSM2SM3, &key.PublicKey); err != nil {
		return nil, err
	}
	if p.sig, err = p.signer.Sign(p.base); err != nil {
		return nil, err
	}
	return p, nil
}

// op is the unit of the ceiling: one verification and one signature.
func (p *sm2Pair) op() error {
	if err := p.verifier.Verify(p.base, p.sig); err != nil {
		return err
	}
	_, err := p.signer.Sign(p.base)
	return err
}

// ceilingBase is an A2 request's signature base, padded to CeilingBaseSize.
func ceilingBase() []byte {
	b := `"@method": GET` + "\n" +
		`"@authority": 127.0.0.1:8443` + "\n" +
		`"@path": ` + A2Path + "\n" +
		`"@query": ?` + "\n" +
		`"@signature-params": ("@method" "@authority" "@path" "@query");created=1764196443;` +
		`nonce="q3V8bX1yZk9ucEJ2d0FoWmR0c2xPbmVr";keyid="demo-a2-sm2-k1";alg="sm2-sm3"`
	if len(b) < CeilingBaseSize {
		b += ";tag=" + strings.Repeat("x", CeilingBaseSize-len(b)-5)
	}
	return []byte(b[:CeilingBaseSize])
}

// SM2Ceiling measures, for d, how many (SM2 verify + SM2 sign) operations per
// second the machine does on GOMAXPROCS goroutines: the most A2 calls per
// second a gateway could serve if it did nothing else.
func SM2Ceiling(d time.Duration) (float64, error) {
	p, err := newSM2Pair()
	if err != nil {
		return 0, fmt.Errorf("sm2 ceiling: %w", err)
	}
	workers := runtime.GOMAXPROCS(0)
	counts := make([]int, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for w := range workers {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if err := p.op(); err != nil {
					errs[w] = err
					return
				}
				counts[w]++
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, err := range errs {
		if err != nil {
			return 0, fmt.Errorf("sm2 ceiling: %w", err)
		}
	}
	return float64(sum(counts)) / elapsed.Seconds(), nil
}

// Ceiling is one measurement of the SM2 ceiling.
type Ceiling struct {
	// Rate is in (verify + sign) operations per second.
	Rate float64
	// CPU is how the machine's CPU was shared meanwhile.
	CPU CPUShare
	// Retries counts repeats because other processes took too much CPU.
	Retries int
}

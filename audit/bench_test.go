package audit_test

import (
	"context"
	"testing"
	"time"

	"github.com/bankguard/bankguard/audit"
)

// BenchmarkAppend measures durable appends per second with group commit: many
// concurrent requests, each waiting for its record's fsync, as the gateway's
// do. Report: appends/s.
func BenchmarkAppend(b *testing.B) {
	f := newFixture(b)
	st, err := openBench(f)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	w, err := audit.NewWriter(context.Background(), audit.WriterConfig{Store: st, Hasher: f.hasher, KeyID: "audit-k", Signer: f.signer})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	rec := record(audit.LogInterface, 1)
	b.SetParallelism(32) // 32 × GOMAXPROCS requests in flight, as the load benchmark's 64 connections
	b.ReportAllocs()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := w.Append(context.Background(), rec); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "appends/s")
}

// BenchmarkVerify measures full verification speed. Report: records/s.
func BenchmarkVerify(b *testing.B) {
	f := newFixture(b)
	f.witness = ""
	const n = 20000
	f.write(b, n/2, 1000) // n/2 per log
	st, err := openBench(f)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		rep, err := audit.Verify(context.Background(), st, f.hasher, audit.VerifyOptions{Keys: f.keys})
		if err != nil || !rep.OK() {
			b.Fatal(err, rep.First())
		}
	}
	b.ReportMetric(float64(n*b.N)/time.Since(start).Seconds(), "records/s")
}

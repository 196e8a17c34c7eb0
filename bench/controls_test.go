package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/bankguard/bankguard/pii"
)

// The benchmarks of this file measure the two controls of issue 3 apart
// from the gateway: what the disk makes the audit log wait for, and what
// masking the backend's body costs.

// BenchmarkFsync times what every group commit of the audit log waits for:
// writing a 4 KiB page (the unit of SQLite's write-ahead log) to a file in
// the temporary directory (where t.TempDir, the audit benchmarks and the
// load benchmark keep their stores) and syncing it with os.File.Sync, an
// fsync. "append" grows the file on every write, so each sync also commits
// its new size; "overwrite" rewrites the same page, as the log does once
// SQLite has reset it after a checkpoint. Report: fsyncs/s, and cpu-ns/op,
// the CPU time this process spends per write and sync (the kernel's journal
// threads are not counted).
func BenchmarkFsync(b *testing.B) {
	for _, bc := range []struct {
		name string
		grow bool
	}{{"append", true}, {"overwrite", false}} {
		b.Run(bc.name, func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "fsync"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			page := make([]byte, 4096)
			var off int64
			c0 := processCPU()
			for b.Loop() {
				if _, err := f.WriteAt(page, off); err != nil {
					b.Fatal(err)
				}
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
				if bc.grow {
					off += int64(len(page))
				}
			}
			b.ReportMetric(float64((processCPU()-c0).Nanoseconds())/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "fsyncs/s")
		})
	}
}

// BenchmarkMaskBody masks backendBody as the gateway does for targets b and
// c (detectors and member-name hints on every field, no rules). MB/s gives
// the cost per KiB.
func BenchmarkMaskBody(b *testing.B) {
	e, err := pii.NewEngine(make([]byte, pii.MinKeyLen))
	if err != nil {
		b.Fatal(err)
	}
	p := &pii.Policy{Scan: true}
	b.SetBytes(int64(len(backendBody)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := e.MaskJSON(backendBody, p); err != nil {
			b.Fatal(err)
		}
	}
}

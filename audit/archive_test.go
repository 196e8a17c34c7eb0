package audit_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bankguard/bankguard/audit"
)

// writeAged writes n transaction records, the first `old` of them 500 days old.
func (f *fixture) writeAged(t *testing.T, n, old int) {
	t.Helper()
	st := f.open(t)
	defer st.Close()
	w, err := audit.NewWriter(context.Background(), audit.WriterConfig{Store: st, Hasher: f.hasher, KeyID: "audit-k",
		Signer: f.signer, WitnessDir: f.witness, CheckpointEvery: 100, CheckpointInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// Every old record is committed before the first recent one.
	appendAll(t, w, 0, old, time.Now().AddDate(0, 0, -500))
	appendAll(t, w, old, n, time.Now())
	w.Close()
}

// appendAll appends transaction records [from, to) at time at, a hundred at a
// time concurrently (one commit each).
func appendAll(t *testing.T, w *audit.Writer, from, to int, at time.Time) {
	t.Helper()
	for start := from; start < to; start += 100 {
		var wg sync.WaitGroup
		for i := start; i < min(start+100, to); i++ {
			r := record(audit.LogTransaction, i)
			r.Time = at
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := w.Append(context.Background(), r); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
}

func (f *fixture) archiver(st audit.Store) *audit.Archiver {
	return &audit.Archiver{Store: st, Hasher: f.hasher, KeyID: "audit-k", Signer: f.signer, Keys: f.keys,
		Dir: filepath.Join(f.dir, "archive"), WitnessDir: f.witness,
		Retention: map[string]time.Duration{audit.LogTransaction: 400 * 24 * time.Hour, audit.LogInterface: 200 * 24 * time.Hour}}
}

func TestArchiveExpiredRanges(t *testing.T) {
	f := newFixture(t)
	f.writeAged(t, 1000, 700)
	st := f.open(t)
	res, err := f.archiver(st).Run(context.Background())
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	// 700 old records: the aligned range [0, 512) goes, 512..699 wait for the next 256.
	if len(res) != 1 || res[0].From != 0 || res[0].To != 512 {
		t.Fatalf("archived %+v", res)
	}

	// The live store verifies, from the archived prefix on.
	rep := f.verify(t, true)
	if !rep.OK() || rep.Logs[0].Archived != 512 || rep.Logs[0].Records != 488 {
		t.Fatalf("after archival: %+v %v", rep.Logs[0], rep.First())
	}
	// Live records can still be proved.
	st = f.open(t)
	p, err := audit.Prove(context.Background(), st, f.hasher, "transaction-00900")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Check(f.keys); err != nil {
		t.Fatal(err)
	}
	// A second run archives nothing new; a writer resumes after the prefix.
	if res, err := f.archiver(st).Run(context.Background()); err != nil || len(res) != 0 {
		t.Fatalf("second run: %v %v", res, err)
	}
	st.Close()
	f.write(t, 10, 100)
	if rep := f.verify(t, true); !rep.OK() {
		t.Fatalf("after more records: %v", rep.First())
	}

	// The segment verifies on its own, and fails when edited.
	seg, _ := os.ReadFile(res0File(t, f))
	if r, err := audit.VerifySegment(bytes.NewReader(seg), f.keys); err != nil || r.To != 512 {
		t.Fatalf("segment: %+v %v", r, err)
	}
	for name, edit := range map[string]func([]byte) []byte{
		"edited record":  func(b []byte) []byte { return []byte(strings.Replace(string(b), `"status":200`, `"status":201`, 1)) },
		"dropped record": func(b []byte) []byte { return dropLine(b, 100) },
		"truncated":      func(b []byte) []byte { return dropLine(b, 512) },
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := audit.VerifySegment(bytes.NewReader(regzip(t, seg, edit)), f.keys); err == nil {
				t.Fatal("tampered segment verifies")
			}
		})
	}
}

func TestArchiveRefusesATamperedStore(t *testing.T) {
	f := newFixture(t)
	f.writeAged(t, 600, 600)
	editAndRehash(t, f, 10, `"amount":"1.00"`, `"amount":"9.00"`)
	st := f.open(t)
	defer st.Close()
	_, err := f.archiver(st).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "do not agree with the checkpoint") {
		t.Fatalf("archiving a tampered range: %v", err)
	}
	if names, _ := filepath.Glob(filepath.Join(f.dir, "archive", "*")); len(names) != 0 {
		t.Fatalf("files left behind: %v", names)
	}
}

func res0File(t *testing.T, f *fixture) string {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(f.dir, "archive", "transaction-*.jsonl.gz"))
	if len(names) != 1 {
		t.Fatalf("segments: %v", names)
	}
	return names[0]
}

// regzip decompresses a segment, edits it and compresses it again.
func regzip(t *testing.T, seg []byte, edit func([]byte) []byte) []byte {
	t.Helper()
	plain := gunzip(t, seg)
	return gzipBytes(t, edit(plain))
}

func dropLine(b []byte, i int) []byte {
	lines := strings.SplitAfter(string(b), "\n")
	if i >= len(lines) {
		panic(fmt.Sprint("no line ", i))
	}
	return []byte(strings.Join(append(lines[:i], lines[i+1:]...), ""))
}

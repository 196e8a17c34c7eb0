package audit_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"github.com/bankguard/bankguard/audit"
	"github.com/bankguard/bankguard/httpsig"
	"github.com/bankguard/bankguard/store/sqlite"
)

// fixture is a generated audit log on disk.
type fixture struct {
	dir     string
	db      string
	witness string
	hasher  *audit.Hasher
	signer  httpsig.Signer
	keys    audit.KeySet
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	dir := t.TempDir()
	priv, _ := sm2.GenerateKey(rand.Reader)
	s, _ := httpsig.NewSigner(httpsig.AlgSM2SM3, priv)
	v, _ := httpsig.NewVerifier(httpsig.AlgSM2SM3, &priv.PublicKey)
	h, _ := audit.NewHasher(audit.HashSM3)
	f := &fixture{dir: dir, db: filepath.Join(dir, "audit.db"), witness: filepath.Join(dir, "witness"),
		hasher: h, signer: s, keys: audit.KeySet{"audit-k": v}}
	os.MkdirAll(f.witness, 0o700)
	return f
}

func (f *fixture) open(t testing.TB) *sqlite.AuditStore {
	t.Helper()
	st, err := openBench(f)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func openBench(f *fixture) (*sqlite.AuditStore, error) {
	return sqlite.OpenAudit(context.Background(), f.db)
}

// write appends n records per log, concurrently, with a checkpoint every
// `every` records, and closes the writer (final checkpoint).
func (f *fixture) write(t testing.TB, n, every int) {
	t.Helper()
	st := f.open(t)
	defer st.Close()
	w, err := audit.NewWriter(context.Background(), audit.WriterConfig{Store: st, Hasher: f.hasher, KeyID: "audit-k",
		Signer: f.signer, WitnessDir: f.witness, CheckpointEvery: every, CheckpointInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range n {
		for _, log := range audit.Logs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := w.Append(context.Background(), record(log, i)); err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func record(log string, i int) audit.Record {
	return audit.Record{Log: log, TxnID: fmt.Sprintf("%s-%05d", log, i), Time: time.Date(2026, 11, 26, 10, 0, 0, i*1_000_000, time.UTC),
		AppID: "demo-a2-sm2", APIID: "OPC999990201010100000001", Method: "GET", KeyID: "k1", LatencyMS: 3,
		Result: audit.ResultSuccess, Status: 200, ClientIP: "127.0.0.1", Body: json.RawMessage(`{"amount":"1.00"}`)}
}

func (f *fixture) verify(t *testing.T, witness bool) *audit.Report {
	t.Helper()
	st := f.open(t)
	defer st.Close()
	o := audit.VerifyOptions{Keys: f.keys}
	if witness {
		o.WitnessDir = f.witness
	}
	rep, err := audit.Verify(context.Background(), st, f.hasher, o)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// sqlExec edits the audit database behind the store's back.
func (f *fixture) sqlExec(t *testing.T, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+f.db)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func TestVerifyPassesOnAnUntouchedLog(t *testing.T) {
	f := newFixture(t)
	f.write(t, 600, 100)
	rep := f.verify(t, true)
	if !rep.OK() {
		t.Fatalf("untouched log fails: %v", rep.First())
	}
	for _, l := range rep.Logs {
		if l.Records != 600 || l.Signed != 600 || l.Checkpoints < 2 {
			t.Fatalf("%+v", l)
		}
	}
}

func TestVerifyNamesTheFirstBadRecord(t *testing.T) {
	const log = "transaction"
	tests := []struct {
		name    string
		tamper  func(t *testing.T, f *fixture)
		witness bool
		seq     uint64
		atMost  bool // the problem names seq or an earlier record (the window since the last good checkpoint)
		want    string
	}{
		{name: "edit a field", seq: 250, want: "edited", tamper: func(t *testing.T, f *fixture) {
			f.tamperLog(t, log, func(r []stored) []stored {
				i := at(r, 250)
				r[i].data = []byte(strings.Replace(string(r[i].data), `"status":200`, `"status":201`, 1))
				return r
			})
		}},
		{name: "edit a field and its leaf hash", seq: 255, atMost: true, want: `tree node \(8, 0\)|do not match the checkpoint`, tamper: func(t *testing.T, f *fixture) {
			editAndRehash(t, f, 250, `"amount":"1.00"`, `"amount":"9.00"`)
		}},
		{name: "edit a field and its leaf hash where no tree node covers it", seq: 550, atMost: true, want: "do not match the checkpoint",
			tamper: func(t *testing.T, f *fixture) {
				editAndRehash(t, f, 550, `"amount":"1.00"`, `"amount":"9.00"`)
			}},
		{name: "edit the time index only", seq: 250, want: "index was edited", tamper: func(t *testing.T, f *fixture) {
			f.tamperLog(t, log, func(r []stored) []stored {
				i := at(r, 250)
				r[i].tsMin, r[i].tsMax = "2031-01-01T00:00:00.000Z", "2031-01-01T00:00:00.000Z"
				return r
			})
		}},
		{name: "delete a record", seq: 250, want: "missing", tamper: func(t *testing.T, f *fixture) {
			f.tamperLog(t, log, func(r []stored) []stored {
				i := at(r, 250)
				return append(r[:i], r[i+1:]...)
			})
		}},
		{name: "delete a record and close the gap", seq: 250, want: "missing or moved", tamper: func(t *testing.T, f *fixture) {
			f.tamperLog(t, log, func(r []stored) []stored {
				i := at(r, 250)
				r = append(r[:i], r[i+1:]...)
				for j := i; j < len(r); j++ {
					r[j].pos--
				}
				return r
			})
		}},
		{name: "swap two records", seq: 250, want: "missing or moved", tamper: func(t *testing.T, f *fixture) {
			f.tamperLog(t, log, func(r []stored) []stored {
				i, j := at(r, 250), at(r, 251)
				r[i].data, r[j].data = r[j].data, r[i].data
				r[i].leaf, r[j].leaf = r[j].leaf, r[i].leaf
				return r
			})
		}},
		{name: "insert one", seq: 251, want: "moved or inserted", tamper: func(t *testing.T, f *fixture) {
			forged := record(log, 9999)
			forged.Seq = 250
			data, _ := forged.Canonical()
			f.tamperLog(t, log, func(r []stored) []stored {
				i := at(r, 250)
				for j := i; j < len(r); j++ {
					r[j].pos++
				}
				ts := forged.Time.UTC().Format("2006-01-02T15:04:05.000Z")
				ins := stored{pos: 250, data: data, leaf: f.hasher.HashLeaf(data), tsMin: ts, tsMax: ts}
				return append(r[:i], append([]stored{ins}, r[i:]...)...)
			})
		}},
		{name: "truncate the tail", seq: 550, want: "truncated", tamper: func(t *testing.T, f *fixture) {
			f.tamperLog(t, log, func(r []stored) []stored { return r[:at(r, 550)] })
		}},
		{name: "truncate the tail and its checkpoints, caught by the witness", seq: 550, want: "truncated", witness: true,
			tamper: func(t *testing.T, f *fixture) {
				f.tamperLog(t, log, func(r []stored) []stored { return r[:at(r, 550)] })
				f.sqlExec(t, `DELETE FROM audit_checkpoints WHERE log='transaction' AND size > 550`)
			}},
		{name: "forge a checkpoint", seq: 600, want: "not validly signed", tamper: func(t *testing.T, f *fixture) {
			f.sqlExec(t, `UPDATE audit_checkpoints SET data = replace(data, '"time":"2026', '"time":"2027') WHERE log='transaction' AND size=600`)
		}},
		{name: "edit a stored tree node", seq: 511, want: "tree node", tamper: func(t *testing.T, f *fixture) {
			f.sqlExec(t, `UPDATE audit_nodes SET hash = zeroblob(32) WHERE log='transaction' AND level=8 AND idx=1`)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.write(t, 600, 100)
			tt.tamper(t, f)
			p := f.verify(t, tt.witness).First()
			if p == nil {
				t.Fatal("tampering not detected")
			}
			seqOK := p.Seq == tt.seq || tt.atMost && p.Seq <= tt.seq
			if p.Log != log || !seqOK || !regexp.MustCompile(tt.want).MatchString(p.What) {
				t.Fatalf("problem = %s; want record %d and %q", p, tt.seq, tt.want)
			}
		})
	}
}

// editAndRehash edits a record and recomputes its leaf hash, as an attacker
// who knows the scheme would.
func editAndRehash(t *testing.T, f *fixture, seq uint64, from, to string) {
	t.Helper()
	f.tamperLog(t, "transaction", func(r []stored) []stored {
		i := at(r, seq)
		r[i].data = []byte(strings.Replace(string(r[i].data), from, to, 1))
		r[i].leaf = f.hasher.HashLeaf(r[i].data)
		return r
	})
}

func TestWriterResumesAfterRestart(t *testing.T) {
	f := newFixture(t)
	f.write(t, 300, 100)
	f.write(t, 300, 100) // a second writer continues both trees
	rep := f.verify(t, true)
	if !rep.OK() {
		t.Fatal(rep.First())
	}
	if rep.Logs[0].Records != 600 {
		t.Fatalf("records %d", rep.Logs[0].Records)
	}
}

func TestInclusionAndConsistencyProofs(t *testing.T) {
	f := newFixture(t)
	f.write(t, 700, 100)
	st := f.open(t)
	defer st.Close()
	ctx := context.Background()
	for _, i := range []int{0, 1, 255, 256, 511, 699} {
		p, err := audit.Prove(ctx, st, f.hasher, fmt.Sprintf("transaction-%05d", i))
		if err != nil {
			t.Fatal(err)
		}
		// Through indented JSON, as a third party receives it.
		b, _ := json.MarshalIndent(p, "", "  ")
		var got audit.Proof
		json.Unmarshal(b, &got)
		if _, err := got.Check(f.keys); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		// A proof for an edited record fails.
		bad := got
		bad.Record = []byte(strings.Replace(string(bad.Record), `"status": 200`, `"status": 500`, 1))
		if string(bad.Record) == string(got.Record) {
			t.Fatal("the test's edit matched nothing")
		}
		if _, err := bad.Check(f.keys); err == nil {
			t.Fatalf("record %d: edited record passes", i)
		}
		// A proof checked with another key fails.
		other, _ := sm2.GenerateKey(rand.Reader)
		ov, _ := httpsig.NewVerifier(httpsig.AlgSM2SM3, &other.PublicKey)
		if _, err := got.Check(audit.KeySet{"audit-k": ov}); err == nil {
			t.Fatalf("record %d: checks with another key", i)
		}
	}
	cps, _ := st.Checkpoints(ctx, "interface")
	if len(cps) < 2 {
		t.Fatalf("%d checkpoints", len(cps))
	}
	c, err := audit.ProveConsistency(ctx, st, f.hasher, "interface", cps[0].Size, cps[len(cps)-1].Size)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Check(f.keys); err != nil {
		t.Fatal(err)
	}
	c.From.Root[0] ^= 1
	if _, err := c.Check(f.keys); err == nil {
		t.Fatal("consistency proof with an edited earlier root passes")
	}
}

func TestAppendRefusesInvalidRecords(t *testing.T) {
	f := newFixture(t)
	st := f.open(t)
	defer st.Close()
	w, err := audit.NewWriter(context.Background(), audit.WriterConfig{Store: st, Hasher: f.hasher, KeyID: "audit-k", Signer: f.signer})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r := record("nowhere", 1)
	if err := w.Append(context.Background(), r); err == nil {
		t.Fatal("record for an unknown log accepted")
	}
	w.Close()
	if err := w.Append(context.Background(), record("interface", 1)); err == nil {
		t.Fatal("append after close accepted")
	}
}

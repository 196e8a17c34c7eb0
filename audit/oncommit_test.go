package audit_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bankguard/bankguard/audit"
)

// commits records what OnCommit was told.
type commits struct {
	mu      sync.Mutex
	records int
	took    []time.Duration
	errs    []error
}

func (c *commits) hook(d time.Duration, n int, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.records += n
	c.took = append(c.took, d)
	c.errs = append(c.errs, err)
}

// steppingClock advances by step at every reading.
func steppingClock(step time.Duration) func() time.Time {
	var ticks atomic.Int64
	base := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	return func() time.Time { return base.Add(time.Duration(ticks.Add(1)) * step) }
}

func TestOnCommitReportsEveryCommit(t *testing.T) {
	f := newFixture(t)
	st := f.open(t)
	defer st.Close()
	var c commits
	w, err := audit.NewWriter(context.Background(), audit.WriterConfig{Store: st, Hasher: f.hasher, KeyID: "audit-k",
		Signer: f.signer, Now: steppingClock(7 * time.Millisecond), CheckpointInterval: time.Hour, OnCommit: c.hook})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := w.Append(context.Background(), record("interface", i)); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.records != 3 || len(c.took) == 0 {
		t.Fatalf("records = %d in %d commits, want 3", c.records, len(c.took))
	}
	for i := range c.took {
		if c.errs[i] != nil || c.took[i] != 7*time.Millisecond {
			t.Fatalf("commit %d: took %v err %v, want 7ms (one clock step) and no error", i, c.took[i], c.errs[i])
		}
	}
}

// failingStore refuses every write.
type failingStore struct{ audit.Store }

var errDiskFull = errors.New("disk full")

func (failingStore) Append(context.Context, []audit.Entry, []audit.Node) error { return errDiskFull }

func TestOnCommitReportsAFailedCommit(t *testing.T) {
	f := newFixture(t)
	st := f.open(t)
	defer st.Close()
	var c commits
	w, err := audit.NewWriter(context.Background(), audit.WriterConfig{Store: failingStore{st}, Hasher: f.hasher,
		KeyID: "audit-k", Signer: f.signer, OnCommit: c.hook})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Append(context.Background(), record("interface", 1)); !errors.Is(err, errDiskFull) {
		t.Fatalf("Append = %v, want the store's error", err)
	}
	w.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.records != 1 || len(c.errs) != 1 || !errors.Is(c.errs[0], errDiskFull) {
		t.Fatalf("OnCommit told records=%d errs=%v, want one failed commit of 1 record", c.records, c.errs)
	}
}

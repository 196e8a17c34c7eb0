package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/transparency-dev/merkle/compact"

	"github.com/bankguard/bankguard/httpsig"
)

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("audit: writer closed")

// WriterConfig configures a Writer.
type WriterConfig struct {
	Store  Store
	Hasher *Hasher
	// KeyID and Signer sign checkpoints: the audit key, used for nothing else.
	KeyID  string
	Signer httpsig.Signer
	// WitnessDir, if set, receives a copy of every checkpoint as it is made.
	WitnessDir string
	// CheckpointEvery and CheckpointInterval: a checkpoint is made after this
	// many records or this long after the last one, whichever comes first
	// (defaults 1,000 and 10 s), and at Close.
	CheckpointEvery    int
	CheckpointInterval time.Duration
	// MaxBatch bounds a group commit (default 512).
	MaxBatch int
	Logger   *slog.Logger
	Now      func() time.Time
	// OnCommit, if set, is told of every group commit once its waiters are
	// released: how long it took (numbering, hashing and the durable store
	// write, measured with Now), how many records it held, and the error
	// that kept them out of the store, if any. It runs on the committer
	// goroutine, so it must be quick and must not block: it feeds the audit
	// commit latency metric (T/PCAC 0008-2020 6.1.1).
	OnCommit func(d time.Duration, records int, err error)
}

// Writer appends records durably with group commit: Append returns once the
// record is in the store, fsync included. One goroutine commits; records that
// arrive while it writes go together into the next transaction.
type Writer struct {
	cfg     WriterConfig
	rf      *compact.RangeFactory
	queue   chan *pending
	closing chan struct{}
	done    chan struct{}
	logs    map[string]*logState

	mu     sync.RWMutex // held for reading while enqueueing, for writing by Close
	closed bool
}

type logState struct {
	tree      *tree
	rng       *compact.Range
	sinceCP   int       // records since the last checkpoint
	lastCP    time.Time // when the last checkpoint was made
	lastCPEnd uint64    // its size
}

type pending struct {
	rec  Record
	done chan error
}

// NewWriter resumes the logs from the store and starts the committer.
func NewWriter(ctx context.Context, cfg WriterConfig) (*Writer, error) {
	if cfg.Store == nil || cfg.Hasher == nil || cfg.Signer == nil || cfg.KeyID == "" {
		return nil, errors.New("audit: writer needs a store, a hasher and a signing key")
	}
	if cfg.CheckpointEvery <= 0 {
		cfg.CheckpointEvery = 1000
	}
	if cfg.CheckpointInterval <= 0 {
		cfg.CheckpointInterval = 10 * time.Second
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 512
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	w := &Writer{cfg: cfg, rf: &compact.RangeFactory{Hash: cfg.Hasher.HashChildren},
		queue: make(chan *pending, 4*cfg.MaxBatch), closing: make(chan struct{}),
		done: make(chan struct{}), logs: map[string]*logState{}}
	for _, log := range Logs {
		st, err := w.resume(ctx, log)
		if err != nil {
			return nil, err
		}
		w.logs[log] = st
	}
	go w.run()
	return w, nil
}

func (w *Writer) resume(ctx context.Context, log string) (*logState, error) {
	t := newTree(w.cfg.Store, w.cfg.Hasher, log)
	size, err := w.cfg.Store.Size(ctx, log)
	if err != nil {
		return nil, err
	}
	rng, err := t.compactRange(ctx, size)
	if err != nil {
		return nil, fmt.Errorf("audit: resume log %s at %d: %w", log, size, err)
	}
	st := &logState{tree: t, rng: rng, lastCP: w.cfg.Now()}
	cps, err := w.cfg.Store.Checkpoints(ctx, log)
	if err != nil {
		return nil, err
	}
	if n := len(cps); n > 0 {
		st.lastCPEnd = cps[n-1].Size
	}
	st.sinceCP = int(size - st.lastCPEnd)
	return st, nil
}

// Append writes rec (Log, TxnID, Time, Result and Status set; Seq is
// assigned) and returns once it is durably stored, or the error that
// prevented it. The caller must not complete its response before.
func (w *Writer) Append(ctx context.Context, rec Record) error {
	if err := rec.Validate(); err != nil {
		return err
	}
	p := &pending{rec: rec, done: make(chan error, 1)}
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return ErrClosed
	}
	select {
	case w.queue <- p:
		w.mu.RUnlock()
	case <-ctx.Done():
		w.mu.RUnlock()
		return ctx.Err()
	}
	// Once queued, the record will be committed or fail; wait for it even if
	// the client goes away, so the log never misses what it was handed.
	return <-p.done
}

// Close commits what is queued, makes a final checkpoint and stops.
func (w *Writer) Close() error {
	w.mu.Lock() // waits for every Append that is enqueueing
	if !w.closed {
		w.closed = true
		close(w.closing)
	}
	w.mu.Unlock()
	<-w.done
	return nil
}

func (w *Writer) run() {
	defer close(w.done)
	ticker := time.NewTicker(w.cfg.CheckpointInterval / 4)
	defer ticker.Stop()
	for {
		select {
		case p := <-w.queue:
			w.commit(w.gather(p))
		case <-ticker.C:
			w.checkpoints(false)
		case <-w.closing:
			w.drain()
			w.checkpoints(true)
			return
		}
	}
}

// drain commits everything queued; after Close nothing more can be queued.
func (w *Writer) drain() {
	for {
		select {
		case p := <-w.queue:
			w.commit(w.gather(p))
		default:
			return
		}
	}
}

// gather takes first and whatever else queued while the last commit was
// being written, up to MaxBatch. It never waits for more: the gateway's
// requests in flight are bounded by its connections, so a commit that
// lingered would only hold back records that are already all here (tried:
// it cost throughput and saved no CPU).
func (w *Writer) gather(first *pending) []*pending {
	batch := []*pending{first}
	for len(batch) < w.cfg.MaxBatch {
		select {
		case p := <-w.queue:
			batch = append(batch, p)
		default:
			return batch
		}
	}
	return batch
}

// commit numbers, hashes and stores a batch, then releases its waiters.
func (w *Writer) commit(batch []*pending) {
	ctx := context.Background()
	start := w.cfg.Now()
	saved := map[string]*compact.Range{}
	entries := make([]Entry, 0, len(batch))
	var nodes []Node
	var err error
	for _, p := range batch {
		st := w.logs[p.rec.Log]
		if _, ok := saved[p.rec.Log]; !ok {
			saved[p.rec.Log] = w.copyRange(st.rng)
		}
		e := Entry{Record: p.rec}
		e.Seq = st.rng.End()
		if e.Data, err = e.Canonical(); err != nil {
			break
		}
		e.Leaf = w.cfg.Hasher.HashLeaf(e.Data)
		if err = st.rng.Append(e.Leaf, storedNodes(e.Log, &nodes)); err != nil {
			break
		}
		entries = append(entries, e)
	}
	if err == nil {
		err = w.cfg.Store.Append(ctx, entries, nodes)
	}
	if err != nil {
		for log, r := range saved { // the batch is not in the store: forget it
			w.logs[log].rng = r
		}
		w.cfg.Logger.Error("audit records could not be stored; requests are refused until they can", "records", len(batch), "err", err)
		err = fmt.Errorf("audit: commit: %w", err)
	} else {
		for _, e := range entries {
			w.logs[e.Log].sinceCP++
		}
	}
	took := w.cfg.Now().Sub(start)
	for _, p := range batch {
		p.done <- err
	}
	if w.cfg.OnCommit != nil {
		w.cfg.OnCommit(took, len(batch), err)
	}
	w.checkpoints(false)
}

func (w *Writer) copyRange(r *compact.Range) *compact.Range {
	c, _ := w.rf.NewRange(r.Begin(), r.End(), append([][]byte(nil), r.Hashes()...))
	return c
}

// checkpoints signs a checkpoint for every log that has new records and is
// due (or all of them, if force).
func (w *Writer) checkpoints(force bool) {
	now := w.cfg.Now()
	for _, log := range Logs {
		st := w.logs[log]
		if st.rng.End() == st.lastCPEnd {
			continue
		}
		if !force && st.sinceCP < w.cfg.CheckpointEvery && now.Sub(st.lastCP) < w.cfg.CheckpointInterval {
			continue
		}
		if err := w.checkpoint(log, st, now); err != nil {
			w.cfg.Logger.Error("audit checkpoint failed", "log", log, "size", st.rng.End(), "err", err)
			continue
		}
		st.sinceCP, st.lastCP, st.lastCPEnd = 0, now, st.rng.End()
	}
}

func (w *Writer) checkpoint(log string, st *logState, now time.Time) error {
	root, err := st.rng.GetRootHash(nil)
	if err != nil {
		return err
	}
	c := &Checkpoint{Log: log, Size: st.rng.End(), Root: root, Hash: w.cfg.Hasher.Name(), Time: now.UTC()}
	if err := c.Sign(w.cfg.KeyID, w.cfg.Signer); err != nil {
		return err
	}
	if err := w.cfg.Store.PutCheckpoint(context.Background(), c); err != nil {
		return err
	}
	if w.cfg.WitnessDir != "" {
		return WriteWitness(w.cfg.WitnessDir, c)
	}
	return nil
}

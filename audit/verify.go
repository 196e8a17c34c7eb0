package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/transparency-dev/merkle/compact"
)

// Problem is something verification found wrong.
type Problem struct {
	Log string `json:"log"`
	// Seq is the first bad record's sequence number.
	Seq   uint64 `json:"seq"`
	TxnID string `json:"txn_id,omitempty"`
	What  string `json:"what"`
}

func (p Problem) String() string {
	s := fmt.Sprintf("log %s, record %d", p.Log, p.Seq)
	if p.TxnID != "" {
		s += " (txn " + p.TxnID + ")"
	}
	return s + ": " + p.What
}

// LogReport is the verification result of one log.
type LogReport struct {
	Log string `json:"log"`
	// Archived is the number of records archived out of the live store.
	Archived uint64 `json:"archived"`
	// Records is the number of records checked.
	Records uint64 `json:"records"`
	// Checkpoints is the number of distinct signed checkpoints checked.
	Checkpoints int `json:"checkpoints"`
	// Signed is the size of the latest valid checkpoint; records after it
	// are not yet covered by a signature.
	Signed  uint64    `json:"signed"`
	Problem *Problem  `json:"problem,omitempty"`
	Latest  time.Time `json:"latest_checkpoint_time"`
}

// Report is the result of Verify.
type Report struct {
	Logs []LogReport `json:"logs"`
}

// OK reports whether no problem was found.
func (r *Report) OK() bool { return r.First() == nil }

// First returns the first problem found, or nil.
func (r *Report) First() *Problem {
	for _, l := range r.Logs {
		if l.Problem != nil {
			return l.Problem
		}
	}
	return nil
}

// VerifyOptions say what to trust.
type VerifyOptions struct {
	// Keys are the audit public keys checkpoints must be signed with.
	Keys KeySet
	// WitnessDir, if set, is read for checkpoint copies: a log shorter than
	// a witnessed checkpoint was truncated even if the store's own
	// checkpoints were removed.
	WitnessDir string
}

// Verify recomputes every log from its records and checks it against every
// signed checkpoint, in the store and the witness directory. It stops each
// log at the first problem, which names the first bad record.
func Verify(ctx context.Context, s Store, h *Hasher, o VerifyOptions) (*Report, error) {
	rep := &Report{}
	for _, log := range Logs {
		lr, err := verifyLog(ctx, s, h, o, log)
		if err != nil {
			return nil, err
		}
		rep.Logs = append(rep.Logs, *lr)
	}
	return rep, nil
}

// checkpointSet is a log's signed checkpoints, by size.
type checkpointSet struct {
	bySize map[uint64]Checkpoint
	sizes  []uint64
}

func loadCheckpoints(ctx context.Context, s Store, h *Hasher, o VerifyOptions, log string) (*checkpointSet, *Problem, error) {
	all, err := s.Checkpoints(ctx, log)
	if err != nil {
		return nil, nil, err
	}
	if o.WitnessDir != "" {
		w, err := ReadWitness(o.WitnessDir, log)
		if err != nil {
			return nil, nil, err
		}
		all = append(all, w...)
	}
	cs := &checkpointSet{bySize: map[uint64]Checkpoint{}}
	for _, c := range all {
		if err := c.Verify(o.Keys); err != nil {
			return nil, &Problem{Log: log, Seq: c.Size, What: fmt.Sprintf("checkpoint at size %d is not validly signed: %v", c.Size, err)}, nil
		}
		if c.Hash != h.Name() {
			return nil, &Problem{Log: log, Seq: c.Size, What: fmt.Sprintf("checkpoint at size %d uses hash %s, the log %s", c.Size, c.Hash, h.Name())}, nil
		}
		if prev, ok := cs.bySize[c.Size]; ok {
			if !bytes.Equal(prev.Root, c.Root) {
				return nil, &Problem{Log: log, Seq: c.Size, What: fmt.Sprintf("two signed checkpoints at size %d disagree on the root", c.Size)}, nil
			}
			continue
		}
		cs.bySize[c.Size] = c
		cs.sizes = append(cs.sizes, c.Size)
	}
	slices.Sort(cs.sizes)
	return cs, nil, nil
}

// errStop ends a scan at the first problem.
var errStop = errors.New("stop")

func verifyLog(ctx context.Context, s Store, h *Hasher, o VerifyOptions, log string) (*LogReport, error) {
	lr := &LogReport{Log: log}
	cps, p, err := loadCheckpoints(ctx, s, h, o, log)
	if err != nil || p != nil {
		lr.Problem = p
		return lr, err
	}
	lr.Checkpoints = len(cps.sizes)
	start, prefix, err := s.Prefix(ctx, log)
	if err != nil {
		return nil, err
	}
	lr.Archived = start
	rf := &compact.RangeFactory{Hash: h.HashChildren}
	rng, err := rf.NewRange(0, start, prefix)
	if err != nil {
		lr.Problem = &Problem{Log: log, Seq: start, What: "the archived prefix's hashes are corrupt"}
		return lr, nil
	}
	next := 0 // index into cps.sizes of the next checkpoint to meet
	for next < len(cps.sizes) && cps.sizes[next] < start {
		next++ // archived before: checked when the archive was made
	}
	lastGood := start
	check := func() *Problem {
		for next < len(cps.sizes) && cps.sizes[next] == rng.End() {
			c := cps.bySize[rng.End()]
			next++
			root, err := rng.GetRootHash(nil)
			if err != nil || !bytes.Equal(root, c.Root) {
				return &Problem{Log: log, Seq: lastGood, What: fmt.Sprintf(
					"the first %d records do not match the checkpoint signed at %s: a record from %d to %d was altered, inserted, deleted or reordered",
					c.Size, c.Time.Format(time.RFC3339), lastGood, c.Size-1)}
			}
			lastGood, lr.Signed, lr.Latest = c.Size, c.Size, c.Time
		}
		return nil
	}
	if p := check(); p != nil { // a checkpoint exactly at the archived prefix
		lr.Problem = p
		return lr, nil
	}
	err = s.Scan(ctx, log, start, func(row Row) error {
		if p := checkRow(h, log, rng.End(), row); p != nil {
			lr.Problem = p
			return errStop
		}
		var mismatch *Problem
		err := rng.Append(h.HashLeaf(row.Data), func(id compact.NodeID, hash []byte) {
			if id.Level < NodeLevel || mismatch != nil {
				return
			}
			stored, err := s.Node(ctx, log, id.Level, id.Index)
			if err != nil || !bytes.Equal(stored, hash) {
				mismatch = &Problem{Log: log, Seq: row.Seq, What: fmt.Sprintf("the stored tree node (%d, %d) does not match the records (proofs from it would be wrong)", id.Level, id.Index)}
			}
		})
		if err != nil {
			return err
		}
		lr.Records++
		if mismatch != nil {
			lr.Problem = mismatch
			return errStop
		}
		if p := check(); p != nil {
			lr.Problem = p
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	if lr.Problem == nil && next < len(cps.sizes) {
		last := cps.bySize[cps.sizes[len(cps.sizes)-1]]
		lr.Problem = &Problem{Log: log, Seq: rng.End(), What: fmt.Sprintf(
			"the log ends before record %d, but a checkpoint signed at %s covers %d records: the log was truncated",
			rng.End(), last.Time.Format(time.RFC3339), last.Size)}
	}
	return lr, nil
}

// checkRow checks one stored row against its position and itself.
func checkRow(h *Hasher, log string, want uint64, row Row) *Problem {
	rec, err := ParseCanonical(row.Data)
	bad := func(what string) *Problem {
		p := &Problem{Log: log, Seq: want, What: what}
		if rec != nil {
			p.TxnID = rec.TxnID
		}
		return p
	}
	switch {
	case row.Seq != want:
		return bad(fmt.Sprintf("record %d is missing (the next stored record is %d): records were deleted", want, row.Seq))
	case err != nil:
		return bad("the record is not in its canonical form: it was edited")
	case rec.Log != log:
		return bad(fmt.Sprintf("the record stored here belongs to log %s: records were moved", rec.Log))
	case rec.Seq > want:
		return bad(fmt.Sprintf("record %d is missing or moved: record %d is stored in its place", want, rec.Seq))
	case rec.Seq < want:
		return bad(fmt.Sprintf("record %d is stored again here: records were moved or inserted", rec.Seq))
	case !bytes.Equal(h.HashLeaf(row.Data), row.Leaf):
		return bad("the record no longer matches its leaf hash: it was edited")
	case rec.Time.Before(row.IndexedFrom) || rec.Time.After(row.IndexedTo):
		return bad("the store's time index files the record outside its timestamp: the index was edited")
	}
	return nil
}

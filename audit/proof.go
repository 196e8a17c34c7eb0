package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/proof"
)

// Proof types.
const (
	ProofInclusion   = "inclusion"
	ProofConsistency = "consistency"
)

// Proof is a self-contained proof a third party checks offline with the
// audit public key: that a record is in a log (inclusion), or that a later
// checkpoint extends an earlier one (consistency).
type Proof struct {
	Type string `json:"type"`
	Log  string `json:"log"`
	// Record is the record's canonical form and Index its leaf (inclusion).
	Record json.RawMessage `json:"record,omitempty"`
	Index  uint64          `json:"index,omitempty"`
	// From is the earlier checkpoint (consistency).
	From *Checkpoint `json:"from,omitempty"`
	// Checkpoint is the signed checkpoint the proof ends at.
	Checkpoint Checkpoint `json:"checkpoint"`
	Hashes     [][]byte   `json:"hashes"`
}

// ErrNotCovered is returned by Prove for a record no signed checkpoint covers yet.
var ErrNotCovered = errors.New("audit: no signed checkpoint covers the record yet; retry after the next checkpoint")

// Prove returns an inclusion proof of the record with transaction serial
// number txnID, against the latest checkpoint of its log.
func Prove(ctx context.Context, s Store, h *Hasher, txnID string) (*Proof, error) {
	found, err := s.Query(ctx, Filter{TxnID: txnID, Limit: 2})
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("audit: no record with txn_id %q: %w", txnID, ErrNotFound)
	}
	e := found[0]
	cps, err := s.Checkpoints(ctx, e.Log)
	if err != nil {
		return nil, err
	}
	if len(cps) == 0 || cps[len(cps)-1].Size <= e.Seq {
		return nil, ErrNotCovered
	}
	cp := cps[len(cps)-1]
	hashes, err := newTree(s, h, e.Log).inclusion(ctx, e.Seq, cp.Size)
	if err != nil {
		return nil, err
	}
	return &Proof{Type: ProofInclusion, Log: e.Log, Record: e.Data, Index: e.Seq, Checkpoint: cp, Hashes: hashes}, nil
}

// ProveConsistency returns a consistency proof between the checkpoints of
// log at size1 and size2.
func ProveConsistency(ctx context.Context, s Store, h *Hasher, log string, size1, size2 uint64) (*Proof, error) {
	cps, err := s.Checkpoints(ctx, log)
	if err != nil {
		return nil, err
	}
	var from, to *Checkpoint
	for i := range cps {
		switch cps[i].Size {
		case size1:
			from = &cps[i]
		case size2:
			to = &cps[i]
		}
	}
	if from == nil || to == nil {
		return nil, fmt.Errorf("audit: log %s has no checkpoint at size %d or %d: %w", log, size1, size2, ErrNotFound)
	}
	hashes, err := newTree(s, h, log).consistency(ctx, size1, size2)
	if err != nil {
		return nil, err
	}
	return &Proof{Type: ProofConsistency, Log: log, From: from, Checkpoint: *to, Hashes: hashes}, nil
}

// Check verifies a proof with the audit public keys and nothing else: no
// store, no network. It returns a one-line description of what it proved.
func (p *Proof) Check(keys KeySet) (string, error) {
	if p.Checkpoint.Log != p.Log {
		return "", errors.New("audit: proof and checkpoint name different logs")
	}
	if err := p.Checkpoint.Verify(keys); err != nil {
		return "", err
	}
	h, err := NewHasher(p.Checkpoint.Hash)
	if err != nil {
		return "", err
	}
	switch p.Type {
	case ProofInclusion:
		// The record may have been re-indented on its way: the leaf is over
		// its canonical form.
		var rec Record
		if err := json.Unmarshal(p.Record, &rec); err != nil {
			return "", fmt.Errorf("audit: the proof's record is not a record: %w", err)
		}
		data, err := rec.Canonical()
		if err != nil {
			return "", err
		}
		if rec.Seq != p.Index || rec.Log != p.Log {
			return "", fmt.Errorf("audit: the record is record %d of log %s, the proof is for %d of %s", rec.Seq, rec.Log, p.Index, p.Log)
		}
		if err := proof.VerifyInclusion(h, p.Index, p.Checkpoint.Size, h.HashLeaf(data), p.Hashes, p.Checkpoint.Root); err != nil {
			return "", fmt.Errorf("audit: inclusion proof does not verify: %w", err)
		}
		return fmt.Sprintf("record %d (txn %s, %s) is in log %s, whose first %d records the audit key %s signed at %s",
			rec.Seq, rec.TxnID, rec.Time.UTC().Format("2006-01-02T15:04:05Z"), p.Log, p.Checkpoint.Size, p.Checkpoint.KeyID,
			p.Checkpoint.Time.UTC().Format("2006-01-02T15:04:05Z")), nil
	case ProofConsistency:
		if p.From == nil || p.From.Log != p.Log {
			return "", errors.New("audit: consistency proof without its earlier checkpoint")
		}
		if err := p.From.Verify(keys); err != nil {
			return "", err
		}
		if p.From.Hash != p.Checkpoint.Hash {
			return "", errors.New("audit: the checkpoints use different hashes")
		}
		if p.From.Size == p.Checkpoint.Size && !bytes.Equal(p.From.Root, p.Checkpoint.Root) {
			return "", errors.New("audit: two checkpoints of one size disagree")
		}
		if err := proof.VerifyConsistency(h, p.From.Size, p.Checkpoint.Size, p.Hashes, p.From.Root, p.Checkpoint.Root); err != nil {
			return "", fmt.Errorf("audit: consistency proof does not verify: %w", err)
		}
		return fmt.Sprintf("log %s at %d records extends the same log at %d records: nothing before was changed", p.Log, p.Checkpoint.Size, p.From.Size), nil
	}
	return "", fmt.Errorf("audit: unknown proof type %q", p.Type)
}

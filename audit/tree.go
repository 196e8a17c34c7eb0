package audit

import (
	"context"
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
)

// tree reads one log's Merkle tree from a store.
type tree struct {
	store Store
	h     *Hasher
	log   string
	rf    *compact.RangeFactory
}

func newTree(s Store, h *Hasher, log string) *tree {
	return &tree{store: s, h: h, log: log, rf: &compact.RangeFactory{Hash: h.HashChildren}}
}

// node returns the hash of a perfect subtree: stored if at NodeLevel or
// above, else recomputed from its leaves.
func (t *tree) node(ctx context.Context, id compact.NodeID) ([]byte, error) {
	if id.Level >= NodeLevel {
		h, err := t.store.Node(ctx, t.log, id.Level, id.Index)
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("audit: log %s: tree node (%d, %d) is missing", t.log, id.Level, id.Index)
		}
		return h, err
	}
	begin, end := id.Coverage()
	leaves, err := t.store.Leaves(ctx, t.log, begin, end)
	if err != nil {
		return nil, err
	}
	r := t.rf.NewEmptyRange(begin)
	for _, l := range leaves {
		if err := r.Append(l, nil); err != nil {
			return nil, err
		}
	}
	if hs := r.Hashes(); len(hs) == 1 && r.End() == end {
		return hs[0], nil
	}
	return nil, fmt.Errorf("audit: log %s: leaves %d..%d are incomplete", t.log, begin, end-1)
}

// compactRange returns the compact range of [0, size).
func (t *tree) compactRange(ctx context.Context, size uint64) (*compact.Range, error) {
	ids := compact.RangeNodes(0, size, nil)
	hashes := make([][]byte, len(ids))
	for i, id := range ids {
		h, err := t.node(ctx, id)
		if err != nil {
			return nil, err
		}
		hashes[i] = h
	}
	return t.rf.NewRange(0, size, hashes)
}

// root returns the tree's root at size.
func (t *tree) root(ctx context.Context, size uint64) ([]byte, error) {
	if size == 0 {
		return t.h.EmptyRoot(), nil
	}
	r, err := t.compactRange(ctx, size)
	if err != nil {
		return nil, err
	}
	return r.GetRootHash(nil)
}

// fetch returns the proof built from nodes.
func (t *tree) fetch(ctx context.Context, n proof.Nodes) ([][]byte, error) {
	hashes := make([][]byte, len(n.IDs))
	for i, id := range n.IDs {
		h, err := t.node(ctx, id)
		if err != nil {
			return nil, err
		}
		hashes[i] = h
	}
	return n.Rehash(hashes, t.h.HashChildren)
}

// inclusion returns the inclusion proof of leaf index in the tree of size.
func (t *tree) inclusion(ctx context.Context, index, size uint64) ([][]byte, error) {
	n, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, err
	}
	return t.fetch(ctx, n)
}

// consistency returns the consistency proof between two sizes.
func (t *tree) consistency(ctx context.Context, size1, size2 uint64) ([][]byte, error) {
	n, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, err
	}
	return t.fetch(ctx, n)
}

// storedNodes returns a visitor that collects the nodes a store keeps.
func storedNodes(log string, into *[]Node) compact.VisitFn {
	return func(id compact.NodeID, hash []byte) {
		if id.Level >= NodeLevel {
			*into = append(*into, Node{Log: log, Level: id.Level, Index: id.Index, Hash: hash})
		}
	}
}

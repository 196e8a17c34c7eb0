package audit

import (
	"crypto/sha256"
	"fmt"
	"hash"

	"github.com/emmansun/gmsm/sm3"
	"github.com/transparency-dev/merkle"
)

// Hash algorithm names.
const (
	HashSM3    = "sm3"
	HashSHA256 = "sha-256"
)

// Hasher hashes the Merkle trees as RFC 6962 §2.1 does, with SM3 or SHA-256:
// leaves H(0x00 ‖ data), inner nodes H(0x01 ‖ left ‖ right).
type Hasher struct {
	name string
	new  func() hash.Hash
}

var _ merkle.LogHasher = (*Hasher)(nil)

// NewHasher returns the hasher named alg ("sm3" or "sha-256").
func NewHasher(alg string) (*Hasher, error) {
	switch alg {
	case HashSM3:
		return &Hasher{name: alg, new: sm3.New}, nil
	case HashSHA256:
		return &Hasher{name: alg, new: sha256.New}, nil
	}
	return nil, fmt.Errorf("audit: unknown hash %q (want sm3 or sha-256)", alg)
}

// Name is the algorithm's name.
func (h *Hasher) Name() string { return h.name }

// EmptyRoot is the root of an empty tree: the hash of nothing.
func (h *Hasher) EmptyRoot() []byte { return h.new().Sum(nil) }

// HashLeaf hashes leaf data.
func (h *Hasher) HashLeaf(leaf []byte) []byte {
	d := h.new()
	d.Write([]byte{0})
	d.Write(leaf)
	return d.Sum(nil)
}

// HashChildren hashes two child nodes.
func (h *Hasher) HashChildren(l, r []byte) []byte {
	d := h.new()
	d.Write([]byte{1})
	d.Write(l)
	d.Write(r)
	return d.Sum(nil)
}

// Size is the hash size in bytes.
func (h *Hasher) Size() int { return 32 }

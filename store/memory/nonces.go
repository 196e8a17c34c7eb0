// Package memory holds the in-process implementations of the state that
// gateway nodes share: for the embedded default and for tests. Clusters use
// the Redis implementations of the same interfaces.
package memory

import (
	"context"
	"errors"
	"hash/maphash"
	"sync"
	"time"
)

// ErrFull is returned when the nonce store holds its maximum number of live
// entries. The gateway then refuses requests rather than forget nonces.
var ErrFull = errors.New("memory: nonce store full")

const nonceShards = 64

// Nonces is an in-process nonce store: atomic insert-if-absent with expiry.
// Replay protection: T/PCAC 0008-2020 3.3.2.
type Nonces struct {
	seed     maphash.Seed
	now      func() time.Time
	perShard int
	shards   [nonceShards]nonceShard
}

type nonceShard struct {
	mu        sync.Mutex
	until     map[string]int64 // key → expiry, Unix nanoseconds
	nextSweep int64
}

// NewNonces returns a store that holds at most maxEntries live nonces
// (0 means 4,000,000). now is the clock (nil means time.Now).
func NewNonces(maxEntries int, now func() time.Time) *Nonces {
	if maxEntries <= 0 {
		maxEntries = 4_000_000
	}
	if now == nil {
		now = time.Now
	}
	n := &Nonces{seed: maphash.MakeSeed(), now: now, perShard: max(1, maxEntries/nonceShards)}
	for i := range n.shards {
		n.shards[i].until = make(map[string]int64)
	}
	return n
}

// Use records key as used until the given time. It reports true if the key
// was not in use (the caller may proceed) and false if it is a replay.
func (n *Nonces) Use(_ context.Context, key string, until time.Time) (bool, error) {
	now := n.now().UnixNano()
	sh := &n.shards[maphash.String(n.seed, key)%nonceShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if exp, ok := sh.until[key]; ok && exp > now {
		return false, nil
	}
	if now >= sh.nextSweep || len(sh.until) >= n.perShard {
		sh.sweep(now)
		if len(sh.until) >= n.perShard {
			return false, ErrFull
		}
	}
	sh.until[key] = until.UnixNano()
	return true, nil
}

// sweep drops expired entries; it runs at most once a second per shard
// unless the shard is full.
func (sh *nonceShard) sweep(now int64) {
	for k, exp := range sh.until {
		if exp <= now {
			delete(sh.until, k)
		}
	}
	sh.nextSweep = now + int64(time.Second)
}

// Len returns the number of entries held, expired ones included.
func (n *Nonces) Len() int {
	total := 0
	for i := range n.shards {
		sh := &n.shards[i]
		sh.mu.Lock()
		total += len(sh.until)
		sh.mu.Unlock()
	}
	return total
}

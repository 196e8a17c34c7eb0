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

// DefaultMaxNonces is the default capacity: at a 300 s signature window, a
// sustained 26,000 requests per second, in about 250 MB.
const DefaultMaxNonces = 8_000_000

const (
	nonceShards   = 64
	sweepInterval = 10 * time.Second
)

// Nonces is an in-process nonce store: atomic insert-if-absent with expiry.
// Replay protection: T/PCAC 0008-2020 3.3.2.
//
// Keys are held as 128-bit keyed hashes (two maphash values under secret,
// per-process seeds), so the map holds no pointers and costs the garbage
// collector nothing however many nonces are live. Two keys colliding would
// only make a fresh nonce look used — a refused request, never an accepted
// replay — and cannot be arranged without the seeds.
type Nonces struct {
	seeds    [2]maphash.Seed
	now      func() time.Time
	perShard int
	shards   [nonceShards]nonceShard
}

type nonceKey [2]uint64

type nonceShard struct {
	mu        sync.Mutex
	until     map[nonceKey]int64 // expiry, Unix nanoseconds
	nextSweep int64
}

// NewNonces returns a store that holds at most maxEntries live nonces
// (0 means DefaultMaxNonces). now is the clock (nil means time.Now).
func NewNonces(maxEntries int, now func() time.Time) *Nonces {
	if maxEntries <= 0 {
		maxEntries = DefaultMaxNonces
	}
	if now == nil {
		now = time.Now
	}
	n := &Nonces{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}, now: now,
		perShard: max(1, maxEntries/nonceShards)}
	for i := range n.shards {
		n.shards[i].until = make(map[nonceKey]int64)
	}
	return n
}

// Use records key as used until the given time. It reports true if the key
// was not in use (the caller may proceed) and false if it is a replay.
func (n *Nonces) Use(_ context.Context, key string, until time.Time) (bool, error) {
	k := nonceKey{maphash.String(n.seeds[0], key), maphash.String(n.seeds[1], key)}
	now := n.now().UnixNano()
	sh := &n.shards[k[0]%nonceShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if exp, ok := sh.until[k]; ok && exp > now {
		return false, nil
	}
	if now >= sh.nextSweep || len(sh.until) >= n.perShard {
		sh.sweep(now)
		if len(sh.until) >= n.perShard {
			return false, ErrFull
		}
	}
	sh.until[k] = until.UnixNano()
	return true, nil
}

// sweep drops expired entries; it runs every sweepInterval per shard, or
// when the shard is full.
func (sh *nonceShard) sweep(now int64) {
	for k, exp := range sh.until {
		if exp <= now {
			delete(sh.until, k)
		}
	}
	sh.nextSweep = now + int64(sweepInterval)
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

package memory

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type clock struct{ t atomic.Int64 }

func (c *clock) now() time.Time          { return time.Unix(0, c.t.Load()) }
func (c *clock) advance(d time.Duration) { c.t.Add(int64(d)) }

func TestNoncesRefuseReplay(t *testing.T) {
	c := &clock{}
	c.t.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	n := NewNonces(0, c.now)
	ctx := context.Background()
	until := c.now().Add(5 * time.Minute)
	if ok, err := n.Use(ctx, "k\x00nonce-1", until); !ok || err != nil {
		t.Fatalf("first use = %v, %v", ok, err)
	}
	if ok, _ := n.Use(ctx, "k\x00nonce-1", until); ok {
		t.Fatal("replay accepted")
	}
	if ok, _ := n.Use(ctx, "other\x00nonce-1", until); !ok {
		t.Fatal("same nonce under another key refused")
	}
	c.advance(5*time.Minute + time.Second)
	if ok, _ := n.Use(ctx, "k\x00nonce-1", c.now().Add(time.Minute)); !ok {
		t.Fatal("expired entry still refused")
	}
}

func TestNoncesConcurrentExactlyOnce(t *testing.T) {
	n := NewNonces(0, nil)
	var wg sync.WaitGroup
	var accepted atomic.Int32
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, _ := n.Use(context.Background(), "k\x00same", time.Now().Add(time.Minute)); ok {
				accepted.Add(1)
			}
		}()
	}
	wg.Wait()
	if accepted.Load() != 1 {
		t.Fatalf("accepted %d of 100 concurrent uses, want 1", accepted.Load())
	}
}

func TestNoncesFailClosedWhenFull(t *testing.T) {
	n := NewNonces(nonceShards, nil) // one entry per shard
	var full error
	for i := range 10 * nonceShards {
		if _, err := n.Use(context.Background(), fmt.Sprint(i), time.Now().Add(time.Hour)); err != nil {
			full = err
			break
		}
	}
	if !errors.Is(full, ErrFull) {
		t.Fatalf("store never reported full: %v", full)
	}
}

func BenchmarkNoncesUse(b *testing.B) {
	n := NewNonces(0, nil)
	until := time.Now().Add(time.Minute)
	var i atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n.Use(context.Background(), fmt.Sprint(i.Add(1)), until)
		}
	})
}

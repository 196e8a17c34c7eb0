package ratelimit

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bankguard/bankguard/alert"
	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/registry"
)

// BenchmarkAllow is the cost of one GCRA check and charge in the
// in-process store.
func BenchmarkAllow(b *testing.B) {
	s := NewMemoryStore(0)
	cells := []Cell{{Key: "r0|100/1s|100|app:demo-a1-hmac", Rate: Rate{Count: 1000, Per: time.Second}, Burst: 1000}}
	ctx := context.Background()
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Millisecond)
		if ok, _, err := s.Allow(ctx, now, cells); !ok || err != nil {
			b.Fatal("refused")
		}
	}
}

// BenchmarkAllowParallel is the same with every core calling, on 64 keys.
func BenchmarkAllowParallel(b *testing.B) {
	s := NewMemoryStore(0)
	ctx := context.Background()
	var n atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		cells := []Cell{{Key: "app:" + strconv.FormatInt(n.Add(1)%64, 10), Rate: Rate{Count: 1e9, Per: time.Second}, Burst: 1e9}}
		for pb.Next() {
			if _, _, err := s.Allow(ctx, t0.Add(time.Duration(n.Add(1))), cells); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkStage is the stage's cost per admitted call with an app rule
// (rate and concurrency), an API rule and an app+API alarm rule.
func BenchmarkStage(b *testing.B) {
	h, err := New(Config{Rules: []Rule{
		{App: Wildcard, Rate: Rate{Count: 1e6, Per: time.Second}, Concurrency: 100},
		{API: apiA, Rate: Rate{Count: 1e6, Per: time.Second}},
		{App: Wildcard, API: Wildcard, Rate: Rate{Count: 1e6, Per: time.Second}, Action: Alarm},
	}}, alert.Discard{}, NopNotifier{})
	if err != nil {
		b.Fatal(err)
	}
	var now atomic.Int64
	h.Now = func() time.Time { return t0.Add(time.Duration(now.Add(int64(time.Microsecond)))) }
	ex := &stage.Exchange{App: &registry.App{ID: "demo-a1-hmac"}, API: &registry.API{ID: apiA}}
	r := httptest.NewRequest("GET", "/", nil).WithContext(stage.WithExchange(context.Background(), ex))
	w := httptest.NewRecorder()
	next := stage.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil })
	b.ReportAllocs()
	for b.Loop() {
		if err := h.ServeHTTP(w, r, next); err != nil {
			b.Fatal(err)
		}
	}
}

package httpsig

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/emmansun/gmsm/sm2"
)

func TestRawFromDER(t *testing.T) {
	high := bytes.Repeat([]byte{0xff}, 32)
	low := append(bytes.Repeat([]byte{0}, 31), 1)
	seq := func(ints ...[]byte) []byte {
		var body []byte
		for _, v := range ints {
			body = append(append(body, 0x02, byte(len(v))), v...)
		}
		return append([]byte{0x30, byte(len(body))}, body...)
	}
	tests := []struct {
		name string
		der  []byte
		ok   bool
	}{
		{"high bit padded", seq(append([]byte{0}, high...), []byte{1}), true},
		{"short", seq([]byte{5}, []byte{7}), true},
		{"round trip of derRS", derRS(nil, high, low), true},
		{"negative", seq([]byte{0x80}, []byte{1}), false},
		{"33 bytes", seq(append([]byte{1}, high...), []byte{1}), false},
		{"empty integer", seq([]byte{}, []byte{1}), false},
		{"three integers", seq([]byte{1}, []byte{1}, []byte{1}), false},
		{"trailing bytes", append(seq([]byte{1}, []byte{1}), 0), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, ok := rawFromDER(tt.der)
			if ok != tt.ok {
				t.Fatalf("ok = %v", ok)
			}
			if ok && len(raw) != 64 {
				t.Fatalf("len %d", len(raw))
			}
		})
	}
	if raw, _ := rawFromDER(derRS(nil, high, low)); !bytes.Equal(raw, append(high, low...)) {
		t.Fatal("derRS/rawFromDER do not round-trip")
	}
}

func BenchmarkSignSM2(b *testing.B) {
	k, _ := sm2.GenerateKey(rand.Reader)
	s, err := NewSigner(AlgSM2SM3, k)
	if err != nil {
		b.Fatal(err)
	}
	base := bytes.Repeat([]byte("x"), 300)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(base); err != nil {
			b.Fatal(err)
		}
	}
}

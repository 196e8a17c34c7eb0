package gateway

import (
	"math/rand/v2"
	"time"
)

// NewRequestID returns a transaction serial number (交易流水号): the UTC time
// to the millisecond as 17 digits, then 12 random hex digits —
// 20261126221753123 + 4f1c0a9be27d. Sortable by time, unique across nodes
// without coordination, and free of personal data.
func NewRequestID(t time.Time) string {
	t = t.UTC()
	var b [29]byte
	put := func(at, width, v int) {
		for i := at + width - 1; i >= at; i-- {
			b[i] = byte('0' + v%10)
			v /= 10
		}
	}
	put(0, 4, t.Year())
	put(4, 2, int(t.Month()))
	put(6, 2, t.Day())
	put(8, 2, t.Hour())
	put(10, 2, t.Minute())
	put(12, 2, t.Second())
	put(14, 3, t.Nanosecond()/int(time.Millisecond))
	const hexDigits = "0123456789abcdef"
	r := rand.Uint64() // runtime ChaCha8: unpredictable, per-thread, no lock
	for i := 17; i < 29; i++ {
		b[i] = hexDigits[r&0xf]
		r >>= 4
	}
	return string(b[:])
}

package fieldcrypt

import (
	"crypto/rand"
	"errors"
	"io"
	"testing"

	"github.com/emmansun/gmsm/sm2"
)

// failingReader gives n random bytes, then fails.
type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("no entropy")
	}
	if len(p) > r.n {
		p = p[:r.n]
	}
	r.n -= len(p)
	return rand.Read(p)
}

func TestRandomFailure(t *testing.T) {
	key, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	doc := []byte(`{"a":1,"b":2}`)
	for _, n := range []int{0, 8} { // no data key; data key but not enough for sm2
		_, err := encryptFields(&failingReader{n: n}, doc, []string{"/a"}, &key.PublicKey, "k")
		if err == nil {
			t.Fatalf("%d random bytes: encryption succeeded", n)
		}
	}
	// Enough for the data key and the wrapping, not for a nonce.
	var counted countingReader
	if _, err := encryptFields(&counted, doc, nil, &key.PublicKey, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := encryptFields(&failingReader{n: counted.n}, doc, []string{"/a"}, &key.PublicKey, "k"); !errors.Is(err, errRandom) {
		t.Fatalf("no nonce: got %v, want errRandom", err)
	}
	if _, err := sealValue(&failingReader{}, []byte("1"), &key.PublicKey, "k"); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("sealValue without randomness: got %v", err)
	}
}

// countingReader counts the random bytes read.
type countingReader struct{ n int }

func (r *countingReader) Read(p []byte) (int, error) {
	r.n += len(p)
	return io.ReadFull(rand.Reader, p)
}

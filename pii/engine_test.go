package pii

import (
	"regexp"
	"strings"
	"sync"
	"testing"
)

func TestNewEngineKeyLength(t *testing.T) {
	if _, err := NewEngine(make([]byte, MinKeyLen-1)); err == nil {
		t.Fatal("a 31-byte key was accepted")
	}
	if _, err := NewEngine(nil); err == nil {
		t.Fatal("no key was accepted")
	}
}

func TestPseudonym(t *testing.T) {
	e := newTestEngine(t)
	other, err := NewEngine([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	p := e.Pseudonym(Card, card19)
	if !regexp.MustCompile(`^psn_[a-z2-7]{26}$`).MatchString(p) {
		t.Fatalf("pseudonym %q has the wrong form", p)
	}
	for _, tc := range []struct {
		name string
		a, b string
		same bool
	}{
		{"stable", p, e.Pseudonym(Card, card19), true},
		{"grouping does not matter", p, e.Pseudonym(Card, "6219 9983 4583 3190 724"), true},
		{"phone prefix does not matter", e.Pseudonym(Phone, mobile), e.Pseudonym(Phone, "+86 138-1234-5678"), true},
		{"id x case does not matter", e.Pseudonym(IDNumber, idX), e.Pseudonym(IDNumber, strings.ToLower(idX)), true},
		{"email case does not matter", e.Pseudonym(Email, "Li@Example.cn"), e.Pseudonym(Email, "li@example.cn"), true},
		{"name spaces do not matter", e.Pseudonym(Name, " 李四 "), e.Pseudonym(Name, "李四"), true},
		{"per kind", p, e.Pseudonym(Account, card19), false},
		{"per key", p, other.Pseudonym(Card, card19), false},
		{"per value", p, e.Pseudonym(Card, card16), false},
		{"kind and value do not run together", e.Pseudonym("a", "bc"), e.Pseudonym("ab", "c"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if (tc.a == tc.b) != tc.same {
				t.Fatalf("%s vs %s: same = %v, want %v", tc.a, tc.b, tc.a == tc.b, tc.same)
			}
		})
	}
}

func TestPseudonymConcurrent(t *testing.T) {
	e := newTestEngine(t)
	want := e.Pseudonym(Phone, mobile)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				if got := e.Pseudonym(Phone, mobile); got != want {
					t.Errorf("concurrent pseudonym %s, want %s", got, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestNewEngineCopiesKey(t *testing.T) {
	key := []byte(strings.Repeat("s", 32))
	e, err := NewEngine(key)
	if err != nil {
		t.Fatal(err)
	}
	before := e.Pseudonym(Card, card19)
	key[0] = 'x'
	if after := e.Pseudonym(Card, card19); after != before {
		t.Fatal("changing the caller's key changed the pseudonyms")
	}
}

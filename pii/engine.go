package pii

import (
	"crypto/hmac"
	"encoding/base32"
	"errors"
	"hash"
	"sync"

	"github.com/emmansun/gmsm/sm3"
)

// MinKeyLen is the shortest pseudonym key NewEngine accepts, in bytes.
const MinKeyLen = 32

// pseudonymPrefix starts every pseudonym, so a reader can tell one from a real identifier.
const pseudonymPrefix = "psn_"

// pseudonymDomain separates the pseudonyms of this package from any other use of the key.
const pseudonymDomain = "bankguard/pii/pseudonym/v1"

// b32 encodes pseudonyms: lower case, no padding, no characters easily mistaken for digits of a
// card number.
var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Engine masks and pseudonymizes. It holds the pseudonym key and is safe for concurrent use.
type Engine struct {
	macs sync.Pool // of *mac
}

// NewEngine returns an Engine whose pseudonyms are keyed with pseudonymKey, which must be at
// least MinKeyLen bytes of secret randomness (derive it from the gateway's secret, one key per
// purpose). The key is copied.
func NewEngine(pseudonymKey []byte) (*Engine, error) {
	if len(pseudonymKey) < MinKeyLen {
		return nil, errors.New("pii: the pseudonym key must be at least 32 bytes")
	}
	key := append([]byte(nil), pseudonymKey...)
	e := &Engine{}
	e.macs.New = func() any { return &mac{h: hmac.New(sm3.New, key), sum: make([]byte, 0, sm3.Size)} }
	return e, nil
}

// Pseudonym returns a stable pseudonym of value: "psn_" and the base32 of the first 16 bytes of
// HMAC-SM3 under the engine's key, over the kind and the value (T/PCAC 0008-2020 3.2.5,
// de-identification). The same value of the same kind under the same key always gives the same
// pseudonym; kinds are separate domains, so a card and an account number with the same digits
// get different pseudonyms. Without the key it cannot be reversed, nor checked against a guess.
//
// Values are normalized first so that one number written two ways gets one pseudonym: cards,
// accounts, ID and phone numbers keep only their letters and digits (upper case; a phone loses
// its 86 or 0086 country prefix), e-mail addresses are lower-cased, names lose surrounding
// spaces.
func (e *Engine) Pseudonym(kind Kind, value string) string {
	return string(e.appendPseudonym(make([]byte, 0, len(pseudonymPrefix)+26), kind, value))
}

// appendPseudonym appends the pseudonym of v to dst.
func appendPseudonym[T text](e *Engine, dst []byte, kind Kind, v T) []byte {
	var nbuf [64]byte
	norm := normalize(nbuf[:0], kind, v)
	m := e.macs.Get().(*mac)
	defer func() {
		if cap(m.msg) > 4096 {
			m.msg = nil // a huge value does not pin its buffer in the pool
		}
		e.macs.Put(m)
	}()
	m.msg = append(m.msg[:0], pseudonymDomain...)
	m.msg = append(m.msg, 0)
	m.msg = append(m.msg, kind...)
	m.msg = append(m.msg, 0)
	m.msg = append(m.msg, norm...)
	m.h.Reset()
	m.h.Write(m.msg)
	m.sum = m.h.Sum(m.sum[:0])
	dst = append(dst, pseudonymPrefix...)
	return b32.AppendEncode(dst, m.sum[:16])
}

// mac is an HMAC-SM3 under the pseudonym key with its buffers, reused through Engine.macs.
type mac struct {
	h        hash.Hash
	msg, sum []byte
}

// appendPseudonym is the method form of the generic function, for strings.
func (e *Engine) appendPseudonym(dst []byte, kind Kind, v string) []byte {
	return appendPseudonym(e, dst, kind, v)
}

// normalize appends the canonical form of v for its kind to dst.
func normalize[T text](dst []byte, kind Kind, v T) []byte {
	switch kind {
	case Card, Account, IDNumber, Phone:
		start := len(dst)
		for i := 0; i < len(v); i++ {
			if c := v[i]; isAlnum(c) {
				if c >= 'a' && c <= 'z' {
					c -= 'a' - 'A'
				}
				dst = append(dst, c)
			}
		}
		if kind == Phone {
			if p := mobileWithCountry(dst[start:]); p > 0 {
				dst = append(dst[:start], dst[start+p:]...)
			}
		}
		return dst
	case Email:
		for i := 0; i < len(v); i++ {
			c := v[i]
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
		}
		return dst
	case Name:
		i, j := 0, len(v)
		for i < j && (v[i] == ' ' || v[i] == '\t') {
			i++
		}
		for j > i && (v[j-1] == ' ' || v[j-1] == '\t') {
			j--
		}
		return append(dst, v[i:j]...)
	}
	return append(dst, v...)
}

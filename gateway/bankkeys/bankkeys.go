// Package bankkeys holds a set of the bank's signing keys of one purpose and
// publishes their public halves: the response-signing keys at
// /.well-known/bankguard/keys (CONTRACT.md §3), the audit checkpoint key at
// /.well-known/bankguard/audit-keys. Each key signs for one purpose only and
// is separate from every encryption key (T/PCAC 0008-2020 3.3.4).
package bankkeys

import (
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/bankguard/bankguard/httpsig"
)

// Path is where the public keys are published.
const Path = "/.well-known/bankguard/keys"

// Key is one signing key.
type Key struct {
	KeyID     string
	Signer    httpsig.Signer
	Public    crypto.PublicKey
	NotBefore time.Time
	NotAfter  time.Time
}

// Set is the bank's signing keys. The newest key valid now signs; every key
// not yet expired is published, so responses signed before a rotation still verify.
type Set struct {
	keys []Key
	doc  []byte
}

// PublishedKey is the JSON form of a public key.
type PublishedKey struct {
	KeyID        string    `json:"keyid"`
	Alg          string    `json:"alg"`
	PublicKeyPEM string    `json:"public_key_pem"`
	NotBefore    time.Time `json:"not_before"`
	NotAfter     time.Time `json:"not_after"`
}

// Document is the JSON document served at Path.
type Document struct {
	Keys []PublishedKey `json:"keys"`
}

// NewSet builds a set from keys.
func NewSet(keys []Key) (*Set, error) {
	if len(keys) == 0 {
		return nil, errors.New("bankkeys: no signing key")
	}
	var doc Document
	for _, k := range keys {
		if k.NotAfter.IsZero() || !k.NotAfter.After(k.NotBefore) {
			return nil, fmt.Errorf("bankkeys: key %s: not_after must follow not_before", k.KeyID)
		}
		pemBytes, err := httpsig.MarshalPublicKeyPEM(k.Public)
		if err != nil {
			return nil, fmt.Errorf("bankkeys: key %s: %w", k.KeyID, err)
		}
		doc.Keys = append(doc.Keys, PublishedKey{KeyID: k.KeyID, Alg: k.Signer.Alg(), PublicKeyPEM: string(pemBytes),
			NotBefore: k.NotBefore.UTC(), NotAfter: k.NotAfter.UTC()})
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return &Set{keys: keys, doc: append(b, '\n')}, nil
}

// Has reports whether pub is one of the set's public keys.
func (s *Set) Has(pub crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	for _, k := range s.keys {
		if e, ok := k.Public.(equaler); ok && e.Equal(pub) {
			return true
		}
	}
	return false
}

// Signer returns the key that signs at t.
func (s *Set) Signer(t time.Time) (keyID string, signer httpsig.Signer, ok bool) {
	k, ok := s.Active(t)
	return k.KeyID, k.Signer, ok
}

// Active returns the key that signs at t: the valid key with the latest NotBefore.
func (s *Set) Active(t time.Time) (Key, bool) {
	var best Key
	found := false
	for _, k := range s.keys {
		if t.Before(k.NotBefore) || !t.Before(k.NotAfter) {
			continue
		}
		if !found || k.NotBefore.After(best.NotBefore) {
			best, found = k, true
		}
	}
	return best, found
}

// ServeHTTP publishes the public keys.
func (s *Set) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(s.doc)
}

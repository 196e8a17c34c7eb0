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
		p, err := Publish(k.KeyID, k.Signer.Alg(), k.Public, k.NotBefore, k.NotAfter)
		if err != nil {
			return nil, err
		}
		doc.Keys = append(doc.Keys, p)
	}
	b, err := doc.Encode()
	if err != nil {
		return nil, err
	}
	return &Set{keys: keys, doc: b}, nil
}

// Publish describes a public key for a key document.
func Publish(keyID, alg string, pub crypto.PublicKey, notBefore, notAfter time.Time) (PublishedKey, error) {
	if notAfter.IsZero() || !notAfter.After(notBefore) {
		return PublishedKey{}, fmt.Errorf("bankkeys: key %s: not_after must follow not_before", keyID)
	}
	pemBytes, err := httpsig.MarshalPublicKeyPEM(pub)
	if err != nil {
		return PublishedKey{}, fmt.Errorf("bankkeys: key %s: %w", keyID, err)
	}
	return PublishedKey{KeyID: keyID, Alg: alg, PublicKeyPEM: string(pemBytes), NotBefore: notBefore.UTC(), NotAfter: notAfter.UTC()}, nil
}

// Encode returns the document as served.
func (d Document) Encode() ([]byte, error) {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ServeHTTP publishes the document.
func (d Document) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, err := d.Encode()
	if err != nil {
		http.Error(w, "", http.StatusInternalServerError)
		return
	}
	serveDocument(w, b)
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
func (s *Set) ServeHTTP(w http.ResponseWriter, r *http.Request) { serveDocument(w, s.doc) }

func serveDocument(w http.ResponseWriter, doc []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(doc)
}

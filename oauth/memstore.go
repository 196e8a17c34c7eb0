package oauth

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// MemStore is the in-memory reference Store: for tests and single-process
// use without persistence. Everything is lost on exit. Safe for concurrent
// use; every method is atomic under one lock.
type MemStore struct {
	mu       sync.Mutex
	codes    map[string]CodeRecord
	tokens   map[string]TokenRecord
	consents map[string]Consent
	order    []string // consent ids in insertion order
	events   []Event
}

var _ Store = (*MemStore)(nil)

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{
		codes:    map[string]CodeRecord{},
		tokens:   map[string]TokenRecord{},
		consents: map[string]Consent{},
	}
}

// CreateCode implements CodeStore.
func (m *MemStore) CreateCode(_ context.Context, c CodeRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := string(c.Hash)
	if _, ok := m.codes[k]; ok {
		return errors.New("oauth: duplicate code")
	}
	c.Hash = bytes.Clone(c.Hash)
	m.codes[k] = c
	return nil
}

// CodeByHash implements CodeStore.
func (m *MemStore) CodeByHash(_ context.Context, hash []byte) (*CodeRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.codes[string(hash)]
	if !ok {
		return nil, ErrNotFound
	}
	c.Hash = bytes.Clone(c.Hash)
	return &c, nil
}

// UseCode implements CodeStore.
func (m *MemStore) UseCode(_ context.Context, hash []byte, now time.Time, issued ...TokenRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.codes[string(hash)]
	if !ok {
		return ErrNotFound
	}
	if !c.UsedAt.IsZero() {
		return ErrAlreadyUsed
	}
	if err := m.createTokens(issued); err != nil {
		return err
	}
	c.UsedAt = now
	m.codes[string(hash)] = c
	return nil
}

// CreateTokens implements TokenStore.
func (m *MemStore) CreateTokens(_ context.Context, ts ...TokenRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.createTokens(ts)
}

func (m *MemStore) createTokens(ts []TokenRecord) error {
	for i, t := range ts {
		if _, ok := m.tokens[string(t.Hash)]; ok {
			return errors.New("oauth: duplicate token")
		}
		for _, u := range ts[:i] {
			if bytes.Equal(u.Hash, t.Hash) {
				return errors.New("oauth: duplicate token")
			}
		}
	}
	for _, t := range ts {
		m.tokens[string(t.Hash)] = cloneToken(t)
	}
	return nil
}

// TokenByHash implements TokenStore.
func (m *MemStore) TokenByHash(_ context.Context, hash []byte) (*TokenRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tokens[string(hash)]
	if !ok {
		return nil, ErrNotFound
	}
	t = cloneToken(t)
	return &t, nil
}

// RotateRefresh implements TokenStore.
func (m *MemStore) RotateRefresh(_ context.Context, oldHash []byte, now time.Time, next ...TokenRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tokens[string(oldHash)]
	if !ok || t.Kind != KindRefresh || !t.UsedAt.IsZero() || !t.RevokedAt.IsZero() {
		return ErrAlreadyUsed
	}
	if err := m.createTokens(next); err != nil {
		return err
	}
	t.UsedAt = now
	m.tokens[string(oldHash)] = t
	return nil
}

// RevokeTokens implements TokenStore.
func (m *MemStore) RevokeTokens(_ context.Context, sel TokenSelector, now time.Time) (int, error) {
	if sel.Fields() != 1 {
		return 0, errors.New("oauth: a token selector needs exactly one field")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for k, t := range m.tokens {
		if !t.RevokedAt.IsZero() || !selects(sel, &t) {
			continue
		}
		t.RevokedAt = now
		m.tokens[k] = t
		n++
	}
	return n, nil
}

func selects(sel TokenSelector, t *TokenRecord) bool {
	switch {
	case len(sel.Hash) > 0:
		return bytes.Equal(sel.Hash, t.Hash)
	case sel.FamilyID != "":
		return sel.FamilyID == t.FamilyID
	case sel.ConsentID != "":
		return sel.ConsentID == t.ConsentID
	case sel.AppID != "":
		return sel.AppID == t.AppID
	case sel.UserID != "":
		return sel.UserID == t.UserID
	}
	return false
}

// CreateConsent implements ConsentStore.
func (m *MemStore) CreateConsent(_ context.Context, c Consent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.consents[c.ID]; ok || c.ID == "" {
		return errors.New("oauth: duplicate or empty consent id")
	}
	m.consents[c.ID] = cloneConsent(c)
	m.order = append(m.order, c.ID)
	return nil
}

// ConsentByID implements ConsentStore.
func (m *MemStore) ConsentByID(_ context.Context, id string) (*Consent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.consents[id]
	if !ok {
		return nil, ErrNotFound
	}
	c = cloneConsent(c)
	return &c, nil
}

// ConsentsOf implements ConsentStore.
func (m *MemStore) ConsentsOf(_ context.Context, userID string) ([]Consent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Consent
	for i := len(m.order) - 1; i >= 0; i-- {
		if c := m.consents[m.order[i]]; c.UserID == userID {
			out = append(out, cloneConsent(c))
		}
	}
	// Newest first; among equal times the last stored first.
	slices.SortStableFunc(out, func(a, b Consent) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, nil
}

// RevokeConsent implements ConsentStore.
func (m *MemStore) RevokeConsent(_ context.Context, userID, id string, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.consents[id]
	if !ok || c.UserID != userID {
		return ErrNotFound
	}
	if c.RevokedAt.IsZero() {
		c.RevokedAt = now
		m.consents[id] = c
	}
	return nil
}

// ConsumeConsent implements ConsentStore.
func (m *MemStore) ConsumeConsent(_ context.Context, id string, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.consents[id]
	switch {
	case !ok:
		return ErrNotFound
	case c.Validity != ValidityOnce:
		return ErrTokenRevoked
	case !c.ConsumedAt.IsZero():
		return ErrConsentUsed
	case !c.Active(now):
		return ErrTokenRevoked
	}
	c.ConsumedAt = now
	m.consents[id] = c
	return nil
}

// AddEvent implements EventStore.
func (m *MemStore) AddEvent(_ context.Context, e Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e.ID = int64(len(m.events) + 1)
	m.events = append(m.events, e)
	return nil
}

// Events implements EventStore.
func (m *MemStore) Events(_ context.Context, q EventQuery) ([]Event, error) {
	if q.UserID == "" && q.Kind == "" {
		return nil, errors.New("oauth: an event query needs a user or a kind")
	}
	limit := EventLimit(q.Limit)
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Event
	for i := len(m.events) - 1; i >= 0 && len(out) < limit; i-- {
		e := m.events[i]
		if (q.UserID == "" || e.UserID == q.UserID) && (q.Kind == "" || e.Kind == q.Kind) {
			out = append(out, e)
		}
	}
	return out, nil
}

// EventLimit is the number of events a query with limit n returns at most,
// for Store implementations: 100 for 0 or less, at most 1000.
func EventLimit(n int) int {
	switch {
	case n <= 0:
		return 100
	case n > 1000:
		return 1000
	}
	return n
}

func cloneToken(t TokenRecord) TokenRecord {
	t.Hash = bytes.Clone(t.Hash)
	t.Scopes = slices.Clone(t.Scopes)
	return t
}

func cloneConsent(c Consent) Consent {
	c.Scopes = slices.Clone(c.Scopes)
	c.Accounts = slices.Clone(c.Accounts)
	return c
}

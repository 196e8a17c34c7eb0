package alert

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"sort"
	"sync"
	"time"
)

// Incident records (T/PCAC 0008-2020 6.5): every new alert of severity
// warning or above opens an incident, or joins the incident still open for
// its subject; operators acknowledge and resolve it through the admin API,
// and its timeline keeps what happened and who did what.

// Status is where an incident is in its life.
type Status string

// The statuses of an incident.
const (
	StatusOpen         Status = "open"
	StatusAcknowledged Status = "acknowledged"
	StatusResolved     Status = "resolved"
)

// EntryKind names what a timeline entry records.
type EntryKind string

// The kinds of timeline entries.
const (
	EntryAlert   EntryKind = "alert"
	EntryAck     EntryKind = "ack"
	EntryNote    EntryKind = "note"
	EntryResolve EntryKind = "resolve"
)

// Entry is one line of an incident's timeline.
type Entry struct {
	Time time.Time `json:"time"`
	Kind EntryKind `json:"kind"`
	Text string    `json:"text,omitempty"`
	// By is the operator who acknowledged, resolved or wrote a note.
	By string `json:"by,omitempty"`
	// AlertID, Rule and Severity describe the alert of an alert entry.
	AlertID  string   `json:"alert_id,omitempty"`
	Rule     string   `json:"rule,omitempty"`
	Severity Severity `json:"severity,omitempty"`
}

// Incident gathers the alerts about one subject until an operator resolves it.
type Incident struct {
	ID      string `json:"id"`
	Subject string `json:"subject"`
	// Severity is the highest severity of its alerts.
	Severity       Severity  `json:"severity"`
	Status         Status    `json:"status"`
	OpenedAt       time.Time `json:"opened_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	AcknowledgedAt time.Time `json:"acknowledged_at,omitzero"`
	AcknowledgedBy string    `json:"acknowledged_by,omitempty"`
	ResolvedAt     time.Time `json:"resolved_at,omitzero"`
	ResolvedBy     string    `json:"resolved_by,omitempty"`
	// Rules are the rules of its alerts, in the order they first appeared.
	Rules []string `json:"rules"`
	// Alerts counts the alerts that joined it; Omitted those left out of a
	// timeline that reached its cap.
	Alerts   int     `json:"alerts"`
	Omitted  int     `json:"omitted_alerts,omitempty"`
	Timeline []Entry `json:"timeline"`
}

// clone returns a copy of inc that shares no slice with it.
func (inc *Incident) clone() Incident {
	c := *inc
	c.Rules = slices.Clone(inc.Rules)
	c.Timeline = slices.Clone(inc.Timeline)
	return c
}

// Errors of a Store.
var (
	// ErrNotFound reports an unknown incident ID.
	ErrNotFound = errors.New("alert: no such incident")
	// ErrState reports an acknowledgement of an incident that is not open,
	// or a resolution of one already resolved.
	ErrState = errors.New("alert: the incident's status does not allow this")
)

// Filter selects incidents for List.
type Filter struct {
	// Status keeps only incidents in this status ("" for all).
	Status Status
	// Since keeps only incidents updated at or after it (zero for all).
	Since time.Time
	// Limit caps the number returned (0 for no cap).
	Limit int
}

// Store keeps incidents. Its implementations are safe for concurrent use; one
// store may be shared by the gateway nodes so that an operator sees one
// incident per subject.
type Store interface {
	// AddAlert adds a new alert to the incident of a.Subject that is not
	// resolved yet, or opens one; opened reports a new incident.
	AddAlert(ctx context.Context, a Alert, alertID string) (inc Incident, opened bool, err error)
	// List returns incidents, the most recently opened first.
	List(ctx context.Context, f Filter) ([]Incident, error)
	// Get returns one incident, or ErrNotFound.
	Get(ctx context.Context, id string) (Incident, error)
	// Ack acknowledges an open incident (ErrState otherwise).
	Ack(ctx context.Context, id, by, note string, at time.Time) (Incident, error)
	// Resolve resolves an incident that is not resolved yet (ErrState otherwise).
	Resolve(ctx context.Context, id, by, note string, at time.Time) (Incident, error)
	// Note adds an operator's note to an incident's timeline.
	Note(ctx context.Context, id, by, note string, at time.Time) (Incident, error)
}

// Defaults of MemoryStore.
const (
	DefaultMaxIncidents = 10000
	DefaultMaxTimeline  = 1000
)

// MemoryStore is the in-process Store.
type MemoryStore struct {
	// MaxIncidents bounds the incidents kept (DefaultMaxIncidents unless
	// set): past it the oldest resolved incident, or failing that the
	// oldest, is forgotten.
	MaxIncidents int
	// MaxTimeline bounds the alert entries of one timeline
	// (DefaultMaxTimeline unless set); further alerts are only counted.
	MaxTimeline int

	mu    sync.Mutex
	byID  map[string]*Incident
	order []string          // IDs, oldest first
	open  map[string]string // subject → ID of its unresolved incident
}

// NewMemoryStore returns an empty in-process store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{byID: map[string]*Incident{}, open: map[string]string{}}
}

// AddAlert implements Store.
func (s *MemoryStore) AddAlert(_ context.Context, a Alert, alertID string) (Incident, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	entry := Entry{Time: a.Time, Kind: EntryAlert, Text: a.Summary, AlertID: alertID, Rule: a.Rule, Severity: a.Severity}
	if id, ok := s.open[a.Subject]; ok {
		inc := s.byID[id]
		if a.Severity.rank() > inc.Severity.rank() {
			inc.Severity = a.Severity
			if inc.Status == StatusAcknowledged {
				// A graver alert needs a fresh acknowledgement.
				inc.Status = StatusOpen
				entry.Text += " (severity raised: acknowledge again)"
			}
		}
		s.appendAlert(inc, entry)
		return inc.clone(), false, nil
	}
	inc := &Incident{
		ID: newID("INC", a.Time), Subject: a.Subject, Severity: a.Severity, Status: StatusOpen,
		OpenedAt: a.Time,
	}
	s.appendAlert(inc, entry)
	s.byID[inc.ID] = inc
	s.order = append(s.order, inc.ID)
	s.open[a.Subject] = inc.ID
	s.evict()
	return inc.clone(), true, nil
}

// appendAlert adds an alert entry within the timeline cap.
func (s *MemoryStore) appendAlert(inc *Incident, e Entry) {
	inc.Alerts++
	inc.UpdatedAt = laterOf(inc.UpdatedAt, e.Time)
	if !slices.Contains(inc.Rules, e.Rule) {
		inc.Rules = append(inc.Rules, e.Rule)
	}
	limit := s.MaxTimeline
	if limit <= 0 {
		limit = DefaultMaxTimeline
	}
	if inc.Alerts-inc.Omitted > limit {
		inc.Omitted++
		return
	}
	inc.Timeline = append(inc.Timeline, e)
}

// evict forgets incidents past MaxIncidents, resolved ones first.
func (s *MemoryStore) evict() {
	limit := s.MaxIncidents
	if limit <= 0 {
		limit = DefaultMaxIncidents
	}
	for len(s.order) > limit {
		i := slices.IndexFunc(s.order, func(id string) bool { return s.byID[id].Status == StatusResolved })
		if i < 0 {
			i = 0
		}
		inc := s.byID[s.order[i]]
		if s.open[inc.Subject] == inc.ID {
			delete(s.open, inc.Subject)
		}
		delete(s.byID, inc.ID)
		s.order = slices.Delete(s.order, i, i+1)
	}
}

// List implements Store.
func (s *MemoryStore) List(_ context.Context, f Filter) ([]Incident, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []Incident{}
	for i := len(s.order) - 1; i >= 0; i-- {
		inc := s.byID[s.order[i]]
		if (f.Status != "" && inc.Status != f.Status) || inc.UpdatedAt.Before(f.Since) {
			continue
		}
		out = append(out, inc.clone())
	}
	// The order of opening, not of insertion, decides (stores shared by
	// nodes whose clocks differ a little).
	sort.SliceStable(out, func(i, j int) bool { return out[i].OpenedAt.After(out[j].OpenedAt) })
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// Get implements Store.
func (s *MemoryStore) Get(_ context.Context, id string) (Incident, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inc, ok := s.byID[id]
	if !ok {
		return Incident{}, ErrNotFound
	}
	return inc.clone(), nil
}

// Ack implements Store.
func (s *MemoryStore) Ack(_ context.Context, id, by, note string, at time.Time) (Incident, error) {
	return s.update(id, func(inc *Incident) error {
		if inc.Status != StatusOpen {
			return ErrState
		}
		inc.Status = StatusAcknowledged
		if inc.AcknowledgedAt.IsZero() {
			inc.AcknowledgedAt, inc.AcknowledgedBy = at, by
		}
		inc.Timeline = append(inc.Timeline, Entry{Time: at, Kind: EntryAck, Text: note, By: by})
		return nil
	}, at)
}

// Resolve implements Store.
func (s *MemoryStore) Resolve(_ context.Context, id, by, note string, at time.Time) (Incident, error) {
	return s.update(id, func(inc *Incident) error {
		if inc.Status == StatusResolved {
			return ErrState
		}
		inc.Status = StatusResolved
		inc.ResolvedAt, inc.ResolvedBy = at, by
		inc.Timeline = append(inc.Timeline, Entry{Time: at, Kind: EntryResolve, Text: note, By: by})
		if s.open[inc.Subject] == inc.ID {
			delete(s.open, inc.Subject)
		}
		return nil
	}, at)
}

// Note implements Store.
func (s *MemoryStore) Note(_ context.Context, id, by, note string, at time.Time) (Incident, error) {
	return s.update(id, func(inc *Incident) error {
		inc.Timeline = append(inc.Timeline, Entry{Time: at, Kind: EntryNote, Text: note, By: by})
		return nil
	}, at)
}

// update applies fn to incident id under the lock.
func (s *MemoryStore) update(id string, fn func(*Incident) error, at time.Time) (Incident, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inc, ok := s.byID[id]
	if !ok {
		return Incident{}, ErrNotFound
	}
	if err := fn(inc); err != nil {
		return inc.clone(), err
	}
	inc.UpdatedAt = laterOf(inc.UpdatedAt, at)
	return inc.clone(), nil
}

// newID returns a fresh identifier: PREFIX-YYYYMMDD-<16 hex digits>.
func newID(prefix string, t time.Time) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + t.UTC().Format("20060102") + "-" + hex.EncodeToString(b[:])
}

func laterOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

var _ Store = (*MemoryStore)(nil)

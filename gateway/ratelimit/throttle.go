package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/bankguard/bankguard/registry"
)

// Throttle is a business throttle: an operator's runtime limit on an app
// or an API, with a reason the app is told (T/PCAC 0008-2020 6.2.1,
// business throttling with notice to the app). It acts like a reject rule
// whose refusals are 429 throttled with the reason in the detail.
type Throttle struct {
	// App or API (exactly one) is what is throttled. An API throttle
	// counts the calls of every app to the API together.
	App string `json:"app,omitempty"`
	API string `json:"api,omitempty"`
	// Rate and Burst are the limit while the throttle lasts (burst
	// defaults to N of Rate).
	Rate  Rate  `json:"rate"`
	Burst int64 `json:"burst,omitempty"`
	// Reason is shown to the app's callers in every refusal and sent to the
	// app: client-safe text chosen by the operator.
	Reason string `json:"reason"`
	// Since is when it was set and Until when it ends.
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
}

// Bounds of a throttle.
const (
	maxReason   = 200
	maxThrottle = 366 * 24 * time.Hour
	maxTargets  = 10000
)

// Target is what the throttle applies to: "app:ID" or "api:U_API_ID".
func (t Throttle) Target() string {
	if t.App != "" {
		return "app:" + t.App
	}
	return "api:" + t.API
}

// key is the throttle's rate counter: a new throttle starts with a full burst.
func (t Throttle) key() string {
	return "t|" + t.Target() + "|" + t.Rate.String() + "|" + strconv.FormatInt(t.Burst, 10) + "|" +
		strconv.FormatInt(t.Since.UnixNano(), 10)
}

// Validate checks a throttle about to be set at now and fills in its burst.
// Its messages name the field.
func (t *Throttle) Validate(now time.Time) error {
	var errs []error
	switch {
	case (t.App == "") == (t.API == ""):
		errs = append(errs, errors.New("app, api: exactly one of them is required"))
	case t.App != "" && !validID(t.App):
		errs = append(errs, errors.New("app: not an App_ID"))
	case t.API != "":
		if _, err := registry.ParseAPIID(t.API); err != nil {
			errs = append(errs, fmt.Errorf("api: %w", err))
		}
	}
	if err := t.Rate.check(); err != nil {
		errs = append(errs, fmt.Errorf("rate: %w", err))
	} else {
		if t.Burst == 0 {
			t.Burst = t.Rate.Count
		}
		if t.Burst < 0 || !fits(t.Rate, t.Burst) {
			errs = append(errs, errors.New("burst: must be positive and not too large for the rate"))
		}
	}
	if err := checkReason(t.Reason); err != nil {
		errs = append(errs, fmt.Errorf("reason: %w", err))
	}
	if !t.Until.After(now) || t.Until.Sub(now) > maxThrottle {
		errs = append(errs, errors.New("until: must be in the future, within 366 days"))
	}
	return errors.Join(errs...)
}

// checkReason accepts 1 to 200 characters of printable text: it is shown
// to clients as it is.
func checkReason(s string) error {
	if s == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxReason {
		return fmt.Errorf("1 to %d characters of text are required", maxReason)
	}
	for _, c := range s {
		if !unicode.IsPrint(c) {
			return errors.New("control characters are not allowed")
		}
	}
	return nil
}

// Throttles keeps the business throttles. Shared between gateway nodes in
// a cluster.
type Throttles interface {
	// Set adds a throttle, replacing one on the same target; it reports
	// whether one was replaced.
	Set(ctx context.Context, t Throttle) (replaced bool, err error)
	// Remove ends the throttle on a target ("app:ID" or "api:ID") and
	// returns it; found is false when there was none.
	Remove(ctx context.Context, target string) (t Throttle, found bool, err error)
	// List returns the throttles in force at now, by target.
	List(ctx context.Context, now time.Time) ([]Throttle, error)
	// Match returns the throttles in force at now on the app or on the API
	// (either may be empty).
	Match(ctx context.Context, appID, apiID string, now time.Time) ([]Throttle, error)
}

// MemoryThrottles is the in-process Throttles; it holds at most 10000.
type MemoryThrottles struct {
	mu sync.Mutex
	by map[string]Throttle
}

// NewMemoryThrottles returns a Throttles with none set.
func NewMemoryThrottles() *MemoryThrottles {
	return &MemoryThrottles{by: map[string]Throttle{}}
}

// Set implements Throttles.
func (m *MemoryThrottles) Set(_ context.Context, t Throttle) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, replaced := m.by[t.Target()]
	if !replaced && len(m.by) >= maxTargets {
		m.sweep(t.Since)
		if len(m.by) >= maxTargets {
			return false, ErrFull
		}
	}
	m.by[t.Target()] = t
	return replaced, nil
}

// Remove implements Throttles.
func (m *MemoryThrottles) Remove(_ context.Context, target string) (Throttle, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.by[target]
	delete(m.by, target)
	return t, ok, nil
}

// List implements Throttles.
func (m *MemoryThrottles) List(_ context.Context, now time.Time) ([]Throttle, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now)
	out := make([]Throttle, 0, len(m.by))
	for _, t := range m.by {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b Throttle) int {
		switch {
		case a.Target() < b.Target():
			return -1
		case a.Target() > b.Target():
			return 1
		}
		return 0
	})
	return out, nil
}

// Match implements Throttles.
func (m *MemoryThrottles) Match(_ context.Context, appID, apiID string, now time.Time) ([]Throttle, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.by) == 0 {
		return nil, nil
	}
	var out []Throttle
	for _, target := range [2]string{"app:" + appID, "api:" + apiID} {
		t, ok := m.by[target]
		switch {
		case !ok || target == "app:" || target == "api:":
		case !now.Before(t.Until):
			delete(m.by, target)
		default:
			out = append(out, t)
		}
	}
	return out, nil
}

// sweep drops throttles that have ended.
func (m *MemoryThrottles) sweep(now time.Time) {
	for k, t := range m.by {
		if !now.Before(t.Until) {
			delete(m.by, k)
		}
	}
}

var _ Throttles = (*MemoryThrottles)(nil)

package blacklist

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/bankguard/bankguard/alert"
)

// Options are what New needs besides the configuration.
type Options struct {
	// List is the shared blacklist; nil means a new in-process Memory of
	// cfg.MaxEntries.
	List List
	// Alerts receives the automatic blocks' alerts (nil: alert.Discard).
	Alerts alert.Raiser
	// Now is the clock (nil means time.Now).
	Now func() time.Time
}

// Blacklist is the control assembled: its two stages, its detector and its
// admin routes, sharing one List. Build it once per process (not per
// pipeline rebuild) so that blocks and counters survive reloads.
type Blacklist struct {
	// List holds the entries.
	List List
	// IP is the stage placed right after routing (and respsign).
	IP *IPHandler
	// App is the stage placed right after the signature stage.
	App *AppHandler
	// Detector is fed by the edge and the token stage.
	Detector *Detector
	// Admin serves /admin/v1/blacklist.
	Admin *Admin
}

// New validates cfg, loads its static entries into the list and returns
// the control.
func New(ctx context.Context, cfg Config, opts Options) (*Blacklist, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	list := opts.List
	if list == nil {
		list = NewMemory(cfg.MaxEntries)
	}
	created := now()
	for i, s := range cfg.Static {
		e := Entry{ID: staticID(s.Kind, s.Value), Kind: s.Kind, Value: s.Value, Reason: s.Reason,
			Source: SourceManual, Created: created, Until: s.Until}
		if !s.Until.IsZero() && !s.Until.After(created) {
			continue // lapsed already
		}
		if _, err := list.Add(ctx, e); err != nil {
			return nil, fmt.Errorf("blacklist.static[%d]: %w", i, err)
		}
	}
	d, err := NewDetector(cfg.Auto, list, opts.Alerts, now)
	if err != nil {
		return nil, err
	}
	return &Blacklist{
		List:     list,
		IP:       &IPHandler{List: list, Now: now},
		App:      &AppHandler{List: list, Now: now},
		Detector: d,
		Admin:    &Admin{List: list, Now: now},
	}, nil
}

// staticID is a configured entry's id: the same on every node and at every
// start, so that loading the configuration again replaces rather than
// duplicates it in a shared list.
func staticID(kind Kind, value string) string {
	sum := sha256.Sum256([]byte(string(kind) + "\x00" + value))
	return "static-" + hex.EncodeToString(sum[:10])
}

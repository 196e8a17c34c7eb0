// Package ratelimittest has recording fakes of what the ratelimit stage
// talks to: the app Notifier and the alert Raiser.
package ratelimittest

import (
	"context"
	"sync"

	"github.com/bankguard/bankguard/alert"
)

// Notice is one notice sent to an app.
type Notice struct {
	AppID, Kind, Message string
}

// Notifier records the notices sent to apps. It is safe for concurrent use.
type Notifier struct {
	mu      sync.Mutex
	notices []Notice
}

// NotifyApp records the notice.
func (n *Notifier) NotifyApp(_ context.Context, appID, kind, message string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.notices = append(n.notices, Notice{AppID: appID, Kind: kind, Message: message})
}

// Notices returns the notices so far, oldest first.
func (n *Notifier) Notices() []Notice {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]Notice(nil), n.notices...)
}

// Alerts records the alerts raised. It is safe for concurrent use.
type Alerts struct {
	mu     sync.Mutex
	alerts []alert.Alert
}

// Raise implements alert.Raiser.
func (a *Alerts) Raise(_ context.Context, al alert.Alert) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.alerts = append(a.alerts, al)
}

// All returns the alerts so far, oldest first.
func (a *Alerts) All() []alert.Alert {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]alert.Alert(nil), a.alerts...)
}

// Rule returns the alerts of one rule.
func (a *Alerts) Rule(rule string) []alert.Alert {
	var out []alert.Alert
	for _, al := range a.All() {
		if al.Rule == rule {
			out = append(out, al)
		}
	}
	return out
}

var _ alert.Raiser = (*Alerts)(nil)

package pages

import (
	"sync"
	"time"
)

// limiter is the brute-force protection of sign-in (T/PCAC 0008-2020
// 3.3.2): per user name, MaxFailures failed attempts (password or second
// factor) lock it for LockoutBase, doubling with each further lockout up to
// LockoutMax; per client address, IPMaxFailures failures within IPWindow
// refuse further attempts until the oldest leaves the window.
//
// Unknown user names are counted like known ones, so a lockout tells an
// attacker nothing about which names exist.
type limiter struct {
	cfg *Config

	mu    sync.Mutex
	users map[string]*failures
	ips   map[string][]time.Time
}

type failures struct {
	count       int
	lockouts    int
	lockedUntil time.Time
	last        time.Time
}

// maxTracked bounds the entries kept before a sweep.
const maxTracked = 100000

// quietReset is how long without failures resets the backoff.
const quietReset = 24 * time.Hour

func newLimiter(cfg *Config) *limiter {
	return &limiter{cfg: cfg, users: map[string]*failures{}, ips: map[string][]time.Time{}}
}

// locked reports whether the user key is locked at now.
func (l *limiter) locked(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.users[key]
	return f != nil && now.Before(f.lockedUntil)
}

// ipBlocked reports whether the address has used up its failures, and when
// the oldest counted failure leaves the window.
func (l *limiter) ipBlocked(ip string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ts := l.pruneLocked(ip, now)
	if len(ts) < l.cfg.IPMaxFailures {
		return false, 0
	}
	return true, ts[0].Add(l.cfg.IPWindow).Sub(now)
}

func (l *limiter) pruneLocked(ip string, now time.Time) []time.Time {
	ts := l.ips[ip]
	i := 0
	for i < len(ts) && !now.Before(ts[i].Add(l.cfg.IPWindow)) {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(l.ips, ip)
	} else {
		l.ips[ip] = ts
	}
	return ts
}

// failIP counts a failure against the address only.
func (l *limiter) failIP(ip string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failIPLocked(ip, now)
}

func (l *limiter) failIPLocked(ip string, now time.Time) {
	ts := l.pruneLocked(ip, now)
	if len(ts) >= l.cfg.IPMaxFailures {
		ts = ts[1:]
	}
	l.ips[ip] = append(ts, now)
	if len(l.ips) > maxTracked {
		for k := range l.ips {
			l.pruneLocked(k, now)
		}
	}
}

// fail counts a failure against the user key and the address and reports
// whether it locked the user.
func (l *limiter) fail(key, ip string, now time.Time) (lockedNow bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failIPLocked(ip, now)
	f := l.users[key]
	if f == nil {
		if len(l.users) >= maxTracked {
			l.sweepLocked(now)
		}
		f = &failures{}
		l.users[key] = f
	}
	if now.Sub(f.last) > quietReset {
		f.lockouts = 0
	}
	if now.Sub(f.last) > l.cfg.LockoutMax {
		f.count = 0
	}
	f.last = now
	f.count++
	if f.count < l.cfg.MaxFailures {
		return false
	}
	f.count = 0
	f.lockouts++
	d := l.cfg.LockoutBase
	for i := 1; i < f.lockouts && d < l.cfg.LockoutMax; i++ {
		d *= 2
	}
	f.lockedUntil = now.Add(min(d, l.cfg.LockoutMax))
	return true
}

// succeed clears the user key's failures and backoff.
func (l *limiter) succeed(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.users, key)
}

func (l *limiter) sweepLocked(now time.Time) {
	for k, f := range l.users {
		if !now.Before(f.lockedUntil) && now.Sub(f.last) > quietReset {
			delete(l.users, k)
		}
	}
}

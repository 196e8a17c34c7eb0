package alert

import "time"

// Delivery to notifiers: each route has a bounded queue and a goroutine of
// its own, so a slow or failing notifier delays no other; the worker applies
// the route's minimum severity and rate cap before queueing (graded
// notification: T/PCAC 0008-2020 6.5).

// route is a Route with its queue and rate-cap state; the rate-cap fields
// belong to the worker goroutine.
type route struct {
	Route
	q        chan job
	winStart time.Time
	sent     int
	sup      *Suppressed
}

// job is a notification for one notifier, or a Flush barrier.
type job struct {
	n       Notification
	barrier chan struct{}
}

// offer gives a notification to a route, within its minimum severity and
// rate cap.
func (m *Manager) offer(r *route, n Notification, now time.Time) {
	if !n.Severity.AtLeast(r.MinSeverity) {
		return
	}
	if r.RatePerMinute > 0 {
		m.roll(r, now)
		if r.sent >= r.RatePerMinute {
			if r.sup == nil {
				r.sup = &Suppressed{From: now, BySeverity: map[Severity]int{}, ByRule: map[string]int{}}
			}
			r.sup.Count++
			r.sup.To = now
			r.sup.BySeverity[n.Severity]++
			if n.Alert != nil {
				r.sup.ByRule[n.Alert.Rule]++
			}
			return
		}
		r.sent++
	}
	m.send(r, job{n: n}, false)
}

// roll starts a new rate-cap window once a minute has passed since the
// current one began, sending the summary of what the old one held back.
func (m *Manager) roll(r *route, now time.Time) {
	if !r.winStart.IsZero() && now.Sub(r.winStart) < time.Minute {
		return
	}
	r.winStart, r.sent = now, 0
	if r.sup != nil {
		s := r.sup
		r.sup = nil
		r.sent = 1
		m.send(r, job{n: suppressedNotification(s, now)}, false)
	}
}

// sendSummaries sends every pending rate-cap summary now.
func (m *Manager) sendSummaries() {
	now := m.now()
	for _, r := range m.routes {
		if r.sup != nil {
			s := r.sup
			r.sup = nil
			m.send(r, job{n: suppressedNotification(s, now)}, false)
		}
	}
}

// send queues a job for a route's goroutine; wait blocks until there is
// room (Flush only), otherwise a full queue drops the job. It reports
// whether the job was queued.
func (m *Manager) send(r *route, j job, wait bool) bool {
	m.qmu.RLock()
	defer m.qmu.RUnlock()
	if m.closed {
		return false
	}
	if wait {
		r.q <- j
		return true
	}
	select {
	case r.q <- j:
		return true
	default:
		m.undelivered.Add(1)
		m.log.Warn("alert notifier queue full: notification dropped", "notifier", r.Name, "notification", j.n.ID, "type", j.n.Type)
		return false
	}
}

// deliver is a route's goroutine.
func (m *Manager) deliver(r *route) {
	defer m.wg.Done()
	for j := range r.q {
		if j.barrier != nil {
			close(j.barrier)
			continue
		}
		if err := r.Notifier.Notify(m.ctx, j.n); err != nil {
			m.failed.Add(1)
			m.log.Warn("alert notification not delivered", "notifier", r.Name, "notification", j.n.ID, "type", j.n.Type, "err", err)
		}
	}
}

package alert

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of the Manager.
const (
	DefaultDedupWindow   = 5 * time.Minute
	DefaultQueueSize     = 1024
	DefaultRatePerMinute = 30
	// RouteQueueSize bounds the notifications waiting for one notifier.
	RouteQueueSize = 256
	// MaxRecent is how many alert records the Manager keeps for the admin API.
	MaxRecent = 1000
)

// tickEvery is how often the worker sends the summaries of rate caps whose
// window has ended and forgets expired de-duplication entries.
const tickEvery = 10 * time.Second

// ErrClosed is returned by Flush after Close.
var ErrClosed = errors.New("alert: manager closed")

// Record is one alert as the Manager keeps it: the first occurrence of a rule
// and subject within the de-duplication window, and how often it recurred.
type Record struct {
	ID       string   `json:"id"`
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Subject  string   `json:"subject"`
	Summary  string   `json:"summary"`
	Detail   string   `json:"detail,omitempty"`
	// TxnID is the transaction of the latest occurrence that named one.
	TxnID     string    `json:"txn_id,omitempty"`
	Count     int       `json:"count"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// IncidentID is the incident it opened or joined (warning and above).
	IncidentID     string `json:"incident_id,omitempty"`
	IncidentOpened bool   `json:"incident_opened,omitempty"`
}

// Route sends notifications to one notifier.
type Route struct {
	// Name identifies the notifier in logs ("log", "webhook:soc", …).
	Name     string
	Notifier Notifier
	// MinSeverity keeps alerts below it from this notifier ("" for all).
	MinSeverity Severity
	// RatePerMinute caps the alert notifications per minute (0: no cap);
	// the alerts held back are summarized in one notification when the
	// minute ends.
	RatePerMinute int
	// DailyReport sends the daily summary to this notifier.
	DailyReport bool
}

// Options configure a Manager.
type Options struct {
	Routes []Route
	// Store keeps incidents (nil: a new MemoryStore).
	Store Store
	// Logger receives the Manager's own messages (nil: slog.Default()).
	Logger *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// DedupWindow is how long alerts of the same rule and subject join the
	// first one (0: DefaultDedupWindow).
	DedupWindow time.Duration
	// QueueSize bounds the alerts waiting for the worker (0: DefaultQueueSize).
	QueueSize int
	// Location is the time zone of days in reports (nil: time.Local).
	Location *time.Location
}

// Manager is the bank's alert desk (T/PCAC 0008-2020 6.1.1, 6.1.2, 6.5): it
// implements Raiser with a bounded queue that a worker goroutine drains, so
// raising never blocks a request; it de-duplicates alerts by rule and
// subject, opens and joins incidents, and hands notifications to each
// notifier's own goroutine under the notifier's minimum severity and rate cap.
type Manager struct {
	routes []*route
	store  Store
	log    *slog.Logger
	now    func() time.Time
	window time.Duration
	loc    *time.Location

	queue    chan item
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{} // closed when the worker has returned
	finished chan struct{} // closed when every goroutine has returned
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup // delivery goroutines

	qmu    sync.RWMutex // guards closing the route queues
	closed bool

	dropped     atomic.Int64 // alerts dropped because the queue was full
	lastDropLog atomic.Int64 // unix nanoseconds of the last such log line
	undelivered atomic.Int64 // notifications dropped because a route queue was full
	failed      atomic.Int64 // notifications a notifier failed to deliver

	mu          sync.Mutex
	open        map[string]*Record // rule+subject → record inside its window
	recent      []*Record          // newest last, at most MaxRecent
	days        map[string]*dayStats
	droppedSeen int64
}

// item is what the queue carries: an alert, or a Flush barrier.
type item struct {
	alert   Alert
	barrier chan struct{}
}

// NewManager starts a Manager. Call Close to stop it.
func NewManager(o Options) *Manager {
	m := &Manager{
		store: o.Store, log: o.Logger, now: o.Now, window: o.DedupWindow, loc: o.Location,
		stop: make(chan struct{}), done: make(chan struct{}), finished: make(chan struct{}),
		open: map[string]*Record{}, days: map[string]*dayStats{},
	}
	if m.store == nil {
		m.store = NewMemoryStore()
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.window <= 0 {
		m.window = DefaultDedupWindow
	}
	if m.loc == nil {
		m.loc = time.Local
	}
	size := o.QueueSize
	if size <= 0 {
		size = DefaultQueueSize
	}
	m.queue = make(chan item, size)
	m.ctx, m.cancel = context.WithCancel(context.Background())
	for i, r := range o.Routes {
		if r.Name == "" {
			r.Name = "notifier-" + strconv.Itoa(i)
		}
		rt := &route{Route: r, q: make(chan job, RouteQueueSize)}
		m.routes = append(m.routes, rt)
		m.wg.Add(1)
		go m.deliver(rt)
	}
	go m.run()
	return m
}

// Raise implements Raiser. It never blocks: when the queue is full the alert
// is counted, dropped and logged (at most one log line per 10 seconds).
func (m *Manager) Raise(_ context.Context, a Alert) {
	now := m.now()
	if a.Time.IsZero() {
		a.Time = now
	}
	select {
	case <-m.stop:
		return
	default:
	}
	select {
	case m.queue <- item{alert: a}:
	default:
		n := m.dropped.Add(1)
		ns, last := now.UnixNano(), m.lastDropLog.Load()
		if (last == 0 || ns-last >= int64(10*time.Second)) && m.lastDropLog.CompareAndSwap(last, ns) {
			m.log.Warn("alert queue full: alert dropped", "rule", a.Rule, "severity", a.Severity, "dropped_total", n)
		}
	}
}

// Flush waits until every alert raised before it has been handled and its
// notifications delivered (or failed), and sends the summaries of rate caps
// whose minute has ended. It is for tests; it may wait on a slow notifier,
// and returns ErrClosed once Close has been called.
func (m *Manager) Flush(ctx context.Context) error {
	select {
	case <-m.stop:
		return ErrClosed
	default:
	}
	b := make(chan struct{})
	select {
	case m.queue <- item{barrier: b}:
	case <-m.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-b:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops the Manager: the alerts already queued are handled and their
// notifications delivered until ctx ends, when deliveries in flight are
// cancelled. Alerts raised after Close are dropped. Close may be called again.
func (m *Manager) Close(ctx context.Context) error {
	m.stopOnce.Do(func() {
		close(m.stop)
		go func() {
			<-m.done
			m.qmu.Lock()
			m.closed = true
			for _, r := range m.routes {
				close(r.q)
			}
			m.qmu.Unlock()
			m.wg.Wait()
			close(m.finished)
		}()
	})
	select {
	case <-m.finished:
		m.cancel()
		return nil
	case <-ctx.Done():
		m.cancel() // the deliveries in flight end, and with them the goroutines
		return ctx.Err()
	}
}

// Stats are the Manager's counters, for metrics.
type Stats struct {
	// Dropped counts alerts dropped because the queue was full.
	Dropped int64
	// Undelivered counts notifications dropped because a notifier's queue was full.
	Undelivered int64
	// Failed counts notifications a notifier failed to deliver.
	Failed int64
}

// Stats returns the Manager's counters.
func (m *Manager) Stats() Stats {
	return Stats{Dropped: m.dropped.Load(), Undelivered: m.undelivered.Load(), Failed: m.failed.Load()}
}

// Store returns the incident store.
func (m *Manager) Store() Store { return m.store }

// Recent returns up to limit alert records (0: all kept), the newest first,
// keeping only those at least as severe as least ("" for all).
func (m *Manager) Recent(limit int, least Severity) []Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []Record{}
	for i := len(m.recent) - 1; i >= 0 && (limit <= 0 || len(out) < limit); i-- {
		if m.recent[i].Severity.AtLeast(least) {
			out = append(out, *m.recent[i])
		}
	}
	return out
}

// run is the worker goroutine.
func (m *Manager) run() {
	defer close(m.done)
	t := time.NewTicker(tickEvery)
	defer t.Stop()
	for {
		select {
		case it := <-m.queue:
			m.process(it)
		case <-t.C:
			m.tick()
		case <-m.stop:
			for {
				select {
				case it := <-m.queue:
					m.process(it)
				default:
					m.tick()
					m.sendSummaries() // what the rate caps held back, before going
					return
				}
			}
		}
	}
}

func (m *Manager) process(it item) {
	if it.barrier == nil {
		m.handle(it.alert)
		return
	}
	m.tick()
	var dones []chan struct{}
	for _, r := range m.routes {
		d := make(chan struct{})
		if m.send(r, job{barrier: d}, true) {
			dones = append(dones, d)
		}
	}
	go func() {
		for _, d := range dones {
			<-d
		}
		close(it.barrier)
	}()
}

// handle de-duplicates an alert, records it, opens or joins its incident and
// offers its notification to each route.
func (m *Manager) handle(a Alert) {
	a = normalize(a)
	key := a.Rule + "\x00" + a.Subject
	m.mu.Lock()
	m.count(a)
	if rec, ok := m.open[key]; ok && !a.Each && a.Time.Sub(rec.FirstSeen) < m.window && a.Severity.rank() <= rec.Severity.rank() {
		rec.Count++
		rec.LastSeen = laterOf(rec.LastSeen, a.Time)
		if a.TxnID != "" {
			rec.TxnID = a.TxnID
		}
		m.mu.Unlock()
		return
	}
	rec := &Record{
		ID: newID("ALR", a.Time), Rule: a.Rule, Severity: a.Severity, Subject: a.Subject,
		Summary: a.Summary, Detail: a.Detail, TxnID: a.TxnID, Count: 1, FirstSeen: a.Time, LastSeen: a.Time,
	}
	m.open[key] = rec
	if len(m.recent) == MaxRecent {
		copy(m.recent, m.recent[1:])
		m.recent = m.recent[:MaxRecent-1]
	}
	m.recent = append(m.recent, rec)
	m.day(a.Time).distinct++
	m.mu.Unlock()

	if a.Severity.AtLeast(Warning) {
		inc, opened, err := m.store.AddAlert(m.ctx, a, rec.ID)
		if err != nil {
			m.log.Error("alert: incident not recorded", "alert_id", rec.ID, "rule", a.Rule, "err", err)
		} else {
			m.mu.Lock()
			rec.IncidentID, rec.IncidentOpened = inc.ID, opened
			m.mu.Unlock()
		}
	}
	m.mu.Lock()
	snap := *rec
	m.mu.Unlock()
	now := m.now()
	n := alertNotification(snap, now)
	for _, r := range m.routes {
		m.offer(r, n, now)
	}
}

// normalize fills in and cleans an alert. An unknown severity counts as a
// warning: it still opens an incident and reaches the bank.
func normalize(a Alert) Alert {
	if !a.Severity.Valid() {
		a.Severity = Warning
	}
	if a.Rule == "" {
		a.Rule = "unnamed"
	}
	if a.Subject == "" {
		a.Subject = "unknown"
	}
	a.Rule, a.Subject = clean(a.Rule, 100), clean(a.Subject, 200)
	a.Summary, a.Detail = clean(a.Summary, 300), clean(a.Detail, 2000)
	a.TxnID = clean(a.TxnID, 100)
	return a
}

// tick sends due rate-cap summaries and forgets expired de-duplication entries.
func (m *Manager) tick() {
	now := m.now()
	for _, r := range m.routes {
		if r.sup != nil {
			m.roll(r, now)
		}
	}
	m.mu.Lock()
	for k, rec := range m.open {
		if now.Sub(rec.FirstSeen) >= m.window {
			delete(m.open, k)
		}
	}
	m.day(now) // attributes alerts dropped since the last look to today
	m.mu.Unlock()
}

var _ Raiser = (*Manager)(nil)

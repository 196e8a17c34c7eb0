// Package ratelimit is the gateway's flow control: limits on calls per time
// unit and on calls in flight, per app, per API and per app and API, with
// the actions alarm, pause and reject (T/PCAC 0008-2020 4.1, flow control
// in the service layer; 6.1.2-2, maximum concurrency and calls per time
// unit with alarm, pause and reject), and the operators' business
// throttles with notice to the app (6.2.1).
//
// Rates are counted exactly with GCRA (one theoretical arrival time per
// counter, integer arithmetic in fractions of a nanosecond); concurrency
// with counting semaphores. A call is checked against all its counters at
// once and charged only when admitted: refused calls consume no quota.
// Counters, pauses and throttles sit behind small interfaces (Store, Slots,
// Pauses, Throttles) with in-process implementations here; a cluster
// shares them through another implementation.
//
// The stage runs after signature verification: it counts by the verified
// App. It fails closed: when its state cannot be read, calls are refused.
// Refusals never name a rule or a counter.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/bankguard/bankguard/alert"
	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/problem"
)

// Alert rules raised by the stage.
const (
	// AlertAlarm (warning): a call passed an alarm rule's limit.
	AlertAlarm = "ratelimit.alarm"
	// AlertPause (critical): an app was paused.
	AlertPause = "ratelimit.pause"
	// AlertUnavailable (critical): the counters could not be used and calls
	// were refused.
	AlertUnavailable = "ratelimit.unavailable"
)

// Notice kinds sent to apps.
const (
	NoticePaused         = "paused"
	NoticeThrottled      = "throttled"
	NoticeThrottleLifted = "throttle_lifted"
)

// Notifier tells an app about something that affects its calls (a pause, a
// throttle). It must not block the request: deliver asynchronously. The
// message is client-safe text.
type Notifier interface {
	NotifyApp(ctx context.Context, appID, kind, message string)
}

// NopNotifier drops every notice.
type NopNotifier struct{}

// NotifyApp implements Notifier.
func (NopNotifier) NotifyApp(context.Context, string, string, string) {}

// Handler is the rate limit stage.
type Handler struct {
	// Limits are the configured rules and their counters.
	Limits *Limiter
	// Throttles are the operators' business throttles.
	Throttles Throttles
	// Pauses are the apps paused by pause rules.
	Pauses Pauses
	// Alerts receives alarms and pauses (nil: dropped).
	Alerts alert.Raiser
	// Notifier tells apps they were paused (nil: nobody is told).
	Notifier Notifier
	// Now is the clock (nil means time.Now).
	Now func() time.Time
}

// New returns the stage for cfg with in-process state. Its fields may be
// replaced (shared stores, clock) before it serves.
func New(cfg Config, alerts alert.Raiser, notifier Notifier) (*Handler, error) {
	l, err := NewLimiter(cfg, nil, nil)
	if err != nil {
		return nil, err
	}
	return &Handler{Limits: l, Throttles: NewMemoryThrottles(), Pauses: NewMemoryPauses(),
		Alerts: alerts, Notifier: notifier, Now: time.Now}, nil
}

// Client-safe details: none names a rule, a counter or a limit's value
// other than through the RateLimit headers.
const (
	detailRate        = "the call rate allowed to this application has been reached; retry after the time in Retry-After"
	detailConcurrency = "too many calls of this application are in progress at once; retry shortly"
	detailUnavailable = "traffic control is unavailable at the moment; retry later"
)

// ServeHTTP admits the call or refuses it. Refusals: 429 app_paused while
// the app is paused; 429 throttled (with the operator's reason) over a
// business throttle; 429 rate_limited over a reject rule; 429 app_paused
// when a pause rule's limit is passed (the app is paused and told); all
// with Retry-After. 503 internal when the counters cannot be used. Alarm
// rules let the call pass and raise an alert. Admitted calls carry the
// RateLimit headers and hold their concurrency slots until next returns.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next stage.Handler) error {
	ctx := r.Context()
	ex := stage.FromContext(ctx)
	if h.Limits == nil || h.Pauses == nil || h.Throttles == nil {
		return h.unavailable(ctx, ex, errors.New("ratelimit: stage not configured"))
	}
	now := h.now()
	c := call{ip: ex.ClientIP}
	if ex.App != nil {
		c.app = ex.App.ID
	}
	if ex.API != nil {
		c.api = ex.API.ID
	}
	if c.app != "" {
		ends, err := h.Pauses.PausedUntil(ctx, c.app, now)
		if err != nil {
			return h.unavailable(ctx, ex, err)
		}
		if !ends.IsZero() {
			return paused(ends, now)
		}
	}
	throttles, err := h.Throttles.Match(ctx, c.app, c.api, now)
	if err != nil {
		return h.unavailable(ctx, ex, err)
	}
	p := h.Limits.plan(c, throttles)
	held, err := h.acquire(ctx, ex, c, p, now)
	if err != nil {
		return err
	}
	if len(p.cells) > 0 {
		admitted, verdicts, err := h.Limits.store.Allow(ctx, now, p.cells)
		if err != nil {
			h.release(ctx, held)
			return h.unavailable(ctx, ex, err)
		}
		for i, v := range verdicts {
			if !v.Allowed && p.cells[i].Optional {
				h.alarm(ctx, ex, p.cellChecks[i].subject(c), p.cellChecks[i].rule, "rate "+p.cells[i].Rate.String(), now)
			}
		}
		policy, limit := rateLimitHeaders(p, verdicts)
		if !admitted {
			h.release(ctx, held)
			pe := h.refuseRate(ctx, ex, c, p, verdicts, now)
			if policy != "" {
				pe = pe.WithHeader(HeaderPolicy, policy).WithHeader(HeaderRateLimit, limit)
			}
			return pe
		}
		if policy != "" {
			w.Header().Set(HeaderPolicy, policy)
			w.Header().Set(HeaderRateLimit, limit)
		}
	}
	defer h.release(ctx, held)
	return next.ServeHTTP(w, r)
}

// acquire takes the call's concurrency slots, or refuses it; it returns the
// keys of the slots taken.
func (h *Handler) acquire(ctx context.Context, ex *stage.Exchange, c call, p plan, now time.Time) ([]string, error) {
	if len(p.slots) == 0 {
		return nil, nil
	}
	admitted, room, err := h.Limits.slots.Acquire(ctx, p.slots)
	if err != nil {
		return nil, h.unavailable(ctx, ex, err)
	}
	var held []string
	var pauseFor time.Duration
	var pauseRule *rule
	for i, s := range p.slots {
		k := p.slotChecks[i]
		switch {
		case room[i]:
			held = append(held, s.Key)
		case s.Optional:
			h.alarm(ctx, ex, k.subject(c), k.rule, "concurrency "+strconv.FormatInt(s.Max, 10), now)
		case k.rule != nil && k.rule.Action == Pause && k.rule.PauseFor > pauseFor:
			pauseFor, pauseRule = k.rule.PauseFor, k.rule
		}
	}
	if admitted {
		return held, nil
	}
	if pauseRule != nil {
		return nil, h.pause(ctx, ex, pauseRule, "concurrency "+strconv.FormatInt(pauseRule.Concurrency, 10), now)
	}
	return nil, problem.New(problem.RateLimited, detailConcurrency).WithHeader("Retry-After", "1")
}

// release gives back the call's concurrency slots, even if the client has gone.
func (h *Handler) release(ctx context.Context, held []string) {
	if len(held) > 0 {
		_ = h.Limits.slots.Release(context.WithoutCancel(ctx), held)
	}
}

// refuseRate answers a call a rate counter refused. A pause rule pauses the
// app; otherwise a throttle answers with its reason, a reject rule with
// rate_limited; each with the longest wait among the counters that refused.
func (h *Handler) refuseRate(ctx context.Context, ex *stage.Exchange, c call, p plan, verdicts []Verdict, now time.Time) *problem.Error {
	var pauseRule *rule
	var throttle *Throttle
	var wait time.Duration
	for i, v := range verdicts {
		k := p.cellChecks[i]
		if v.Allowed || p.cells[i].Optional {
			continue
		}
		switch {
		case k.throttle != nil:
			throttle = k.throttle
		case k.rule.Action == Pause:
			if pauseRule == nil || k.rule.PauseFor > pauseRule.PauseFor {
				pauseRule = k.rule
			}
		}
		wait = max(wait, v.RetryAfter)
	}
	switch {
	case pauseRule != nil && c.app != "":
		return h.pause(ctx, ex, pauseRule, "rate "+pauseRule.Rate.String(), now)
	case throttle != nil:
		return problem.New(problem.Throttled, "the bank has temporarily limited these calls: "+throttle.Reason).
			WithHeader("Retry-After", retryAfter(wait))
	}
	return problem.New(problem.RateLimited, detailRate).WithHeader("Retry-After", retryAfter(wait))
}

// pause suspends the call's app for the rule's PauseFor, raises a critical
// alert and tells the app (once per pause), and refuses the call.
func (h *Handler) pause(ctx context.Context, ex *stage.Exchange, r *rule, limit string, now time.Time) *problem.Error {
	ctx = context.WithoutCancel(ctx)
	appID := ex.App.ID
	ends, started, err := h.Pauses.Pause(ctx, appID, now, now.Add(r.PauseFor))
	if err != nil {
		return h.unavailable(ctx, ex, err)
	}
	if started {
		h.raise(ctx, alert.Alert{
			Rule:     AlertPause,
			Severity: alert.Critical,
			Subject:  "app:" + appID,
			Summary:  fmt.Sprintf("app %s paused until %s: over rule %s (%s)", appID, ends.UTC().Format(time.RFC3339), r.name, limit),
			Detail:   fmt.Sprintf("rule rules[%d] %q counts %s; pause_for %s", r.index, r.name, r.scope(), r.PauseFor),
			TxnID:    ex.ID,
			Time:     now,
		})
		if h.Notifier != nil {
			h.Notifier.NotifyApp(ctx, appID, NoticePaused, fmt.Sprintf(
				"calls from this application are paused until %s because it exceeded its agreed call limits", ends.UTC().Format(time.RFC3339)))
		}
	}
	return paused(ends, now)
}

// paused is the refusal of a paused app's call.
func paused(ends, now time.Time) *problem.Error {
	return problem.Newf(problem.AppPaused, "calls from this application are paused until %s after it exceeded its agreed call limits",
		ends.UTC().Format(time.RFC3339)).WithHeader("Retry-After", retryAfter(ends.Sub(now)))
}

// alarm raises the warning of an alarm rule whose limit a call passed.
func (h *Handler) alarm(ctx context.Context, ex *stage.Exchange, subject string, r *rule, limit string, now time.Time) {
	h.raise(context.WithoutCancel(ctx), alert.Alert{
		Rule:     AlertAlarm,
		Severity: alert.Warning,
		Subject:  subject,
		Summary:  fmt.Sprintf("%s over the alarm limit of rule %s (%s)", subject, r.name, limit),
		Detail:   fmt.Sprintf("rule rules[%d] %q; the call was let through", r.index, r.name),
		TxnID:    ex.ID,
		Time:     now,
	})
}

// unavailable refuses a call whose counters cannot be used (fail closed)
// and raises a critical alert.
func (h *Handler) unavailable(ctx context.Context, ex *stage.Exchange, err error) *problem.Error {
	h.raise(context.WithoutCancel(ctx), alert.Alert{
		Rule:     AlertUnavailable,
		Severity: alert.Critical,
		Subject:  "ratelimit",
		Summary:  "rate limit state unavailable: calls are refused",
		Detail:   err.Error(),
		TxnID:    ex.ID,
		Time:     h.now(),
	})
	return problem.Wrap(err, problem.Internal, detailUnavailable).
		WithStatus(http.StatusServiceUnavailable).WithHeader("Retry-After", "1")
}

func (h *Handler) raise(ctx context.Context, a alert.Alert) {
	if h.Alerts != nil {
		h.Alerts.Raise(ctx, a)
	}
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// retryAfter is a Retry-After delta in whole seconds, at least 1.
func retryAfter(d time.Duration) string {
	return strconv.FormatInt(max(seconds(d), 1), 10)
}

var _ stage.Middleware = (*Handler)(nil)

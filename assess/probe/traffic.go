package probe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bankguard/bankguard/assess"
	"github.com/bankguard/bankguard/profile"
)

// The rate-limit check's budget: it never load-tests the target.
const (
	// rateMaxLimit is the highest limit the check probes.
	rateMaxLimit = 200
	// rateBudget is how many requests per unit of the limit the check sends
	// at most, over both of its measurements.
	rateBudget = 3
	// rateMaxWait is the longest window the check waits out to measure a
	// second time in a fresh window.
	rateMaxWait = 5 * time.Second
	// rateMaxWorkers bounds the requests in flight at once (one per ten of
	// the limit, at least one).
	rateMaxWorkers = 4
)

// trafficChecks are the flow-control checks (T/PCAC 0008-2020 4.1, 6.1.2).
func trafficChecks(t *Target) []assess.Check {
	return []assess.Check{
		{ID: "traffic.rate-limit", Title: "Calls beyond the rate limit get 429 with Retry-After",
			Items: []string{"6.1.2-2", "4.1-2"}, Run: t.checkRateLimit},
	}
}

// checkRateLimit measures the limit of endpoints.rate_limited: L calls per
// window W. Flow control, "单位时间最大交易调用量" with a reject action:
// T/PCAC 0008-2020 6.1.2; flow control in the API service layer: 4.1.
//
// Budget: at most 3·L requests in all (L at most 200, else not_tested), sent
// signed as the endpoint's app, one at a time or by up to 4 workers (one per
// ten of L). A burst sends until the first 429, or until more requests passed
// within one window than the tolerance allows. When the first burst is out
// of tolerance and W is at most 5 s, the check waits W and measures once more
// in a fresh window with what is left of the budget. Nothing is waited out
// after the check: the endpoint should be one no other check uses.
//
// Tolerance: the requests served (2xx) within one window before the first 429
// must number between 0.8·L and 1.2·L·(1 + D/W) + 1, where D is how long they
// took to send (a limiter that refills continuously may admit the refill
// too). A fixed window's boundary inside a burst can admit up to twice the
// limit; the second measurement settles it.
//
// Pass: a 429 with a Retry-After header (delta-seconds or HTTP-date) and an
// RFC 9457 problem body, after a number of served requests within the
// tolerance. Fail: no 429 although more than the tolerance passed within one
// window (twice), a 429 without Retry-After or without a problem body, or far
// more than L served before the 429.
func (t *Target) checkRateLimit(ctx context.Context) assess.Result {
	p, res := t.newRateProbe(ctx)
	if p == nil {
		return res
	}
	remeasure := p.window <= rateMaxWait && p.timeLeft(ctx, 2*p.window+5*time.Second)
	b1 := p.burst(ctx, 1, !remeasure)
	if r, done := p.broken(b1); done {
		return r.With(p.evidence...)
	}
	o1 := p.outcome(b1)
	switch {
	case o1 == rateInBand:
		return assess.Passf("%s, %s; the profile's limit is %s.", p.what(), p.summary(b1), p.limitText()).With(p.evidence...)
	case o1 == rateShort:
		return assess.NotTestedf("%s, %s: the target answers too slowly to send more than the limit (%s) within one window without load-testing it.",
			p.what(), p.summary(b1), p.limitText()).With(p.evidence...)
	case !remeasure || p.budget == 0 || !p.timeLeft(ctx, p.window+p.window/10+2*b1.elapsed):
		return p.decideOnOne(b1, o1).With(p.evidence...)
	}
	if err := rateSleep(ctx, p.window+p.window/10); err != nil {
		return assess.Errorf("the check ran out of time waiting for a fresh window: %v", err).With(p.evidence...)
	}
	b2 := p.burst(ctx, 2, false)
	if r, done := p.broken(b2); done {
		return r.With(p.evidence...)
	}
	return p.decideOnTwo(b1, o1, b2).With(p.evidence...)
}

// rateProbe is one run of the rate-limit check.
type rateProbe struct {
	t      *Target
	ep     *profile.Endpoint
	app    string
	limit  int
	window time.Duration
	// budget is how many requests are left to send.
	budget   int
	evidence []assess.Evidence
}

// newRateProbe reads endpoints.rate_limited; without a usable one it returns
// nil and the not_tested result.
func (t *Target) newRateProbe(ctx context.Context) (*rateProbe, assess.Result) {
	rl := t.Profile.Endpoints.RateLimited
	if rl == nil {
		return nil, assess.NotTestedf("the profile has no endpoints.rate_limited (an API with its limit per window)")
	}
	w, err := time.ParseDuration(rl.Window)
	if err != nil || w <= 0 {
		return nil, assess.NotTestedf("endpoints.rate_limited.window %q is not a duration such as 1s", rl.Window)
	}
	if rl.Limit <= 0 {
		return nil, assess.NotTestedf("endpoints.rate_limited.limit must be above 0")
	}
	if rl.Limit > rateMaxLimit {
		return nil, assess.NotTestedf("endpoints.rate_limited.limit is %d, too high to probe without load-testing the target (at most %d)", rl.Limit, rateMaxLimit)
	}
	app, err := t.AppFor(&rl.Endpoint)
	if err != nil {
		return nil, assess.NotTestedf("endpoints.rate_limited cannot be called: %v", err)
	}
	if _, err := t.Client(ctx, app.AppID); err != nil {
		return nil, assess.Errorf("the client for %s could not be set up: %v", app.AppID, err)
	}
	return &rateProbe{t: t, ep: &rl.Endpoint, app: app.AppID, limit: rl.Limit, window: w, budget: rateBudget * rl.Limit}, assess.Result{}
}

// rateOutcome is what one burst shows.
type rateOutcome int

const (
	// rateInBand: a 429 came after a number of served requests within the tolerance.
	rateInBand rateOutcome = iota
	// rateOver: more requests were served within one window than the tolerance allows.
	rateOver
	// rateUnder: a 429 came before 0.8·L requests were served.
	rateUnder
	// rateShort: no 429 came, and no more than the tolerance was served within one window.
	rateShort
)

// rateBurst is one measurement: requests sent back to back until a 429.
type rateBurst struct {
	n       int // 1 or 2
	sent    int
	served  int
	peak    int           // most requests served within one window
	span    time.Duration // how long the requests of that window took to send
	over    bool          // more were served within one window than the tolerance allows
	limited *Exchange     // the first 429
	at      int           // its request number
	odd     *Exchange     // the first answer neither 2xx nor 429
	oddAt   int
	err     error
	elapsed time.Duration
	times   []time.Time // when the served requests were sent, in order
}

// burst sends requests until a 429, an unexpected answer, the budget's end
// or, unless lax, more served requests within one window than the tolerance
// allows. A lax burst goes on until even a window boundary cannot explain
// the number served.
func (p *rateProbe) burst(ctx context.Context, n int, lax bool) *rateBurst {
	b := &rateBurst{n: n}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		next int
	)
	take := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		stop := b.err != nil || b.limited != nil || b.odd != nil || (b.over && !lax) || (lax && p.beyondBoundary(b))
		if stop || next >= p.budget || ctx.Err() != nil {
			return 0, false
		}
		next++
		return next, true
	}
	start := time.Now()
	for range min(rateMaxWorkers, max(1, p.limit/10)) {
		wg.Go(func() {
			for i, ok := take(); ok; i, ok = take() {
				at := time.Now()
				x, err := p.send(ctx)
				mu.Lock()
				p.record(b, i, at, x, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	b.sent, b.elapsed = next, time.Since(start)
	p.budget -= next
	if b.err == nil && b.limited == nil && b.odd == nil && ctx.Err() != nil {
		b.err = ctx.Err()
	}
	return b
}

func (p *rateProbe) send(ctx context.Context) (*Exchange, error) {
	req, err := p.t.Request(ctx, p.ep)
	if err != nil {
		return nil, err
	}
	return p.t.Call(ctx, p.app, "", req)
}

// record notes one answer; the caller holds the burst's lock.
func (p *rateProbe) record(b *rateBurst, i int, at time.Time, x *Exchange, err error) {
	switch {
	case err != nil:
		if b.err == nil {
			b.err = err
			if x != nil {
				p.keep(x, fmt.Sprintf("burst %d, request %d: no answer", b.n, i))
			}
		}
	case authz2xx(x.Status):
		b.served++
		if b.served == 1 {
			p.keep(x, fmt.Sprintf("burst %d, request %d: the first served", b.n, i))
		}
		p.addServed(b, at)
	case x.Status == http.StatusTooManyRequests:
		if b.limited == nil {
			b.limited, b.at = x, i
			p.keep(x, fmt.Sprintf("burst %d, request %d: the first 429", b.n, i))
		}
	default:
		if b.odd == nil {
			b.odd, b.oddAt = x, i
			p.keep(x, fmt.Sprintf("burst %d, request %d: an unexpected answer", b.n, i))
		}
	}
}

func (p *rateProbe) keep(x *Exchange, title string) {
	x.Evidence.Title = title + " (" + p.ep.Method + " " + authzPath(p.ep) + " as " + p.app + ")"
	p.evidence = append(p.evidence, x.Evidence)
}

// addServed adds a served request's send time and updates the count of the
// window that ends with the latest one.
func (p *rateProbe) addServed(b *rateBurst, at time.Time) {
	i := sort.Search(len(b.times), func(i int) bool { return b.times[i].After(at) })
	b.times = append(b.times, time.Time{})
	copy(b.times[i+1:], b.times[i:])
	b.times[i] = at
	last := b.times[len(b.times)-1]
	first := sort.Search(len(b.times), func(i int) bool { return last.Sub(b.times[i]) < p.window })
	count, span := len(b.times)-first, last.Sub(b.times[first])
	if count > b.peak {
		b.peak, b.span = count, span
	}
	if count > p.upper(span) {
		b.over = true
	}
}

// lower is the fewest served requests within one window that pass: 0.8·L.
func (p *rateProbe) lower() int { return (8*p.limit + 9) / 10 }

// upper is the most served requests within one window that pass, when they
// took span to send: 1.2·L·(1 + span/W) + 1.
func (p *rateProbe) upper(span time.Duration) int {
	refill := float64(min(span, p.window)) / float64(p.window)
	return int(1.2*float64(p.limit)*(1+refill)+1e-9) + 1
}

// beyondBoundary reports whether more were served within one window than
// even a fixed window's boundary inside the burst can explain.
func (p *rateProbe) beyondBoundary(b *rateBurst) bool {
	return b.peak > 2*p.upper(b.span)
}

func (p *rateProbe) outcome(b *rateBurst) rateOutcome {
	switch {
	case b.over:
		return rateOver
	case b.limited == nil:
		return rateShort
	case b.peak < p.lower():
		return rateUnder
	}
	return rateInBand
}

// broken judges what ends a burst early: no answer, an answer that is
// neither served nor 429, or a 429 without Retry-After or problem body.
func (p *rateProbe) broken(b *rateBurst) (assess.Result, bool) {
	what := p.what()
	switch {
	case b.err != nil && errors.Is(b.err, context.DeadlineExceeded):
		return assess.Errorf("the check ran out of time after %d requests to %s.", b.sent, what), true
	case b.err != nil:
		return assess.Errorf("a request of burst %d to %s got no answer: %v", b.n, what, b.err), true
	case b.odd != nil && b.odd.Status >= 500:
		return assess.Errorf("request %d of burst %d to %s got %s, so the limit could not be measured.", b.oddAt, b.n, what, authzAnswer(b.odd)), true
	case b.odd != nil:
		return assess.NotTestedf("request %d of burst %d to %s got %s, neither served nor 429, so the limit could not be measured; check endpoints.rate_limited.",
			b.oddAt, b.n, what, authzAnswer(b.odd)), true
	case b.limited == nil:
		return assess.Result{}, false
	}
	if ra := b.limited.Header.Get("Retry-After"); !rateValidRetryAfter(ra) {
		return assess.Failf("request %d of burst %d to %s got 429 without a valid Retry-After header (%s), so a client cannot tell when to retry.",
			b.at, b.n, what, rateRetryAfterText(ra)), true
	}
	if _, ok := b.limited.Problem(); !ok {
		return assess.Failf("request %d of burst %d to %s got 429 with a body of %s rather than an RFC 9457 problem.",
			b.at, b.n, what, authzBodyKind(b.limited)), true
	}
	return assess.Result{}, false
}

// decideOnOne judges a single burst out of tolerance.
func (p *rateProbe) decideOnOne(b *rateBurst, o rateOutcome) assess.Result {
	switch {
	case o == rateOver && p.beyondBoundary(b):
		return assess.Failf("%s, %s: far more than the limit (%s), more than even a window boundary explains.", p.what(), p.summary(b), p.limitText())
	case o == rateOver:
		return assess.NotTestedf("%s, %s: more than the limit (%s), which a window boundary inside the burst may explain, and the check could not measure again in a fresh window.",
			p.what(), p.summary(b), p.limitText())
	}
	return assess.NotTestedf("%s, %s: fewer than 0.8 times the limit (%s); the profile's limit may be wrong or the endpoint's quota shared with other traffic.",
		p.what(), p.summary(b), p.limitText())
}

// decideOnTwo judges the second burst, sent in a fresh window after the
// first was out of tolerance.
func (p *rateProbe) decideOnTwo(b1 *rateBurst, o1 rateOutcome, b2 *rateBurst) assess.Result {
	both := fmt.Sprintf("%s, %s; after waiting out the window, %s", p.what(), p.summary(b1), p.summary(b2))
	switch o2 := p.outcome(b2); {
	case o2 == rateInBand:
		return assess.Passf("%s, within the profile's limit (%s); the first burst was out of tolerance, likely across a window boundary.", both, p.limitText())
	case o2 == rateOver:
		return assess.Failf("%s: more than the limit (%s) twice.", both, p.limitText())
	case o2 == rateShort && o1 == rateOver && b2.served == b2.sent && b2.peak > p.limit:
		return assess.Failf("%s: every request of the second burst was served, more than the limit (%s).", both, p.limitText())
	case o2 == rateUnder && o1 == rateUnder:
		return assess.NotTestedf("%s: fewer than 0.8 times the limit (%s) twice; the profile's limit may be wrong or the endpoint's quota shared with other traffic.", both, p.limitText())
	}
	return assess.NotTestedf("%s: the two measurements do not settle the limit (%s) within the check's budget of %d requests.", both, p.limitText(), rateBudget*p.limit)
}

// summary says what a burst did, e.g. "burst 1: 6 requests in 0.01 s, 5
// served within one window, then request 6 got 429 (code rate_limited) with
// Retry-After: 2".
func (p *rateProbe) summary(b *rateBurst) string {
	s := fmt.Sprintf("burst %d: %d requests in %s, %d served within one window", b.n, b.sent, rateSeconds(b.elapsed), b.peak)
	if b.limited == nil {
		return s + ", none got 429"
	}
	return s + fmt.Sprintf(", then request %d got %s with Retry-After: %s", b.at, authzAnswer(b.limited), b.limited.Header.Get("Retry-After"))
}

// what names the requests, e.g. "GET /v1/products signed as app-1".
func (p *rateProbe) what() string {
	return fmt.Sprintf("%s %s signed as %s", p.ep.Method, authzPath(p.ep), p.app)
}

func (p *rateProbe) limitText() string {
	return fmt.Sprintf("%d per %s, tolerance %d to %d", p.limit, p.window, p.lower(), p.upper(0))
}

// timeLeft reports whether ctx leaves at least d.
func (p *rateProbe) timeLeft(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return !ok || time.Until(dl) > d
}

// rateValidRetryAfter reports whether v is a Retry-After value (RFC 9110
// 10.2.3): delta-seconds or an HTTP-date.
func rateValidRetryAfter(v string) bool {
	v = strings.TrimSpace(v)
	if v == "" {
		return false
	}
	if strings.Trim(v, "0123456789") == "" {
		return true
	}
	_, err := http.ParseTime(v)
	return err == nil
}

func rateRetryAfterText(v string) string {
	if v == "" {
		return "absent"
	}
	return fmt.Sprintf("%q", v)
}

func rateSeconds(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// rateSleep waits d or until ctx ends.
func rateSleep(ctx context.Context, d time.Duration) error {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

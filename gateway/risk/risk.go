// Package risk applies the bank's transaction risk rules to fund APIs: it
// monitors fund activity in real time, alerts large and abnormal transfers
// one by one, and warns the user, holds the transfer for confirmation or
// refuses it (T/PCAC 0008-2020 6.2.3, real-time monitoring of fund
// transactions, large or abnormal ones alerted one by one; 6.2.2-4, risk
// warnings to the user; 6.1.2, anomaly monitoring with alarms).
//
// The stage runs on APIs whose x-bankguard block says fund: true, as the
// last stage before the backend: after the user token stage (it needs the
// verified App, the User and the Body) and after the stages that transform
// the response (fieldenc, mask), so that it sees the backend's own status
// and counts exactly the transfers that were made. It reads the amount and the payee from the request body by JSON pointers,
// evaluates every rule and applies the strongest action of those that
// fired — reject > hold > notice > alert — and raises one alert per fired
// rule:
//
//	single_amount  the amount is at least the threshold
//	daily_user     the user's transfers of the day (Asia/Shanghai), this one
//	               included, add up to at least the threshold
//	daily_app      the same for the application
//	velocity       the user's transfers within the window, this one included,
//	               are more than count
//	new_payee      the user has made no transfer to this payee before
//
// Only transfers the backend carried out (2xx) count. To stay exact when
// transfers run concurrently, a transfer's amount and its velocity event
// are reserved before it is forwarded and released unless the backend
// answers 2xx; a payee becomes known once the backend answered 2xx.
//
// Actions:
//
//	alert   an alert is raised; the transfer passes
//	notice  the transfer passes with a risk notice the app must show the
//	        user: the Bankguard-Risk-Notice header and the risk_notice
//	        member (see HeaderRiskNotice)
//	hold    the transfer is not forwarded: 202 problem+json with code
//	        transaction_held and a confirmation id in the
//	        Bankguard-Confirmation-Id header and the detail. The bank confirms
//	        or rejects it through the admin API (Admin); once confirmed, the
//	        app resubmits the same transfer — the same body, sealed fields
//	        sealed afresh, and the same Idempotency-Key — within the
//	        resubmit window (15 minutes by default), and that one
//	        resubmission passes the hold rules. A resubmission while the
//	        decision is pending gets the same 202; after a rejection, 403
//	        transaction_rejected. The gateway never replays a transfer
//	        itself.
//	reject  403 transaction_rejected
//
// Failures are closed: an amount or payee that cannot be read is 400
// request_invalid; counters or holds that cannot be reached are 503.
// Nothing the stage logs, alerts or stores holds a raw customer id or card
// number: users and payees are keyed pseudonyms (pii.Engine.Pseudonym).
package risk

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/bankguard/bankguard/alert"
	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/jsonptr"
	"github.com/bankguard/bankguard/pii"
	"github.com/bankguard/bankguard/problem"
)

// cst is China Standard Time, where a day of transfers starts and ends.
// China keeps no daylight saving time, so a fixed zone is exact and needs
// no time zone database.
var cst = time.FixedZone("CST", 8*60*60)

// Options are what the stage needs besides its configuration.
type Options struct {
	// Pseudonyms pseudonymizes users and payees (the gateway's PII engine).
	// Required.
	Pseudonyms *pii.Engine
	// Alerts receives the alerts. Required.
	Alerts alert.Raiser
	// Counters and Holds hold the shared state; nil means in-process ones.
	Counters Counters
	Holds    HoldStore
	// Now is the clock (nil means time.Now).
	Now func() time.Time
	// RiskFlag, if set, is called with the rule name of every rule that
	// fires, for metrics.
	RiskFlag func(rule string)
}

// Handler is the transaction risk stage. It is safe for concurrent use.
type Handler struct {
	cfg        Config
	pseudonyms *pii.Engine
	alerts     alert.Raiser
	counters   Counters
	holds      HoldStore
	now        func() time.Time
	riskFlag   func(rule string)

	needPayee, dailyUser, dailyApp, hasHold bool
	velocityKeep                            time.Duration // the longest velocity window
}

// New validates cfg and returns the stage.
func New(cfg Config, o Options) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if o.Pseudonyms == nil || o.Alerts == nil {
		return nil, errors.New("risk: a pseudonym engine and an alert raiser are required")
	}
	h := &Handler{cfg: cfg, pseudonyms: o.Pseudonyms, alerts: o.Alerts, counters: o.Counters, holds: o.Holds, now: o.Now, riskFlag: o.RiskFlag}
	if h.now == nil {
		h.now = time.Now
	}
	if h.counters == nil {
		h.counters = NewMemoryCounters(h.now)
	}
	if h.holds == nil {
		h.holds = NewMemoryHolds(h.now)
	}
	h.cfg.Rules = slices.Clone(cfg.Rules)
	for _, r := range h.cfg.Rules {
		h.hasHold = h.hasHold || r.Action == ActionHold
		switch r.Kind {
		case NewPayee:
			h.needPayee = true
		case DailyUser:
			h.dailyUser = true
		case DailyApp:
			h.dailyApp = true
		case Velocity:
			h.velocityKeep = max(h.velocityKeep, r.Window)
		}
	}
	return h, nil
}

// Client-safe details: none names a rule, a threshold or a total.
const (
	detailUnavailable = "the transfer cannot be assessed at the moment; retry later"
	detailRejected    = "the bank declined this transfer; the user may contact the bank"
)

// transfer is one fund API call being assessed.
type transfer struct {
	txnID, apiID, appID string
	user                string // pseudonym
	amount              Fen
	payee, payeeMasked  string // pseudonym and mask; "" when not read
	fingerprint         string
	now                 time.Time

	// Reservations, by key ("" when not made), and what they showed.
	userKey, appKey, eventKey string
	userTotal, appTotal       Fen
	events                    []time.Time
	knownPayee                bool
}

// fired is a rule that fired, and why.
type fired struct {
	rule *Rule
	why  string
}

// ServeHTTP assesses a fund API call and applies the rules' actions.
// Refusals: 400 request_invalid (amount or payee unreadable), 202
// transaction_held, 403 transaction_rejected, 503 internal (state
// unreachable).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next stage.Handler) error {
	ex := stage.FromContext(r.Context())
	if !h.cfg.Enabled || ex.API == nil || !ex.API.Protection.Fund || len(h.cfg.Rules) == 0 {
		return next.ServeHTTP(w, r)
	}
	ctx := r.Context()
	t, err := h.read(r, ex)
	if err != nil {
		return err
	}
	if err := h.reserve(ctx, t); err != nil {
		h.release(ctx, t)
		return h.unavailable(ctx, t, err)
	}
	hits := h.evaluate(t)
	action := ActionAlert
	for _, f := range hits {
		if f.rule.Action.strength() > action.strength() {
			action = f.rule.Action
		}
	}
	var hold Hold
	var outcome holdOutcome
	if action == ActionHold {
		if hold, outcome, err = h.resolveHold(ctx, t, ruleNames(hits, ActionHold)); err != nil {
			h.release(ctx, t)
			return h.unavailable(ctx, t, err)
		}
	}
	h.report(ctx, t, hits, action, hold, outcome)

	switch {
	case action == ActionReject || action == ActionHold && outcome == holdDeclined:
		h.release(ctx, t)
		return problem.New(problem.TransactionRejected, detailRejected)
	case action == ActionHold && outcome != holdReleased:
		h.release(ctx, t)
		return h.heldError(hold)
	}
	return h.forward(w, r, next, t, hits, hold, outcome == holdReleased)
}

// read gathers what the rules need from the exchange and the body.
func (h *Handler) read(r *http.Request, ex *stage.Exchange) (*transfer, error) {
	if ex.App == nil || ex.User == "" {
		// The stage runs after the signature and user token stages; a fund
		// call without a verified app and user cannot be assessed.
		return nil, problem.Wrap(errors.New("risk: no verified app or user"), problem.Internal, detailUnavailable).
			WithStatus(http.StatusServiceUnavailable)
	}
	t := &transfer{txnID: ex.ID, apiID: ex.API.ID, appID: ex.App.ID, now: h.now()}
	t.user = h.pseudonyms.Pseudonym(pii.Account, ex.User)
	amount, err := amountAt(ex.Body, h.cfg.AmountPointer)
	if err != nil {
		return nil, problem.Wrap(err, problem.RequestInvalid, fmt.Sprintf(
			"the transfer amount at %s must be a decimal of yuan with at most two decimals, such as \"1234.56\"", h.cfg.AmountPointer))
	}
	t.amount = amount
	card, err := jsonptr.String(ex.Body, h.cfg.PayeePointer)
	switch {
	case err == nil && payeeNumber(card):
		t.payee = h.pseudonyms.Pseudonym(pii.Card, card)
		t.payeeMasked = pii.Mask(pii.Card, card)
	case h.needPayee:
		return nil, problem.Newf(problem.RequestInvalid, "the payee at %s must be a card or account number", h.cfg.PayeePointer)
	}
	if h.hasHold {
		// Held transfers are recognized when resubmitted by this fingerprint;
		// a body it cannot be computed for (a member named twice) could be
		// read differently by the backend and is refused.
		if t.fingerprint, err = h.fingerprint(r, t, ex.Body, ex.API.Protection.Sensitive); err != nil {
			return nil, problem.Wrap(err, problem.RequestInvalid, "the request body must be one JSON document that names each member once")
		}
	}
	return t, nil
}

// payeeNumber reports whether s can be a card or account number: at most 64
// characters, at least 4 of them ASCII letters or digits (spaces and
// hyphens may group them; the pseudonym keeps only letters and digits).
func payeeNumber(s string) bool {
	n := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' {
			n++
		}
	}
	return n >= 4 && len(s) <= 64
}

// reserve adds the transfer to the day's totals and the user's recent
// transfers, and looks up the payee. Whatever it reserved is recorded in t,
// for release.
func (h *Handler) reserve(ctx context.Context, t *transfer) error {
	local := t.now.In(cst)
	day := local.Format(time.DateOnly)
	// The totals outlive the day by an hour, for nodes whose clocks differ.
	expires := time.Date(local.Year(), local.Month(), local.Day()+1, 1, 0, 0, 0, cst)
	if h.dailyUser {
		key := "risk:day:user:" + t.user + ":" + day
		total, err := h.counters.AddAmount(ctx, key, int64(t.amount), expires)
		if err != nil {
			return err
		}
		t.userKey, t.userTotal = key, Fen(total)
	}
	if h.dailyApp {
		key := "risk:day:app:" + t.appID + ":" + day
		total, err := h.counters.AddAmount(ctx, key, int64(t.amount), expires)
		if err != nil {
			return err
		}
		t.appKey, t.appTotal = key, Fen(total)
	}
	if h.velocityKeep > 0 {
		key := "risk:recent:" + t.user
		events, err := h.counters.AddEvent(ctx, key, t.txnID, t.now, h.velocityKeep)
		if err != nil {
			return err
		}
		t.eventKey, t.events = key, events
	}
	if h.needPayee {
		known, err := h.counters.Seen(ctx, h.payeeKey(t))
		if err != nil {
			return err
		}
		t.knownPayee = known
	}
	return nil
}

func (h *Handler) payeeKey(t *transfer) string { return "risk:payee:" + t.user + ":" + t.payee }

// release undoes the reservations of a transfer that was not made. A
// release that fails leaves the totals too high (never too low) and is alerted.
func (h *Handler) release(ctx context.Context, t *transfer) {
	ctx = context.WithoutCancel(ctx)
	var errs []error
	if t.userKey != "" {
		_, err := h.counters.AddAmount(ctx, t.userKey, -int64(t.amount), time.Time{})
		errs = append(errs, err)
	}
	if t.appKey != "" {
		_, err := h.counters.AddAmount(ctx, t.appKey, -int64(t.amount), time.Time{})
		errs = append(errs, err)
	}
	if t.eventKey != "" {
		errs = append(errs, h.counters.RemoveEvent(ctx, t.eventKey, t.txnID))
	}
	t.userKey, t.appKey, t.eventKey = "", "", ""
	if err := errors.Join(errs...); err != nil {
		h.storeAlert(ctx, t, "a reservation of a transfer that was not made could not be released; totals may be overstated until the day ends")
	}
}

// evaluate returns the rules that fire, in configuration order.
func (h *Handler) evaluate(t *transfer) []fired {
	var hits []fired
	for i := range h.cfg.Rules {
		r := &h.cfg.Rules[i]
		var why string
		switch r.Kind {
		case SingleAmount:
			if t.amount >= r.threshold {
				why = fmt.Sprintf("amount %s CNY is at least %s", t.amount, r.threshold)
			}
		case DailyUser:
			if t.userTotal >= r.threshold {
				why = fmt.Sprintf("the user's total today, %s CNY, is at least %s", t.userTotal, r.threshold)
			}
		case DailyApp:
			if t.appTotal >= r.threshold {
				why = fmt.Sprintf("the app's total today, %s CNY, is at least %s", t.appTotal, r.threshold)
			}
		case Velocity:
			n := 0
			for _, at := range t.events {
				if at.After(t.now.Add(-r.Window)) {
					n++
				}
			}
			if n > r.Count {
				why = fmt.Sprintf("%d transfers by the user within %s, more than %d", n, r.Window, r.Count)
			}
		case NewPayee:
			if !t.knownPayee {
				why = "the user's first transfer to this payee"
			}
		}
		if why != "" {
			hits = append(hits, fired{rule: r, why: why})
		}
	}
	return hits
}

// forward lets the transfer through, adds the risk notice to a successful
// response, and settles the reservations by the backend's answer.
func (h *Handler) forward(w http.ResponseWriter, r *http.Request, next stage.Handler, t *transfer, hits []fired, hold Hold, usedHold bool) error {
	var notices []*Rule
	for _, f := range hits {
		if f.rule.Action == ActionNotice {
			notices = append(notices, f.rule)
		}
	}
	notice := buildNotice(notices)
	ww := &watch{ResponseWriter: w}
	var buf *stage.ResponseBuffer
	if notice != nil {
		buf = stage.NewResponseBuffer(w, h.cfg.MaxResponseBody)
		ww.ResponseWriter = buf
	}
	err := next.ServeHTTP(ww, r)
	if ww.status == 0 && err == nil {
		ww.status = http.StatusOK
	}
	h.settle(r.Context(), t, ww.status >= 200 && ww.status < 300, hold, usedHold)
	if err != nil || buf == nil {
		return err
	}
	if buf.Overflow {
		return problem.Wrap(stage.ErrResponseTooLarge, problem.UpstreamUnavailable, "the bank's response could not be delivered")
	}
	if buf.Status >= 200 && buf.Status < 300 {
		buf.Header().Set(HeaderRiskNotice, strings.Join(notice.Codes, ", "))
		if buf.IsJSON() {
			if out, err := injectNotice(buf.Body.Bytes(), notice); err == nil {
				buf.SetBody(out)
			}
			// A body that is not one JSON object keeps the header alone.
		}
	}
	return buf.Send(w)
}

// settle keeps the reservations of a transfer the backend carried out and
// remembers its payee; otherwise it releases them and gives back the
// confirmation the transfer used.
func (h *Handler) settle(ctx context.Context, t *transfer, made bool, hold Hold, usedHold bool) {
	ctx = context.WithoutCancel(ctx)
	if !made {
		h.release(ctx, t)
		if usedHold {
			if err := h.restoreHold(ctx, hold); err != nil {
				h.storeAlert(ctx, t, "the confirmation of a held transfer that was not made could not be given back")
			}
		}
		return
	}
	if h.needPayee && t.payee != "" {
		if err := h.counters.Remember(ctx, h.payeeKey(t), t.now.Add(h.cfg.PayeeMemory)); err != nil {
			h.storeAlert(ctx, t, "a payee could not be remembered; the next transfer to it will count as new")
		}
	}
}

// unavailable fails a transfer closed when the rules' state cannot be reached.
func (h *Handler) unavailable(ctx context.Context, t *transfer, err error) error {
	h.storeAlert(ctx, t, "the risk rules' state could not be reached; fund transfers are refused")
	return problem.Wrap(err, problem.Internal, detailUnavailable).WithStatus(http.StatusServiceUnavailable)
}

// ruleNames returns the names of the fired rules with action.
func ruleNames(hits []fired, action Action) []string {
	var names []string
	for _, f := range hits {
		if f.rule.Action == action {
			names = append(names, f.rule.Name)
		}
	}
	return names
}

var _ stage.Middleware = (*Handler)(nil)

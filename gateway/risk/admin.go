package risk

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/bankguard/bankguard/alert"
	"github.com/bankguard/bankguard/problem"
)

// Admin is the bank's side of held transfers: the operators list them and
// confirm or reject each one (T/PCAC 0008-2020 6.2.3). A confirmation only
// records the approval; the gateway never replays the transfer. The app
// resubmits it (see the package documentation), and the confirmation lets
// one resubmission through within Config.ResubmitWindow.
//
// Its handlers take the form of the gateway's admin guard, which
// authenticates the operator and renders errors:
//
//	GET  /admin/v1/holds[?status=pending]  {"holds":[Hold…]}, newest first
//	POST /admin/v1/holds/{id}/confirm      200 Hold; 404 not_found; 409 request_invalid unless pending
//	POST /admin/v1/holds/{id}/reject       the same
type Admin struct {
	holds    HoldStore
	alerts   alert.Raiser
	now      func() time.Time
	resubmit time.Duration
}

// Admin returns the admin API over the stage's holds.
func (h *Handler) Admin() *Admin {
	return &Admin{holds: h.holds, alerts: h.alerts, now: h.now, resubmit: h.cfg.ResubmitWindow}
}

// Routes returns the handlers by http.ServeMux pattern.
func (a *Admin) Routes() map[string]func(http.ResponseWriter, *http.Request) (string, error) {
	return map[string]func(http.ResponseWriter, *http.Request) (string, error){
		"GET /admin/v1/holds":               a.List,
		"POST /admin/v1/holds/{id}/confirm": a.Confirm,
		"POST /admin/v1/holds/{id}/reject":  a.Reject,
	}
}

// List answers the holds, with their status at the time of the request;
// the query parameter status keeps only those with that status.
func (a *Admin) List(w http.ResponseWriter, r *http.Request) (string, error) {
	all, err := a.holds.List(r.Context())
	if err != nil {
		return "", problem.Wrap(err, problem.Internal, "the held transfers cannot be read at the moment")
	}
	want := HoldStatus(r.URL.Query().Get("status"))
	switch want {
	case "", HoldPending, HoldConfirmed, HoldRejected, HoldUsed, HoldExpired:
	default:
		return "", problem.New(problem.RequestInvalid, "status must be one of pending, confirmed, rejected, used, expired")
	}
	now := a.now()
	out := make([]Hold, 0, len(all))
	for _, h := range all {
		h.Status = h.StatusAt(now)
		if want == "" || h.Status == want {
			out = append(out, h)
		}
	}
	return "", writeJSON(w, map[string]any{"holds": out})
}

// Confirm approves a pending hold: the app may resubmit the transfer.
func (a *Admin) Confirm(w http.ResponseWriter, r *http.Request) (string, error) {
	return a.decide(w, r, HoldConfirmed)
}

// Reject refuses a pending hold: a resubmission is refused too.
func (a *Admin) Reject(w http.ResponseWriter, r *http.Request) (string, error) {
	return a.decide(w, r, HoldRejected)
}

func (a *Admin) decide(w http.ResponseWriter, r *http.Request, to HoldStatus) (string, error) {
	ctx := r.Context()
	id := r.PathValue("id")
	h, ok, err := a.holds.Get(ctx, id)
	switch {
	case err != nil:
		return "", problem.Wrap(err, problem.Internal, "the held transfer cannot be read at the moment")
	case !ok:
		return "", problem.New(problem.NotFound, "no held transfer with this id")
	}
	now := a.now()
	if s := h.StatusAt(now); s != HoldPending {
		return "", problem.Newf(problem.RequestInvalid, "the held transfer is %s; only a pending one can be decided", s).
			WithStatus(http.StatusConflict)
	}
	next := h
	next.Status, next.DecidedAt, next.DecidedBy = to, now, operator(r)
	if to == HoldConfirmed {
		next.ResubmitBy = now.Add(a.resubmit)
	}
	swapped, err := a.holds.Swap(ctx, next, HoldPending)
	switch {
	case err != nil:
		return "", problem.Wrap(err, problem.Internal, "the decision could not be recorded at the moment")
	case !swapped:
		return "", problem.New(problem.RequestInvalid, "the held transfer was decided meanwhile").WithStatus(http.StatusConflict)
	}
	a.alerts.Raise(context.WithoutCancel(ctx), alert.Alert{
		Rule:     "risk.hold_" + string(to),
		Severity: alert.Info,
		Subject:  "user:" + h.User,
		Summary:  "held transfer " + h.ID + " of " + h.Amount + " CNY through app " + h.AppID + " " + string(to) + " by " + next.DecidedBy,
		TxnID:    h.TxnID,
		Time:     now,
	})
	if err := writeJSON(w, next); err != nil {
		return "", err
	}
	return "risk hold " + h.ID + " " + string(to), nil
}

// operator names who decided: the subject common name of the operator's
// client certificate, which the admin listener has verified.
func operator(r *http.Request) string {
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
		if cn := r.TLS.VerifiedChains[0][0].Subject.CommonName; cn != "" {
			return cn
		}
	}
	return "operator"
}

func writeJSON(w http.ResponseWriter, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return problem.Wrap(errors.New("risk: encode admin response"), problem.Internal, "the response could not be encoded")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(append(b, '\n'))
	return err
}

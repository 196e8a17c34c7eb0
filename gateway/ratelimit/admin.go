package ratelimit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/bankguard/bankguard/problem"
)

// ThrottlesPath is where the admin API manages business throttles.
const ThrottlesPath = "/admin/v1/throttles"

// Admin is the admin API of business throttles (T/PCAC 0008-2020 6.2.1):
//
//	GET    /admin/v1/throttles               → 200 {"throttles": [Throttle…]}
//	POST   /admin/v1/throttles  {"app"|"api", "rate", "burst"?, "reason",
//	                             "until" (RFC 3339) | "for" (e.g. "2h")}
//	                                          → 201 (200 when it replaced one) Throttle
//	DELETE /admin/v1/throttles?app=ID | ?api=U_API_ID → 204, 404 when none
//
// Setting or lifting a throttle notifies the app (an API throttle: the apps
// AppsForAPI names). It does no authentication: mount it on the admin
// listener behind the operators' client-certificate check.
type Admin struct {
	Throttles Throttles
	// Notifier tells apps about their throttles (nil: nobody is told).
	Notifier Notifier
	// AppsForAPI lists the apps to tell about a throttle on an API (nil:
	// none are told; callers still read the reason in each refusal).
	AppsForAPI func(ctx context.Context, apiID string) ([]string, error)
	// Logger records apps that could not be told (nil: not logged).
	Logger *slog.Logger
	// Now is the clock (nil means time.Now).
	Now func() time.Time
}

// throttleRequest is the body of a POST.
type throttleRequest struct {
	App    string `json:"app"`
	API    string `json:"api"`
	Rate   string `json:"rate"`
	Burst  int64  `json:"burst"`
	Reason string `json:"reason"`
	Until  string `json:"until"`
	For    string `json:"for"`
}

// ServeHTTP serves ThrottlesPath and renders errors as problem+json.
func (a *Admin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, err := a.Serve(w, r); err != nil {
		problem.Write(w, w.Header().Get("X-Request-Id"), err)
	}
}

// Serve serves ThrottlesPath. It returns a description of the change made,
// if any, for the operators' log, or the error to render; its shape fits
// the gateway admin API's guard.
func (a *Admin) Serve(w http.ResponseWriter, r *http.Request) (action string, err error) {
	switch {
	case r.URL.Path != ThrottlesPath:
		return "", problem.New(problem.NotFound, "no admin endpoint at this path")
	case a.Throttles == nil:
		return "", problem.New(problem.Internal, "business throttles are not configured").WithStatus(http.StatusServiceUnavailable)
	case r.Method == http.MethodGet:
		return "", a.list(w, r)
	case r.Method == http.MethodPost:
		return a.set(w, r)
	case r.Method == http.MethodDelete:
		return a.remove(w, r)
	}
	return "", problem.New(problem.MethodNotAllowed, "this path accepts GET, POST and DELETE").WithHeader("Allow", "GET, POST, DELETE")
}

func (a *Admin) list(w http.ResponseWriter, r *http.Request) error {
	ts, err := a.Throttles.List(r.Context(), a.now())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string][]Throttle{"throttles": ts})
}

func (a *Admin) set(w http.ResponseWriter, r *http.Request) (string, error) {
	var req throttleRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return "", problem.New(problem.RequestInvalid, `body must be {"app"|"api", "rate": "N/window", "reason", "until": RFC 3339 | "for": duration}`)
	}
	now := a.now()
	t := Throttle{App: req.App, API: req.API, Burst: req.Burst, Reason: req.Reason, Since: now}
	var err error
	if t.Rate, err = ParseRate(req.Rate); err != nil {
		return "", problem.New(problem.RequestInvalid, "rate: "+err.Error())
	}
	if t.Until, err = until(req, now); err != nil {
		return "", err
	}
	if err := t.Validate(now); err != nil {
		return "", problem.New(problem.RequestInvalid, strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	replaced, err := a.Throttles.Set(r.Context(), t)
	if errors.Is(err, ErrFull) {
		return "", problem.New(problem.RequestInvalid, "too many throttles are set; remove some first")
	}
	if err != nil {
		return "", err
	}
	a.notify(r.Context(), t, NoticeThrottled, fmt.Sprintf("the bank limits %s to %s until %s: %s",
		subjectText(t), t.Rate, t.Until.UTC().Format(time.RFC3339), t.Reason))
	status := http.StatusCreated
	if replaced {
		status = http.StatusOK
	}
	action := fmt.Sprintf("throttle %s to %s until %s: %s", t.Target(), t.Rate, t.Until.UTC().Format(time.RFC3339), t.Reason)
	return action, writeJSON(w, status, t)
}

// until is when the requested throttle ends: its until, or now + for.
func until(req throttleRequest, now time.Time) (time.Time, error) {
	switch {
	case req.Until != "" && req.For != "":
		return time.Time{}, problem.New(problem.RequestInvalid, "until, for: give one of them")
	case req.Until != "":
		u, err := time.Parse(time.RFC3339, req.Until)
		if err != nil {
			return time.Time{}, problem.New(problem.RequestInvalid, "until: must be an RFC 3339 time")
		}
		return u, nil
	case req.For != "":
		d, err := time.ParseDuration(req.For)
		if err != nil {
			return time.Time{}, problem.New(problem.RequestInvalid, "for: must be a duration such as 30m or 2h")
		}
		return now.Add(d), nil
	}
	return time.Time{}, problem.New(problem.RequestInvalid, "until, for: one of them is required")
}

func (a *Admin) remove(w http.ResponseWriter, r *http.Request) (string, error) {
	q := r.URL.Query()
	app, api := q.Get("app"), q.Get("api")
	if (app == "") == (api == "") {
		return "", problem.New(problem.RequestInvalid, "give exactly one of the query parameters app and api")
	}
	target := "app:" + app
	if api != "" {
		target = "api:" + api
	}
	t, found, err := a.Throttles.Remove(r.Context(), target)
	if err != nil {
		return "", err
	}
	if !found {
		return "", problem.New(problem.NotFound, "no throttle is set on this target")
	}
	if t.Until.After(a.now()) {
		a.notify(r.Context(), t, NoticeThrottleLifted, fmt.Sprintf("the bank no longer limits %s", subjectText(t)))
	}
	w.WriteHeader(http.StatusNoContent)
	return "throttle removed from " + target, nil
}

// notify tells the throttled app, or the apps of the throttled API.
func (a *Admin) notify(ctx context.Context, t Throttle, kind, message string) {
	if a.Notifier == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	apps := []string{t.App}
	if t.API != "" {
		if a.AppsForAPI == nil {
			return
		}
		var err error
		if apps, err = a.AppsForAPI(ctx, t.API); err != nil {
			if a.Logger != nil {
				a.Logger.Warn("apps of a throttled API could not be listed: they were not notified", "api_id", t.API, "err", err)
			}
			return
		}
	}
	for _, app := range apps {
		a.Notifier.NotifyApp(ctx, app, kind, message)
	}
}

func (a *Admin) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// subjectText names a throttle's target for the app: "this application's
// calls" or "calls to API …".
func subjectText(t Throttle) string {
	if t.App != "" {
		return "this application's calls"
	}
	return "calls to API " + t.API
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err = w.Write(append(b, '\n'))
	return err
}

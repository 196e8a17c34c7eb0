package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/bankguard/bankguard/problem"
)

// The admin API of alerts and incidents: operators list alerts, acknowledge
// and resolve incidents (their name goes into the timeline) and read the
// daily report (T/PCAC 0008-2020 6.5).

// AdminRoute is one route of the admin API: Handle writes the JSON answer
// and returns a description of the change it made for the operator log ("" for
// reads), or an error for problem.Write. It fits the gateway's admin guard.
type AdminRoute struct {
	Pattern string
	Handle  func(w http.ResponseWriter, r *http.Request) (action string, err error)
}

// AdminRoutes returns the routes of the admin API. by names the operator of
// a request ("" refuses it); it is called on every request.
func (m *Manager) AdminRoutes(by func(*http.Request) string) []AdminRoute {
	a := &admin{m: m, by: by}
	return []AdminRoute{
		{"GET /admin/v1/alerts", a.operator(a.alerts)},
		{"GET /admin/v1/incidents", a.operator(a.incidents)},
		{"GET /admin/v1/incidents/{id}", a.operator(a.incident)},
		{"POST /admin/v1/incidents/{id}/ack", a.operator(a.change("acknowledged", m.store.Ack))},
		{"POST /admin/v1/incidents/{id}/resolve", a.operator(a.change("resolved", m.store.Resolve))},
		{"POST /admin/v1/incidents/{id}/notes", a.operator(a.change("annotated", m.store.Note))},
		{"GET /admin/v1/reports/daily", a.operator(a.daily)},
	}
}

// Handler serves AdminRoutes on its own: errors are rendered as
// problem+json with the request's X-Request-Id (if the caller set one on
// the response) and internal causes are logged, never sent.
func (m *Manager) Handler(by func(*http.Request) string) http.Handler {
	mux := http.NewServeMux()
	for _, rt := range m.AdminRoutes(by) {
		mux.HandleFunc(rt.Pattern, func(w http.ResponseWriter, r *http.Request) {
			action, err := rt.Handle(w, r)
			id := w.Header().Get("X-Request-Id")
			switch {
			case err != nil:
				if pe := problem.From(err); pe.Code == problem.Internal {
					m.log.Error("alert admin request failed", "txn_id", id, "path", r.URL.Path, "err", err)
				}
				problem.Write(w, id, err)
			case action != "":
				m.log.Info("admin action", "txn_id", id, "operator", by(r), "action", action)
			}
		})
	}
	mux.HandleFunc("/admin/v1/", func(w http.ResponseWriter, r *http.Request) {
		problem.Write(w, w.Header().Get("X-Request-Id"), problem.New(problem.NotFound, "no admin endpoint at this path"))
	})
	return mux
}

type admin struct {
	m  *Manager
	by func(*http.Request) string
}

type adminFunc func(w http.ResponseWriter, r *http.Request, op string) (string, error)

// operator refuses requests without a named operator.
func (a *admin) operator(f adminFunc) func(http.ResponseWriter, *http.Request) (string, error) {
	return func(w http.ResponseWriter, r *http.Request) (string, error) {
		op := ""
		if a.by != nil {
			op = clean(a.by(r), 200)
		}
		if op == "" {
			return "", problem.New(problem.APINotGranted, "the admin API needs an identified operator")
		}
		return f(w, r, op)
	}
}

func (a *admin) alerts(w http.ResponseWriter, r *http.Request, _ string) (string, error) {
	q := r.URL.Query()
	limit, err := limitParam(q.Get("limit"))
	if err != nil {
		return "", err
	}
	least := Severity(q.Get("min_severity"))
	if least != "" && !least.Valid() {
		return "", problem.New(problem.RequestInvalid, "min_severity must be info, warning or critical")
	}
	st := a.m.Stats()
	return "", writeJSON(w, map[string]any{
		"alerts": a.m.Recent(limit, least), "dropped": st.Dropped,
		"undelivered": st.Undelivered, "failed_deliveries": st.Failed,
	})
}

func (a *admin) incidents(w http.ResponseWriter, r *http.Request, _ string) (string, error) {
	q := r.URL.Query()
	limit, err := limitParam(q.Get("limit"))
	if err != nil {
		return "", err
	}
	f := Filter{Status: Status(q.Get("status")), Limit: limit}
	switch f.Status {
	case "", StatusOpen, StatusAcknowledged, StatusResolved:
	default:
		return "", problem.New(problem.RequestInvalid, "status must be open, acknowledged or resolved")
	}
	list, err := a.m.store.List(r.Context(), f)
	if err != nil {
		return "", err
	}
	return "", writeJSON(w, map[string]any{"incidents": list})
}

func (a *admin) incident(w http.ResponseWriter, r *http.Request, _ string) (string, error) {
	inc, err := a.m.store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return "", storeErr(err)
	}
	return "", writeJSON(w, inc)
}

// change acknowledges, resolves or annotates an incident with the body's note.
func (a *admin) change(verb string, apply func(ctx context.Context, id, by, note string, at time.Time) (Incident, error)) adminFunc {
	return func(w http.ResponseWriter, r *http.Request, op string) (string, error) {
		var body struct {
			Note string `json:"note"`
		}
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil && !errors.Is(err, io.EOF) {
			return "", problem.New(problem.RequestInvalid, `body must be {"note": "…"} (at most 4 KiB) or empty`)
		}
		if verb == "annotated" && body.Note == "" {
			return "", problem.New(problem.RequestInvalid, "a note is required")
		}
		id := r.PathValue("id")
		inc, err := apply(r.Context(), id, op, clean(body.Note, 1000), a.m.now())
		if err != nil {
			return "", storeErr(err)
		}
		return fmt.Sprintf("incident %s %s", inc.ID, verb), writeJSON(w, inc)
	}
}

func (a *admin) daily(w http.ResponseWriter, r *http.Request, _ string) (string, error) {
	date := a.m.now()
	if v := r.URL.Query().Get("date"); v != "" {
		d, err := time.ParseInLocation(time.DateOnly, v, a.m.loc)
		if err != nil {
			return "", problem.New(problem.RequestInvalid, "date must be YYYY-MM-DD")
		}
		date = d
	}
	s, err := a.m.DailySummary(r.Context(), date)
	if err != nil {
		return "", err
	}
	return "", writeJSON(w, s)
}

// storeErr turns a store error into a client-safe problem.
func storeErr(err error) error {
	switch {
	case errors.Is(err, ErrNotFound):
		return problem.New(problem.NotFound, "no such incident")
	case errors.Is(err, ErrState):
		return problem.New(problem.RequestInvalid, "the incident's status does not allow this").WithStatus(http.StatusConflict)
	}
	return err
}

func limitParam(v string) (int, error) {
	if v == "" {
		return 100, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return 0, problem.New(problem.RequestInvalid, "limit must be 1 to 1000")
	}
	return n, nil
}

func writeJSON(w http.ResponseWriter, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(append(b, '\n'))
	return err
}

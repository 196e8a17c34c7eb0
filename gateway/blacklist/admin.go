package blacklist

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/bankguard/bankguard/problem"
)

// AdminPath is where the admin API serves the blacklist.
const AdminPath = "/admin/v1/blacklist"

// maxAdminBody bounds a POST body.
const maxAdminBody = 4 << 10

// Admin is the blacklist's part of the admin API: operators list, add and
// remove entries (T/PCAC 0008-2020 6.1.2-1). It does not authenticate
// operators: mount it behind the admin listener's operator guard.
//
//	GET    /admin/v1/blacklist[?kind=app|cidr&source=manual|auto]  200 {"entries": [Entry…]}
//	POST   /admin/v1/blacklist  {"kind", "value", "reason", "until" (RFC 3339) | "for" (Go duration)}
//	                            201 Entry, Location: /admin/v1/blacklist/{id}
//	DELETE /admin/v1/blacklist/{id}                                  204; 404 not_found
//
// Errors are problem+json: 400 request_invalid naming the field, 404
// not_found, 503 internal when the list cannot be used.
type Admin struct {
	List List
	// Now is the clock (nil means time.Now).
	Now func() time.Time
}

// Handler serves the three routes on its own, rendering errors as
// problem+json. Within the gateway's admin API, mount ListEntries,
// AddEntry and RemoveEntry behind its guard instead.
func (a *Admin) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET "+AdminPath, a.render(a.ListEntries))
	mux.Handle("POST "+AdminPath, a.render(a.AddEntry))
	mux.Handle("DELETE "+AdminPath+"/{id}", a.render(a.RemoveEntry))
	mux.Handle(AdminPath, a.render(methodNotAllowed("GET, POST")))
	mux.Handle(AdminPath+"/{id}", a.render(methodNotAllowed("DELETE")))
	mux.Handle("/", a.render(func(http.ResponseWriter, *http.Request) (string, error) {
		return "", problem.New(problem.NotFound, "no admin endpoint at this path")
	}))
	return mux
}

// render adapts an admin method to an http.Handler.
func (a *Admin) render(h func(http.ResponseWriter, *http.Request) (string, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := h(w, r); err != nil {
			problem.Write(w, w.Header().Get("X-Request-Id"), err)
		}
	})
}

func methodNotAllowed(allow string) func(http.ResponseWriter, *http.Request) (string, error) {
	return func(http.ResponseWriter, *http.Request) (string, error) {
		return "", problem.Newf(problem.MethodNotAllowed, "this path accepts %s", allow).WithHeader("Allow", allow)
	}
}

// ListEntries answers GET /admin/v1/blacklist: the active entries, oldest
// first, optionally of one kind or source. It returns no action to log.
func (a *Admin) ListEntries(w http.ResponseWriter, r *http.Request) (string, error) {
	q := r.URL.Query()
	kind, source := Kind(q.Get("kind")), Source(q.Get("source"))
	if kind != "" && kind != KindApp && kind != KindCIDR {
		return "", problem.New(problem.RequestInvalid, `kind must be "app" or "cidr"`)
	}
	if source != "" && source != SourceManual && source != SourceAuto {
		return "", problem.New(problem.RequestInvalid, `source must be "manual" or "auto"`)
	}
	all, err := a.List.List(r.Context(), clock(a.Now))
	if err != nil {
		return "", unavailable(err)
	}
	out := make([]Entry, 0, len(all))
	for _, e := range all {
		if (kind == "" || e.Kind == kind) && (source == "" || e.Source == source) {
			out = append(out, e)
		}
	}
	return "", writeJSON(w, http.StatusOK, map[string]any{"entries": out})
}

// addRequest is the body of POST /admin/v1/blacklist.
type addRequest struct {
	Kind   Kind   `json:"kind"`
	Value  string `json:"value"`
	Reason string `json:"reason"`
	// Until (RFC 3339) or For (a Go duration such as "15m" or "720h")
	// bound the entry; neither makes it permanent.
	Until string `json:"until"`
	For   string `json:"for"`
}

// AddEntry answers POST /admin/v1/blacklist: it validates and stores a
// manual entry and returns it with 201. The action it returns for the
// operators' log names the entry, never its reason.
func (a *Admin) AddEntry(w http.ResponseWriter, r *http.Request) (string, error) {
	var req addRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAdminBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return "", problem.New(problem.RequestInvalid,
			`body must be one JSON object {"kind": "app"|"cidr", "value": "…", "reason": "…", "until": "RFC 3339" | "for": "24h"} of at most 4 KiB`)
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", problem.New(problem.RequestInvalid, "body must hold one JSON object and nothing after it")
	}
	now := clock(a.Now)
	e, err := req.entry(now)
	if err != nil {
		return "", problem.New(problem.RequestInvalid, err.Error())
	}
	stored, err := a.List.Add(r.Context(), e)
	if err != nil {
		if errors.Is(err, ErrFull) {
			return "", problem.Wrap(err, problem.Internal, "the blacklist is full: remove entries or raise blacklist.max_entries").
				WithStatus(http.StatusServiceUnavailable)
		}
		return "", unavailable(err)
	}
	w.Header().Set("Location", AdminPath+"/"+stored.ID)
	until := "permanent"
	if !stored.Until.IsZero() {
		until = "until " + stored.Until.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("blacklist add %s: %s %s %s", stored.ID, stored.Kind, stored.Value, until),
		writeJSON(w, http.StatusCreated, stored)
}

// entry checks the request and makes the entry, naming the field at fault.
func (req *addRequest) entry(now time.Time) (Entry, error) {
	e := Entry{Kind: req.Kind, Value: req.Value, Reason: req.Reason, Source: SourceManual, Created: now}
	if e.Kind != KindApp && e.Kind != KindCIDR {
		return e, errors.New(`kind: must be "app" or "cidr"`)
	}
	if _, err := ParseValue(e.Kind, e.Value); err != nil {
		return e, fmt.Errorf("value: %w", err)
	}
	if err := checkReason(e.Reason); err != nil {
		return e, fmt.Errorf("reason: %w", err)
	}
	switch {
	case req.Until != "" && req.For != "":
		return e, errors.New("until, for: give one of them, not both")
	case req.Until != "":
		t, err := time.Parse(time.RFC3339, req.Until)
		if err != nil {
			return e, errors.New("until: must be an RFC 3339 time such as 2027-01-31T00:00:00+08:00")
		}
		if !t.After(now) {
			return e, errors.New("until: must be in the future")
		}
		e.Until = t
	case req.For != "":
		d, err := time.ParseDuration(req.For)
		if err != nil || d <= 0 {
			return e, errors.New(`for: must be a positive duration such as "15m" or "720h"`)
		}
		e.Until = now.Add(d)
	}
	if err := e.Validate(); err != nil {
		return e, err
	}
	return e, nil
}

// RemoveEntry answers DELETE /admin/v1/blacklist/{id} with 204, or 404 if
// there is no such entry. Automatic entries may be removed too: the
// source is unblocked at once.
func (a *Admin) RemoveEntry(w http.ResponseWriter, r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !validEntryID(id) {
		return "", problem.New(problem.NotFound, "no blacklist entry with this id")
	}
	if err := a.List.Remove(r.Context(), id); err != nil {
		if errors.Is(err, ErrNotFound) {
			return "", problem.New(problem.NotFound, "no blacklist entry with this id")
		}
		return "", unavailable(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return "blacklist remove " + id, nil
}

// validEntryID reports whether id could name an entry: 1 to 64 letters,
// digits, '_' and '-'.
func validEntryID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func unavailable(err error) error {
	return problem.Wrap(err, problem.Internal, "the blacklist cannot be used at the moment; retry later").
		WithStatus(http.StatusServiceUnavailable)
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
	return nil
}

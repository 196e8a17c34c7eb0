package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bankguard/bankguard/alert"
	"github.com/bankguard/bankguard/audit"
	"github.com/bankguard/bankguard/gateway/blacklist"
	"github.com/bankguard/bankguard/gateway/ratelimit"
	"github.com/bankguard/bankguard/gateway/risk"
	"github.com/bankguard/bankguard/problem"
	"github.com/bankguard/bankguard/registry"
)

// Admin is the operators' HTTP API. Operators authenticate with a client
// certificate (the admin listener requires one) whose subject common name is
// in the allow-list.
type Admin struct {
	Store          registry.Store
	Gateway        *Gateway
	AllowedClients []string
	Logger         *slog.Logger
	// Audit and AuditHasher serve audit queries and proofs.
	Audit       audit.Store
	AuditHasher *audit.Hasher
	// Tokens revokes users' tokens (the active disconnect); nil when the
	// node has no authorization server.
	Tokens TokenRevoker
	// Blacklist manages blocked apps and address ranges; nil when off.
	Blacklist *blacklist.Admin
	// Throttles are the operator's runtime throttles of apps and APIs.
	Throttles *ratelimit.Admin
	// Alerts serve alerts, incidents and daily reports.
	Alerts *alert.Manager
	// Risk decides transfers held for confirmation.
	Risk *risk.Admin
	// Metrics serves Prometheus metrics at GET /metrics.
	Metrics http.Handler
}

// TokenRevoker revokes every token of an app or of a user at once
// (T/PCAC 0008-2020 5.2.1 e).
type TokenRevoker interface {
	RevokeApp(ctx context.Context, appID string) (int, error)
	RevokeUser(ctx context.Context, userID string) (int, error)
}

// appView is an app as the admin API shows it: no key material.
type appView struct {
	ID            string             `json:"app_id"`
	Name          string             `json:"name"`
	Status        registry.AppStatus `json:"status"`
	HasClientCert bool               `json:"has_client_certificate"`
	CreatedAt     time.Time          `json:"created_at"`
	UpdatedAt     time.Time          `json:"updated_at"`
}

// Handler returns the admin routes.
func (a *Admin) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /admin/v1/apps", a.guard(a.listApps))
	mux.Handle("POST /admin/v1/apps/{app_id}/status", a.guard(a.setAppStatus))
	mux.Handle("POST /admin/v1/reload", a.guard(a.reloadRegistry))
	mux.Handle("POST /admin/v1/apps/{app_id}/revoke-tokens", a.guard(a.revokeTokens("app_id")))
	mux.Handle("POST /admin/v1/users/{user_id}/revoke-tokens", a.guard(a.revokeTokens("user_id")))
	mux.Handle("GET /admin/v1/audit/records", a.guard(a.auditRecords))
	mux.Handle("GET /admin/v1/audit/proof", a.guard(a.auditProof))
	mux.Handle("GET /admin/v1/audit/checkpoints", a.guard(a.auditCheckpoints))
	if a.Throttles != nil {
		mux.Handle(ratelimit.ThrottlesPath, a.guard(a.Throttles.Serve))
	}
	if a.Alerts != nil {
		for _, rt := range a.Alerts.AdminRoutes(operatorName) {
			mux.Handle(rt.Pattern, a.guard(rt.Handle))
		}
	}
	if a.Risk != nil {
		for pattern, h := range a.Risk.Routes() {
			mux.Handle(pattern, a.guard(h))
		}
	}
	if a.Metrics != nil {
		mux.Handle("GET /metrics", a.guard(func(w http.ResponseWriter, r *http.Request) (string, error) {
			a.Metrics.ServeHTTP(w, r)
			return "", nil
		}))
	}
	if a.Blacklist != nil {
		mux.Handle("GET "+blacklist.AdminPath, a.guard(a.Blacklist.ListEntries))
		mux.Handle("POST "+blacklist.AdminPath, a.guard(a.Blacklist.AddEntry))
		mux.Handle("DELETE "+blacklist.AdminPath+"/{id}", a.guard(a.Blacklist.RemoveEntry))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		problem.Write(w, "", problem.New(problem.NotFound, "no admin endpoint at this path"))
	})
	return mux
}

// guard lets only allowed operators through and renders errors.
func (a *Admin) guard(h func(w http.ResponseWriter, r *http.Request) (string, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := NewRequestID(time.Now())
		w.Header().Set("X-Request-Id", id)
		operator, err := a.operator(r)
		if err == nil {
			var action string
			action, err = h(w, r)
			if action != "" && err == nil {
				a.Logger.Info("admin action", "txn_id", id, "operator", operator, "action", action)
			}
		}
		if err != nil {
			a.Logger.Info("admin request refused", "txn_id", id, "operator", operator, "err", err)
			problem.Write(w, id, err)
		}
	})
}

func (a *Admin) operator(r *http.Request) (string, error) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {
		return "", problem.New(problem.SignatureMissing, "the admin API needs an operator client certificate").WithStatus(http.StatusUnauthorized)
	}
	cn := r.TLS.VerifiedChains[0][0].Subject.CommonName
	if !slices.Contains(a.AllowedClients, cn) {
		return cn, problem.New(problem.APINotGranted, "this certificate is not an operator of this gateway")
	}
	return cn, nil
}

func (a *Admin) listApps(w http.ResponseWriter, r *http.Request) (string, error) {
	apps, err := a.Store.Apps(r.Context())
	if err != nil {
		return "", err
	}
	out := make([]appView, 0, len(apps))
	for _, app := range apps {
		out = append(out, appView{ID: app.ID, Name: app.Name, Status: app.Status,
			HasClientCert: len(app.ClientCertPEM) > 0, CreatedAt: app.CreatedAt, UpdatedAt: app.UpdatedAt})
	}
	return "", writeJSON(w, map[string]any{"apps": out})
}

func (a *Admin) setAppStatus(w http.ResponseWriter, r *http.Request) (string, error) {
	var req struct {
		Status registry.AppStatus `json:"status"`
		Reason string             `json:"reason"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || !req.Status.Valid() {
		return "", problem.New(problem.RequestInvalid, `body must be {"status": "active"|"suspended"|"pending"|"exited", "reason": "…"}`)
	}
	id := r.PathValue("app_id")
	if err := a.Store.SetAppStatus(r.Context(), id, req.Status); err != nil {
		if errors.Is(err, registry.ErrNotFound) {
			return "", problem.New(problem.NotFound, "no such application")
		}
		return "", err
	}
	if err := a.Gateway.Reload(r.Context()); err != nil {
		return "", err
	}
	return fmt.Sprintf("app %s status %s (%s)", id, req.Status, req.Reason), writeJSON(w, map[string]any{"app_id": id, "status": req.Status})
}

// revokeTokens revokes at once every token of the app or user in the path
// parameter: their next call is refused.
func (a *Admin) revokeTokens(param string) func(http.ResponseWriter, *http.Request) (string, error) {
	return func(w http.ResponseWriter, r *http.Request) (string, error) {
		if a.Tokens == nil {
			return "", problem.New(problem.NotFound, "this gateway has no authorization server")
		}
		id := r.PathValue(param)
		revoke := a.Tokens.RevokeApp
		if param == "user_id" {
			revoke = a.Tokens.RevokeUser
		}
		n, err := revoke(r.Context(), id)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("revoked %d tokens of %s %s", n, strings.TrimSuffix(param, "_id"), id),
			writeJSON(w, map[string]any{param: id, "revoked_tokens": n})
	}
}

func (a *Admin) reloadRegistry(w http.ResponseWriter, r *http.Request) (string, error) {
	if err := a.Gateway.Reload(r.Context()); err != nil {
		return "", err
	}
	return "reload", writeJSON(w, map[string]string{"status": "reloaded"})
}

// auditRecords lists audit records: ?txn_id=&app_id=&api_id=&user=&log=
// &since=&until= (RFC 3339) &limit= (≤ 1000) &after=LOG:SEQ (the previous page's next).
func (a *Admin) auditRecords(w http.ResponseWriter, r *http.Request) (string, error) {
	q := r.URL.Query()
	f := audit.Filter{TxnID: q.Get("txn_id"), AppID: q.Get("app_id"), APIID: q.Get("api_id"), User: q.Get("user"), Log: q.Get("log")}
	var err error
	for name, dst := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if v := q.Get(name); v != "" {
			if *dst, err = time.Parse(time.RFC3339, v); err != nil {
				return "", problem.Newf(problem.RequestInvalid, "%s must be an RFC 3339 time", name)
			}
		}
	}
	if v := q.Get("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 || f.Limit > 1000 {
			return "", problem.New(problem.RequestInvalid, "limit must be 1 to 1000")
		}
	}
	if v := q.Get("after"); v != "" {
		log, seq, ok := strings.Cut(v, ":")
		if f.AfterSeq, err = strconv.ParseUint(seq, 10, 64); !ok || err != nil {
			return "", problem.New(problem.RequestInvalid, "after must be LOG:SEQ as returned in next")
		}
		f.AfterLog = log
	}
	found, err := a.Audit.Query(r.Context(), f)
	if err != nil {
		return "", err
	}
	out := struct {
		Records []audit.ExportedRecord `json:"records"`
		Next    string                 `json:"next,omitempty"`
	}{Records: make([]audit.ExportedRecord, 0, len(found))}
	for _, e := range found {
		out.Records = append(out.Records, audit.ExportedRecord{Record: e.Record, LeafHash: e.Leaf})
	}
	limit := f.Limit
	if limit == 0 {
		limit = 100
	}
	if len(found) == limit {
		last := found[len(found)-1]
		out.Next = fmt.Sprintf("%s:%d", last.Log, last.Seq)
	}
	return "", writeJSON(w, out)
}

// auditProof returns the inclusion proof of ?txn_id=.
func (a *Admin) auditProof(w http.ResponseWriter, r *http.Request) (string, error) {
	p, err := audit.Prove(r.Context(), a.Audit, a.AuditHasher, r.URL.Query().Get("txn_id"))
	switch {
	case errors.Is(err, audit.ErrNotFound):
		return "", problem.New(problem.NotFound, "no audit record with this txn_id")
	case errors.Is(err, audit.ErrNotCovered):
		return "", problem.New(problem.NotFound, "the record is not covered by a signed checkpoint yet; retry in a few seconds").
			WithHeader("Retry-After", "10")
	case err != nil:
		return "", err
	}
	return "", writeJSON(w, p)
}

// auditCheckpoints returns the latest signed checkpoint of each log.
func (a *Admin) auditCheckpoints(w http.ResponseWriter, r *http.Request) (string, error) {
	out := map[string]*audit.Checkpoint{}
	for _, log := range audit.Logs {
		cps, err := a.Audit.Checkpoints(r.Context(), log)
		if err != nil {
			return "", err
		}
		if len(cps) > 0 {
			out[log] = &cps[len(cps)-1]
		}
	}
	return "", writeJSON(w, out)
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

// operatorName is the common name of the operator's verified certificate.
func operatorName(r *http.Request) string {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {
		return ""
	}
	return r.TLS.VerifiedChains[0][0].Subject.CommonName
}

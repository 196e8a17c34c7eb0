// Package waf is the gateway's injection filter: the OWASP Core Rule Set
// run by Coraza on every request's query, headers and body, refusing SQL,
// script, command and similar injections before they reach a backend
// (T/PCAC 0008-2020 3.3.2: the service layer detects and blocks SQL and
// script injection; 6.1.2: attacks are monitored and alarmed).
//
// A blocked request gets 403 request_blocked with a fixed detail: the client
// never learns which rule matched or what it matched. The bank learns it
// through the log (rule ids, categories and the names of the matched
// variables, never their values) and a warning alert "waf.block".
//
// The stage runs after signature verification, so that only authenticated
// traffic pays for the rule set and every block names the app that sent it,
// and before request validation, so that an injection is reported and
// alarmed as one rather than passing as a malformed request.
package waf

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/corazawaf/coraza-coreruleset/v4"
	"github.com/corazawaf/coraza/v3"
	"github.com/corazawaf/coraza/v3/types"

	"github.com/bankguard/bankguard/alert"
	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/problem"
)

// AlertRule is the alert rule raised for each blocked request.
const AlertRule = "waf.block"

// Client-safe details. They say that a policy refused the request, never
// which rule or what input.
const (
	detailBlocked  = "the request was blocked by the bank's security policy"
	detailTooLarge = "the request body may be at most %d bytes"
	detailInvalid  = "the request body could not be parsed"
	detailInternal = "the request could not be processed"
)

// errBodyUnread is the internal cause when the stage runs before the body stage.
var errBodyUnread = errors.New("waf: the request body was not read; the body stage must run before the waf stage")

// ruleBodyError is Coraza's recommended rule that refuses a body its body
// processor cannot parse (malformed JSON, broken form encoding).
const ruleBodyError = 200002

// Handler is the injection filter stage. Create it with New; set Alerts,
// Log and Now before serving.
type Handler struct {
	// Alerts receives a warning for each blocked request (nil drops them).
	Alerts alert.Raiser
	// Log receives one line per blocked request (nil means slog.Default()).
	Log *slog.Logger
	// Now is the clock for alert times (nil means time.Now).
	Now func() time.Time

	cfg Config
	waf coraza.WAF // nil when disabled
}

// New validates cfg and builds the WAF: the CRS rule set, compiled once and
// shared by all requests. The first build in a process takes about 0.1 s
// (later ones about 15 ms: Coraza memoizes compiled expressions); build at
// start-up and on configuration reload, never per request.
func New(cfg Config) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg}
	if !cfg.Enabled {
		return h, nil
	}
	w, err := coraza.NewWAF(coraza.NewWAFConfig().
		WithRootFS(coreruleset.FS).
		WithDirectives(cfg.directives()))
	if err != nil {
		return nil, fmt.Errorf("waf: loading the core rule set: %w", err)
	}
	h.waf = w
	return h, nil
}

// Enabled reports whether the filter inspects requests.
func (h *Handler) Enabled() bool { return h.waf != nil }

// ServeHTTP inspects the request and calls next, or refuses it: 403
// request_blocked for an injection, 413 body_too_large for a body larger
// than MaxBodyInspect, 400 request_invalid for a body that cannot be
// parsed, 500 internal if inspection fails (fail closed).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next stage.Handler) error {
	if h.waf == nil {
		return next.ServeHTTP(w, r)
	}
	ex := stage.FromContext(r.Context())
	if ex.Body == nil && r.Body != nil && r.Body != http.NoBody {
		// The body stage has not run: the body would pass uninspected.
		return problem.Wrap(errBodyUnread, problem.Internal, detailInternal)
	}
	if h.cfg.inspectBodies() && len(ex.Body) > h.cfg.MaxBodyInspect {
		return problem.Newf(problem.BodyTooLarge, detailTooLarge, h.cfg.MaxBodyInspect)
	}
	var tx types.Transaction
	if ex.ID != "" {
		tx = h.waf.NewTransactionWithID(ex.ID)
	} else {
		tx = h.waf.NewTransaction()
	}
	// No ProcessLogging: Coraza's audit log is off (the gateway audits every
	// request itself), so phase 5 would only cost time.
	defer func() { _ = tx.Close() }()
	it, err := h.inspect(tx, r, ex)
	if err != nil {
		return problem.Wrap(fmt.Errorf("waf: %w", err), problem.Internal, detailInternal)
	}
	if it == nil {
		return next.ServeHTTP(w, r)
	}
	return h.refuse(r.Context(), tx, it, ex)
}

// inspect feeds the request to the transaction, phase by phase, and returns
// the interruption, if any.
func (h *Handler) inspect(tx types.Transaction, r *http.Request, ex *stage.Exchange) (*types.Interruption, error) {
	client, cport := ex.ClientIP, 0
	if host, port, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		if client == "" {
			client = host
		}
		cport, _ = strconv.Atoi(port)
	}
	tx.ProcessConnection(client, cport, "", 0)
	uri := r.RequestURI // as received, so that no encoding trick is normalized away
	if uri == "" {
		uri = r.URL.RequestURI()
	}
	tx.ProcessURI(uri, r.Method, r.Proto)
	for k, vs := range r.Header {
		for _, v := range vs {
			tx.AddRequestHeader(k, v)
		}
	}
	// net/http moves Host and Transfer-Encoding out of the header map, and
	// HTTP/2 need not send Content-Length; the body stage knows the length.
	if r.Host != "" {
		tx.AddRequestHeader("Host", r.Host)
		tx.SetServerName(hostOnly(r.Host))
	}
	for _, te := range r.TransferEncoding {
		tx.AddRequestHeader("Transfer-Encoding", te)
	}
	if len(r.TransferEncoding) == 0 && r.Header.Get("Content-Length") == "" && len(ex.Body) > 0 {
		tx.AddRequestHeader("Content-Length", strconv.Itoa(len(ex.Body)))
	}
	if it := tx.ProcessRequestHeaders(); it != nil {
		return it, nil
	}
	if tx.IsRequestBodyAccessible() && len(ex.Body) > 0 {
		it, _, err := tx.WriteRequestBody(ex.Body)
		if err != nil || it != nil {
			return it, err
		}
	}
	return tx.ProcessRequestBody()
}

// refuse logs and alarms a blocked request and returns its client error.
func (h *Handler) refuse(ctx context.Context, tx types.Transaction, it *types.Interruption, ex *stage.Exchange) error {
	m := summarize(tx.MatchedRules())
	cause := fmt.Errorf("waf: rule %d interrupted (%s); matched %v", it.RuleID, it.Action, m.ids)
	switch {
	case it.RuleID == ruleBodyError:
		return problem.Wrap(cause, problem.RequestInvalid, detailInvalid)
	case it.Status == http.StatusRequestEntityTooLarge:
		return problem.Wrap(cause, problem.BodyTooLarge, fmt.Sprintf(detailTooLarge, h.cfg.MaxBodyInspect))
	}
	subject, app := "ip:"+ex.ClientIP, ""
	if ex.App != nil {
		app = ex.App.ID
		subject = "app:" + app
	}
	api := ""
	if ex.API != nil {
		api = ex.API.ID
	}
	h.logger().LogAttrs(ctx, slog.LevelWarn, "request blocked by the injection filter",
		slog.String("txn_id", ex.ID),
		slog.String("api_id", api),
		slog.String("app_id", app),
		slog.Int("rule", it.RuleID),
		slog.Any("matched_rules", m.ids),
		slog.Any("attacks", m.attacks),
		slog.Any("variables", m.variables),
	)
	if h.Alerts != nil {
		h.Alerts.Raise(ctx, alert.Alert{
			Rule:     AlertRule,
			Severity: alert.Warning,
			Subject:  subject,
			Summary:  fmt.Sprintf("injection attempt blocked (%s) on API %s", strings.Join(m.attacks, ", "), orNone(api)),
			Detail: fmt.Sprintf("CRS paranoia level %d; matched rules %v in %s; the request was refused with 403 request_blocked",
				h.cfg.ParanoiaLevel, m.ids, strings.Join(m.variables, ", ")),
			TxnID: ex.ID,
			Time:  h.now(),
		})
	}
	return problem.Wrap(cause, problem.RequestBlocked, detailBlocked)
}

// matches is what the bank may learn of a block: rule ids, attack
// categories and the names of the inputs that matched. Values are never
// kept: they are the attacker's payload, or the customer's data.
type matches struct {
	ids       []int
	attacks   []string
	variables []string
}

// summarize keeps the matched rules that scored (those with a severity and
// an attack tag), leaving out CRS's bookkeeping rules.
func summarize(rules []types.MatchedRule) matches {
	var m matches
	for _, mr := range rules {
		meta := mr.Rule()
		attack := ""
		for _, t := range meta.Tags() {
			if a, ok := strings.CutPrefix(t, "attack-"); ok {
				attack = a
				break
			}
		}
		if attack == "" {
			continue
		}
		if !slices.Contains(m.ids, meta.ID()) {
			m.ids = append(m.ids, meta.ID())
		}
		if !slices.Contains(m.attacks, attack) {
			m.attacks = append(m.attacks, attack)
		}
		for _, d := range mr.MatchedDatas() {
			if v := variableName(d); !slices.Contains(m.variables, v) {
				m.variables = append(m.variables, v)
			}
		}
	}
	slices.Sort(m.ids)
	if len(m.attacks) == 0 {
		m.attacks = []string{"policy"}
	}
	return m
}

// variableName names a matched input: ARGS:json.payee.memo,
// REQUEST_HEADERS:User-Agent. The key of a *_NAMES match is the matched
// value itself, and a key that is not a plain name may be the payload: both
// are replaced by "…".
func variableName(d types.MatchData) string {
	name := d.Variable().Name()
	if k := d.Key(); k != "" {
		if strings.HasSuffix(name, "_NAMES") || !plainKey(k) {
			k = "…"
		}
		name += ":" + k
	}
	return name
}

// plainKey reports whether k is a short name of letters, digits, '_', '-'
// and '.'.
func plainKey(k string) bool {
	if len(k) > 64 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// hostOnly drops the port of a Host header.
func hostOnly(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return host
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func (h *Handler) logger() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

var _ stage.Middleware = (*Handler)(nil)

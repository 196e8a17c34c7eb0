package probe

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/bankguard/bankguard/assess"
	"github.com/bankguard/bankguard/audit"
	"github.com/bankguard/bankguard/profile"
	"github.com/bankguard/bankguard/sdk"
)

// auditKeysPath is where a gateway publishes its audit public keys
// (bankguard's gateway.AuditKeysPath).
const auditKeysPath = "/.well-known/bankguard/audit-keys"

// Time limits of the audit checks: a record may take a moment to become
// visible, and a proof waits for the next signed checkpoint.
const (
	recordWait = 3 * time.Second
	proofWait  = 15 * time.Second
	pollEvery  = 300 * time.Millisecond
)

// auditRecordFields are the fields CONTRACT.md §5 requires of every record;
// they hold what T/PCAC 0008-2020 3.3.3 and 8.3 ask for (transaction serial
// number, App_ID, API id, latency, timestamp, result).
var auditRecordFields = []string{"txn_id", "timestamp", "app_id", "api_id", "latency_ms", "result", "status", "error_code", "user", "client_ip"}

// auditMissing names what the profile lacks for the audit checks, or "".
func (t *Target) auditMissing() string {
	tp := t.Profile.Target
	switch {
	case t.Profile.Endpoints.AuditRecords == nil:
		return "endpoints.audit_records"
	case tp.AdminURL == "":
		return "target.admin_url"
	case tp.AdminClientCert == "":
		return "target.admin_client_cert"
	}
	return ""
}

// ownCall is a call the assessor made to find its audit record.
type ownCall struct {
	what   string // "GET /v1/ping as demo-a1-hmac"
	app    string
	txn    string
	status int
}

// ownCalls makes up to n calls of the ping, a1_read and a2_read endpoints
// and returns them with the evidence. A non-nil result ends the check.
func (t *Target) ownCalls(ctx context.Context, n int) ([]ownCall, []assess.Evidence, *assess.Result) {
	var calls []ownCall
	var ev []assess.Evidence
	for _, role := range []struct {
		name string
		ep   *profile.Endpoint
	}{{"ping", t.Profile.Endpoints.Ping}, {"a1_read", t.Profile.Endpoints.A1Read}, {"a2_read", t.Profile.Endpoints.A2Read}} {
		if role.ep == nil || len(calls) == n {
			continue
		}
		x, res := t.callRole(ctx, role.ep, "endpoints."+role.name, "call to be found in the audit log")
		if res != nil {
			r := res.With(ev...)
			return nil, nil, &r
		}
		ev = append(ev, x.Evidence)
		app, _ := t.AppFor(role.ep)
		calls = append(calls, ownCall{what: fmt.Sprintf("%s %s as %s", role.ep.Method, role.ep.Path, app.AppID),
			app: app.AppID, txn: x.Header.Get("X-Request-Id"), status: x.Status})
	}
	if len(calls) == 0 {
		r := assess.NotTestedf("The profile has no endpoints.ping, a1_read or a2_read to make calls whose audit records could be read.")
		return nil, nil, &r
	}
	for _, c := range calls {
		if c.txn == "" {
			r := assess.NotTestedf("The answer to %s carried no X-Request-Id, so its audit record cannot be looked up.", c.what).With(ev...)
			return nil, nil, &r
		}
	}
	return calls, ev, nil
}

// adminURL resolves a path of the admin API, setting txn_id in its query.
func (t *Target) adminURL(path, txn string) (string, error) {
	raw := path
	if !strings.HasPrefix(path, "https://") {
		raw = strings.TrimSuffix(t.Profile.Target.AdminURL, "/") + "/" + strings.TrimPrefix(path, "/")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("txn_id", txn)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// findAuditRecord queries endpoints.audit_records for txn until it shows or the
// deadline passes. It returns the record (nil: not found) and the last
// exchange.
func (t *Target) findAuditRecord(ctx context.Context, hc *http.Client, txn string, deadline time.Time) (json.RawMessage, *Exchange, error) {
	ep := t.Profile.Endpoints.AuditRecords
	u, err := t.adminURL(ep.Path, txn)
	if err != nil {
		return nil, nil, fmt.Errorf("endpoints.audit_records: %w", err)
	}
	for {
		req, err := http.NewRequestWithContext(ctx, ep.Method, u, nil)
		if err != nil {
			return nil, nil, err
		}
		x, err := t.Send(hc, "audit records of txn "+txn, req)
		if err != nil {
			return nil, x, err
		}
		if x.Status != http.StatusOK {
			return nil, x, nil
		}
		if rec := auditRecordOf(x, txn); rec != nil || time.Now().After(deadline) {
			return rec, x, nil
		}
		if err := pollPause(ctx, pollEvery); err != nil {
			return nil, x, err
		}
	}
}

// auditRecordOf picks the record of txn from an audit_records answer
// ({"records": […]}).
func auditRecordOf(x *Exchange, txn string) json.RawMessage {
	var page struct {
		Records []json.RawMessage `json:"records"`
	}
	if json.Unmarshal(x.Body, &page) != nil {
		return nil
	}
	for _, r := range page.Records {
		var id struct {
			TxnID string `json:"txn_id"`
		}
		if json.Unmarshal(r, &id) == nil && id.TxnID == txn {
			return r
		}
	}
	return nil
}

// pollPause waits d or until ctx ends.
func pollPause(ctx context.Context, d time.Duration) error {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}

// checkAuditRecords makes a few calls of its own and reads their audit
// records from the admin API: each must exist and carry every field
// CONTRACT.md §5 requires, with the values of the call. T/PCAC 0008-2020
// 3.3.3, 8.3.
func (t *Target) checkAuditRecords(ctx context.Context) assess.Result {
	if m := t.auditMissing(); m != "" {
		return assess.NotTestedf("The profile has no %s, so the audit records could not be read.", m)
	}
	hc, err := t.adminClient()
	if err != nil {
		return assess.Errorf("The admin API client cannot be set up: %v.", err)
	}
	defer hc.CloseIdleConnections()
	calls, ev, res := t.ownCalls(ctx, 3)
	if res != nil {
		return *res
	}
	var problems txnProblems
	deadline := time.Now().Add(recordWait)
	for _, c := range calls {
		rec, x, err := t.findAuditRecord(ctx, hc, c.txn, deadline)
		if x != nil {
			ev = append(ev, x.Evidence)
		}
		switch {
		case err != nil:
			return assess.Errorf("The admin API (target.admin_url) could not be queried for txn %s: %v.", c.txn, err).With(ev...)
		case x.Status != http.StatusOK:
			return assess.Errorf("The admin API answered %d to the audit query for txn %s.", x.Status, c.txn).With(ev...)
		case rec == nil:
			problems.add(fmt.Sprintf("no record appeared within %s", recordWait), c.txn)
		default:
			for _, p := range t.recordProblems(rec, c) {
				problems.add("the record "+p, c.txn)
			}
		}
	}
	if len(problems.order) > 0 {
		return assess.Failf("The audit log is incomplete for the assessor's calls (%s): %s.", callList(calls), problems).With(ev...)
	}
	return assess.Passf("Each of the %d calls made (%s) has an audit record with txn_id, timestamp, app_id, api_id, latency_ms, result, status, error_code, user and client_ip matching the call.",
		len(calls), callList(calls)).With(ev...)
}

// txnProblems groups problems of audit records by problem, in order.
type txnProblems struct {
	order []string
	txns  map[string][]string
}

func (p *txnProblems) add(problem, txn string) {
	if p.txns == nil {
		p.txns = map[string][]string{}
	}
	if _, ok := p.txns[problem]; !ok {
		p.order = append(p.order, problem)
	}
	p.txns[problem] = append(p.txns[problem], txn)
}

// String says each problem with the txns it was found for.
func (p txnProblems) String() string {
	parts := make([]string, len(p.order))
	for i, problem := range p.order {
		parts[i] = fmt.Sprintf("%s (txn %s)", problem, strings.Join(p.txns[problem], ", "))
	}
	return strings.Join(parts, "; ")
}

// callList names the calls for a reason.
func callList(calls []ownCall) string {
	var s []string
	for _, c := range calls {
		s = append(s, c.what)
	}
	return strings.Join(s, "; ")
}

// recordProblems lists what a record lacks or gets wrong about call c.
func (t *Target) recordProblems(raw json.RawMessage, c ownCall) []string {
	doc, err := decodeNumbers(raw)
	rec, ok := doc.(map[string]any)
	if err != nil || !ok {
		return []string{"is not a JSON object"}
	}
	var out []string
	for _, f := range auditRecordFields {
		if _, ok := rec[f]; !ok {
			out = append(out, "lacks "+f)
		}
	}
	return append(out, t.valueProblems(recordFields(rec), c)...)
}

// recordFields are a decoded record's members.
type recordFields map[string]any

// str is a string member ("" if absent or not a string).
func (r recordFields) str(f string) string { s, _ := r[f].(string); return s }

// num is a number member; ok is false if it is absent or not a number.
func (r recordFields) num(f string) (float64, bool) {
	n, ok := r[f].(json.Number)
	v, err := n.Float64()
	return v, ok && err == nil
}

// valueProblems lists the present members whose values are wrong for call c.
func (t *Target) valueProblems(r recordFields, c ownCall) []string {
	var out []string
	bad := func(field string, wrong bool, format string, args ...any) {
		if _, present := r[field]; present && wrong {
			out = append(out, fmt.Sprintf(format, args...))
		}
	}
	ts, err := time.Parse(time.RFC3339, r.str("timestamp"))
	_, offset := ts.Zone()
	bad("timestamp", err != nil || offset != 0, "has a timestamp that is not RFC 3339 in UTC")
	bad("app_id", r.str("app_id") != c.app, "names app %q, not %q", r.str("app_id"), c.app)
	bad("api_id", r.str("api_id") == "", "has an empty api_id")
	latency, ok := r.num("latency_ms")
	bad("latency_ms", !ok || latency < 0, "has no valid latency_ms")
	status, ok := r.num("status")
	bad("status", !ok || int(status) != c.status, "has status %v, but the call got %d", r["status"], c.status)
	want := audit.ResultSuccess
	if c.status >= 400 {
		want = audit.ResultFailure
	}
	bad("result", r.str("result") != want, "has result %q for a %d answer", r.str("result"), c.status)
	user := r.str("user")
	bad("user", user != "" && slices.ContainsFunc(t.Profile.Users, func(u profile.User) bool { return u.Username == user }),
		"holds a user's raw identifier rather than a pseudonym")
	return out
}

// checkAuditIntegrity makes a call of its own, reads its audit record, and
// fetches the record's inclusion proof (GET …/audit/proof?txn_id=, beside
// endpoints.audit_records): the proof must verify with the audit keys the
// gateway publishes, and its record must be the one the audit API returned.
// T/PCAC 0008-2020 8.3.
func (t *Target) checkAuditIntegrity(ctx context.Context) assess.Result {
	if m := t.auditMissing(); m != "" {
		return assess.NotTestedf("The profile has no %s, so the audit log's integrity could not be checked.", m)
	}
	hc, err := t.adminClient()
	if err != nil {
		return assess.Errorf("The admin API client cannot be set up: %v.", err)
	}
	defer hc.CloseIdleConnections()
	calls, ev, res := t.ownCalls(ctx, 1)
	if res != nil {
		return *res
	}
	c := calls[0]
	rec, x, err := t.findAuditRecord(ctx, hc, c.txn, time.Now().Add(recordWait))
	if x != nil {
		ev = append(ev, x.Evidence)
	}
	switch {
	case err != nil:
		return assess.Errorf("The admin API (target.admin_url) could not be queried for txn %s: %v.", c.txn, err).With(ev...)
	case x.Status != http.StatusOK:
		return assess.Errorf("The admin API answered %d to the audit query for txn %s.", x.Status, c.txn).With(ev...)
	case rec == nil:
		return assess.NotTestedf("The audit API returned no record of txn %s (%s) within %s, so there was no record to prove.", c.txn, c.what, recordWait).With(ev...)
	}
	p, px, res := t.fetchProof(ctx, hc, c.txn)
	if px != nil {
		ev = append(ev, px.Evidence)
	}
	if res != nil {
		return res.With(ev...)
	}
	keys, kx, res := t.auditKeys(ctx)
	if kx != nil {
		ev = append(ev, kx.Evidence)
	}
	if res != nil {
		return res.With(ev...)
	}
	return judgeProof(p, keys, rec, c.txn).With(ev...)
}

// fetchProof asks for the inclusion proof of txn until a signed checkpoint
// covers the record (404 with Retry-After meanwhile) or proofWait passes.
func (t *Target) fetchProof(ctx context.Context, hc *http.Client, txn string) (*audit.Proof, *Exchange, *assess.Result) {
	end := func(r assess.Result) (*audit.Proof, *Exchange, *assess.Result) { return nil, nil, &r }
	recordsPath := t.Profile.Endpoints.AuditRecords.Path
	if i := strings.IndexByte(recordsPath, '?'); i >= 0 {
		recordsPath = recordsPath[:i]
	}
	proofPath := recordsPath[:strings.LastIndexByte(recordsPath, '/')+1] + "proof"
	u, err := t.adminURL(proofPath, txn)
	if err != nil {
		return end(assess.Errorf("The audit proof URL cannot be built: %v.", err))
	}
	deadline := time.Now().Add(proofWait)
	if d, ok := ctx.Deadline(); ok && d.Add(-3*time.Second).Before(deadline) {
		deadline = d.Add(-3 * time.Second)
	}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return end(assess.Errorf("The audit proof request cannot be built: %v.", err))
		}
		x, err := t.Send(hc, "inclusion proof of txn "+txn, req)
		switch {
		case err != nil:
			r := assess.Errorf("The admin API could not be asked for the proof of txn %s: %v.", txn, err)
			return nil, x, &r
		case x.Status == http.StatusOK:
			var p audit.Proof
			if err := json.Unmarshal(x.Body, &p); err != nil {
				r := assess.Failf("The audit proof of txn %s is not a proof: %v.", txn, err)
				return nil, x, &r
			}
			redactCheckpoint(x, &p)
			return &p, x, nil
		case x.Status != http.StatusNotFound || x.Header.Get("Retry-After") == "":
			r := assess.NotTestedf("The admin API answered %d at %s, so no proof of the log's integrity could be obtained.", x.Status, proofPath)
			return nil, x, &r
		case time.Now().After(deadline):
			r := assess.NotTestedf("No signed checkpoint covered the record of txn %s within %s (the target's checkpoint interval may be longer), so its proof could not be checked.", txn, proofWait)
			return nil, x, &r
		}
		if err := pollPause(ctx, pollEvery); err != nil {
			return end(assess.Errorf("The wait for the audit proof ended: %v.", err))
		}
	}
}

// redactCheckpoint keeps the checkpoint's signature value out of the evidence.
func redactCheckpoint(x *Exchange, p *audit.Proof) {
	if len(p.Checkpoint.Signature) > 0 {
		sig := base64.StdEncoding.EncodeToString(p.Checkpoint.Signature)
		x.Evidence.Response = strings.ReplaceAll(x.Evidence.Response, sig, Redacted)
	}
}

// auditKeys fetches the audit public keys the gateway publishes, over
// verified TLS.
func (t *Target) auditKeys(ctx context.Context) (audit.KeySet, *Exchange, *assess.Result) {
	end := func(x *Exchange, r assess.Result) (audit.KeySet, *Exchange, *assess.Result) { return nil, x, &r }
	hc, err := t.Profile.HTTPClient(nil)
	if err != nil {
		return end(nil, assess.Errorf("The client for the target cannot be set up: %v.", err))
	}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.Profile.URL(auditKeysPath), nil)
	if err != nil {
		return end(nil, assess.Errorf("The audit keys request cannot be built: %v.", err))
	}
	x, err := t.Send(hc, "audit public keys", req)
	if err != nil {
		return end(x, assess.Errorf("The audit keys could not be fetched from %s: %v.", auditKeysPath, err))
	}
	if x.Status != http.StatusOK {
		return end(x, assess.NotTestedf("The target publishes no audit keys at %s (status %d), so the proof could not be checked.", auditKeysPath, x.Status))
	}
	ks, err := sdk.ParseBankKeys(x.Body, time.Now())
	if err != nil {
		return end(x, assess.Failf("The audit key document at %s cannot be used: %v.", auditKeysPath, err))
	}
	return audit.KeySet(ks), x, nil
}

// judgeProof decides audit.integrity: the proof verifies with the keys, is an
// inclusion proof of txn, and its record is rec, the one the audit API
// returned (same canonical form and, if given, same leaf hash).
func judgeProof(p *audit.Proof, keys audit.KeySet, rec json.RawMessage, txn string) assess.Result {
	if p.Type != audit.ProofInclusion {
		return assess.Failf("The audit proof of txn %s is a %q proof, not an inclusion proof.", txn, p.Type)
	}
	what, err := p.Check(keys)
	if err != nil {
		return assess.Failf("The inclusion proof of txn %s does not verify with the published audit keys: %s.", txn, proofError(err))
	}
	var proved, listed audit.Record
	var leaf struct {
		LeafHash []byte `json:"leaf_hash"`
	}
	if json.Unmarshal(p.Record, &proved) != nil || json.Unmarshal(rec, &listed) != nil || json.Unmarshal(rec, &leaf) != nil {
		return assess.Failf("The audit record of txn %s or its proof's record cannot be read as a record.", txn)
	}
	pc, err1 := proved.Canonical()
	lc, err2 := listed.Canonical()
	switch {
	case err1 != nil || err2 != nil:
		return assess.Failf("The audit record of txn %s or its proof's record cannot be put in canonical form.", txn)
	case proved.TxnID != txn:
		return assess.Failf("The proof asked for txn %s proves the record of txn %s.", txn, proved.TxnID)
	case !bytes.Equal(pc, lc):
		return assess.Failf("The record the proof of txn %s covers differs from the record the audit API returns (%s).", txn, strings.Join(recordDiff(proved, listed), ", "))
	}
	if len(leaf.LeafHash) > 0 {
		if h, err := audit.NewHasher(p.Checkpoint.Hash); err == nil && !bytes.Equal(h.HashLeaf(lc), leaf.LeafHash) {
			return assess.Failf("The leaf_hash the audit API gives for txn %s is not the hash of its record.", txn)
		}
	}
	return assess.Passf("The inclusion proof of the assessor's own call verifies with the published audit key: %s.", what)
}

// proofError says in one line why a proof did not verify.
func proofError(err error) string {
	switch msg := err.Error(); {
	case errors.Is(err, audit.ErrBadSignature):
		return "the checkpoint's signature does not verify"
	case strings.Contains(msg, "inclusion proof does not verify"):
		return "the proof's hashes do not lead from the record to the root the checkpoint signs"
	default:
		first, _, _ := strings.Cut(msg, "\n")
		return strings.TrimSuffix(strings.TrimPrefix(first, "audit: "), ":")
	}
}

// recordDiff names the fields two records disagree on.
func recordDiff(a, b audit.Record) []string {
	ma, mb := map[string]any{}, map[string]any{}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	_ = json.Unmarshal(ja, &ma)
	_ = json.Unmarshal(jb, &mb)
	var out []string
	for k := range ma {
		if fmt.Sprint(ma[k]) != fmt.Sprint(mb[k]) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	if len(out) == 0 {
		out = []string{"canonical form"}
	}
	return out
}

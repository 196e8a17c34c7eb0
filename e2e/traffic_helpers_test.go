package e2e

// Helpers of the traffic control, defence, monitoring and risk tests
// (traffic_test.go). Every helper takes the calling (sub)test's t, so that a
// failure stops the subtest that hit it. None prints a token, a payment
// password or a card number: failures carry statuses, codes and the
// gateway's own client-safe texts.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bankguard/bankguard/alert"
	"github.com/bankguard/bankguard/config"
	"github.com/bankguard/bankguard/demo"
	"github.com/bankguard/bankguard/httpsig"
	"github.com/bankguard/bankguard/node"
	"github.com/bankguard/bankguard/pii"
	"github.com/bankguard/bankguard/profile"
	bank "github.com/bankguard/bankguard/sandbox"
	"github.com/bankguard/bankguard/sdk"
)

// trafficWait bounds every wait for something the gateway does after it
// answered (alerts are delivered by a worker, a burst's block is stored
// once the response is written).
const trafficWait = 10 * time.Second

// trafficStartDemo starts the demo as startDemo does, with edit applied to
// its configuration before the node starts.
func trafficStartDemo(t *testing.T, edit func(*config.File)) *sandbox {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel) // on a failure before the node runs
	dir := t.TempDir()
	cfgPath, err := demo.Prepare(ctx, demo.Options{Dir: dir, GatewayAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	edit(cfg)
	logs := &syncWriter{w: &bytes.Buffer{}}
	n, err := node.Start(ctx, cfg, node.Options{Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := n.Wait(); err != nil {
			t.Errorf("node stopped with %v", err)
		}
		scanForPersonalData(t, dir, logs.String())
	})
	path, err := demo.WriteProfile(dir, "https://"+n.GatewayAddr.String(), "https://"+n.AdminAddr.String(), cfg, n.Sandbox.Users())
	if err != nil {
		t.Fatal(err)
	}
	p, err := profile.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return &sandbox{t: t, dir: dir, node: n, profile: p, logs: logs, tokens: map[string]string{}}
}

// trafficOnce sends a signed request as appID with headers (name, value
// pairs), carrying the app's user token (sandbox.token) on user-bound paths.
func trafficOnce(t *testing.T, s *sandbox, appID, method, path string, body []byte, headers ...string) *sdk.Response {
	t.Helper()
	token := ""
	if userBound(path) {
		token = s.token(appID)
	}
	return authzCall(t, s, appID, token, method, path, body, headers...)
}

// trafficCall is trafficOnce, sent again when the WAF refused it for a
// random value alone (trafficRetry).
func trafficCall(t *testing.T, s *sandbox, appID, method, path string, body []byte, headers ...string) *sdk.Response {
	t.Helper()
	resp, _ := trafficRetry(t, s, func() *sdk.Response { return trafficOnce(t, s, appID, method, path, body, headers...) })
	return resp
}

// trafficRetry sends call again, up to 3 times, while the WAF refuses it
// for a match in the signature or digest headers alone: CRS rule 941120
// matches random base64 there about once in 1,500 requests, a WAF false
// positive that TestTrafficWAFPassesRandomSignatures shows on its own. It
// returns the last answer and how many attempts were refused so (each of
// them passed the rate limits, which run before the WAF).
func trafficRetry(t *testing.T, s *sandbox, call func() *sdk.Response) (*sdk.Response, int) {
	t.Helper()
	for refused := 0; ; refused++ {
		resp := call()
		if refused == 2 || !trafficFalsePositive(t, s, resp) {
			return resp, refused
		}
		t.Logf("the WAF refused %s %s for a random signature or digest; sent again", resp.Request.Method, resp.Request.URL.Path)
	}
}

// trafficRandomHeaders are the request headers whose values are random
// (RFC 9421 signatures and nonces, RFC 9530 digests, bearer tokens).
var trafficRandomHeaders = []string{"REQUEST_HEADERS:Signature", "REQUEST_HEADERS:Signature-Input",
	"REQUEST_HEADERS:Content-Digest", "REQUEST_HEADERS:Authorization"}

// trafficFalsePositive reports whether resp is the WAF's refusal of a
// request for matches in trafficRandomHeaders only, as the WAF's log line
// of the request names them.
func trafficFalsePositive(t *testing.T, s *sandbox, resp *sdk.Response) bool {
	t.Helper()
	if resp.StatusCode != http.StatusForbidden || problemCode(t, resp.Body) != "request_blocked" {
		return false
	}
	txn := `"txn_id":"` + resp.Header.Get("X-Request-Id") + `"`
	for line := range strings.Lines(s.logs.String()) {
		if !strings.Contains(line, txn) || !strings.Contains(line, `"stage":"waf"`) {
			continue
		}
		var rec struct {
			Variables []string `json:"variables"`
		}
		if json.Unmarshal([]byte(line), &rec) != nil || len(rec.Variables) == 0 {
			return false
		}
		for _, v := range rec.Variables {
			if !slices.Contains(trafficRandomHeaders, v) {
				return false
			}
		}
		return true
	}
	return false
}

// trafficProblem is a problem+json body.
type trafficProblem struct {
	Code      string `json:"code"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	RequestID string `json:"request_id"`
}

// trafficRefused asserts a refusal's status and code and that its body
// names no rule, threshold or internal part (CONTRACT.md §4: problem
// details are client-safe), and returns it.
func trafficRefused(t *testing.T, resp *sdk.Response, status int, code string, leaks ...string) trafficProblem {
	t.Helper()
	expect(t, resp, status, code)
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("%d %s with content type %q", status, code, ct)
	}
	var p trafficProblem
	if err := json.Unmarshal(resp.Body, &p); err != nil {
		t.Fatalf("not problem+json: %v", err)
	}
	if p.RequestID == "" || p.RequestID != resp.Header.Get("X-Request-Id") {
		t.Fatalf("problem request_id %q, X-Request-Id %q", p.RequestID, resp.Header.Get("X-Request-Id"))
	}
	// The request and confirmation ids are random: they could spell anything.
	body := strings.ToLower(strings.ReplaceAll(string(resp.Body), p.RequestID, ""))
	if id := resp.Header.Get("Bankguard-Confirmation-Id"); id != "" {
		body = strings.ReplaceAll(body, strings.ToLower(id), "")
	}
	for _, leak := range append([]string{"coraza", "crs", "rule", "threshold", "blacklist entry", "automatic", "impersonation"}, leaks...) {
		if leak != "" && strings.Contains(body, strings.ToLower(leak)) {
			t.Fatalf("the %s refusal leaks %q: %s", code, leak, resp.Body)
		}
	}
	return p
}

// trafficBurst calls until the first refusal, at most most times, and
// returns how many calls the rate limits admitted before it, the refusal
// (nil if none came) and the time from sending the first call to receiving
// the last answer: every call reached the gateway within that interval.
// A call the WAF refused for a random value alone (trafficFalsePositive)
// was admitted by the limits, which run first.
func trafficBurst(t *testing.T, s *sandbox, most int, call func() *sdk.Response) (admitted int, refusal *sdk.Response, elapsed time.Duration) {
	t.Helper()
	start := time.Now()
	for range most {
		resp := call()
		if resp.StatusCode != http.StatusOK && !trafficFalsePositive(t, s, resp) {
			return admitted, resp, time.Since(start)
		}
		admitted++
	}
	return admitted, nil, time.Since(start)
}

// trafficMostAdmitted is the most calls a GCRA limit of n per window with
// burst b admits within an interval of length elapsed: b, plus one for
// each emission interval (window / n) that fits in it.
func trafficMostAdmitted(b, n int, window, elapsed time.Duration) int {
	return b + int(elapsed/(window/time.Duration(n)))
}

// trafficRetryAfter asserts a Retry-After of 1 to most seconds.
func trafficRetryAfter(t *testing.T, resp *sdk.Response, most int) {
	t.Helper()
	if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || n < 1 || n > most {
		t.Fatalf("Retry-After %q, want 1 to %d seconds", resp.Header.Get("Retry-After"), most)
	}
}

// trafficAdmin sends an admin API request with the operator certificate;
// body, if not nil, is sent as JSON. It returns the status, header and body.
func trafficAdmin(t *testing.T, s *sandbox, method, path string, body any) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.profile.Target.AdminURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := s.adminClient(true)
	defer hc.CloseIdleConnections()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("admin %s %s: no X-Request-Id", method, path)
	}
	return resp.StatusCode, resp.Header, b
}

// trafficAdminJSON sends an admin request, asserts its status and decodes
// the JSON answer into out (unless out is nil).
func trafficAdminJSON(t *testing.T, s *sandbox, method, path string, body any, status int, out any) {
	t.Helper()
	got, _, b := trafficAdmin(t, s, method, path, body)
	if got != status {
		t.Fatalf("admin %s %s: %d, want %d: %s", method, path, got, status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("admin %s %s: %v: %s", method, path, err, b)
		}
	}
}

// trafficAlert is an alert as GET /admin/v1/alerts lists it.
type trafficAlert struct {
	Rule       string `json:"rule"`
	Severity   string `json:"severity"`
	Subject    string `json:"subject"`
	Summary    string `json:"summary"`
	Detail     string `json:"detail"`
	TxnID      string `json:"txn_id"`
	IncidentID string `json:"incident_id"`
}

// trafficAlerts lists the recent alerts, newest first. Alerts are for the
// bank's staff but travel to mailboxes and chat rooms: none may hold
// unmasked personal data.
func trafficAlerts(t *testing.T, s *sandbox) []trafficAlert {
	t.Helper()
	var page struct {
		Alerts []trafficAlert `json:"alerts"`
	}
	trafficAdminJSON(t, s, "GET", "/admin/v1/alerts?limit=1000", nil, http.StatusOK, &page)
	for _, a := range page.Alerts {
		text := a.Subject + " " + a.Summary + " " + a.Detail
		if hits := pii.Find(text); len(hits) != 0 {
			t.Fatalf("alert %s holds an unmasked %s", a.Rule, hits[0].Kind)
		}
	}
	return page.Alerts
}

// trafficWaitAlert waits for an alert of rule whose subject contains
// subject and returns it.
func trafficWaitAlert(t *testing.T, s *sandbox, rule, subject string) trafficAlert {
	t.Helper()
	for deadline := time.Now().Add(trafficWait); ; time.Sleep(50 * time.Millisecond) {
		if a, ok := trafficFindAlert(t, s, rule, subject); ok {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("no alert %s about %s within %s", rule, subject, trafficWait)
		}
	}
}

// trafficFindAlert returns the latest alert of rule about subject listed now.
func trafficFindAlert(t *testing.T, s *sandbox, rule, subject string) (trafficAlert, bool) {
	t.Helper()
	for _, a := range trafficAlerts(t, s) {
		if a.Rule == rule && strings.Contains(a.Subject, subject) {
			return a, true
		}
	}
	return trafficAlert{}, false
}

// trafficEntry is a blacklist entry as the admin API lists it.
type trafficEntry struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Value  string `json:"value"`
	Source string `json:"source"`
}

// trafficWaitEntry waits for the automatic blacklist entry of kind and
// value and returns it.
func trafficWaitEntry(t *testing.T, s *sandbox, kind, value string) trafficEntry {
	t.Helper()
	for deadline := time.Now().Add(trafficWait); ; time.Sleep(20 * time.Millisecond) {
		var page struct {
			Entries []trafficEntry `json:"entries"`
		}
		trafficAdminJSON(t, s, "GET", "/admin/v1/blacklist?source=auto&kind="+kind, nil, http.StatusOK, &page)
		for _, e := range page.Entries {
			if e.Value == value {
				return e
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no automatic %s entry for %s within %s: %+v", kind, value, trafficWait, page.Entries)
		}
	}
}

// trafficSample is one sample of the Prometheus text format.
type trafficSample struct {
	name   string
	labels map[string]string
	value  float64
}

// trafficMetrics scrapes GET /metrics on the admin listener.
func trafficMetrics(t *testing.T, s *sandbox) []trafficSample {
	t.Helper()
	status, header, body := trafficAdmin(t, s, "GET", "/metrics", nil)
	if status != http.StatusOK || !strings.HasPrefix(header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %q", status, header.Get("Content-Type"))
	}
	var out []trafficSample
	for line := range strings.Lines(string(body)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, trafficParseSample(t, line))
	}
	return out
}

// trafficParseSample parses `name{a="x",b="y"} value` (promhttp writes
// no timestamps); label values hold no escaped quotes or commas (they are
// identifiers, package metrics).
func trafficParseSample(t *testing.T, line string) trafficSample {
	t.Helper()
	k := strings.LastIndexByte(line, ' ')
	v, err := strconv.ParseFloat(line[k+1:], 64)
	if k < 0 || err != nil {
		t.Fatalf("malformed sample %q", line)
	}
	smp := trafficSample{labels: map[string]string{}, value: v}
	name, labels, _ := strings.Cut(strings.TrimSuffix(line[:k], "}"), "{")
	smp.name = name
	for pair := range strings.SplitSeq(labels, ",") {
		if k, v, ok := strings.Cut(pair, "="); ok {
			smp.labels[k] = strings.Trim(v, `"`)
		}
	}
	return smp
}

// trafficSum adds up the samples of name whose labels include want, and
// reports whether there was any.
func trafficSum(samples []trafficSample, name string, want map[string]string) (sum float64, found bool) {
next:
	for _, smp := range samples {
		if smp.name != name {
			continue
		}
		for k, v := range want {
			if smp.labels[k] != v {
				continue next
			}
		}
		sum, found = sum+smp.value, true
	}
	return sum, found
}

// trafficTransfer is a transfer body of amount from account from of the
// payer to the payee's first account, the payment password sealed afresh.
func trafficTransfer(t *testing.T, s *sandbox, payer bank.User, from bank.Account, payee bank.User, amount, memo string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]string{"from_account_id": from.ID, "to_card_number": payee.Accounts[0].CardNumber,
		"to_name": payee.Name, "amount": amount, "currency": "CNY", "memo": memo,
		"payment_password": s.seal(t, payer.PaymentPassword)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// trafficReceiver is the bank's alert webhook endpoint: it verifies each
// delivery as a receiver must (Content-Digest and the RFC 9421 signature
// labelled "bank" with the alert-signing key) and keeps the verified
// notifications.
type trafficReceiver struct {
	keyID string
	v     httpsig.Verifier

	mu       sync.Mutex
	received []trafficNotification
	invalid  []string
}

// trafficNotification is a delivered notification (alert.Notification).
type trafficNotification struct {
	Type     string        `json:"type"`
	Severity string        `json:"severity"`
	Alert    *trafficAlert `json:"alert"`
}

// trafficWebhook starts a receiver on loopback and writes the alert-signing
// key it verifies to a 0600 file; it returns the receiver, its URL and the
// key file.
func trafficWebhook(t *testing.T) (rv *trafficReceiver, url, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes, err := httpsig.MarshalPrivateKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	keyFile = filepath.Join(t.TempDir(), "alert-signing-key.pem")
	if err := os.WriteFile(keyFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := httpsig.NewVerifier(httpsig.AlgECDSAP256SHA256, &key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	rv = &trafficReceiver{keyID: "e2e-alerts", v: v}
	srv := httptest.NewServer(rv)
	t.Cleanup(srv.Close)
	return rv, srv.URL + "/bank-alerts", keyFile
}

func (rv *trafficReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var n trafficNotification
	err := rv.verify(r, body)
	if err == nil {
		err = json.Unmarshal(body, &n)
	}
	rv.mu.Lock()
	defer rv.mu.Unlock()
	if err != nil {
		rv.invalid = append(rv.invalid, err.Error())
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	rv.received = append(rv.received, n)
	w.WriteHeader(http.StatusNoContent)
}

// verify checks a delivery's digest and signature.
func (rv *trafficReceiver) verify(r *http.Request, body []byte) error {
	if err := httpsig.VerifyContentDigest(r.Header.Values("Content-Digest"), body); err != nil {
		return err
	}
	sigs, err := httpsig.ParseSignatures(r.Header)
	if err != nil {
		return err
	}
	for _, sig := range sigs {
		if sig.Input.Label != alert.WebhookLabel {
			continue
		}
		for _, c := range alert.WebhookComponents() {
			if !sig.Input.Covers(c) {
				return fmt.Errorf("the signature does not cover %s", c)
			}
		}
		if p := sig.Input.Params; p.KeyID != rv.keyID || p.Alg != rv.v.Alg() || p.Created.IsZero() {
			return fmt.Errorf("signature parameters keyid=%q alg=%q", p.KeyID, p.Alg)
		}
		return sig.Verify(httpsig.NewRequestMessage(r), rv.v)
	}
	return errors.New("no signature labelled bank")
}

// waitAlert waits for a verified alert notification of rule about subject.
func (rv *trafficReceiver) waitAlert(t *testing.T, rule, subject string) trafficNotification {
	t.Helper()
	for deadline := time.Now().Add(trafficWait); ; time.Sleep(20 * time.Millisecond) {
		rv.mu.Lock()
		invalid := slices.Clone(rv.invalid)
		i := slices.IndexFunc(rv.received, func(n trafficNotification) bool {
			return n.Alert != nil && n.Alert.Rule == rule && strings.Contains(n.Alert.Subject, subject)
		})
		var n trafficNotification
		if i >= 0 {
			n = rv.received[i]
		}
		rv.mu.Unlock()
		switch {
		case len(invalid) != 0:
			t.Fatalf("the webhook received deliveries that do not verify: %v", invalid)
		case i >= 0:
			return n
		case time.Now().After(deadline):
			t.Fatalf("no signed webhook notification of %s about %s within %s", rule, subject, trafficWait)
		}
	}
}

// trafficRichest returns the customer whose transferable account holds the
// most, and that account.
func trafficRichest(t *testing.T, users []bank.User) (bank.User, bank.Account) {
	t.Helper()
	var (
		best    bank.User
		account bank.Account
		most    int64 = -1
	)
	for _, u := range users {
		for _, a := range authzTransferable(u) {
			if n := authzFen(t, a.AvailableBalance); n > most {
				best, account, most = u, a, n
			}
		}
	}
	if most < 0 {
		t.Fatal("the demo has no transferable account")
	}
	return best, account
}

package e2e

// Helpers of the traffic control, defence, monitoring and risk tests
// (traffic_test.go). Every helper takes the calling (sub)test's t, so that a
// failure stops the subtest that hit it. None prints a token, a payment
// password or a card number: failures carry statuses, codes and the
// gateway's own client-safe texts.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bankguard/bankguard/config"
	"github.com/bankguard/bankguard/demo"
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
	dir := t.TempDir()
	cfgPath, err := demo.Prepare(ctx, demo.Options{Dir: dir, GatewayAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0"})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	edit(cfg)
	logs := &syncWriter{w: &bytes.Buffer{}}
	n, err := node.Start(ctx, cfg, node.Options{Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		cancel()
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

// trafficCall sends a signed request as appID with headers (name, value
// pairs), carrying the app's user token (sandbox.token) on user-bound paths.
func trafficCall(t *testing.T, s *sandbox, appID, method, path string, body []byte, headers ...string) *sdk.Response {
	t.Helper()
	token := ""
	if userBound(path) {
		token = s.token(appID)
	}
	return authzCall(t, s, appID, token, method, path, body, headers...)
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
	body := strings.ToLower(string(resp.Body))
	for _, leak := range append([]string{"coraza", "crs", "rule", "threshold", "blacklist entry", "automatic", "impersonation"}, leaks...) {
		if leak != "" && strings.Contains(body, strings.ToLower(leak)) {
			t.Fatalf("the %s refusal leaks %q: %s", code, leak, resp.Body)
		}
	}
	return p
}

// trafficBurst calls until the first refusal, at most max times, and
// returns how many calls were admitted (200) before it, the refusal (nil
// if none came) and the time from sending the first call to receiving the
// last answer: every call reached the gateway within that interval.
func trafficBurst(t *testing.T, max int, call func() *sdk.Response) (admitted int, refusal *sdk.Response, elapsed time.Duration) {
	t.Helper()
	start := time.Now()
	for range max {
		resp := call()
		if resp.StatusCode != http.StatusOK {
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

// trafficRetryAfter returns the Retry-After seconds of a response, which
// must be an integer from 1 to most.
func trafficRetryAfter(t *testing.T, resp *sdk.Response, most int) int {
	t.Helper()
	v := resp.Header.Get("Retry-After")
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > most {
		t.Fatalf("Retry-After %q, want 1 to %d seconds", v, most)
	}
	return n
}

// trafficAdmin sends an admin API request with the operator certificate;
// body, if not nil, is sent as JSON. It returns the status and the body.
func trafficAdmin(t *testing.T, s *sandbox, method, path string, body any) (int, []byte) {
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
	return resp.StatusCode, b
}

// trafficAdminJSON sends an admin request, asserts its status and decodes
// the JSON answer into out (unless out is nil).
func trafficAdminJSON(t *testing.T, s *sandbox, method, path string, body any, status int, out any) {
	t.Helper()
	got, b := trafficAdmin(t, s, method, path, body)
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
	ID         string `json:"id"`
	Rule       string `json:"rule"`
	Severity   string `json:"severity"`
	Subject    string `json:"subject"`
	Summary    string `json:"summary"`
	Detail     string `json:"detail"`
	TxnID      string `json:"txn_id"`
	Count      int    `json:"count"`
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
	var seen []string
	for deadline := time.Now().Add(trafficWait); ; time.Sleep(50 * time.Millisecond) {
		seen = seen[:0]
		for _, a := range trafficAlerts(t, s) {
			if a.Rule == rule && strings.Contains(a.Subject, subject) {
				return a
			}
			seen = append(seen, a.Rule+" "+a.Subject)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no alert %s about %s within %s; alerts: %v", rule, subject, trafficWait, seen)
		}
	}
}

// trafficHasAlert reports whether an alert of rule about subject is listed now.
func trafficHasAlert(t *testing.T, s *sandbox, rule, subject string) bool {
	t.Helper()
	for _, a := range trafficAlerts(t, s) {
		if a.Rule == rule && strings.Contains(a.Subject, subject) {
			return true
		}
	}
	return false
}

// trafficEntry is a blacklist entry as the admin API lists it.
type trafficEntry struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Value  string `json:"value"`
	Reason string `json:"reason"`
	Source string `json:"source"`
	Until  string `json:"until"`
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
	req, err := http.NewRequest("GET", s.profile.Target.AdminURL+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := s.adminClient(true)
	defer hc.CloseIdleConnections()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
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

// trafficParseSample parses `name{a="x",b="y"} value`; label values hold
// no escaped quotes or commas (they are identifiers, package metrics).
func trafficParseSample(t *testing.T, line string) trafficSample {
	t.Helper()
	smp := trafficSample{labels: map[string]string{}}
	rest := line
	if i := strings.IndexByte(line, '{'); i >= 0 {
		j := strings.LastIndexByte(line, '}')
		if j < i {
			t.Fatalf("malformed sample %q", line)
		}
		smp.name, rest = line[:i], strings.TrimSpace(line[j+1:])
		for _, pair := range strings.Split(line[i+1:j], ",") {
			if k, v, ok := strings.Cut(pair, "="); ok {
				smp.labels[k] = strings.Trim(v, `"`)
			}
		}
	} else {
		var ok bool
		if smp.name, rest, ok = strings.Cut(line, " "); !ok {
			t.Fatalf("malformed sample %q", line)
		}
	}
	value, _, _ := strings.Cut(strings.TrimSpace(rest), " ") // a timestamp may follow
	v, err := strconv.ParseFloat(value, 64)
	if err != nil {
		t.Fatalf("sample %q: %v", line, err)
	}
	smp.value = v
	return smp
}

// trafficSum adds up the samples of name whose labels include want, and
// reports whether there was any.
func trafficSum(samples []trafficSample, name string, want map[string]string) (float64, bool) {
	var sum float64
	found := false
	for _, smp := range samples {
		if smp.name != name {
			continue
		}
		match := true
		for k, v := range want {
			if smp.labels[k] != v {
				match = false
				break
			}
		}
		if match {
			sum, found = sum+smp.value, true
		}
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

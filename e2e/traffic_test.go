package e2e

// Issue 6 through the running demo over TLS: the demo enforces its
// configured limits with each action (reject, alarm, pause) and the
// operator's business throttle, blocks injections and impersonation
// attempts, exposes metrics, delivers alerts and flags large transfers with
// a risk notice or holds them for the bank's confirmation.
//
// The demo's traffic configuration (demo/demo.go): rule "product" rejects
// demo-a1-hmac beyond 10 calls per second to GET /v1/products/WMP001; rule
// "accounts" alarms beyond 60 calls per minute of any one app to GET
// /v1/accounts; rule "holdings" pauses demo-a2-ecdsa for a minute beyond 30
// calls per minute to GET /v1/holdings. Transfers of 50000.00 and more get a
// risk notice, of 200000.00 and more are held.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bankguard/bankguard/alert"
	"github.com/bankguard/bankguard/config"
	"github.com/bankguard/bankguard/demo"
	"github.com/bankguard/bankguard/httpsig"
	"github.com/bankguard/bankguard/sdk"
)

// The U_API_IDs of the demo's limited APIs (the sandbox's OpenAPI document).
const (
	trafficProductAPI  = "OPC999990104010100000002" // GET /v1/products/{id}: rule "product"
	trafficAccountsAPI = "OPC999990201010100000001" // GET /v1/accounts: rule "accounts"
)

// TestTrafficControls shows, in one demo, a reject limit, an alarm limit,
// an operator's business throttle, the injection filter and the metrics
// that count them (T/PCAC 0008-2020 4.1, 6.1.1, 6.1.2, 6.2.1, 3.3.2).
func TestTrafficControls(t *testing.T) {
	s := startDemo(t)
	users := s.node.Sandbox.Users()

	// T/PCAC 0008-2020 6.1.2-2: calls per time unit, action reject.
	t.Run("reject: the 11th call within the second is refused", func(t *testing.T) {
		call := func() *sdk.Response { return trafficOnce(t, s, "demo-a1-hmac", "GET", demo.RateLimitedPath, nil) }
		admitted, refusal, elapsed := trafficBurst(t, s, 200, call)
		if refusal == nil {
			t.Fatalf("%d calls in %s, none refused", admitted, elapsed)
		}
		// GCRA is exact: the full burst of 10 passes, and in an interval of
		// length L at most 10 + L/100ms do.
		if most := trafficMostAdmitted(demo.RateLimitedLimit, demo.RateLimitedLimit, time.Second, elapsed); admitted < demo.RateLimitedLimit || admitted > most {
			t.Fatalf("%d calls admitted within %s, want %d to %d", admitted, elapsed, demo.RateLimitedLimit, most)
		}
		p := trafficRefused(t, refusal, http.StatusTooManyRequests, "rate_limited", "product")
		if p.Status != http.StatusTooManyRequests {
			t.Fatalf("problem status %d", p.Status)
		}
		trafficRetryAfter(t, refusal, 1)
		if got, want := refusal.Header.Get("RateLimit-Policy"), `"product";q=10;w=1`; got != want {
			t.Fatalf("RateLimit-Policy %q, want %q", got, want)
		}
		if got := refusal.Header.Get("RateLimit"); !strings.HasPrefix(got, `"product";r=0;t=`) {
			t.Fatalf("RateLimit %q, want no calls left", got)
		}
		// The limit is demo-a1-hmac's: another app calls the same API.
		expect(t, trafficCall(t, s, "demo-a2-sm2", "GET", demo.RateLimitedPath, nil), http.StatusOK, "")
		// Refused calls consumed nothing: once the window has passed, the
		// whole burst is there again.
		time.Sleep(1100 * time.Millisecond)
		resp, spent := trafficRetry(t, s, call)
		expect(t, resp, http.StatusOK, "")
		if got, want := resp.Header.Get("RateLimit"), fmt.Sprintf(`"product";r=%d;`, 9-spent); !strings.HasPrefix(got, want) {
			t.Fatalf("RateLimit %q after the window, want %s…", got, want)
		}
	})

	// T/PCAC 0008-2020 6.1.2-2: action alarm; 6.5: graded alarm and incident.
	t.Run("alarm: calls pass and the bank is alerted", func(t *testing.T) {
		const limit = 60 // rule "accounts": 60/1m for each app
		for n := 1; n <= 5*limit; n++ {
			expect(t, trafficCall(t, s, "demo-a2-sm2", "GET", "/v1/accounts", nil), http.StatusOK, "")
			// Past the limit, look for the alert now and then (a slow
			// machine may need more calls to outrun the refill).
			if n > limit && (n-limit)%20 == 1 {
				if _, ok := trafficFindAlert(t, s, "ratelimit.alarm", "demo-a2-sm2"); ok {
					break
				}
			}
		}
		a := trafficWaitAlert(t, s, "ratelimit.alarm", "demo-a2-sm2")
		if a.Severity != string(alert.Warning) || a.IncidentID == "" || a.TxnID == "" {
			t.Fatalf("alarm %+v, want a warning with its incident and transaction", a)
		}
		var inc struct {
			ID       string `json:"id"`
			Status   string `json:"status"`
			Timeline []any  `json:"timeline"`
		}
		trafficAdminJSON(t, s, "GET", "/admin/v1/incidents/"+a.IncidentID, nil, http.StatusOK, &inc)
		if inc.ID != a.IncidentID || inc.Status != "open" || len(inc.Timeline) == 0 {
			t.Fatalf("incident %+v", inc)
		}
	})

	// T/PCAC 0008-2020 6.2.1: business throttling with notice to the app.
	t.Run("operator throttle: refused with the reason, lifted at once", func(t *testing.T) {
		const reason = "maintenance window"
		var th struct {
			App    string `json:"app"`
			Reason string `json:"reason"`
			Until  string `json:"until"`
		}
		trafficAdminJSON(t, s, "POST", "/admin/v1/throttles",
			map[string]string{"app": "demo-a1-hmac", "rate": "1/1m", "reason": reason, "for": "10m"}, http.StatusCreated, &th)
		if th.App != "demo-a1-hmac" || th.Reason != reason || th.Until == "" {
			t.Fatalf("throttle %+v", th)
		}
		expect(t, trafficCall(t, s, "demo-a1-hmac", "GET", "/v1/products", nil), http.StatusOK, "")
		resp := trafficCall(t, s, "demo-a1-hmac", "GET", "/v1/ping", nil)
		p := trafficRefused(t, resp, http.StatusTooManyRequests, "throttled")
		if !strings.Contains(p.Detail, reason) {
			t.Fatalf("detail %q does not give the operator's reason", p.Detail)
		}
		trafficRetryAfter(t, resp, 60)
		// Only that app is throttled.
		expect(t, trafficCall(t, s, "demo-a2-sm2", "GET", "/v1/ping", nil), http.StatusOK, "")
		// The app is told (the demo relays the notice through the bank's alerts).
		trafficWaitAlert(t, s, "app.notice.throttled", "demo-a1-hmac")

		if code, _, b := trafficAdmin(t, s, "DELETE", "/admin/v1/throttles?app=demo-a1-hmac", nil); code != http.StatusNoContent {
			t.Fatalf("lifting the throttle: %d %s", code, b)
		}
		expect(t, trafficCall(t, s, "demo-a1-hmac", "GET", "/v1/ping", nil), http.StatusOK, "")
		expect(t, trafficCall(t, s, "demo-a1-hmac", "GET", "/v1/products", nil), http.StatusOK, "")
	})

	// T/PCAC 0008-2020 3.3.2: SQL and script injection are detected and blocked.
	t.Run("injections are blocked, Chinese text passes", func(t *testing.T) {
		payer, payee := users[0], users[1]
		from := authzTransferable(payer)[0]
		const sqlQuery, sqlMemo, script = `' OR '1'='1`, `'; DROP TABLE accounts; --`, `<script>alert(1)</script>`
		for _, tc := range []struct {
			name string
			call func() *sdk.Response
		}{
			{"SQL in a query parameter", func() *sdk.Response {
				return trafficCall(t, s, "demo-a1-hmac", "GET", "/v1/products?category="+url.QueryEscape(sqlQuery), nil)
			}},
			{"SQL in a transfer memo", func() *sdk.Response {
				return trafficCall(t, s, "demo-a2-ecdsa", "POST", "/v1/transfers", trafficTransfer(t, s, payer, from, payee, "1.00", sqlMemo))
			}},
			{"script in a header", func() *sdk.Response {
				return trafficCall(t, s, "demo-a1-hmac", "GET", "/v1/products", nil, "X-Customer-Note", script)
			}},
			{"script in the User-Agent", func() *sdk.Response {
				return trafficCall(t, s, "demo-a2-sm2", "GET", "/v1/accounts", nil, "User-Agent", `<img src=x onerror=alert(1)>`)
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resp := tc.call()
				p := trafficRefused(t, resp, http.StatusForbidden, "request_blocked", sqlQuery, sqlMemo, script, "942", "941", "sql", "xss")
				if p.Detail == "" {
					t.Fatal("no detail")
				}
			})
		}
		trafficWaitAlert(t, s, "waf.block", "demo-a1-hmac")

		memo := "工资 2026年11月，王小明转账给李四（房租“十一月”）"
		resp := trafficCall(t, s, "demo-a2-ecdsa", "POST", "/v1/transfers", trafficTransfer(t, s, payer, from, payee, "12.50", memo))
		expect(t, resp, http.StatusCreated, "")
		var done struct {
			Memo   string `json:"memo"`
			Amount string `json:"amount"`
		}
		if err := json.Unmarshal(resp.Body, &done); err != nil || done.Memo != memo || done.Amount != "12.50" {
			t.Fatalf("transfer %v: %s", err, resp.Body)
		}
		// Plain business text with quotes and dashes passes in a header too.
		expect(t, trafficCall(t, s, "demo-a1-hmac", "GET", "/v1/products", nil, "X-Customer-Note", "O'Brien's rent -- 11月"), http.StatusOK, "")
	})

	// T/PCAC 0008-2020 6.1.1: volume, success rate and latency per API and
	// app; 6.1.2: refusals by control; fault isolation: breaker state.
	t.Run("metrics", func(t *testing.T) {
		m := trafficMetrics(t, s)
		for _, c := range []struct {
			name   string
			labels map[string]string
			least  float64
		}{
			{"bankguard_requests_total", map[string]string{"api": trafficProductAPI, "app": "demo-a1-hmac", "class": "2xx", "result": "success"}, demo.RateLimitedLimit},
			{"bankguard_requests_total", map[string]string{"api": trafficProductAPI, "app": "demo-a1-hmac", "class": "4xx", "result": "failure"}, 1},
			{"bankguard_requests_total", map[string]string{"api": trafficAccountsAPI, "app": "demo-a2-sm2", "class": "2xx", "result": "success"}, 61},
			{"bankguard_rejections_total", map[string]string{"control": "ratelimit", "code": "rate_limited"}, 1},
			{"bankguard_rejections_total", map[string]string{"control": "ratelimit", "code": "throttled"}, 1},
			{"bankguard_rejections_total", map[string]string{"control": "waf", "code": "request_blocked"}, 1},
			{"bankguard_request_duration_seconds_bucket", map[string]string{"api": trafficProductAPI, "le": "+Inf"}, demo.RateLimitedLimit},
			{"bankguard_upstream_duration_seconds_count", map[string]string{"api": trafficProductAPI}, demo.RateLimitedLimit},
			{"bankguard_alerts_total", map[string]string{"rule": "ratelimit.alarm", "severity": "warning"}, 1},
		} {
			if n, _ := trafficSum(m, c.name, c.labels); n < c.least {
				t.Errorf("%s%v = %v, want at least %v", c.name, c.labels, n, c.least)
			}
		}
		// One series per state, 1 for the current one.
		if n, ok := trafficSum(m, "bankguard_upstream_breaker_state", map[string]string{"upstream": "sandbox", "state": "closed"}); !ok || n != 1 {
			t.Errorf("bankguard_upstream_breaker_state{upstream=\"sandbox\",state=\"closed\"} = %v (present %v), want 1", n, ok)
		}
		if n, _ := trafficSum(m, "bankguard_upstream_breaker_state", map[string]string{"upstream": "sandbox"}); n != 1 {
			t.Errorf("the sandbox upstream is in %v breaker states at once", n)
		}
		// Only operators read them: an app's certificate is refused.
		cfg := s.tlsConfig("demo-a2-ecdsa")
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
		defer hc.CloseIdleConnections()
		resp, err := hc.Get(s.profile.Target.AdminURL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("GET /metrics with an app's certificate: %d", resp.StatusCode)
		}
	})
}

// TestTrafficWAFPassesRandomSignatures sends valid calls whose RFC 9421
// signature happens to read, to CRS rule 941120 (script event handlers), as
// "…/onabcd=:": random base64 does so about once in 1,500 signatures. The
// injection filter must not refuse them (T/PCAC 0008-2020 3.3.2 blocks
// injections, not legitimate calls): the signature stage has verified the
// header, and it holds nothing but base64.
func TestTrafficWAFPassesRandomSignatures(t *testing.T) {
	s := startDemo(t)
	c := s.client("demo-a1-hmac")
	// CRS 941120's pattern; its t:urlDecodeUni reads '+' as a space.
	handler := regexp.MustCompile(`(?i)[\t-\r "'(,/-9;=` + "`" + `]on[a-z]{3,50}[\t-\r (,;]*?=[^=]`)
	for range 2 {
		var req *http.Request
		for i := 0; req == nil; i++ {
			r, err := sdk.NewRequest(t.Context(), "GET", s.profile.URL("/v1/products"), nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Sign(r); err != nil {
				t.Fatal(err)
			}
			if handler.MatchString(strings.ReplaceAll(r.Header.Get("Signature"), "+", " ")) {
				req = r
			} else if i == 1_000_000 {
				t.Fatal("no signature of a million looks like an event handler")
			}
		}
		if resp, body := s.raw("demo-a1-hmac", req); resp.StatusCode != http.StatusOK {
			t.Fatalf("a valid call whose signature reads %q: %d %s", req.Header.Get("Signature"), resp.StatusCode, body)
		}
	}
}

// TestTrafficPause shows the pause action (T/PCAC 0008-2020 6.1.2-2): the
// 31st holdings call of demo-a2-ecdsa within a minute pauses the app on
// every API, alerts the bank (critical) and tells the app. It has a demo of
// its own: the app stays paused for a minute.
func TestTrafficPause(t *testing.T) {
	s := startDemo(t)
	const burst = 30 // rule "holdings": 30/1m
	admitted, refusal, elapsed := trafficBurst(t, s, 200, func() *sdk.Response {
		return trafficOnce(t, s, "demo-a2-ecdsa", "GET", "/v1/holdings", nil)
	})
	if refusal == nil {
		t.Fatalf("%d calls in %s, none refused", admitted, elapsed)
	}
	if most := trafficMostAdmitted(burst, burst, time.Minute, elapsed); admitted < burst || admitted > most {
		t.Fatalf("%d calls admitted within %s, want %d to %d", admitted, elapsed, burst, most)
	}
	p := trafficRefused(t, refusal, http.StatusTooManyRequests, "app_paused", "holdings")
	if !strings.Contains(p.Detail, "paused until") {
		t.Fatalf("detail %q does not say until when", p.Detail)
	}
	trafficRetryAfter(t, refusal, 60)
	if refusal.BankSignature == nil {
		t.Fatal("the A2 refusal is not signed by the bank")
	}

	// Paused on its other APIs too; other apps are not.
	for _, path := range []string{"/v1/accounts", "/v1/ping", "/v1/holdings"} {
		resp := trafficCall(t, s, "demo-a2-ecdsa", "GET", path, nil)
		trafficRefused(t, resp, http.StatusTooManyRequests, "app_paused")
		trafficRetryAfter(t, resp, 60)
	}
	expect(t, trafficCall(t, s, "demo-a2-sm2", "GET", "/v1/holdings", nil), http.StatusOK, "")

	a := trafficWaitAlert(t, s, "ratelimit.pause", "demo-a2-ecdsa")
	if a.Severity != string(alert.Critical) || a.IncidentID == "" {
		t.Fatalf("pause alert %+v, want critical with an incident", a)
	}
	trafficWaitAlert(t, s, "app.notice.paused", "demo-a2-ecdsa")
}

// TestTrafficBlocksImpersonation shows the automatic blacklist (T/PCAC
// 0008-2020 6.1.2-1, 6.1.2-3, 6.1.2-4): an app presenting another app's
// user token is blocked at once, a burst of bad signatures blocks the
// source address, each with a critical alert delivered to a signed webhook,
// and the operator lifts a block through the admin API. The demo exempts
// loopback from automatic blocks; this one does not.
func TestTrafficBlocksImpersonation(t *testing.T) {
	rv, hook, keyFile := trafficWebhook(t)
	s := trafficStartDemo(t, func(cfg *config.File) {
		cfg.Blacklist.Auto.Exempt = nil
		cfg.Alerts.Notifiers = []alert.NotifierConfig{
			{Name: "log", Log: &alert.LogConfig{}},
			{Name: "soc", Webhook: &alert.WebhookConfig{URL: hook, KeyID: rv.keyID, PrivateKeyFile: keyFile, Attempts: 1}},
		}
	})
	// Both apps' tokens for the first customer, before any block.
	otherToken := s.token("demo-a2-sm2")
	expect(t, trafficCall(t, s, "demo-a2-ecdsa", "GET", "/v1/accounts", nil), http.StatusOK, "")

	t.Run("a token of another app blocks the presenting app", func(t *testing.T) {
		resp, _ := trafficRetry(t, s, func() *sdk.Response {
			return authzCall(t, s, "demo-a2-ecdsa", otherToken, "GET", "/v1/accounts", nil)
		})
		trafficRefused(t, resp, http.StatusUnauthorized, "token_invalid")
		e := trafficWaitEntry(t, s, "app", "demo-a2-ecdsa")

		// Its next call, with its own valid token, is refused, as is any
		// other call of the app.
		resp = trafficCall(t, s, "demo-a2-ecdsa", "GET", "/v1/accounts", nil)
		trafficRefused(t, resp, http.StatusForbidden, "blacklisted", "token")
		if resp.BankSignature == nil {
			t.Fatal("the refusal on an A2 API is not signed by the bank")
		}
		trafficRefused(t, trafficCall(t, s, "demo-a2-ecdsa", "GET", "/v1/ping", nil), http.StatusForbidden, "blacklisted", "token")
		// The app whose token it was is not blocked.
		expect(t, trafficCall(t, s, "demo-a2-sm2", "GET", "/v1/accounts", nil), http.StatusOK, "")

		a := trafficWaitAlert(t, s, "blacklist.auto", "app:demo-a2-ecdsa")
		if a.Severity != string(alert.Critical) || !strings.Contains(a.Detail, e.ID) {
			t.Fatalf("alert %+v, want critical naming entry %s", a, e.ID)
		}
		n := rv.waitAlert(t, "blacklist.auto", "app:demo-a2-ecdsa")
		if n.Severity != string(alert.Critical) || n.Type != "alert" {
			t.Fatalf("webhook notification %+v", n)
		}

		if code, _, b := trafficAdmin(t, s, "DELETE", "/admin/v1/blacklist/"+e.ID, nil); code != http.StatusNoContent {
			t.Fatalf("removing the entry: %d %s", code, b)
		}
		expect(t, trafficCall(t, s, "demo-a2-ecdsa", "GET", "/v1/accounts", nil), http.StatusOK, "")
		// The token presented by the wrong app reached no log.
		authzNoSecretInLogs(t, s, otherToken)
	})

	t.Run("a burst of bad signatures blocks the source address", func(t *testing.T) {
		const threshold = 20 // blacklist.auto.auth_failures default: 20 within 1m
		forger := s.client("demo-a1-hmac")
		var err error
		if forger.Signer, err = httpsig.NewSigner(forger.Signer.Alg(), []byte(strings.Repeat("not the app's secret ", 2))); err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= threshold; i++ {
			req, err := sdk.NewRequest(t.Context(), "GET", s.profile.URL("/v1/products"), nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := forger.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			checkCommon(t, resp.Response, resp.Body)
			if resp.StatusCode != http.StatusUnauthorized || problemCode(t, resp.Body) != "signature_invalid" {
				t.Fatalf("forged call %d: %d %s, want 401 signature_invalid", i, resp.StatusCode, resp.Body)
			}
		}
		// The block is stored once the 20th answer is on its way.
		e := trafficWaitEntry(t, s, "cidr", "127.0.0.1/32")

		// Every further request from the address is refused, valid or not,
		// signed or not.
		trafficRefused(t, trafficCall(t, s, "demo-a1-hmac", "GET", "/v1/products", nil), http.StatusForbidden, "blacklisted")
		trafficRefused(t, trafficCall(t, s, "demo-a2-sm2", "GET", "/v1/accounts", nil), http.StatusForbidden, "blacklisted")
		req, _ := http.NewRequest("GET", s.profile.URL("/v1/products"), nil)
		resp, body := s.raw("", req)
		if resp.StatusCode != http.StatusForbidden || problemCode(t, body) != "blacklisted" {
			t.Fatalf("unsigned request: %d %s", resp.StatusCode, body)
		}

		a := trafficWaitAlert(t, s, "blacklist.auto", "ip:127.0.0.1")
		if a.Severity != string(alert.Critical) || !strings.Contains(a.Detail, e.ID) {
			t.Fatalf("alert %+v, want critical naming entry %s", a, e.ID)
		}
		rv.waitAlert(t, "blacklist.auto", "ip:127.0.0.1")

		if code, _, b := trafficAdmin(t, s, "DELETE", "/admin/v1/blacklist/"+e.ID, nil); code != http.StatusNoContent {
			t.Fatalf("removing the entry: %d %s", code, b)
		}
		expect(t, trafficCall(t, s, "demo-a1-hmac", "GET", "/v1/products", nil), http.StatusOK, "")
	})
}

// TestTrafficRiskNoticeAndHold shows the transaction risk rules on the
// fund API (T/PCAC 0008-2020 6.2.3: real-time monitoring, large
// transactions alerted one by one; 6.2.2-4: the risk notice): a large
// transfer passes with a risk notice, a very large one is held until the
// bank confirms it, and each is alerted.
func TestTrafficRiskNoticeAndHold(t *testing.T) {
	s := startDemo(t)
	payer, from := trafficRichest(t, s.node.Sandbox.Users())
	payee := s.node.Sandbox.Users()[0]
	if payee.ID == payer.ID {
		payee = s.node.Sandbox.Users()[1]
	}
	token := authzRun(t, authzFlow(t, s, "demo-a2-ecdsa", payer), authzFunds).AccessToken
	transfer := func(t *testing.T, amount, key string) *sdk.Response {
		t.Helper()
		body := trafficTransfer(t, s, payer, from, payee, amount, "e2e 风险提示")
		resp, _ := trafficRetry(t, s, func() *sdk.Response {
			return authzCall(t, s, "demo-a2-ecdsa", token, "POST", "/v1/transfers", body, "Idempotency-Key", key)
		})
		return resp
	}
	available := authzFen(t, from.AvailableBalance)

	t.Run("a large transfer passes with a risk notice", func(t *testing.T) {
		if available < 60000_00 {
			t.Skipf("the richest transferable account holds only %s", from.AvailableBalance)
		}
		resp := transfer(t, "60000.00", "e2e-risk-notice-1")
		expect(t, resp, http.StatusCreated, "")
		if h := resp.Header.Get("Bankguard-Risk-Notice"); !slices.Contains(strings.Split(strings.ReplaceAll(h, " ", ""), ","), "large_amount") {
			t.Fatalf("Bankguard-Risk-Notice %q", h)
		}
		var body struct {
			Amount     string `json:"amount"`
			RiskNotice struct {
				Codes     []string `json:"codes"`
				MessageZH string   `json:"message_zh"`
				MessageEN string   `json:"message_en"`
			} `json:"risk_notice"`
		}
		if err := json.Unmarshal(resp.Body, &body); err != nil {
			t.Fatal(err)
		}
		n := body.RiskNotice
		if body.Amount != "60000.00" || !slices.Contains(n.Codes, "large_amount") || n.MessageZH == "" || n.MessageEN == "" {
			t.Fatalf("transfer %s", resp.Body)
		}
		if strings.Contains(string(resp.Body), "50000") || strings.Contains(string(resp.Body), "large_transfer") {
			t.Fatalf("the notice names the bank's rule or threshold: %s", resp.Body)
		}
		a := trafficWaitAlert(t, s, "risk.large_transfer", "user:")
		if a.TxnID == "" || !strings.Contains(a.Summary, "60000.00") {
			t.Fatalf("alert %+v", a)
		}
		trafficWaitAlert(t, s, "risk.first_payee", "user:")
	})

	t.Run("a very large transfer is held until the bank confirms it", func(t *testing.T) {
		const amount, key = "250000.00", "e2e-risk-hold-1"
		resp := transfer(t, amount, key)
		trafficRefused(t, resp, http.StatusAccepted, "transaction_held", "200000", "very_large_transfer")
		id := resp.Header.Get("Bankguard-Confirmation-Id")
		if id == "" || !strings.Contains(string(resp.Body), id) {
			t.Fatalf("confirmation id %q not in the header and the detail: %s", id, resp.Body)
		}
		// Resubmitted before the decision: still held, under the same id.
		again := transfer(t, amount, key)
		expect(t, again, http.StatusAccepted, "transaction_held")
		if got := again.Header.Get("Bankguard-Confirmation-Id"); got != id {
			t.Fatalf("resubmission held as %q, want %q", got, id)
		}
		a := trafficWaitAlert(t, s, "risk.very_large_transfer", "user:")
		if a.Severity != string(alert.Critical) || !strings.Contains(a.Summary, id) {
			t.Fatalf("alert %+v", a)
		}

		hold := trafficHold(t, s, id)
		if hold.Status != "pending" || hold.Amount != amount || hold.AppID != "demo-a2-ecdsa" || !strings.Contains(hold.Payee, "*") {
			t.Fatalf("hold %+v", hold)
		}
		trafficAdminJSON(t, s, "POST", "/admin/v1/holds/"+id+"/confirm", nil, http.StatusOK, &hold)
		if hold.Status != "confirmed" || hold.DecidedBy == "" {
			t.Fatalf("confirmed hold %+v", hold)
		}

		// The same transfer, its payment password sealed afresh, passes the
		// hold: the sandbox makes it if the account still holds enough.
		resp = transfer(t, amount, key)
		if available >= 60000_00+250000_00 {
			expect(t, resp, http.StatusCreated, "")
			if h := resp.Header.Get("Bankguard-Risk-Notice"); !strings.Contains(h, "large_amount") {
				t.Fatalf("Bankguard-Risk-Notice %q", h)
			}
			if hold = trafficHold(t, s, id); hold.Status != "used" {
				t.Fatalf("hold after the resubmission %+v", hold)
			}
		} else {
			expect(t, resp, http.StatusUnprocessableEntity, "insufficient_funds")
			// Not made: the confirmation is given back for another try.
			if hold = trafficHold(t, s, id); hold.Status != "confirmed" {
				t.Fatalf("hold after the declined resubmission %+v", hold)
			}
		}
		trafficWaitAlert(t, s, "risk.hold_confirmed", "user:")
	})
}

// trafficHoldView is a held transfer as the admin API lists it.
type trafficHoldView struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	AppID     string `json:"app_id"`
	Amount    string `json:"amount"`
	Payee     string `json:"payee"`
	DecidedBy string `json:"decided_by"`
}

// trafficHold returns the held transfer id from GET /admin/v1/holds.
func trafficHold(t *testing.T, s *sandbox, id string) trafficHoldView {
	t.Helper()
	var page struct {
		Holds []trafficHoldView `json:"holds"`
	}
	trafficAdminJSON(t, s, "GET", "/admin/v1/holds", nil, http.StatusOK, &page)
	for _, h := range page.Holds {
		if h.ID == id {
			return h
		}
	}
	t.Fatalf("hold %s is not listed (%d holds)", id, len(page.Holds))
	return trafficHoldView{}
}

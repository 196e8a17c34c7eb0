package waf

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bankguard/bankguard/alert"
	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/problem"
	"github.com/bankguard/bankguard/registry"
)

// The WAFs are built once: each build compiles the whole rule set.
var (
	pl1 = sync.OnceValues(func() (*Handler, error) { return quiet(New(Config{Enabled: true})) })
	pl2 = sync.OnceValues(func() (*Handler, error) { return quiet(New(Config{Enabled: true, ParanoiaLevel: 2})) })
)

// quiet drops the handler's log lines (tests that read them set their own).
func quiet(h *Handler, err error) (*Handler, error) {
	if h != nil {
		h.Log = slog.New(slog.DiscardHandler)
	}
	return h, err
}

func handler(t testing.TB, build func() (*Handler, error)) *Handler {
	t.Helper()
	h, err := build()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// request is a call as the stage sees it: the body already read by the body
// stage into the Exchange, the app verified by the signature stage.
type request struct {
	method string
	target string
	header map[string]string
	body   string
}

func (rq request) build() *http.Request {
	method := rq.method
	if method == "" {
		method = http.MethodGet
		if rq.body != "" {
			method = http.MethodPost
		}
	}
	target := rq.target
	if target == "" {
		target = "/v1/accounts/transfers"
	}
	r := httptest.NewRequest(method, target, strings.NewReader(rq.body))
	r.Host = "api.bank.example"
	r.Header.Set("User-Agent", "bankguard-sdk-go/1.0")
	r.Header.Set("Accept", "application/json")
	if rq.body != "" {
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Content-Length", strconv.Itoa(len(rq.body)))
	}
	for k, v := range rq.header {
		r.Header.Set(k, v)
	}
	ex := &stage.Exchange{
		ID:       "20261105093000000001",
		ClientIP: "203.0.113.7",
		API:      &registry.API{ID: "OPC202611050001"},
		App:      &registry.App{ID: "demo-a1-hmac"},
		Body:     []byte(rq.body),
	}
	return r.WithContext(stage.WithExchange(context.Background(), ex))
}

// serve runs the stage and reports whether it called the next stage.
func serve(h *Handler, rq request) (called bool, err error) {
	err = h.ServeHTTP(httptest.NewRecorder(), rq.build(), stage.HandlerFunc(func(http.ResponseWriter, *http.Request) error {
		called = true
		return nil
	}))
	return called, err
}

// jsonString quotes s as a JSON string.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// places puts a value where the filter must look: the query, a string
// field of a JSON body, a header CRS inspects and one it does not.
var places = []struct {
	name string
	put  func(v string) request
}{
	{"query", func(v string) request { return request{target: "/v1/accounts/transfers?memo=" + url.QueryEscape(v)} }},
	{"json_body", func(v string) request {
		return request{body: `{"amount":"100.00","payee":{"name":"李四","memo":` + jsonString(v) + `}}`}
	}},
	{"user_agent", func(v string) request { return request{header: map[string]string{"User-Agent": v}} }},
	{"custom_header", func(v string) request { return request{header: map[string]string{"X-Custom": v}} }},
}

// Injections of T/PCAC 0008-2020 3.3.2: SQL and script.
var payloads = []struct{ name, value string }{
	{"sql_tautology", `' OR '1'='1`},
	{"sql_union", `1 UNION SELECT password FROM users--`},
	{"sql_drop", `'; DROP TABLE accounts; --`},
	{"sql_comment", `admin'--`},
	{"sql_sleep", `1' AND SLEEP(5)--`},
	{"sql_benchmark", `1 AND BENCHMARK(5000000,MD5(1))`},
	{"sql_stacked", `1; DELETE FROM accounts WHERE 1=1`},
	{"script_tag", `<script>alert(1)</script>`},
	{"script_onerror", `<img src=x onerror=alert(1)>`},
	{"script_url", `javascript:alert(1)`},
	{"script_svg", `<svg/onload=alert(1)>`},
}

func TestInjectionsBlocked(t *testing.T) {
	h := handler(t, pl1)
	for _, p := range payloads {
		for _, pl := range places {
			t.Run(p.name+"/"+pl.name, func(t *testing.T) {
				called, err := serve(h, pl.put(p.value))
				if called {
					t.Fatal("the request reached the next stage")
				}
				assertBlocked(t, err, p.value)
			})
		}
	}
}

// assertBlocked checks a 403 request_blocked whose rendered body names
// neither a rule nor the payload.
func assertBlocked(t *testing.T, err error, payload string) {
	t.Helper()
	var pe *problem.Error
	if !errors.As(err, &pe) || pe.Code != problem.RequestBlocked || pe.HTTPStatus() != http.StatusForbidden {
		t.Fatalf("err = %v, want 403 request_blocked", err)
	}
	if pe.Detail != detailBlocked {
		t.Fatalf("detail = %q", pe.Detail)
	}
	w := httptest.NewRecorder()
	problem.Write(w, "20261105093000000001", err)
	body := w.Body.String()
	for _, leak := range []string{"942", "941", "949", "1010", "CRS", "coraza", "rule", payload} {
		if strings.Contains(body, leak) {
			t.Fatalf("response %s leaks %q", body, leak)
		}
	}
}

// Legitimate bank API input that must pass at paranoia level 1.
var legitimate = []struct{ name, value string }{
	{"memo_salary", "工资 2026年11月"},
	{"memo_transfer", "王小明转账给李四"},
	{"address", "北京市海淀区中关村大街1号"},
	{"memo_fullwidth", "（备注）房租“十一月”"},
	{"memo_apostrophe", "O'Brien's rent"},
	{"memo_quotes", "transfer from 'saving' to 'current'"},
	{"memo_dashes", "工资 -- 11月"},
	{"company", "Mr. Smith & Sons (Pty) Ltd."},
	{"words_sql_like", "Select Comfort Corp, Union Pay, drop-off"},
	{"amount", "1234.56"},
	{"amount_negative", "-0.01"},
	{"amount_grouped", "1,000,000.00"},
	{"rfc3339", "2026-11-05T09:30:00+08:00"},
	{"date_slash", "2026/11/05"},
	{"card_number", "6222021234567890123"},
	{"card_masked", "621999******2367"},
	{"id_card", "11010519491231002X"},
	{"phone", "+86 138-0013-8000"},
	{"api_id", "OPC202611050001"},
	{"signature_b64", "MEUCIQDx9+/abcdEFGH1234ZxyW0sT8K5m2lLz7P9q3X0QIgb4Ej8JmWq=="},
	{"sealed", "sm2:v1:bank-enc-202611:BFh3k9Qm2vXo+Y8pZ1a0L4nR7sT5uW6x/A2b3C4d5E6f7G8h9I0j=="},
	{"email", "zhang.san@example.com"},
	{"url", "https://app.example.com/callback?state=abc&x=1"},
	{"percent", "100% refund"},
}

func TestLegitimatePasses(t *testing.T) {
	h := handler(t, pl1)
	for _, l := range legitimate {
		for _, pl := range places {
			t.Run(l.name+"/"+pl.name, func(t *testing.T) {
				called, err := serve(h, pl.put(l.value))
				if err != nil || !called {
					t.Fatalf("refused: called=%v err=%v", called, err)
				}
			})
		}
	}
}

// A signed user-bound transfer as the SDK sends it: RFC 9421 signature
// headers, a digest, a bearer token, nested JSON and sealed fields.
func TestSignedTransferPasses(t *testing.T) {
	h := handler(t, pl1)
	body := `{"from_account_id":"6222021234567890123","to":{"name":"李四","account":"621999******2367",` +
		`"bank":{"name":"中国工商银行北京分行","code":"102100099996"}},"amount":"1,000,000.00","currency":"CNY",` +
		`"memo":"O'Brien's rent 2026年11月","id_card":"sm2:v1:bank-enc-202611:BFh3k9Qm2vXo+Y8pZ1a0L4nR7sT5uW6x==",` +
		`"requested_at":"2026-11-05T09:30:00+08:00","tags":["rent",{"k":"v"}],"notify":{"email":"zhang.san@example.com","url":"https://app.example.com/cb"}}`
	called, err := serve(h, request{method: http.MethodPut, body: body, header: map[string]string{
		"Signature-Input": `sig1=("@method" "@authority" "@path" "@query" "content-digest" "authorization");created=1793842200;keyid="demo-a1-hmac";nonce="a1b2c3d4e5f6g7h8i9j0"`,
		"Signature":       `sig1=:MEUCIQDx9+/abcdEFGH1234ZxyW0sT8K5m2lLz7P9q3X0QIgb4Ej8JmWq==:`,
		"Content-Digest":  `sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:`,
		"Authorization":   "Bearer eyJhbGciOiJTTTIifQ.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
		"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8",
		"Idempotency-Key": "3f2b8c1e-9d4a-4c3b-8e2f-1a2b3c4d5e6f",
		"Traceparent":     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"X-Forwarded-For": "203.0.113.7, 10.0.0.1",
	}})
	if err != nil || !called {
		t.Fatalf("refused: called=%v err=%v", called, err)
	}
	called, err = serve(h, request{body: `[{"amount":"-0.01"},{"amount":"1234.56","memo":"工资"}]`})
	if err != nil || !called {
		t.Fatalf("top-level array refused: called=%v err=%v", called, err)
	}
	form := "grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk" +
		"&redirect_uri=" + url.QueryEscape("https://app.example.com/cb?state=x")
	called, err = serve(h, request{target: "/oauth/token", body: form, header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
	if err != nil || !called {
		t.Fatalf("token request refused: called=%v err=%v", called, err)
	}
}

func TestParanoia2BlocksMore(t *testing.T) {
	probe := request{target: "/v1/accounts?q=" + url.QueryEscape("@@version")} // a MySQL version probe
	if called, err := serve(handler(t, pl1), probe); err != nil || !called {
		t.Fatalf("paranoia 1 refused: %v", err)
	}
	called, err := serve(handler(t, pl2), probe)
	if called {
		t.Fatal("paranoia 2 let it pass")
	}
	assertBlocked(t, err, "@@version")
}

// raised collects alerts.
type raised struct {
	mu     sync.Mutex
	alerts []alert.Alert
}

func (r *raised) Raise(_ context.Context, a alert.Alert) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.alerts = append(r.alerts, a)
}

func TestBlockLoggedAndAlerted(t *testing.T) {
	base := handler(t, pl1)
	var logs bytes.Buffer
	alerts := &raised{}
	at := time.Date(2026, 11, 5, 9, 30, 0, 0, time.FixedZone("CST", 8*3600))
	h := *base // the same WAF with its own log, alerts and clock
	h.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	h.Alerts = alerts
	h.Now = func() time.Time { return at }

	const payload = `1 UNION SELECT password FROM users--`
	_, err := serve(&h, places[1].put(payload))
	assertBlocked(t, err, payload)

	if len(alerts.alerts) != 1 {
		t.Fatalf("%d alerts", len(alerts.alerts))
	}
	a := alerts.alerts[0]
	if a.Rule != AlertRule || a.Severity != alert.Warning || a.Subject != "app:demo-a1-hmac" ||
		a.TxnID != "20261105093000000001" || !a.Time.Equal(at) || !strings.Contains(a.Summary, "sqli") ||
		!strings.Contains(a.Detail, "942100") || !strings.Contains(a.Detail, "json.payee.memo") {
		t.Fatalf("alert = %+v", a)
	}
	line := logs.String()
	if !strings.Contains(line, "942100") || !strings.Contains(line, `"txn_id":"20261105093000000001"`) || !strings.Contains(line, `"level":"WARN"`) {
		t.Fatalf("log = %s", line)
	}
	for _, leak := range []string{"UNION", "password", "users"} {
		if strings.Contains(line, leak) || strings.Contains(a.Summary+a.Detail, leak) {
			t.Fatalf("payload %q leaked: log %s alert %+v", leak, line, a)
		}
	}
}

func TestAttackInArgumentNameMasked(t *testing.T) {
	h := *handler(t, pl1)
	var logs bytes.Buffer
	h.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	for _, name := range []string{"x' UNION SELECT secret FROM keys--", "1--secret"} {
		logs.Reset()
		_, err := serve(&h, request{target: "/v1/accounts?" + url.QueryEscape(name) + "=1"})
		assertBlocked(t, err, "secret")
		if strings.Contains(logs.String(), "secret") || !strings.Contains(logs.String(), "ARGS_NAMES:…") {
			t.Fatalf("log = %s", logs.String())
		}
	}
}

func TestUnauthenticatedBlockNamesTheAddress(t *testing.T) {
	h := *handler(t, pl1)
	alerts := &raised{}
	h.Alerts = alerts
	r := places[0].put(`<script>alert(1)</script>`).build()
	stage.FromContext(r.Context()).App = nil
	err := h.ServeHTTP(httptest.NewRecorder(), r, stage.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil }))
	assertBlocked(t, err, "script")
	if len(alerts.alerts) != 1 || alerts.alerts[0].Subject != "ip:203.0.113.7" {
		t.Fatalf("alerts = %+v", alerts.alerts)
	}
}

func TestMalformedJSONRefused(t *testing.T) {
	called, err := serve(handler(t, pl1), request{body: `{"memo":"C:\Users"`})
	var pe *problem.Error
	if called || !errors.As(err, &pe) || pe.Code != problem.RequestInvalid || pe.Detail != detailInvalid {
		t.Fatalf("called=%v err=%v", called, err)
	}
}

func TestBodyTooLargeRefused(t *testing.T) {
	h, err := quiet(New(Config{Enabled: true, MaxBodyInspect: 64}))
	if err != nil {
		t.Fatal(err)
	}
	called, err := serve(h, request{body: `{"memo":"` + strings.Repeat("工资", 20) + `"}`})
	var pe *problem.Error
	if called || !errors.As(err, &pe) || pe.Code != problem.BodyTooLarge || pe.HTTPStatus() != http.StatusRequestEntityTooLarge {
		t.Fatalf("called=%v err=%v", called, err)
	}
	if called, err := serve(h, request{body: `{"memo":"工资"}`}); err != nil || !called {
		t.Fatalf("small body refused: %v", err)
	}
}

func TestBodiesNotInspected(t *testing.T) {
	off := false
	h, err := quiet(New(Config{Enabled: true, InspectBodies: &off, MaxBodyInspect: 16}))
	if err != nil {
		t.Fatal(err)
	}
	if called, err := serve(h, places[1].put(`' OR '1'='1`)); err != nil || !called {
		t.Fatalf("body inspected: %v", err)
	}
	_, err = serve(h, places[0].put(`' OR '1'='1`))
	assertBlocked(t, err, "OR")
}

func TestExclusionDisablesRules(t *testing.T) {
	h, err := quiet(New(Config{Enabled: true, Exclusions: []string{"941000-941999", "10102-10103"}}))
	if err != nil {
		t.Fatal(err)
	}
	if called, err := serve(h, places[0].put(`<b>bold</b><script>x</script>`)); err != nil || !called {
		t.Fatalf("excluded rules still block: %v", err)
	}
	_, err = serve(h, places[0].put(`' OR '1'='1`))
	assertBlocked(t, err, "OR")
}

func TestDisabledPasses(t *testing.T) {
	h, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if h.Enabled() {
		t.Fatal("enabled")
	}
	if called, err := serve(h, places[0].put(`' OR '1'='1`)); err != nil || !called {
		t.Fatalf("disabled filter refused: %v", err)
	}
}

// One WAF serves concurrent requests (run with -race).
func TestConcurrent(t *testing.T) {
	h := handler(t, pl1)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 8 {
				bad := (g+i)%2 == 0
				v := legitimate[i].value
				if bad {
					v = payloads[i].value
				}
				called, err := serve(h, places[i%len(places)].put(v))
				if bad == called || bad == (err == nil) {
					errs <- errors.New("wrong outcome for " + v)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestAnomalyThresholdHonoured(t *testing.T) {
	h, err := quiet(New(Config{Enabled: true, AnomalyThreshold: 100}))
	if err != nil {
		t.Fatal(err)
	}
	// One libinjection match scores 5: blocked at the default threshold
	// (TestInjectionsBlocked), passed at 100.
	if called, err := serve(h, places[0].put(`admin'--`)); err != nil || !called {
		t.Fatalf("threshold ignored: %v", err)
	}
}

// Placed before the body stage, the filter would not see the body: it
// refuses rather than pass it uninspected.
func TestBodyUnreadFailsClosed(t *testing.T) {
	r := places[1].put(`' OR '1'='1`).build()
	stage.FromContext(r.Context()).Body = nil
	called := false
	err := handler(t, pl1).ServeHTTP(httptest.NewRecorder(), r, stage.HandlerFunc(func(http.ResponseWriter, *http.Request) error {
		called = true
		return nil
	}))
	var pe *problem.Error
	if called || !errors.As(err, &pe) || pe.Code != problem.Internal || !errors.Is(err, errBodyUnread) {
		t.Fatalf("called=%v err=%v", called, err)
	}
}

// unluckyToken is a random base64url token that libinjection reads as SQL
// (a number and a comment): see exclusions.go.
const unluckyToken = "3--dSWWkOTekpYV3loHHh9R4hjW4YL8MiVsRZFBK2pP2Zw"

func tokenRequest(path, form string) request {
	return request{target: path, body: form, header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}
}

func TestOAuthTokensExcluded(t *testing.T) {
	h := handler(t, pl1)
	for _, tc := range []struct{ path, form string }{
		{"/oauth/token", "grant_type=authorization_code&code=" + unluckyToken + "&code_verifier=" + unluckyToken + "&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb"},
		{"/oauth/token", "grant_type=refresh_token&refresh_token=" + unluckyToken},
		{"/oauth/revoke", "token=" + unluckyToken},
		{"/oauth/introspect", "token=" + unluckyToken},
	} {
		if called, err := serve(h, tokenRequest(tc.path, tc.form)); err != nil || !called {
			t.Errorf("%s %s refused: %v", tc.path, tc.form, err)
		}
	}
}

// The exclusion is narrow: another path, another parameter or a value that
// is not token-shaped is still inspected by 942100.
func TestOAuthExclusionNarrow(t *testing.T) {
	h := handler(t, pl1)
	for _, rq := range []request{
		tokenRequest("/v1/payments", "code="+unluckyToken),
		tokenRequest("/oauth/token", "grant_type=authorization_code&state="+unluckyToken),
		tokenRequest("/oauth/token", "grant_type=authorization_code&code_verifier="+url.QueryEscape(`' OR '1'='1`+strings.Repeat("a", 40))),
		tokenRequest("/oauth/revoke", "token="+url.QueryEscape(`1 UNION SELECT password FROM users--`)),
		{target: "/oauth/token?code=" + unluckyToken},
		tokenRequest("/oauth/token?code="+url.QueryEscape(`' OR '1'='1`), "grant_type=authorization_code&code="+unluckyToken),
	} {
		called, err := serve(h, rq)
		if called {
			t.Errorf("%s %s passed", rq.target, rq.body)
			continue
		}
		assertBlocked(t, err, "UNION")
	}
}

// Random base64 in the signature, digest and token headers once tripped
// CRS rule 941120 (an event handler "on…=" pattern) about once in 1,500
// signed calls; those headers are inspected by the signature and token
// stages, never by the rule set.
func TestRandomSignatureHeadersPass(t *testing.T) {
	h := handler(t, pl1)
	for _, v := range []string{
		`sig=:tyfb4c/OgXZUqCjYKn7DFyXw6+4tFAS5+pIS5oNvqkU=:`,
		`sig=:ab5onYxRgjek=:`,
		`sig=:Zz+onclick0a9=:`,
	} {
		for _, header := range []string{"Signature", "Content-Digest", "Authorization"} {
			called, err := serve(h, request{header: map[string]string{header: v}})
			if err != nil || !called {
				t.Errorf("%s %q refused: %v", header, v, err)
			}
		}
	}
	// The same value in another header is still inspected.
	if called, _ := serve(h, request{header: map[string]string{"X-Custom": `<img src=x onerror=alert(1)>`}}); called {
		t.Error("a script in X-Custom passed")
	}
}

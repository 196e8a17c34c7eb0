package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bankguard/bankguard/alert"
	"github.com/bankguard/bankguard/gateway"
	"github.com/bankguard/bankguard/gateway/blacklist"
	"github.com/bankguard/bankguard/gateway/ratelimit"
	"github.com/bankguard/bankguard/gateway/waf"
	"github.com/bankguard/bankguard/metrics"
	"github.com/bankguard/bankguard/sdk"
	"github.com/bankguard/bankguard/store/memory"
)

// The benchmarks of this file measure what issue 6's controls cost the A1
// path, all in one run: metrics (T/PCAC 0008-2020 6.1.1), rate limits
// (4.1, 6.1.2-2), the injection filter (3.3.2) and the blacklist (6.1.2-3),
// each alone and together, on top of the node's default audit log and
// masking (issue 3), for a GET without a body and for a POST with a 1 KiB
// JSON body. docs/benchmarks.md ("Issue 6") reports them.

// quoteBody is the A1 POST's body: a transfer described for a fee quote,
// 1,020 bytes of JSON with Chinese names and addresses, amounts, dates, an
// e-mail address, a URL and two sealed fields. It is the document of the
// WAF's own benchmark (gateway/waf BenchmarkWAF/json_1KiB), so that the two
// can be compared.
var quoteBody = []byte(`{"from_account_id":"6222021234567890123","to":{"name":"李四","account":"6217001234567890123",` +
	`"bank":{"name":"中国工商银行北京分行海淀支行","code":"102100099996","city":"北京"}},"amount":"12345.67","currency":"CNY",` +
	`"memo":"工资 2026年11月 O'Brien's rent","purpose":"salary","requested_at":"2026-11-05T09:30:00+08:00",` +
	`"id_card":"sm2:v1:bank-enc-202611:BFh3k9Qm2vXo+Y8pZ1a0L4nR7sT5uW6xA2b3C4d5E6f7G8h9I0jK1lM2nO3pQ4rS5tU6vW7xY8zA9bC0dE1fG2hH3iJ4kL5mN6oP7qR8sT9u==",` +
	`"phone":"sm2:v1:bank-enc-202611:BAk3j4h5g6f7d8s9a0PoIuYtReWqLkJhGfDsAzXcVbNm1234567890abcdefABCDEF+/==",` +
	`"notify":{"email":"zhang.san@example.com","url":"https://app.example.com/callback?state=abc123"},` +
	`"items":[{"ref":"INV-2026-0001","amount":"10000.00"},{"ref":"INV-2026-0002","amount":"2345.67"}],` +
	`"risk":{"device_id":"3f2b8c1e-9d4a-4c3b-8e2f-1a2b3c4d5e6f","ip":"203.0.113.7","geo":"北京市海淀区中关村大街1号"},` +
	`"extra":{"channel":"mobile","version":"6.2.1","locale":"zh-CN","note":"每月固定转账，备注请勿修改"}}`)

// traffic selects issue 6's controls for a stub gateway.
type traffic struct {
	metrics, ratelimit, waf, blacklist bool
}

// trafficCases are the configurations compared: the controls off (the
// node's audit log and masking stay on), each control alone, the three
// the issue names together, and those with the blacklist, as node.Start
// runs them with the demo's configuration.
var trafficCases = []struct {
	name string
	t    traffic
}{
	{"off", traffic{}},
	{"metrics", traffic{metrics: true}},
	{"ratelimit", traffic{ratelimit: true}},
	{"waf", traffic{waf: true}},
	{"all", traffic{metrics: true, ratelimit: true, waf: true}},
	{"all+blacklist", traffic{metrics: true, ratelimit: true, waf: true, blacklist: true}},
}

// trafficRateLimits are limits a bank might set on every app, high enough
// that the benchmark never reaches them: each call is counted by two GCRA
// rates (per app, per app and API) and holds one concurrency slot (per app).
func trafficRateLimits() (ratelimit.Config, error) {
	perApp, err := ratelimit.ParseRate("1000000/1s")
	if err != nil {
		return ratelimit.Config{}, err
	}
	perAPI, err := ratelimit.ParseRate("10000000/1m")
	if err != nil {
		return ratelimit.Config{}, err
	}
	return ratelimit.Config{Rules: []ratelimit.Rule{
		{Name: "app", App: ratelimit.Wildcard, Rate: perApp},
		{Name: "app-api", App: ratelimit.Wildcard, API: ratelimit.Wildcard, Rate: perAPI},
		{Name: "app-inflight", App: ratelimit.Wildcard, Concurrency: 100000},
	}}, nil
}

// trafficParts are the controls built for one stub gateway, as node.Start
// builds them (alerts and notices dropped, logs discarded).
type trafficParts struct {
	metrics   *metrics.Metrics
	ratelimit *ratelimit.Handler
	waf       *waf.Handler
	blacklist *blacklist.Blacklist
}

// build makes the controls t selects.
func (t traffic) build(ctx context.Context) (*trafficParts, error) {
	p := &trafficParts{}
	var err error
	if t.metrics {
		if p.metrics, err = metrics.NewFromConfig(metrics.Config{}); err != nil {
			return nil, err
		}
	}
	if t.ratelimit {
		cfg, err := trafficRateLimits()
		if err != nil {
			return nil, err
		}
		if p.ratelimit, err = ratelimit.New(cfg, alert.Discard{}, ratelimit.NopNotifier{}); err != nil {
			return nil, err
		}
	}
	if t.waf {
		if p.waf, err = waf.New(waf.Config{Enabled: true, ParanoiaLevel: 1}); err != nil {
			return nil, err
		}
		p.waf.Alerts, p.waf.Log = alert.Discard{}, quietLogger()
	}
	if t.blacklist {
		if p.blacklist, err = blacklist.New(ctx, blacklist.Config{}, blacklist.Options{Alerts: alert.Discard{}}); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// apply sets the controls in the gateway's options (a newStubGateway hook).
func (p *trafficParts) apply(o *gateway.Options) error {
	o.Metrics, o.RateLimit, o.WAF, o.Blacklist = p.metrics, p.ratelimit, p.waf, p.blacklist
	return nil
}

// trafficGateway is a stub gateway with the node's audit log and masking
// (or the controls c) and the traffic controls t.
func trafficGateway(tb testing.TB, c controls, t traffic) (*gateway.Gateway, *trafficParts) {
	tb.Helper()
	env := sharedEnv(tb)
	p, err := t.build(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	gw, err := newStubGateway(env, memory.NewNonces(0, nil), c, p.apply)
	if err != nil {
		tb.Fatal(err)
	}
	return gw, p
}

// a1Call is one of the two A1 calls compared.
type a1Call struct {
	name, method, path string
	body               []byte
}

var a1Calls = []a1Call{
	{"get", http.MethodGet, A1Path, nil},
	{"post", http.MethodPost, A1PostPath, quoteBody},
}

// signedCalls returns n signed requests of call as a TLS server would hand
// them to its handler.
func signedCalls(tb testing.TB, c *sdk.Client, call a1Call, body []byte, n int) []*http.Request {
	tb.Helper()
	reqs := make([]*http.Request, n)
	for i := range reqs {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		r := httptest.NewRequest(call.method, "https://"+benchHost+call.path, rd)
		r.RequestURI = call.path
		if body != nil {
			r.Header.Set("Content-Type", "application/json")
		}
		if err := c.Sign(r); err != nil {
			tb.Fatal(err)
		}
		reqs[i] = r
	}
	return reqs
}

// BenchmarkStubTraffic is issue 6's benchmark: the A1 GET and the A1 POST
// with a 1 KiB JSON body through the gateway over the stub backend, with
// the audit log and masking on, in each configuration of trafficCases:
// "seq" one request after another, like the other Stub benchmarks (each
// request is then an audit commit of its own), and "par64" with 64
// requests in flight, like the load benchmark's 64 connections (commits
// group requests; ns/op is the inverse of throughput on this machine).
// cpu-ns/op is the process's CPU time per request.
//
// The gateways are built once, before any is measured; with -count, the
// whole matrix runs again, so that a slow period of the machine hits every
// configuration.
func BenchmarkStubTraffic(b *testing.B) {
	env := sharedEnv(b)
	gws := make([]*gateway.Gateway, len(trafficCases))
	for i, tc := range trafficCases {
		gws[i], _ = trafficGateway(b, allControls, tc.t)
	}
	for _, call := range a1Calls {
		for _, mode := range []struct {
			name  string
			conns int
		}{{"seq", 1}, {"par64", 64}} {
			for i, tc := range trafficCases {
				b.Run(call.name+"/"+mode.name+"/"+tc.name, func(b *testing.B) {
					mk := func(n int) []*http.Request { return signedCalls(b, env.A1, call, call.body, n) }
					if mode.conns == 1 {
						driveRequests(b, gws[i], mk)
					} else {
						driveConcurrentRequests(b, gws[i], mk, mode.conns)
					}
				})
			}
		}
	}
}

// TestStubTraffic checks that each configuration of BenchmarkStubTraffic
// runs the controls it names and no other: both calls pass in every one;
// with metrics the request is counted; with rate limits it carries the
// RateLimit headers; with the injection filter a body carrying SQL
// injection is refused with 403 request_blocked (and passes without it);
// with the blacklist a blocked app is refused with 403 blacklisted.
func TestStubTraffic(t *testing.T) {
	env := sharedEnv(t)
	if n := len(quoteBody); n < 900 || n > 1100 || !json.Valid(quoteBody) {
		t.Fatalf("the quote body is %d bytes, want valid JSON of about 1 KiB", n)
	}
	injected := bytes.Replace(quoteBody, []byte(`"purpose":"salary"`), []byte(`"purpose":"1' OR '1'='1' UNION SELECT password FROM users--"`), 1)
	if bytes.Equal(injected, quoteBody) || !json.Valid(injected) {
		t.Fatal("the injected body was not made")
	}
	for _, tc := range trafficCases {
		t.Run(tc.name, func(t *testing.T) {
			gw, p := trafficGateway(t, noControls, tc.t)
			serve := func(call a1Call, body []byte) *httptest.ResponseRecorder {
				w := httptest.NewRecorder()
				gw.ServeHTTP(w, signedCalls(t, env.A1, call, body, 1)[0])
				return w
			}
			for _, call := range a1Calls {
				w := serve(call, call.body)
				if w.Code != http.StatusOK {
					t.Fatalf("%s: status %d: %s", call.name, w.Code, w.Body)
				}
				if got := w.Header().Get(ratelimit.HeaderPolicy) != ""; got != tc.t.ratelimit {
					t.Errorf("%s: RateLimit-Policy present %v, want %v", call.name, got, tc.t.ratelimit)
				}
			}
			if tc.t.metrics {
				scrape := httptest.NewRecorder()
				p.metrics.Handler().ServeHTTP(scrape, httptest.NewRequest(http.MethodGet, "/metrics", nil))
				for _, id := range []string{A1APIID, A1PostAPIID} {
					want := fmt.Sprintf(`bankguard_requests_total{api=%q,app=%q,class="2xx",result="success"} 1`, id, A1App)
					if !strings.Contains(scrape.Body.String(), want) {
						t.Errorf("metrics lack %s:\n%s", want, scrape.Body)
					}
				}
			}
			w := serve(a1Calls[1], injected)
			want, code := http.StatusOK, ""
			if tc.t.waf {
				want, code = http.StatusForbidden, "request_blocked"
			}
			if w.Code != want || !strings.Contains(w.Body.String(), code) {
				t.Errorf("injected body: status %d, want %d %s: %s", w.Code, want, code, w.Body)
			}
			if tc.t.blacklist {
				if _, err := p.blacklist.List.Add(context.Background(), blacklist.Entry{Kind: blacklist.KindApp, Value: A1App, Reason: "benchmark check", Source: blacklist.SourceManual, Created: time.Now()}); err != nil {
					t.Fatal(err)
				}
				if w := serve(a1Calls[0], nil); w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "blacklisted") {
					t.Errorf("blocked app: status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}

package risk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bankguard/bankguard/alert"
	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/pii"
	"github.com/bankguard/bankguard/problem"
	"github.com/bankguard/bankguard/registry"
)

// 2026-11-26 10:00 in Beijing.
var start = time.Date(2026, 11, 26, 10, 0, 0, 0, cst)

const (
	appID    = "APP0000000001"
	otherApp = "APP0000000002"
	user     = "C100200300" // the bank's customer id: never in alerts or holds
	user2    = "C100200399"
	card     = "6222020200112233445" // a payee card: never in alerts or stores
	card2    = "6217000010001234567"
	password = "sm2:v1:bank-enc-2026:AAAA"
)

var apiTransfer = &registry.API{ID: "OPC999990202010100000001", Level: registry.A2,
	Protection: registry.Protection{Scope: "transfers", Fund: true, AccountField: "/from_account_id", Sensitive: []string{"/payment_password"}}}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// raiser records alerts.
type raiser struct {
	mu     sync.Mutex
	alerts []alert.Alert
}

func (r *raiser) Raise(_ context.Context, a alert.Alert) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.alerts = append(r.alerts, a)
}

func (r *raiser) take() []alert.Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.alerts
	r.alerts = nil
	return a
}

func (r *raiser) rules() []string {
	var out []string
	for _, a := range r.take() {
		out = append(out, a.Rule)
	}
	return out
}

func engine(t testing.TB) *pii.Engine {
	t.Helper()
	e, err := pii.NewEngine([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// env is a stage with its clock, alerts and backend.
type env struct {
	t      *testing.T
	h      *Handler
	clock  *clock
	alerts *raiser
	flags  []string
	flagMu sync.Mutex
	seq    atomic.Int64
	// backend answers the forwarded transfers; calls counts them.
	backend func(w http.ResponseWriter, r *http.Request) error
	calls   atomic.Int64
}

func newEnv(t *testing.T, rules ...Rule) *env {
	return newEnvConfig(t, Config{Enabled: true, Rules: rules})
}

func newEnvConfig(t *testing.T, cfg Config) *env {
	t.Helper()
	e := &env{t: t, clock: &clock{t: start}, alerts: &raiser{}}
	h, err := New(cfg, Options{Pseudonyms: engine(t), Alerts: e.alerts, Now: e.clock.Now, RiskFlag: func(rule string) {
		e.flagMu.Lock()
		e.flags = append(e.flags, rule)
		e.flagMu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	e.h = h
	e.backend = created
	return e
}

// created is a backend that makes the transfer.
func created(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_, err := w.Write([]byte(`{"id":"TR0001","status":"completed","amount":"1.00","memo":"<房租>"}`))
	return err
}

// call is one request to the stage.
type call struct {
	body    string
	user    string
	app     string
	idemKey string
	api     *registry.API
	// mutate changes the exchange before the stage sees it.
	mutate func(*stage.Exchange)
}

// result is what the app got: the stage's response or its error rendered
// as the edge would.
type result struct {
	w      *httptest.ResponseRecorder
	err    error
	called bool
}

func (r result) code() problem.Code {
	var doc struct {
		Code problem.Code `json:"code"`
	}
	_ = json.Unmarshal(r.w.Body.Bytes(), &doc)
	return doc.Code
}

func transferBody(amount, payee string) string {
	return fmt.Sprintf(`{"from_account_id":"AC1000000001","to_card_number":%q,"to_name":"张三","amount":%q,"payment_password":%q}`, payee, amount, password)
}

func (e *env) do(c call) result {
	e.t.Helper()
	if c.user == "" {
		c.user = user
	}
	if c.app == "" {
		c.app = appID
	}
	if c.api == nil {
		c.api = apiTransfer
	}
	ex := &stage.Exchange{ID: fmt.Sprintf("TXN%06d", e.seq.Add(1)), API: c.api, App: &registry.App{ID: c.app}, User: c.user, Body: []byte(c.body)}
	if c.mutate != nil {
		c.mutate(ex)
	}
	r := httptest.NewRequest(http.MethodPost, "/v1/transfers", strings.NewReader(c.body))
	if c.idemKey != "" {
		r.Header.Set("Idempotency-Key", c.idemKey)
	}
	r = r.WithContext(stage.WithExchange(context.Background(), ex))
	w := httptest.NewRecorder()
	called := false
	err := e.h.ServeHTTP(w, r, stage.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		called = true
		e.calls.Add(1)
		return e.backend(w, r)
	}))
	if err != nil && w.Code == http.StatusOK && w.Body.Len() == 0 {
		problem.Write(w, ex.ID, err)
	}
	return result{w: w, err: err, called: called}
}

// transfer sends a transfer of amount to payee for user.
func (e *env) transfer(amount, payee string) result {
	e.t.Helper()
	return e.do(call{body: transferBody(amount, payee)})
}

// wantPass checks that the transfer reached the backend and was answered 2xx.
func wantPass(t *testing.T, r result) {
	t.Helper()
	if r.err != nil || !r.called || r.w.Code/100 != 2 {
		t.Fatalf("want pass: status %d, called %v, err %v, body %s", r.w.Code, r.called, r.err, r.w.Body)
	}
}

// wantRefused checks the status and code and that the backend was not called.
func wantRefused(t *testing.T, r result, status int, code problem.Code) {
	t.Helper()
	if r.called {
		t.Fatalf("the backend was called; status %d", r.w.Code)
	}
	if r.w.Code != status || r.code() != code {
		t.Fatalf("got %d %q, want %d %q; body %s", r.w.Code, r.code(), status, code, r.w.Body)
	}
}

// noPersonalData fails if an alert names the raw user or card.
func noPersonalData(t *testing.T, alerts []alert.Alert) {
	t.Helper()
	for _, a := range alerts {
		text := strings.Join([]string{a.Rule, a.Subject, a.Summary, a.Detail, a.TxnID}, "|")
		for _, secret := range []string{user, user2, card, card2, card[len(card)-8:]} {
			if strings.Contains(text, secret) {
				t.Fatalf("alert names %q: %s", secret, text)
			}
		}
		if !strings.HasPrefix(a.Subject, "user:psn_") && !strings.HasPrefix(a.Subject, "api:") {
			t.Fatalf("alert subject %q is not a pseudonym", a.Subject)
		}
	}
}

// failingCounters is a Counters whose every call fails.
type failingCounters struct{}

var errDown = errors.New("redis: dial tcp 10.0.0.7:6379: connection refused")

func (failingCounters) AddAmount(context.Context, string, int64, time.Time) (int64, error) {
	return 0, errDown
}
func (failingCounters) AddEvent(context.Context, string, string, time.Time, time.Duration) ([]time.Time, error) {
	return nil, errDown
}
func (failingCounters) RemoveEvent(context.Context, string, string) error { return errDown }
func (failingCounters) Seen(context.Context, string) (bool, error)        { return false, errDown }
func (failingCounters) Remember(context.Context, string, time.Time) error { return errDown }

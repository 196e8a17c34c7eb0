package risk

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bankguard/bankguard/alert"
	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/problem"
	"github.com/bankguard/bankguard/registry"
)

func large(action Action) Rule {
	return Rule{Name: "large", Kind: SingleAmount, Threshold: "50000", Action: action}
}

func TestSingleAmountAlert(t *testing.T) {
	e := newEnv(t, large(ActionAlert))
	wantPass(t, e.transfer("49999.99", card))
	if a := e.alerts.take(); len(a) != 0 {
		t.Fatalf("below the threshold: alerts %v", a)
	}
	r := e.transfer("50000.00", card)
	wantPass(t, r)
	if r.w.Header().Get(HeaderRiskNotice) != "" {
		t.Fatal("an alert rule added a notice")
	}
	alerts := e.alerts.take()
	if len(alerts) != 1 {
		t.Fatalf("alerts = %v", alerts)
	}
	a := alerts[0]
	if a.Rule != "risk.large" || a.Severity != alert.Warning || a.TxnID == "" || !strings.Contains(a.Summary, "50000.00") {
		t.Fatalf("alert = %+v", a)
	}
	if want := "user:" + engine(t).Pseudonym("account", user); a.Subject != want {
		t.Fatalf("subject %q, want the audit pseudonym %q", a.Subject, want)
	}
	noPersonalData(t, alerts)
	if !slices.Equal(e.flags, []string{"large"}) {
		t.Fatalf("RiskFlag calls = %v", e.flags)
	}
}

func TestSingleAmountNotice(t *testing.T) {
	e := newEnv(t, large(ActionNotice))
	r := e.transfer("80000", card)
	wantPass(t, r)
	if got := r.w.Header().Get(HeaderRiskNotice); got != CodeLargeAmount {
		t.Fatalf("%s = %q", HeaderRiskNotice, got)
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(r.w.Body.Bytes(), &body); err != nil {
		t.Fatalf("the response is no longer JSON: %v: %s", err, r.w.Body)
	}
	if string(body["id"]) != `"TR0001"` || string(body["memo"]) != `"<房租>"` {
		t.Fatalf("the backend's members changed: %s", r.w.Body)
	}
	var n Notice
	if err := json.Unmarshal(body[NoticeMember], &n); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(n.Codes, []string{CodeLargeAmount}) || !strings.Contains(n.MessageZH, "金额较大") || !strings.Contains(n.MessageEN, "large transfer") {
		t.Fatalf("notice = %+v", n)
	}
	if r.w.Code != http.StatusCreated || r.w.Header().Get("Content-Length") != "" && r.w.Header().Get("Content-Length") != itoa(r.w.Body.Len()) {
		t.Fatalf("status %d, Content-Length %q for %d bytes", r.w.Code, r.w.Header().Get("Content-Length"), r.w.Body.Len())
	}
	if a := e.alerts.take(); len(a) != 1 || a[0].Rule != "risk.large" {
		t.Fatalf("alerts = %v", a)
	}
}

func TestSingleAmountReject(t *testing.T) {
	e := newEnv(t, large(ActionReject))
	r := e.transfer("50000.01", card)
	wantRefused(t, r, http.StatusForbidden, problem.TransactionRejected)
	if body := r.w.Body.String(); strings.Contains(body, "large") || strings.Contains(body, "50000") {
		t.Fatalf("the refusal names the rule or its threshold: %s", body)
	}
	alerts := e.alerts.take()
	if len(alerts) != 1 || !strings.Contains(alerts[0].Summary, "refused") {
		t.Fatalf("alerts = %v", alerts)
	}
	noPersonalData(t, alerts)
	wantPass(t, e.transfer("100", card))
}

func TestSingleAmountHold(t *testing.T) {
	e := newEnv(t, large(ActionHold))
	r := e.transfer("60000", card)
	wantRefused(t, r, http.StatusAccepted, problem.TransactionHeld)
	id := r.w.Header().Get(HeaderConfirmationID)
	var doc struct {
		Status    int    `json:"status"`
		Detail    string `json:"detail"`
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal(r.w.Body.Bytes(), &doc); err != nil || !strings.HasPrefix(id, "hold_") || len(id) != 31 ||
		doc.Status != 202 || !strings.Contains(doc.Detail, id) || doc.RequestID == "" {
		t.Fatalf("held response: header %q, body %s (%v)", id, r.w.Body, err)
	}
	if ct := r.w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q", ct)
	}
	if strings.Contains(doc.Detail, "large") || strings.Contains(doc.Detail, "50000") {
		t.Fatalf("the detail names the rule: %q", doc.Detail)
	}
	if a := e.alerts.take(); len(a) != 1 || !strings.Contains(a[0].Summary, id) {
		t.Fatalf("alerts = %v", a)
	}
}

func TestDailyUser(t *testing.T) {
	e := newEnv(t, Rule{Name: "user_day", Kind: DailyUser, Threshold: "1000", Action: ActionReject})
	wantPass(t, e.transfer("600", card))
	// A transfer the backend refuses does not count.
	e.backend = func(w http.ResponseWriter, r *http.Request) error {
		w.WriteHeader(http.StatusUnprocessableEntity)
		return nil
	}
	if r := e.transfer("399.99", card); r.w.Code != http.StatusUnprocessableEntity {
		t.Fatalf("status %d", r.w.Code)
	}
	e.backend = created
	wantPass(t, e.transfer("399.99", card))
	// 999.99 so far: one more fen makes 1000.00.
	wantRefused(t, e.transfer("0.01", card), http.StatusForbidden, problem.TransactionRejected)
	// A refused transfer does not count either.
	wantRefused(t, e.transfer("0.01", card), http.StatusForbidden, problem.TransactionRejected)
	wantPass(t, e.transfer("0", card))
	// Another user has a day of their own.
	wantPass(t, e.do(call{body: transferBody("999.99", card), user: user2}))
	alerts := e.alerts.take()
	if len(alerts) != 2 || alerts[0].Rule != "risk.user_day" || !strings.Contains(alerts[0].Detail, "1000.00") {
		t.Fatalf("alerts = %v", alerts)
	}
	noPersonalData(t, alerts)
}

func TestDailyResetsAtMidnightInBeijing(t *testing.T) {
	e := newEnv(t, Rule{Name: "user_day", Kind: DailyUser, Threshold: "1000", Action: ActionReject})
	e.clock.Set(time.Date(2026, 11, 26, 23, 59, 59, 0, cst))
	wantPass(t, e.transfer("999", card))
	wantRefused(t, e.transfer("1", card), http.StatusForbidden, problem.TransactionRejected)
	// 16:00 UTC is midnight in Beijing: a new day, though not in UTC.
	e.clock.Set(time.Date(2026, 11, 26, 16, 0, 0, 0, time.UTC))
	wantPass(t, e.transfer("999", card))
	wantRefused(t, e.transfer("1", card), http.StatusForbidden, problem.TransactionRejected)
}

func TestDailyApp(t *testing.T) {
	e := newEnv(t, Rule{Name: "app_day", Kind: DailyApp, Threshold: "1000", Action: ActionNotice})
	wantPass(t, e.do(call{body: transferBody("500", card), user: user}))
	r := e.do(call{body: transferBody("500", card), user: user2})
	wantPass(t, r)
	if r.w.Header().Get(HeaderRiskNotice) != CodeElevatedRisk {
		t.Fatalf("notice %q", r.w.Header().Get(HeaderRiskNotice))
	}
	// Another app's day is its own.
	r = e.do(call{body: transferBody("500", card), app: otherApp})
	if r.w.Header().Get(HeaderRiskNotice) != "" {
		t.Fatal("another app's total counted")
	}
}

func TestVelocity(t *testing.T) {
	e := newEnv(t, Rule{Name: "burst", Kind: Velocity, Count: 3, Window: 10 * time.Minute, Action: ActionReject})
	for i := 0; i < 3; i++ {
		wantPass(t, e.transfer("10", card))
		e.clock.Advance(time.Minute)
	}
	wantRefused(t, e.transfer("10", card), http.StatusForbidden, problem.TransactionRejected)
	// Refused transfers do not count: at 10 minutes after the first, it
	// has left the window and one more fits.
	e.clock.Set(start.Add(10 * time.Minute))
	wantPass(t, e.transfer("10", card))
	wantRefused(t, e.transfer("10", card), http.StatusForbidden, problem.TransactionRejected)
	// Another user is not slowed down.
	wantPass(t, e.do(call{body: transferBody("10", card), user: user2}))
	alerts := e.alerts.take()
	if len(alerts) != 2 || !strings.Contains(alerts[0].Detail, "4 transfers") {
		t.Fatalf("alerts = %v", alerts)
	}
	noPersonalData(t, alerts)
}

func TestNewPayeeOnlyFirstTime(t *testing.T) {
	e := newEnv(t, Rule{Name: "first_payee", Kind: NewPayee, Action: ActionNotice})
	r := e.transfer("10", card)
	if r.w.Header().Get(HeaderRiskNotice) != CodeNewPayee {
		t.Fatalf("first transfer: notice %q", r.w.Header().Get(HeaderRiskNotice))
	}
	// The same card written with spaces is the same payee.
	spaced := card[:4] + " " + card[4:8] + " " + card[8:]
	if r := e.transfer("10", spaced); r.w.Header().Get(HeaderRiskNotice) != "" {
		t.Fatal("second transfer to the payee flagged")
	}
	if r := e.transfer("10", card2); r.w.Header().Get(HeaderRiskNotice) != CodeNewPayee {
		t.Fatal("another payee not flagged")
	}
	// Per user: the payee is new to another user.
	if r := e.do(call{body: transferBody("10", card), user: user2}); r.w.Header().Get(HeaderRiskNotice) != CodeNewPayee {
		t.Fatal("the payee of another user counted")
	}
	alerts := e.alerts.take()
	if len(alerts) != 3 {
		t.Fatalf("alerts = %v", alerts)
	}
	noPersonalData(t, alerts)
}

func TestNewPayeeNotLearnedFromFailedTransfer(t *testing.T) {
	e := newEnv(t, Rule{Name: "first_payee", Kind: NewPayee, Action: ActionAlert})
	e.backend = func(w http.ResponseWriter, r *http.Request) error {
		w.WriteHeader(http.StatusUnprocessableEntity)
		return nil
	}
	e.transfer("10", card)
	e.backend = created
	e.transfer("10", card)
	e.transfer("10", card)
	if got := e.alerts.rules(); len(got) != 2 {
		t.Fatalf("alerts = %v: want the refused one and the first made one", got)
	}
}

func TestStrongestActionWinsAndAllAreAlerted(t *testing.T) {
	e := newEnv(t,
		Rule{Name: "first_payee", Kind: NewPayee, Action: ActionNotice},
		Rule{Name: "large_alert", Kind: SingleAmount, Threshold: "1000", Action: ActionAlert},
		Rule{Name: "large_hold", Kind: SingleAmount, Threshold: "5000", Action: ActionHold},
		Rule{Name: "huge", Kind: SingleAmount, Threshold: "100000", Action: ActionReject, Severity: alert.Critical},
	)
	r := e.transfer("2000", card)
	wantPass(t, r)
	if r.w.Header().Get(HeaderRiskNotice) != CodeNewPayee {
		t.Fatalf("notice %q", r.w.Header().Get(HeaderRiskNotice))
	}
	if got := e.alerts.rules(); !slices.Equal(got, []string{"risk.first_payee", "risk.large_alert"}) {
		t.Fatalf("alerts = %v", got)
	}
	wantRefused(t, e.transfer("6000", card2), http.StatusAccepted, problem.TransactionHeld)
	if got := e.alerts.rules(); len(got) != 3 {
		t.Fatalf("alerts = %v", got)
	}
	wantRefused(t, e.transfer("200000", card2), http.StatusForbidden, problem.TransactionRejected)
	alerts := e.alerts.take()
	if len(alerts) != 4 || alerts[3].Severity != alert.Critical {
		t.Fatalf("alerts = %v", alerts)
	}
	for _, a := range alerts {
		if !strings.Contains(a.Summary, "refused") {
			t.Fatalf("alert %q does not say the transfer was refused", a.Summary)
		}
	}
}

func TestNoticeCombinesCodes(t *testing.T) {
	e := newEnv(t,
		Rule{Name: "large", Kind: SingleAmount, Threshold: "1000", Action: ActionNotice, MessageZH: "大额转账提示。", MessageEN: "Large."},
		Rule{Name: "larger", Kind: SingleAmount, Threshold: "2000", Action: ActionNotice},
		Rule{Name: "first_payee", Kind: NewPayee, Action: ActionNotice},
	)
	r := e.transfer("3000", card)
	if got := r.w.Header().Get(HeaderRiskNotice); got != "large_amount, new_payee" {
		t.Fatalf("header %q", got)
	}
	var body struct {
		Notice Notice `json:"risk_notice"`
	}
	if err := json.Unmarshal(r.w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if body.Notice.MessageZH != "大额转账提示。"+defaultText[CodeNewPayee].zh || !strings.HasPrefix(body.Notice.MessageEN, "Large. This is your first") {
		t.Fatalf("notice = %+v", body.Notice)
	}
}

func TestNoticeOnlyOnSuccess(t *testing.T) {
	e := newEnv(t, large(ActionNotice))
	e.backend = func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		_, err := w.Write([]byte(`{"code":"insufficient_funds"}`))
		return err
	}
	r := e.transfer("60000", card)
	if r.w.Code != http.StatusUnprocessableEntity || r.w.Header().Get(HeaderRiskNotice) != "" || strings.Contains(r.w.Body.String(), NoticeMember) {
		t.Fatalf("a transfer not made got a notice: %d %v %s", r.w.Code, r.w.Header(), r.w.Body)
	}
}

func TestNoticeOnBodiesThatAreNotObjects(t *testing.T) {
	for _, tt := range []struct{ name, ct, body, want string }{
		{"array", "application/json", `[1,2]`, `[1,2]`},
		{"empty", "application/json", ``, ``},
		{"text", "text/plain", `ok`, `ok`},
		{"broken", "application/json", `{"a":`, `{"a":`},
		{"backend's own notice replaced", "application/json", `{"Risk_Notice":"x","a":1}`, `{"a":1,"risk_notice":`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, large(ActionNotice))
			e.backend = func(w http.ResponseWriter, r *http.Request) error {
				w.Header().Set("Content-Type", tt.ct)
				_, err := w.Write([]byte(tt.body))
				return err
			}
			r := e.transfer("60000", card)
			wantPass(t, r)
			if r.w.Header().Get(HeaderRiskNotice) != CodeLargeAmount || !strings.HasPrefix(r.w.Body.String(), tt.want) {
				t.Fatalf("header %q, body %s", r.w.Header().Get(HeaderRiskNotice), r.w.Body)
			}
			if tt.name != "broken" && tt.ct == "application/json" && tt.body != "" && !json.Valid(r.w.Body.Bytes()) {
				t.Fatalf("invalid JSON: %s", r.w.Body)
			}
		})
	}
}

func TestUnreadableTransfersAreRefused(t *testing.T) {
	e := newEnv(t, Rule{Name: "first_payee", Kind: NewPayee, Action: ActionAlert}, large(ActionAlert))
	for _, tt := range []struct{ name, body string }{
		{"no amount", `{"to_card_number":"` + card + `"}`},
		{"amount null", `{"amount":null,"to_card_number":"` + card + `"}`},
		{"three decimals", transferBody("1.001", card)},
		{"negative", transferBody("-5", card)},
		{"exponent number", `{"amount":5e4,"to_card_number":"` + card + `"}`},
		{"amount twice", `{"amount":"1","AMOUNT":"90000","to_card_number":"` + card + `"}`},
		{"no payee", `{"amount":"1"}`},
		{"payee a number", `{"amount":"1","to_card_number":6222020200112233445}`},
		{"payee blank", transferBody("1", "  ")},
		{"payee punctuation", transferBody("1", "--- ---")},
		{"not json", `amount=1`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(call{body: tt.body})
			wantRefused(t, r, http.StatusBadRequest, problem.RequestInvalid)
			if strings.Contains(r.w.Body.String(), card) {
				t.Fatal("the refusal echoes the card")
			}
		})
	}
	// With a hold rule, the whole body must name each member once: it is
	// what recognizes a resubmitted transfer.
	held := newEnv(t, large(ActionHold))
	wantRefused(t, held.do(call{body: `{"amount":"1","to_card_number":"` + card + `","memo":"a","memo":"b"}`}),
		http.StatusBadRequest, problem.RequestInvalid)
	// A JSON number written as a plain decimal is an amount.
	wantPass(t, e.do(call{body: `{"amount":12.5,"to_card_number":"` + card + `"}`}))
}

func TestPayeeNotNeededWithoutNewPayeeRule(t *testing.T) {
	e := newEnv(t, large(ActionAlert))
	wantPass(t, e.do(call{body: `{"amount":"1"}`}))
}

func TestStateUnreachableFailsClosed(t *testing.T) {
	ra := &raiser{}
	h, err := New(Config{Enabled: true, Rules: []Rule{{Name: "user_day", Kind: DailyUser, Threshold: "1000", Action: ActionAlert}}},
		Options{Pseudonyms: engine(t), Alerts: ra, Counters: failingCounters{}})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	e.h, e.alerts = h, ra
	r := e.transfer("1", card)
	wantRefused(t, r, http.StatusServiceUnavailable, problem.Internal)
	if strings.Contains(r.w.Body.String(), "10.0.0.7") {
		t.Fatalf("the refusal leaks the cause: %s", r.w.Body)
	}
	alerts := ra.take()
	if len(alerts) == 0 || alerts[0].Rule != RuleUnavailable || alerts[0].Severity != alert.Critical || strings.Contains(alerts[0].Summary, "10.0.0.7") {
		t.Fatalf("alerts = %+v", alerts)
	}
}

func TestWithoutAppOrUserFailsClosed(t *testing.T) {
	e := newEnv(t, large(ActionAlert))
	// Exchanges without a user or an app, as if usertoken had not run.
	r := e.do(call{body: transferBody("1", card), mutate: func(ex *stage.Exchange) { ex.User = "" }})
	wantRefused(t, r, http.StatusServiceUnavailable, problem.Internal)
	r = e.do(call{body: transferBody("1", card), mutate: func(ex *stage.Exchange) { ex.App = nil }})
	wantRefused(t, r, http.StatusServiceUnavailable, problem.Internal)
}

func TestOtherAPIsAndDisabledPassUnassessed(t *testing.T) {
	e := newEnv(t, large(ActionReject))
	read := &registry.API{ID: "OPC999990201010100000002", Level: registry.A2, Protection: registry.Protection{Scope: "accounts"}}
	wantPass(t, e.do(call{body: transferBody("90000", card), api: read}))
	off := newEnvConfig(t, Config{Enabled: false, Rules: []Rule{large(ActionReject)}})
	wantPass(t, off.transfer("90000", card))
	wantPass(t, off.do(call{body: "not even json"}))
}

// TestConcurrentDailyTotalIsExact: transfers racing past a reject threshold
// never let the day's total reach it.
func TestConcurrentDailyTotalIsExact(t *testing.T) {
	e := newEnv(t, Rule{Name: "user_day", Kind: DailyUser, Threshold: "1000", Action: ActionReject})
	var wg sync.WaitGroup
	var mu sync.Mutex
	passed := 0
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.transfer("100", card)
			if r.called {
				mu.Lock()
				passed++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if passed > 9 || passed == 0 {
		t.Fatalf("%d transfers of 100.00 passed a 1000.00 limit", passed)
	}
	// Whatever raced, the total is what passed: the rest fits exactly.
	left := 9 - passed
	for i := 0; i < left; i++ {
		wantPass(t, e.transfer("100", card))
	}
	wantRefused(t, e.transfer("100", card), http.StatusForbidden, problem.TransactionRejected)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// brokenHolds is a HoldStore that cannot store.
type brokenHolds struct{ *MemoryHolds }

func (brokenHolds) Create(context.Context, Hold) error { return errDown }

func TestHoldStoreUnreachableFailsClosed(t *testing.T) {
	ra := &raiser{}
	h, err := New(Config{Enabled: true, Rules: []Rule{large(ActionHold)}},
		Options{Pseudonyms: engine(t), Alerts: ra, Holds: brokenHolds{NewMemoryHolds(nil)}}) // and no RiskFlag
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	e.h, e.alerts = h, ra
	wantRefused(t, e.transfer("60000", card), http.StatusServiceUnavailable, problem.Internal)
	if got := ra.rules(); !slices.Contains(got, RuleUnavailable) {
		t.Fatalf("alerts = %v", got)
	}
	// Nothing was reserved for the refused transfer: below the threshold,
	// transfers pass.
	wantPass(t, e.transfer("10", card))
}

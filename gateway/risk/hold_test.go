package risk

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bankguard/bankguard/alert"
	"github.com/bankguard/bankguard/problem"
)

// admin serves the admin routes the way the gateway's guard does, with
// operator "ops-alice".
func (e *env) admin(method, path string) *httptest.ResponseRecorder {
	e.t.Helper()
	mux := http.NewServeMux()
	for pattern, fn := range e.h.Admin().Routes() {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			if _, err := fn(w, r); err != nil {
				problem.Write(w, "", err)
			}
		})
	}
	r := httptest.NewRequest(method, path, nil)
	r.TLS = &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{{Subject: pkix.Name{CommonName: "ops-alice"}}}}}
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	return w
}

func (e *env) holds(query string) []Hold {
	e.t.Helper()
	w := e.admin("GET", "/admin/v1/holds"+query)
	var out struct {
		Holds []Hold `json:"holds"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || w.Code != 200 {
		e.t.Fatalf("list: %d %s", w.Code, w.Body)
	}
	return out.Holds
}

// holdTransfer sends a transfer the hold rule catches, with a password
// sealed afresh each time, as apps must.
func (e *env) holdTransfer(amount, payee, key string, seal string) result {
	e.t.Helper()
	body := strings.Replace(transferBody(amount, payee), password, "sm2:v1:bank-enc-2026:"+seal, 1)
	return e.do(call{body: body, idemKey: key})
}

func heldID(t *testing.T, r result) string {
	t.Helper()
	wantRefused(t, r, http.StatusAccepted, problem.TransactionHeld)
	return r.w.Header().Get(HeaderConfirmationID)
}

func TestHoldConfirmResubmit(t *testing.T) {
	e := newEnv(t, large(ActionHold), Rule{Name: "first_payee", Kind: NewPayee, Action: ActionNotice})
	id := heldID(t, e.holdTransfer("60000", card, "k-1", "AAAA"))

	// Listed for the operators, with no raw personal data.
	hs := e.holds("?status=pending")
	if len(hs) != 1 || hs[0].ID != id || hs[0].Amount != "60000.00" || hs[0].Payee != "622202*********3445" || hs[0].AppID != appID {
		t.Fatalf("holds = %+v", hs)
	}
	if raw, _ := json.Marshal(hs); strings.Contains(string(raw), user) || strings.Contains(string(raw), card) {
		t.Fatalf("the hold holds raw personal data: %s", raw)
	}
	// Resubmitted before the decision: the same hold, nothing forwarded.
	e.clock.Advance(time.Minute)
	if again := heldID(t, e.holdTransfer("60000", card, "k-1", "BBBB")); again != id {
		t.Fatalf("resubmission held as %s, not %s", again, id)
	}

	w := e.admin("POST", "/admin/v1/holds/"+id+"/confirm")
	var h Hold
	if err := json.Unmarshal(w.Body.Bytes(), &h); err != nil || w.Code != 200 || h.Status != HoldConfirmed || h.DecidedBy != "ops-alice" {
		t.Fatalf("confirm: %d %s", w.Code, w.Body)
	}
	if !h.ResubmitBy.Equal(e.clock.Now().Add(DefaultResubmitWindow)) {
		t.Fatalf("resubmit by %v", h.ResubmitBy)
	}
	e.alerts.take()

	// Another transfer (another amount, or another key) is not confirmed.
	heldID(t, e.holdTransfer("60001", card, "k-1", "CCCC"))
	heldID(t, e.holdTransfer("60000", card, "k-2", "CCCC"))
	// The same transfer, sealed afresh, passes within the window: the
	// hold rule is satisfied, the other rules still apply.
	e.clock.Advance(14 * time.Minute)
	r := e.holdTransfer("60000", card, "k-1", "DDDD")
	wantPass(t, r)
	if r.w.Header().Get(HeaderRiskNotice) != CodeNewPayee {
		t.Fatalf("notice %q", r.w.Header().Get(HeaderRiskNotice))
	}
	found := false
	for _, a := range e.alerts.take() {
		found = found || a.Rule == "risk.large" && strings.Contains(a.Summary, "confirmed as "+id)
	}
	if !found {
		t.Fatal("the released transfer was not alerted")
	}
	// The confirmation is used once.
	if again := heldID(t, e.holdTransfer("60000", card, "k-1", "EEEE")); again == id {
		t.Fatal("a used confirmation let a second transfer through")
	}
	if hs := e.holds("?status=used"); len(hs) != 1 || hs[0].ID != id || hs[0].UsedBy == "" {
		t.Fatalf("used holds = %+v", hs)
	}
}

func TestHoldReject(t *testing.T) {
	e := newEnv(t, large(ActionHold))
	id := heldID(t, e.holdTransfer("60000", card, "k-1", "AAAA"))
	if w := e.admin("POST", "/admin/v1/holds/"+id+"/reject"); w.Code != 200 {
		t.Fatalf("reject: %d %s", w.Code, w.Body)
	}
	if a := e.alerts.take(); a[len(a)-1].Rule != "risk.hold_rejected" || a[len(a)-1].Severity != alert.Info {
		t.Fatalf("alerts = %v", a)
	}
	wantRefused(t, e.holdTransfer("60000", card, "k-1", "BBBB"), http.StatusForbidden, problem.TransactionRejected)
	// Decided once only.
	w := e.admin("POST", "/admin/v1/holds/"+id+"/confirm")
	var doc struct{ Code problem.Code }
	_ = json.Unmarshal(w.Body.Bytes(), &doc)
	if w.Code != http.StatusConflict || doc.Code != problem.RequestInvalid {
		t.Fatalf("confirm after reject: %d %s", w.Code, w.Body)
	}
}

func TestHoldExpiry(t *testing.T) {
	e := newEnv(t, large(ActionHold))
	id := heldID(t, e.holdTransfer("60000", card, "k-1", "AAAA"))
	e.clock.Advance(DefaultHoldExpiry)
	if w := e.admin("POST", "/admin/v1/holds/"+id+"/confirm"); w.Code != http.StatusConflict {
		t.Fatalf("confirming an expired hold: %d %s", w.Code, w.Body)
	}
	if hs := e.holds("?status=expired"); len(hs) != 1 {
		t.Fatalf("expired = %+v", hs)
	}
	// Confirmed, but resubmitted too late: held anew.
	id = heldID(t, e.holdTransfer("60000", card, "k-1", "BBBB"))
	e.admin("POST", "/admin/v1/holds/"+id+"/confirm")
	e.clock.Advance(DefaultResubmitWindow)
	if again := heldID(t, e.holdTransfer("60000", card, "k-1", "CCCC")); again == id {
		t.Fatal("a confirmation past its window was used")
	}
}

func TestHoldConfirmationKeptWhenBackendFails(t *testing.T) {
	e := newEnv(t, large(ActionHold))
	id := heldID(t, e.holdTransfer("60000", card, "k-1", "AAAA"))
	e.admin("POST", "/admin/v1/holds/"+id+"/confirm")
	e.backend = func(w http.ResponseWriter, r *http.Request) error {
		w.WriteHeader(http.StatusServiceUnavailable)
		return nil
	}
	if r := e.holdTransfer("60000", card, "k-1", "BBBB"); !r.called || r.w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d", r.w.Code)
	}
	e.backend = created
	wantPass(t, e.holdTransfer("60000", card, "k-1", "CCCC"))
}

func TestHoldAdminErrors(t *testing.T) {
	e := newEnv(t, large(ActionHold))
	if w := e.admin("POST", "/admin/v1/holds/hold_nope/confirm"); w.Code != http.StatusNotFound {
		t.Fatalf("unknown hold: %d", w.Code)
	}
	if w := e.admin("GET", "/admin/v1/holds?status=bogus"); w.Code != http.StatusBadRequest {
		t.Fatalf("bad filter: %d", w.Code)
	}
	if hs := e.holds(""); len(hs) != 0 {
		t.Fatalf("holds = %v", hs)
	}
}

package e2e

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bankguard/bankguard/audit"
	"github.com/bankguard/bankguard/pii"
	"github.com/bankguard/bankguard/sdk"
)

// adminClient talks to the admin API with the operator certificate (or none).
func (s *sandbox) adminClient(withCert bool) *http.Client {
	s.t.Helper()
	cfg := s.tlsConfig("")
	if withCert {
		cert, err := tls.LoadX509KeyPair(s.file("pki/admin.pem"), s.file("pki/admin-key.pem"))
		if err != nil {
			s.t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
}

func (s *sandbox) setStatus(t *testing.T, hc *http.Client, app, status string) int {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"status": status, "reason": "e2e test"})
	resp, err := hc.Post(s.profile.Target.AdminURL+"/admin/v1/apps/"+app+"/status", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestAdminSuspendsAnApp(t *testing.T) {
	s := startDemo(t)
	admin := s.adminClient(true)
	expect(t, s.call("demo-a2-sm2", "GET", "/v1/accounts", nil), 200, "")

	if code := s.setStatus(t, admin, "demo-a2-sm2", "suspended"); code != 200 {
		t.Fatalf("suspend: %d", code)
	}
	expect(t, s.call("demo-a2-sm2", "GET", "/v1/accounts", nil), 403, "app_suspended")

	if code := s.setStatus(t, admin, "demo-a2-sm2", "active"); code != 200 {
		t.Fatalf("reactivate: %d", code)
	}
	expect(t, s.call("demo-a2-sm2", "GET", "/v1/accounts", nil), 200, "")

	if code := s.setStatus(t, admin, "no-such-app", "suspended"); code != 404 {
		t.Fatalf("unknown app: %d", code)
	}
	if code := s.setStatus(t, admin, "demo-a2-sm2", "frozen"); code != 400 {
		t.Fatalf("bad status: %d", code)
	}
}

func TestAdminRefusesWithoutOperatorCertificate(t *testing.T) {
	s := startDemo(t)
	if _, err := s.adminClient(false).Get(s.profile.Target.AdminURL + "/admin/v1/apps"); err == nil {
		t.Fatal("admin API answered without a client certificate")
	}
	// An app's certificate from the same CA is not an operator's.
	cfg := s.tlsConfig("demo-a2-ecdsa")
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
	resp, err := hc.Get(s.profile.Target.AdminURL + "/admin/v1/apps")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("app certificate on the admin API: %d", resp.StatusCode)
	}
}

// TestLogsAndAuditHoldNoSecretsOrPersonalData drives the personal-data APIs
// and scans every log line and audit record for secrets and for unmasked
// card, ID and phone numbers (T/PCAC 0008-2020 9.2.1).
func TestLogsAndAuditHoldNoSecretsOrPersonalData(t *testing.T) {
	s := startDemo(t)
	users := s.node.Sandbox.Users()
	own, other := users[0].Accounts[0], users[1].Accounts[0]
	expect(t, s.call("demo-a1-hmac", "GET", "/v1/products", nil), 200, "")
	expect(t, s.call("demo-a2-sm2", "GET", "/v1/accounts", nil), 200, "")
	expect(t, s.call("demo-a2-sm2", "GET", "/v1/accounts/"+own.ID+"/transactions", nil), 200, "")
	expect(t, s.call("demo-a2-sm2", "GET", "/v1/holdings", nil), 200, "")
	expect(t, s.call("demo-a1-hmac", "GET", "/v1/accounts", nil), 403, "level_insufficient")
	transfer := func(password string) []byte {
		b, _ := json.Marshal(map[string]string{"from_account_id": own.ID, "to_card_number": other.CardNumber,
			"to_name": users[1].Name, "amount": "2.00", "memo": "给 " + users[1].Phone + " 的转账", "payment_password": password})
		return b
	}
	expect(t, s.call("demo-a2-ecdsa", "POST", "/v1/transfers", transfer(s.seal(t, users[0].PaymentPassword))), 201, "")
	expect(t, s.call("demo-a2-ecdsa", "POST", "/v1/transfers", transfer(users[0].PaymentPassword)), 400, "request_invalid")

	// Every audit record of those calls, bodies included.
	var records strings.Builder
	admin := s.adminClient(true)
	r, err := admin.Get(s.profile.Target.AdminURL + "/admin/v1/audit/records?limit=1000")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(&records, r.Body)
	r.Body.Close()
	if !strings.Contains(records.String(), `"amount": "2.00"`) {
		t.Fatalf("no transfer body was audited: %s", records.String())
	}
	if strings.Contains(records.String(), "payment_password") || strings.Contains(records.String(), "sm2:v1:") {
		t.Fatal("a sensitive field reached the audit log")
	}
	for what, text := range map[string]string{"logs": s.logs.String(), "audit records": records.String()} {
		if hits := pii.Find(text); len(hits) != 0 {
			h := hits[0]
			t.Fatalf("%s hold unmasked personal data (%s) at %d", what, h.Kind, h.Start)
		}
		for _, name := range []string{users[0].Name, users[1].Name} {
			if strings.Contains(text, name) {
				t.Fatalf("%s hold a customer's name", what)
			}
		}
	}
	secret, err := os.ReadFile(s.file("demo/apps/demo-a1-hmac/secret"))
	if err != nil {
		t.Fatal(err)
	}
	logs := s.logs.String()
	for _, leak := range []string{strings.TrimSpace(string(secret)), "PRIVATE KEY"} {
		if strings.Contains(logs, leak) {
			t.Fatalf("logs hold %q", leak)
		}
	}
	if !strings.Contains(logs, "level_insufficient") {
		t.Fatal("the refusal was not logged")
	}
}

func TestAdminAuditQueryAndProof(t *testing.T) {
	s := startDemo(t)
	resp := s.call("demo-a2-sm2", "GET", "/v1/accounts", nil)
	id := resp.Header.Get("X-Request-Id")
	admin := s.adminClient(true)

	r, err := admin.Get(s.profile.Target.AdminURL + "/admin/v1/audit/records?txn_id=" + id)
	if err != nil {
		t.Fatal(err)
	}
	var page struct {
		Records []map[string]any `json:"records"`
	}
	json.NewDecoder(r.Body).Decode(&page)
	r.Body.Close()
	if len(page.Records) != 1 {
		t.Fatalf("records: %+v", page)
	}
	rec := page.Records[0]
	for _, field := range []string{"txn_id", "timestamp", "app_id", "api_id", "latency_ms", "result", "status", "error_code", "user", "client_ip", "seq", "leaf_hash"} {
		if _, ok := rec[field]; !ok {
			t.Errorf("record lacks %s: %v", field, rec)
		}
	}
	if rec["app_id"] != "demo-a2-sm2" || rec["api_id"] != "OPC999990201010100000001" || rec["result"] != "success" || rec["log"] != "transaction" {
		t.Fatalf("record %v", rec)
	}

	// The proof is served once a checkpoint covers the record (at most 10 s in the demo).
	var proofStatus int
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		r, err := admin.Get(s.profile.Target.AdminURL + "/admin/v1/audit/proof?txn_id=" + id)
		if err != nil {
			t.Fatal(err)
		}
		proofStatus = r.StatusCode
		var p audit.Proof
		json.NewDecoder(r.Body).Decode(&p)
		r.Body.Close()
		if proofStatus != 200 {
			continue
		}
		keys := s.auditKeys(t)
		if _, err := p.Check(keys); err != nil {
			t.Fatalf("proof from the admin API: %v", err)
		}
		return
	}
	t.Fatalf("no proof within 15 s (last status %d)", proofStatus)
}

// auditKeys fetches the published audit keys from the gateway.
func (s *sandbox) auditKeys(t *testing.T) audit.KeySet {
	t.Helper()
	req, _ := http.NewRequest("GET", s.profile.URL("/.well-known/bankguard/audit-keys"), nil)
	resp, body := s.raw("", req)
	if resp.StatusCode != 200 {
		t.Fatalf("audit keys: %d", resp.StatusCode)
	}
	ks, err := sdk.ParseBankKeys(body, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return audit.KeySet(ks)
}

package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bankguard/bankguard/oauth"
	"github.com/bankguard/bankguard/pii"
	"github.com/bankguard/bankguard/sdk"
)

func TestDemoEndToEnd(t *testing.T) {
	s := startDemo(t)
	users := s.node.Sandbox.Users()
	own, other := users[0].Accounts[0], users[1].Accounts[0]

	t.Run("connectivity check", func(t *testing.T) {
		resp := s.call("demo-a1-hmac", "GET", "/v1/ping", nil)
		expect(t, resp, 200, "")
		var ping struct {
			Status           string `json:"status"`
			InterfaceVersion string `json:"interface_version"`
			AppID            string `json:"app_id"`
		}
		if err := json.Unmarshal(resp.Body, &ping); err != nil {
			t.Fatal(err)
		}
		if ping.Status != "ok" || ping.InterfaceVersion != "1.0.0" || ping.AppID != "demo-a1-hmac" {
			t.Fatalf("ping = %s", resp.Body)
		}
	})
	t.Run("A1 with hmac-sm3, unsigned response", func(t *testing.T) {
		resp := s.call("demo-a1-hmac", "GET", "/v1/products", nil)
		expect(t, resp, 200, "")
		if resp.BankSignature != nil {
			t.Fatal("A1 response carries a bank signature")
		}
	})
	t.Run("A2 with sm2-sm3, signed response", func(t *testing.T) {
		resp := s.call("demo-a2-sm2", "GET", "/v1/accounts/"+own.ID+"/balance", nil)
		expect(t, resp, 200, "")
		if resp.BankSignature == nil || resp.BankSignature.Alg != "sm2-sm3" {
			t.Fatalf("bank signature = %+v", resp.BankSignature)
		}
	})
	t.Run("A2 with ecdsa and the registered client certificate", func(t *testing.T) {
		expect(t, s.call("demo-a2-ecdsa", "GET", "/v1/holdings", nil), 200, "")
	})
	t.Run("A2 fund transfer with a sealed payment password", func(t *testing.T) {
		body, _ := json.Marshal(map[string]string{"from_account_id": own.ID, "to_card_number": other.CardNumber,
			"to_name": users[1].Name, "amount": "12.34", "currency": "CNY", "memo": "e2e",
			"payment_password": s.seal(t, users[0].PaymentPassword)})
		resp := s.call("demo-a2-ecdsa", "POST", "/v1/transfers", body)
		expect(t, resp, 201, "")
		if resp.BankSignature == nil {
			t.Fatal("transfer response unsigned")
		}
		if strings.Contains(string(resp.Body), other.CardNumber) {
			t.Fatalf("the payee's card number is not masked: %s", resp.Body)
		}
		// The customer's history (the self-service page) shows the transfer.
		events, err := s.node.Authorization.Events(context.Background(), users[0].ID, 50)
		if err != nil {
			t.Fatal(err)
		}
		txn := resp.Header.Get("X-Request-Id")
		if !slices.ContainsFunc(events, func(e oauth.Event) bool {
			return e.Kind == oauth.EventFundTransaction && strings.Contains(e.Detail, txn)
		}) {
			t.Fatalf("no fund_transaction event for %s in the customer's history", txn)
		}
	})
	t.Run("a plaintext payment password is refused", func(t *testing.T) {
		body, _ := json.Marshal(map[string]string{"from_account_id": own.ID, "to_card_number": other.CardNumber,
			"to_name": users[1].Name, "amount": "1.00", "payment_password": "sm2:v1:bank-enc-1:" + users[0].PaymentPassword})
		resp := s.call("demo-a2-ecdsa", "POST", "/v1/transfers", body)
		expect(t, resp, 400, "request_invalid")
		if !strings.Contains(string(resp.Body), "payment_password") || strings.Contains(string(resp.Body), users[0].PaymentPassword) {
			t.Fatalf("%s", resp.Body)
		}
	})
	t.Run("a wrong payment password is declined by the bank", func(t *testing.T) {
		body, _ := json.Marshal(map[string]string{"from_account_id": own.ID, "to_card_number": other.CardNumber,
			"to_name": users[1].Name, "amount": "1.00", "payment_password": s.seal(t, "000001")})
		expect(t, s.call("demo-a2-ecdsa", "POST", "/v1/transfers", body), 422, "payment_password_incorrect")
	})
	t.Run("A2 responses are masked", func(t *testing.T) {
		resp := s.call("demo-a2-sm2", "GET", "/v1/accounts", nil)
		expect(t, resp, 200, "")
		if hits := pii.Find(string(resp.Body)); len(hits) != 0 || strings.Contains(string(resp.Body), users[0].Name) {
			t.Fatalf("unmasked personal data in %s", resp.Body)
		}
		resp = s.call("demo-a2-sm2", "GET", "/v1/accounts/"+own.ID+"/transactions", nil)
		expect(t, resp, 200, "")
		if hits := pii.Find(string(resp.Body)); len(hits) != 0 {
			t.Fatalf("unmasked personal data in transactions: %v", hits)
		}
	})
	t.Run("clearing data is encrypted to the app and decrypted by the SDK", func(t *testing.T) {
		day := time.Now().AddDate(0, 0, -1).Format(time.DateOnly)
		resp := s.call("demo-a2-sm2", "GET", "/v1/reconciliation/"+day, nil)
		expect(t, resp, 200, "")
		if !resp.Decrypted || !strings.Contains(string(resp.RawBody), "sm4gcm:v1:") || !strings.Contains(string(resp.RawBody), "bankguard_encryption") {
			t.Fatalf("not encrypted: %s", resp.RawBody)
		}
		var recon struct {
			Entries []struct {
				AccountNumber string `json:"account_number"`
			} `json:"entries"`
		}
		json.Unmarshal(resp.Body, &recon)
		if len(recon.Entries) == 0 || strings.HasPrefix(recon.Entries[0].AccountNumber, "sm4gcm") {
			t.Fatalf("not decrypted: %s", resp.Body)
		}
	})
	t.Run("another user's account", func(t *testing.T) {
		expect(t, s.call("demo-a2-sm2", "GET", "/v1/accounts/"+other.ID+"/balance", nil), 403, "resource_forbidden")
	})
	t.Run("A2 refuses an HMAC app, and the refusal is signed", func(t *testing.T) {
		resp := s.call("demo-a1-hmac", "GET", "/v1/accounts", nil)
		expect(t, resp, 403, "level_insufficient")
		if resp.BankSignature == nil {
			t.Fatal("A2 error response unsigned")
		}
	})
	t.Run("suspended app", func(t *testing.T) {
		expect(t, s.call("demo-suspended", "GET", "/v1/products", nil), 403, "app_suspended")
	})
	t.Run("terminated API answers with its notice", func(t *testing.T) {
		resp := s.call("demo-a2-sm2", "GET", "/v1/loyalty-points", nil)
		expect(t, resp, 410, "service_terminated")
		if !strings.Contains(string(resp.Body), "2026") {
			t.Fatalf("no termination notice: %s", resp.Body)
		}
	})
	t.Run("deprecated API answers with Deprecation and Sunset", func(t *testing.T) {
		resp := s.call("demo-a1-hmac", "GET", "/v1/exchange-rates", nil)
		expect(t, resp, 200, "")
		if resp.Header.Get("Deprecation") == "" || resp.Header.Get("Sunset") == "" {
			t.Fatalf("headers: %v", resp.Header)
		}
	})
	t.Run("invalid parameter names the field", func(t *testing.T) {
		resp := s.call("demo-a1-hmac", "GET", "/v1/products?page_size=100000", nil)
		expect(t, resp, 400, "request_invalid")
		if !strings.Contains(string(resp.Body), "page_size") {
			t.Fatalf("field not named: %s", resp.Body)
		}
	})
	t.Run("unknown query parameter", func(t *testing.T) {
		expect(t, s.call("demo-a1-hmac", "GET", "/v1/products?debug=1", nil), 400, "request_invalid")
	})
	t.Run("invalid JSON body", func(t *testing.T) {
		expect(t, s.call("demo-a2-ecdsa", "POST", "/v1/transfers", []byte(`{"amount":`)), 400, "request_invalid")
	})
	t.Run("body field of the wrong type", func(t *testing.T) {
		resp := s.call("demo-a2-ecdsa", "POST", "/v1/transfers", []byte(`{"from_account_id":"`+own.ID+`","to_card_number":"6222020200112233445","to_name":"x","amount":12,"currency":"CNY"}`))
		expect(t, resp, 400, "request_invalid")
		if !strings.Contains(string(resp.Body), "amount") {
			t.Fatalf("field not named: %s", resp.Body)
		}
	})
	t.Run("oversized body", func(t *testing.T) {
		big := []byte(`{"memo":"` + strings.Repeat("x", 2<<20) + `"}`)
		expect(t, s.call("demo-a2-ecdsa", "POST", "/v1/transfers", big), 413, "body_too_large")
	})
	t.Run("wrong content type", func(t *testing.T) {
		c := s.client("demo-a2-ecdsa")
		req, _ := sdk.NewRequest(context.Background(), "POST", s.profile.URL("/v1/transfers"), []byte(`amount=1`))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		expect(t, resp, 415, "unsupported_media_type")
	})
	t.Run("unknown path and wrong method", func(t *testing.T) {
		expect(t, s.call("demo-a1-hmac", "GET", "/v1/nothing-here", nil), 404, "not_found")
		resp := s.call("demo-a1-hmac", "DELETE", "/v1/products", nil)
		expect(t, resp, 405, "method_not_allowed")
		if resp.Header.Get("Allow") != "GET" {
			t.Fatalf("Allow = %q", resp.Header.Get("Allow"))
		}
	})
	t.Run("bank keys are published", func(t *testing.T) {
		req, _ := http.NewRequest("GET", s.profile.URL("/.well-known/bankguard/keys"), nil)
		resp, body := s.raw("", req)
		if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"alg": "sm2-sm3"`)) || bytes.Contains(body, []byte("PRIVATE")) {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	})
}

func TestDemoRefusesOverTLS(t *testing.T) {
	s := startDemo(t)
	t.Run("unsigned request", func(t *testing.T) {
		req, _ := http.NewRequest("GET", s.profile.URL("/v1/products"), nil)
		resp, body := s.raw("", req)
		if resp.StatusCode != 401 || problemCode(t, body) != "signature_missing" {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	})
	t.Run("replayed request", func(t *testing.T) {
		c := s.client("demo-a1-hmac")
		req, _ := sdk.NewRequest(context.Background(), "GET", s.profile.URL("/v1/products"), nil)
		if err := c.Sign(req); err != nil {
			t.Fatal(err)
		}
		first, _ := s.raw("demo-a1-hmac", req.Clone(context.Background()))
		second, body := s.raw("demo-a1-hmac", req.Clone(context.Background()))
		if first.StatusCode != 200 || second.StatusCode != 401 || problemCode(t, body) != "replay_detected" {
			t.Fatalf("first %d, second %d %s", first.StatusCode, second.StatusCode, body)
		}
	})
	t.Run("body tampered in transit", func(t *testing.T) {
		c := s.client("demo-a2-ecdsa")
		req, _ := sdk.NewRequest(context.Background(), "POST", s.profile.URL("/v1/transfers"), []byte(`{"amount":"1.00"}`))
		if err := c.Sign(req); err != nil {
			t.Fatal(err)
		}
		tampered := []byte(`{"amount":"9.00"}`)
		req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(tampered)), int64(len(tampered))
		resp, body := s.raw("demo-a2-ecdsa", req)
		if resp.StatusCode != 401 || problemCode(t, body) != "digest_mismatch" {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	})
	t.Run("A2 without the registered client certificate", func(t *testing.T) {
		c := s.client("demo-a2-ecdsa")
		c.HTTP, _ = s.profile.HTTPClient(nil) // no client certificate
		req, _ := sdk.NewRequest(context.Background(), "GET", s.profile.URL("/v1/holdings"), nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		expect(t, resp, 403, "level_insufficient")
	})
	t.Run("A2 with another certificate of the same CA", func(t *testing.T) {
		cfg := s.tlsConfig("")
		cert, err := tls.LoadX509KeyPair(s.file("pki/admin.pem"), s.file("pki/admin-key.pem"))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{cert}
		c := s.client("demo-a2-ecdsa")
		c.HTTP = &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
		req, _ := sdk.NewRequest(context.Background(), "GET", s.profile.URL("/v1/holdings"), nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		expect(t, resp, 403, "level_insufficient")
	})
	t.Run("TLS versions and suites", func(t *testing.T) {
		addr := s.node.GatewayAddr.String()
		for _, tc := range []struct {
			name string
			cfg  func(*tls.Config)
			ok   bool
		}{
			{name: "TLS 1.3", cfg: func(c *tls.Config) { c.MinVersion = tls.VersionTLS13 }, ok: true},
			{name: "TLS 1.2 ECDHE-GCM", cfg: func(c *tls.Config) {
				c.MaxVersion = tls.VersionTLS12
				c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}
			}, ok: true},
			{name: "TLS 1.1", cfg: func(c *tls.Config) { c.MinVersion, c.MaxVersion = tls.VersionTLS11, tls.VersionTLS11 }},
			{name: "TLS 1.0", cfg: func(c *tls.Config) { c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS10 }},
			{name: "TLS 1.2 CBC suite", cfg: func(c *tls.Config) {
				c.MaxVersion = tls.VersionTLS12
				c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}
			}},
			{name: "TLS 1.2 RSA key exchange", cfg: func(c *tls.Config) {
				c.MaxVersion = tls.VersionTLS12
				c.CipherSuites = []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256}
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				cfg := s.tlsConfig("")
				tc.cfg(cfg)
				conn, err := tls.Dial("tcp", addr, cfg)
				if conn != nil {
					conn.Close()
				}
				if (err == nil) != tc.ok {
					t.Fatalf("handshake err = %v, want ok=%v", err, tc.ok)
				}
			})
		}
	})
	t.Run("plaintext HTTP on the TLS port", func(t *testing.T) {
		resp, err := http.Get("http://" + s.node.GatewayAddr.String() + "/v1/products")
		if err == nil {
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("plaintext answered %d", resp.StatusCode)
			}
		}
	})
}

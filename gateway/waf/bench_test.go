package waf

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/registry"
)

// transferBody is a typical transfer request, about 1 KiB.
var transferBody = `{"from_account_id":"6222021234567890123","to":{"name":"李四","account":"6217001234567890123",` +
	`"bank":{"name":"中国工商银行北京分行海淀支行","code":"102100099996","city":"北京"}},"amount":"12345.67","currency":"CNY",` +
	`"memo":"工资 2026年11月 O'Brien's rent","purpose":"salary","requested_at":"2026-11-05T09:30:00+08:00",` +
	`"id_card":"sm2:v1:bank-enc-202611:BFh3k9Qm2vXo+Y8pZ1a0L4nR7sT5uW6xA2b3C4d5E6f7G8h9I0jK1lM2nO3pQ4rS5tU6vW7xY8zA9bC0dE1fG2hH3iJ4kL5mN6oP7qR8sT9u==",` +
	`"phone":"sm2:v1:bank-enc-202611:BAk3j4h5g6f7d8s9a0PoIuYtReWqLkJhGfDsAzXcVbNm1234567890abcdefABCDEF+/==",` +
	`"notify":{"email":"zhang.san@example.com","url":"https://app.example.com/callback?state=abc123"},` +
	`"items":[{"ref":"INV-2026-0001","amount":"10000.00"},{"ref":"INV-2026-0002","amount":"2345.67"}],` +
	`"risk":{"device_id":"3f2b8c1e-9d4a-4c3b-8e2f-1a2b3c4d5e6f","ip":"203.0.113.7","geo":"北京市海淀区中关村大街1号"},` +
	`"extra":{"channel":"mobile","version":"6.2.1","locale":"zh-CN","note":"每月固定转账，备注请勿修改"}}`

func benchRequest(method, target, body string) *http.Request {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.Host = "api.bank.example"
	r.Header.Set("User-Agent", "bankguard-sdk-go/1.0")
	r.Header.Set("Accept", "application/json")
	r.Header.Set("Signature-Input", `sig1=("@method" "@authority" "@path" "@query" "content-digest");created=1793842200;keyid="demo-a1-hmac";nonce="a1b2c3d4e5f6g7h8i9j0"`)
	r.Header.Set("Signature", `sig1=:MEUCIQDx9+/abcdEFGH1234ZxyW0sT8K5m2lLz7P9q3X0QIgb4Ej8JmWq==:`)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Content-Length", "1024")
		r.Header.Set("Content-Digest", `sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:`)
	}
	ex := &stage.Exchange{ID: "20261105093000000001", ClientIP: "203.0.113.7",
		API: &registry.API{ID: "OPC202611050001"}, App: &registry.App{ID: "demo-a1-hmac"}, Body: []byte(body)}
	return r.WithContext(stage.WithExchange(context.Background(), ex))
}

// BenchmarkWAF is the filter's cost per request at paranoia level 1.
func BenchmarkWAF(b *testing.B) {
	h := handler(b, pl1)
	next := stage.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil })
	for _, bc := range []struct{ name, method, target, body string }{
		{"json_1KiB", http.MethodPost, "/v1/accounts/transfers", transferBody},
		{"get_query", http.MethodGet, "/v1/accounts/6222021234567890123/transactions?from=2026-11-01&to=2026-11-30&page=1&size=50&memo=" + "%E5%B7%A5%E8%B5%84", ""},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := benchRequest(bc.method, bc.target, bc.body)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			start := cpuTime()
			for b.Loop() {
				if err := h.ServeHTTP(w, r, next); err != nil {
					b.Fatal(err)
				}
			}
			// CPU time is steadier than ns/op on a shared machine.
			b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkNew is the cost of building the WAF (start-up and reload).
func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(Config{Enabled: true}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestBenchmarkBodyIsTypical(t *testing.T) {
	if n := len(transferBody); n < 900 || n > 1300 {
		t.Fatalf("transfer body is %d bytes, want about 1 KiB", n)
	}
}

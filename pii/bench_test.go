package pii_test

import (
	"strings"
	"testing"
	"time"

	"github.com/bankguard/bankguard/pii"
	"github.com/bankguard/bankguard/sandbox"
)

func BenchmarkMaskJSON(b *testing.B) {
	bank := sandbox.New(sandbox.Options{Seed: 1, Now: func() time.Time { return sandboxNow }})
	u := bank.Users()[0]
	e, err := pii.NewEngine([]byte("a pseudonym key of 32 bytes or more, for tests"))
	if err != nil {
		b.Fatal(err)
	}
	rules := &pii.Policy{Scan: true, Rules: []pii.Rule{
		{Path: "/accounts/*/card_number", Kind: pii.Card},
		{Path: "/**/holder_id_number", Action: pii.ActionPseudonym, Kind: pii.IDNumber},
		{Path: "/**/branch", Action: pii.ActionKeep},
	}}
	for _, bc := range []struct {
		name, path string
		p          *pii.Policy
		compiled   bool
	}{
		{"accounts", "/v1/accounts", &pii.Policy{Scan: true}, false},
		{"accounts-rules", "/v1/accounts", rules, false},
		{"transactions", "/v1/accounts/" + u.Accounts[0].ID + "/transactions?page_size=12", &pii.Policy{Scan: true}, false},
		{"reconciliation", "/v1/reconciliation/2026-11-25", &pii.Policy{Scan: true}, false},
		{"products-clean", "/v1/products", &pii.Policy{Scan: true}, false},
		{"gateway-1KiB", "", &pii.Policy{Scan: true}, false},
		{"gateway-1KiB-rules", "", rules, false},
		{"gateway-1KiB-rules-compiled", "", rules, true},
	} {
		doc := gatewayBody
		if bc.path != "" {
			doc = sandboxResponse(b, bank, bc.path, u.ID)
		}
		c, err := bc.p.Compile()
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if bc.compiled {
					_, _, err = e.MaskJSONCompiled(doc, c)
				} else {
					_, _, err = e.MaskJSON(doc, bc.p)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// gatewayBody is like the backend body of the gateway's benchmark: an account with its
// holder's personal data, then the wealth products it holds (about 1 KiB), whose names are
// things, not people.
var gatewayBody = []byte(`{"account":{"account_id":"AC202611260001","card_number":"6219991234567890120",` +
	`"holder_name":"王小明","phone":"13812345678","id_number":"11010519491231002X","currency":"CNY",` +
	`"balance":"52380.16"},"products":[` +
	`{"id":"FND001","name":"沙盒沪深300指数基金","type":"fund","risk_level":"R4","expected_annual_yield":null,"min_amount":"10.00","term_days":0,"currency":"CNY","status":"on_sale","issuer":"沙盒基金管理有限公司"},` +
	`{"id":"FND003","name":"沙盒纯债债券基金","type":"fund","risk_level":"R2","expected_annual_yield":null,"min_amount":"10.00","term_days":0,"currency":"CNY","status":"on_sale","issuer":"沙盒基金管理有限公司"},` +
	`{"id":"TD1Y01","name":"一年期定期存款","type":"time_deposit","risk_level":"R1","expected_annual_yield":"1.35%","min_amount":"50.00","term_days":365,"currency":"CNY","status":"on_sale","issuer":"沙盒银行"},` +
	`{"id":"TD3Y01","name":"三年期大额存单","type":"time_deposit","risk_level":"R1","expected_annual_yield":"1.90%","min_amount":"200000.00","term_days":1095,"currency":"CNY","status":"sold_out","issuer":"沙盒银行"},` +
	`{"id":"WMP001","name":"沙盒稳享90天理财","type":"wealth_management","risk_level":"R2","expected_annual_yield":"2.85%","min_amount":"10000.00","term_days":90,"currency":"CNY","status":"on_sale","issuer":"沙盒理财有限责任公司"},` +
	`{"id":"WMP003","name":"沙盒智享一年期理财","type":"wealth_management","risk_level":"R3","expected_annual_yield":"3.40%","min_amount":"50000.00","term_days":365,"currency":"CNY","status":"on_sale","issuer":"沙盒理财有限责任公司"}` +
	`]}`)

func BenchmarkMaskText(b *testing.B) {
	for _, bc := range []struct{ name, text string }{
		{"log-line-pii", `time=2026-11-26T10:15:00+08:00 level=INFO msg="transfer to 6222020200112233446" id=330106197811198076 err="phone 13812345678 failed" request_id=20261126223116339876241510c9d latency_ms=12.5`},
		{"log-line-clean", `time=2026-11-26T10:15:00+08:00 level=INFO msg="request done" api=OPC999990201010100000001 status=200 request_id=20261126223116339876241510c9d latency_ms=12.5 bytes=1834`},
		{"1KiB-clean", strings.Repeat(`{"amount":"109.18","posted_at":"2026-11-26T09:06:07+08:00","id":"TX202611260000000053"} `, 11)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.text)))
			b.ReportAllocs()
			for b.Loop() {
				_ = pii.MaskText(bc.text)
			}
		})
	}
}

func BenchmarkPseudonym(b *testing.B) {
	e, err := pii.NewEngine([]byte("a pseudonym key of 32 bytes or more, for tests"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = e.Pseudonym(pii.Card, "6219999814660352367")
	}
}

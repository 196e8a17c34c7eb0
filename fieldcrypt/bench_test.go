package fieldcrypt_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/bankguard/bankguard/fieldcrypt"
)

// reconciliationDoc is a ~4 KiB reconciliation file of 10 entries; the
// patterns select 20 fields (account number and amount of each entry).
func reconciliationDoc() ([]byte, []string) {
	var b strings.Builder
	b.WriteString(`{"statement_id":"STL-20260301-0001","bank_code":"102100099996","settlement_date":"2026-03-01","currency":"CNY","entries":[`)
	for i := range 10 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"seq":%d,"txn_id":"T2026030100%06d","channel":"UNIONPAY","account_number":"62220202001122%05d",`+
			`"counterparty_account":"62170000100%08d","counterparty_name":"上海某某贸易有限公司","amount":%d.%02d,"fee":0.50,`+
			`"direction":"credit","status":"cleared","value_date":"2026-03-01","posted_at":"2026-03-01T10:%02d:00+08:00",`+
			`"memo":"货款 invoice INV-2026-%04d","reference":"REF%012d","batch":"B20260301-01"}`,
			i+1, i, i, i*7, 1000+i*37, i, i, i, i*991)
	}
	b.WriteString(`],"summary":{"count":10,"credit_total":10166.45,"debit_total":0,"fee_total":5.00,"net":10161.45},`)
	b.WriteString(`"generated_at":"2026-03-02T01:00:00+08:00","format_version":"1.2"}`)
	return []byte(b.String()), []string{"/entries/*/account_number", "/entries/*/amount"}
}

func BenchmarkEncryptFields(b *testing.B) {
	key := newKey(b)
	doc, pats := reconciliationDoc()
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, err := fieldcrypt.EncryptFields(doc, pats, &key.PublicKey, "app-1"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecryptFields(b *testing.B) {
	key := newKey(b)
	doc, pats := reconciliationDoc()
	enc, err := fieldcrypt.EncryptFields(doc, pats, &key.PublicKey, "app-1")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		if _, err := fieldcrypt.DecryptFields(enc, key); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckSensitive(b *testing.B) {
	key := newKey(b)
	sealed, err := fieldcrypt.SealValue([]byte("123456"), &key.PublicKey, bankKID)
	if err != nil {
		b.Fatal(err)
	}
	doc := []byte(`{"from_account":"6222020200112233445","to_account":"6217000010012345678","amount":"100.00",` +
		`"currency":"CNY","memo":"rent","payment_password":"` + sealed + `"}`)
	known := func(id string) bool { return id == bankKID }
	for b.Loop() {
		if _, err := fieldcrypt.CheckSensitive(doc, []string{"/payment_password"}, known); err != nil {
			b.Fatal(err)
		}
	}
}

func TestReconciliationDocSize(t *testing.T) {
	doc, pats := reconciliationDoc()
	if len(doc) < 3500 || len(doc) > 4700 {
		t.Fatalf("benchmark document is %d bytes, want about 4 KiB", len(doc))
	}
	key := newKey(t)
	enc, err := fieldcrypt.EncryptFields(doc, pats, &key.PublicKey, "app-1")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(envelopeOf(t, enc).Fields); n != 20 {
		t.Fatalf("%d fields encrypted, want 20", n)
	}
}

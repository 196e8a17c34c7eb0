package audit

import (
	"encoding/json"
	"testing"
	"time"
)

// marshalCanonical is the reference: encoding/json on the record in UTC to the millisecond.
func marshalCanonical(r Record) ([]byte, error) {
	r.Time = r.Time.UTC().Truncate(time.Millisecond)
	return json.Marshal(&r)
}

func FuzzCanonicalMatchesEncodingJSON(f *testing.F) {
	f.Add("transaction", uint64(7), "20261126223116339876241510c9d", int64(1795737600123), "demo-a2-sm2", "OPC999990201010100000001",
		"GET", "demo-a2-sm2-k1", int64(3), "success", 200, "", "", "127.0.0.1", `{"amount":"1.00"}`)
	f.Add("interface", uint64(0), "a<b>&\"\\\n\t\x01\u2028é\xff", int64(-5), "", "", "", "", int64(0), "failure", 499,
		"client_closed_request", "psn_x", "::1", ` { "a" : [ 1 , "<&>" ] } `)
	f.Fuzz(func(t *testing.T, log string, seq uint64, txn string, ms int64, app, api, method, keyid string, latency int64,
		result string, status int, code, user, ip, body string) {
		r := Record{Log: log, Seq: seq, TxnID: txn, Time: time.UnixMilli(ms), AppID: app, APIID: api, Method: method, KeyID: keyid,
			LatencyMS: latency, Result: result, Status: status, ErrorCode: code, User: user, ClientIP: ip}
		if json.Valid([]byte(body)) {
			r.Body = json.RawMessage(body)
		}
		want, werr := marshalCanonical(r)
		got, gerr := r.Canonical()
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("errors differ: %v / %v", werr, gerr)
		}
		if werr == nil && string(got) != string(want) {
			t.Fatalf("canonical\n%s\nencoding/json\n%s", got, want)
		}
	})
}

func BenchmarkCanonical(b *testing.B) {
	r := Record{Log: "transaction", Seq: 123456, TxnID: "20261126223116339876241510c9d", Time: time.Now(), AppID: "demo-a2-sm2",
		APIID: "OPC999990201010100000001", Method: "GET", KeyID: "demo-a2-sm2-k1", LatencyMS: 3, Result: "success", Status: 200, ClientIP: "127.0.0.1"}
	b.ReportAllocs()
	for b.Loop() {
		r.Canonical()
	}
}

package probe

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/bankguard/bankguard/assess"
	"github.com/bankguard/bankguard/audit"
	"github.com/bankguard/bankguard/gateway"
	"github.com/bankguard/bankguard/pii"
	"github.com/bankguard/bankguard/profile"
)

func TestPIIScan(t *testing.T) {
	tests := []struct {
		name     string
		doc      string
		unmasked []string // "kind@path"
		masked   bool
	}{
		{name: "masked as the demo masks",
			doc:    `{"accounts":[{"card_number":"621999*********2367","holder_name":"**志","holder_id_number":"3****************6","holder_phone":"180****3832","id":"AC4949077557","branch":"沙盒银行杭州西湖支行"}]}`,
			masked: true},
		{name: "card number in clear",
			doc:      `{"accounts":[{"card_number":"6222021234567890128","holder_name":"**志"}]}`,
			unmasked: []string{"card@/accounts/0/card_number"}, masked: true},
		{name: "card number without a valid check digit, named as one",
			doc:      `{"card_no":"6222021234567890120"}`,
			unmasked: []string{"card@/card_no"}},
		{name: "resident ID number in clear",
			doc:      `{"holder_id_number":"11010519491231002X"}`,
			unmasked: []string{"id_number@/holder_id_number"}},
		{name: "names in clear, camelCase too",
			doc:      `{"holder_name":"王小明","payer":{"accountName":"李四"}}`,
			unmasked: []string{"name@/holder_name", "name@/payer/accountName"}},
		{name: "organizations and things are not persons",
			doc: `{"name":"沙盒银行","product_name":"稳盈理财","bank_name":"沙盒银行","issuer":"沙盒基金管理有限公司"}`},
		{name: "mobile number as a JSON number",
			doc:      `{"mobile":13812345678}`,
			unmasked: []string{"phone@/mobile"}},
		{name: "e-mail and phone in free text",
			doc:      `{"memo":"call 13812345678 or write to zhang.san@example.com"}`,
			unmasked: []string{"phone@/memo", "email@/memo"}},
		{name: "account number named as one",
			doc:      `{"counterparty_account_no":"6230 5800 0012"}`,
			unmasked: []string{"account@/counterparty_account_no"}},
		{name: "pseudonyms count as de-identified",
			doc:    `{"holder_name":"psn_abcdefgh"}`,
			masked: true},
		{name: "JSON pointer escapes",
			doc:      `{"a/b":{"x~y":[{"holder_name":"张三"}]}}`,
			unmasked: []string{"name@/a~1b/x~0y/0/holder_name"}},
		{name: "no personal data",
			doc: `{"status":"ok","balance":"60609.06","txn":"20261127015120149773af30cee5b"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := decodeNumbers([]byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			var s piiScan
			s.walk(doc, "", "")
			var got []string
			for _, f := range s.unmasked {
				got = append(got, fmt.Sprintf("%s@%s", f.kind, f.path))
			}
			slices.Sort(got)
			want := slices.Clone(tc.unmasked)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("unmasked = %v, want %v", got, want)
			}
			if (s.masked > 0) != tc.masked {
				t.Errorf("masked = %d, want masked values: %v", s.masked, tc.masked)
			}
		})
	}
}

func TestPIIScanNeverShowsValues(t *testing.T) {
	doc, _ := decodeNumbers([]byte(`{"holder_name":"王小明","card_number":"6222021234567890128","list":[{"mobile":"13812345678"}]}`))
	var s piiScan
	s.walk(doc, "", "")
	reason := s.list()
	for _, v := range []string{"王小明", "6222021234567890128", "13812345678"} {
		if strings.Contains(reason, v) {
			t.Errorf("reason %q shows the value %s", reason, v)
		}
	}
	if !strings.Contains(reason, "/list/0/mobile") {
		t.Errorf("reason %q does not name the path", reason)
	}
}

func TestMemberKind(t *testing.T) {
	for member, want := range map[string]pii.Kind{
		"holder_name": pii.Name, "name": pii.Name, "accountName": pii.Name, "cardholder": pii.Name,
		"product_name": "", "branch_name": "", "id": "", "account_id": "",
		"holder_phone": pii.Phone, "Mobile": pii.Phone, "email": pii.Email,
		"holder_id_number": pii.IDNumber, "id_no": pii.IDNumber, "card_number": pii.Card, "to_card_no": pii.Card,
		"account_no": pii.Account, "acct": pii.Account,
	} {
		if got := piiMemberKind(member); got != want {
			t.Errorf("piiMemberKind(%q) = %q, want %q", member, got, want)
		}
	}
}

func TestJudgeA2Answer(t *testing.T) {
	ok := &Exchange{Status: 200, Header: http.Header{}}
	tls13 := tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256}
	signed := func() (string, error) { return "key bank-1, sm2-sm3", nil }
	tests := []struct {
		name    string
		x       *Exchange
		overTLS bool
		verify  func() (string, error)
		want    assess.Verdict
	}{
		{"signed over TLS", ok, true, signed, assess.Pass},
		{"no signature", ok, true, func() (string, error) { return "", nil }, assess.Fail},
		{"bad signature", ok, true, func() (string, error) { return "", errors.New("content digest mismatch") }, assess.Fail},
		{"not over TLS", ok, false, signed, assess.Fail},
		{"refused call", &Exchange{Status: 403, Header: http.Header{}}, true, signed, assess.NotTested},
	}
	for _, tc := range tests {
		if r := judgeA2Answer("GET /v1/x", tc.x, tc.overTLS, tls13, tc.verify); r.Verdict != tc.want {
			t.Errorf("%s: %s (%s), want %s", tc.name, r.Verdict, r.Reason, tc.want)
		}
	}
}

func TestRecordProblems(t *testing.T) {
	tg := &Target{Profile: &profile.Profile{Users: []profile.User{{Username: "U100000001"}}}}
	call := ownCall{what: "GET /v1/ping as app-1", app: "app-1", txn: "T1", status: 200}
	good := map[string]any{"txn_id": "T1", "timestamp": "2026-11-27T01:51:43.864Z", "app_id": "app-1",
		"api_id": "OPC999990109000100000001", "latency_ms": 3, "result": "success", "status": 200,
		"error_code": "", "user": "", "client_ip": "127.0.0.1"}
	tests := []struct {
		name   string
		change func(map[string]any)
		want   string // a problem containing this; "" for none
	}{
		{"complete", func(map[string]any) {}, ""},
		{"no latency", func(r map[string]any) { delete(r, "latency_ms") }, "lacks latency_ms"},
		{"no api id", func(r map[string]any) { r["api_id"] = "" }, "empty api_id"},
		{"other app", func(r map[string]any) { r["app_id"] = "app-2" }, `names app "app-2"`},
		{"wrong result", func(r map[string]any) { r["result"] = "failure" }, "has result"},
		{"wrong status", func(r map[string]any) { r["status"] = 500 }, "has status 500"},
		{"bad timestamp", func(r map[string]any) { r["timestamp"] = "yesterday" }, "not RFC 3339"},
		{"local timestamp", func(r map[string]any) { r["timestamp"] = "2026-11-27T09:51:43+08:00" }, "in UTC"},
		{"raw user", func(r map[string]any) { r["user"] = "U100000001" }, "raw identifier"},
	}
	for _, tc := range tests {
		rec := map[string]any{}
		for k, v := range good {
			rec[k] = v
		}
		tc.change(rec)
		raw, _ := json.Marshal(rec)
		got := strings.Join(tg.recordProblems(raw, call), "; ")
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("%s: problems %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestProofError(t *testing.T) {
	if got := proofError(fmt.Errorf("%w (log x, size 3)", audit.ErrBadSignature)); !strings.Contains(got, "signature") {
		t.Errorf("bad signature: %q", got)
	}
	got := proofError(errors.New("audit: inclusion proof does not verify: calculated root:\nabcd\n does not match"))
	if strings.Contains(got, "\n") || !strings.Contains(got, "root the checkpoint signs") {
		t.Errorf("bad hashes: %q", got)
	}
}

func TestRecordDiff(t *testing.T) {
	a := audit.Record{TxnID: "T1", Status: 200, Result: "success"}
	b := a
	b.Status = 201
	if got := recordDiff(a, b); !slices.Equal(got, []string{"status"}) {
		t.Errorf("recordDiff = %v", got)
	}
}

func TestAuditKeysPath(t *testing.T) {
	if auditKeysPath != gateway.AuditKeysPath {
		t.Errorf("auditKeysPath %q, the gateway publishes at %q", auditKeysPath, gateway.AuditKeysPath)
	}
}

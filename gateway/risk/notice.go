package risk

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
)

// HeaderRiskNotice and NoticeMember carry the risk notice (风险提示) that the
// app must show the user with the result of the transfer (T/PCAC 0008-2020
// 6.2.2-4, risk warning). A transfer that passes with a notice gets both.
//
// The response header Bankguard-Risk-Notice, on every 2xx response, lists
// the notice codes, comma-separated (an RFC 8941 List of tokens):
//
//	Bankguard-Risk-Notice: large_amount, new_payee
//
// When the 2xx response is a JSON object, its member risk_notice repeats
// the codes with the messages to show, in Chinese and English (a member
// risk_notice the backend sent is replaced):
//
//	"risk_notice": {
//	  "codes": ["large_amount", "new_payee"],
//	  "message_zh": "本笔转账金额较大，请确认收款人和金额无误，谨防电信网络诈骗。您首次向该收款人转账，……",
//	  "message_en": "This is a large transfer. Check the payee and the amount, and beware of fraud. This is …"
//	}
//
// The codes are stable and name the kind of risk, never the bank's rule or
// its threshold:
//
//	large_amount        a single transfer of a large amount
//	daily_total         the user's transfers today add up to a large amount
//	frequent_transfers  many transfers by the user in a short time
//	new_payee           the user's first transfer to this payee
//	elevated_risk       a risk the bank sees on the application's side
//
// A bank may configure its own wording per rule (Rule.MessageZH, MessageEN).
const (
	HeaderRiskNotice = "Bankguard-Risk-Notice"
	NoticeMember     = "risk_notice"
)

// The notice codes.
const (
	CodeLargeAmount       = "large_amount"
	CodeDailyTotal        = "daily_total"
	CodeFrequentTransfers = "frequent_transfers"
	CodeNewPayee          = "new_payee"
	CodeElevatedRisk      = "elevated_risk"
)

// Notice is the risk_notice member.
type Notice struct {
	Codes     []string `json:"codes"`
	MessageZH string   `json:"message_zh"`
	MessageEN string   `json:"message_en"`
}

// noticeText is the default wording of a notice code.
type noticeText struct{ zh, en string }

// codeOf is the notice code of each rule kind.
var codeOf = map[Kind]string{
	SingleAmount: CodeLargeAmount,
	DailyUser:    CodeDailyTotal,
	DailyApp:     CodeElevatedRisk,
	Velocity:     CodeFrequentTransfers,
	NewPayee:     CodeNewPayee,
}

var defaultText = map[string]noticeText{
	CodeLargeAmount: {"本笔转账金额较大，请确认收款人和金额无误，谨防电信网络诈骗。",
		"This is a large transfer. Check the payee and the amount, and beware of fraud."},
	CodeDailyTotal: {"您今日累计转账金额较大，请注意资金安全。",
		"Your transfers today add up to a large amount. Please keep your money safe."},
	CodeFrequentTransfers: {"您近期转账较为频繁，请确认均为本人操作。",
		"You have made many transfers in a short time. Make sure each of them was yours."},
	CodeNewPayee: {"您首次向该收款人转账，请核实收款人身份，谨防诈骗。",
		"This is your first transfer to this payee. Verify who they are, and beware of fraud."},
	CodeElevatedRisk: {"本笔转账存在风险，请仔细核对交易信息。",
		"This transfer carries a risk. Check its details carefully."},
}

// buildNotice gathers the notice of the fired notice rules, one entry per code.
func buildNotice(rules []*Rule) *Notice {
	if len(rules) == 0 {
		return nil
	}
	n := &Notice{}
	var zh, en []string
	for _, r := range rules {
		code := codeOf[r.Kind]
		if slices.Contains(n.Codes, code) {
			continue
		}
		n.Codes = append(n.Codes, code)
		t := defaultText[code]
		if r.MessageZH != "" {
			t.zh = r.MessageZH
		}
		if r.MessageEN != "" {
			t.en = r.MessageEN
		}
		zh, en = append(zh, t.zh), append(en, t.en)
	}
	n.MessageZH, n.MessageEN = strings.Join(zh, ""), strings.Join(en, " ")
	return n
}

var errNotObject = errors.New("risk: the response is not one JSON object")

// injectNotice returns the JSON object body with the member risk_notice
// set to n (replacing one the backend sent). The other members keep their
// order and their values byte for byte.
func injectNotice(body []byte, n *Notice) ([]byte, error) {
	if !json.Valid(body) {
		return nil, errNotObject
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errNotObject
	}
	out := make([]byte, 0, len(body)+256)
	out = append(out, '{')
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, errNotObject
		}
		key, _ := kt.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, errNotObject
		}
		if strings.EqualFold(key, NoticeMember) {
			continue
		}
		out = appendMember(out, key, v)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, errNotObject
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errNotObject
	}
	v, err := marshal(n)
	if err != nil {
		return nil, err
	}
	out = appendMember(out, NoticeMember, v)
	return append(out, '}'), nil
}

// appendMember appends "key":value to the object being written in out.
func appendMember(out []byte, key string, value []byte) []byte {
	if len(out) > 1 {
		out = append(out, ',')
	}
	k, _ := marshal(key)
	return append(append(append(out, k...), ':'), value...)
}

// marshal is json.Marshal without HTML escaping (no \u003c for "<").
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// watch is the ResponseWriter the backend's answer passes through: it
// notes the status, which decides whether the transfer was made.
type watch struct {
	http.ResponseWriter
	status int
}

func (w *watch) WriteHeader(status int) {
	if w.status == 0 && status >= 200 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *watch) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *watch) Unwrap() http.ResponseWriter { return w.ResponseWriter }

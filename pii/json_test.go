package pii

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// testKey is a pseudonym key for tests only.
var testKey = []byte("0123456789abcdef0123456789abcdef")

func newTestEngine(t testing.TB) *Engine {
	t.Helper()
	e, err := NewEngine(testKey)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestMaskJSONScan(t *testing.T) {
	e := newTestEngine(t)
	for _, tc := range []struct {
		name, in, want string
		n              int
	}{
		{"account view",
			`{"id":"AC4949077557","card_number":"6219999814660352367","holder_name":"朱宇志","holder_id_number":"330106197811198076","holder_phone":"18035413832","type":"debit","currency":"CNY","balance":"60609.06"}`,
			`{"id":"AC4949077557","card_number":"621999*********2367","holder_name":"**志","holder_id_number":"3****************6","holder_phone":"180****3832","type":"debit","currency":"CNY","balance":"60609.06"}`,
			4},
		{"counterparties",
			`[{"counterparty_name":"孙晨晨","counterparty_account":"6258880860282167477"},{"counterparty_name":"鲜丰生活超市","counterparty_account":"31230038584093948365"}]`,
			`[{"counterparty_name":"**晨","counterparty_account":"625888*********7477"},{"counterparty_name":"鲜丰生活超市","counterparty_account":"****************8365"}]`,
			3},
		{"memo with a card", `{"memo":"转账给6222020200112233446 谢谢"}`, `{"memo":"转账给622202*********3446 谢谢"}`, 1},
		{"card as a number", `{"pan":6219999814660352367,"n":6219999814660352367,"amount":12345.67,"count":42}`,
			`{"pan":"621999*********2367","n":"621999*********2367","amount":12345.67,"count":42}`, 2},
		{"big integer kept exactly", `{"seq":123456789012345678901234567890,"f":1e400}`,
			`{"seq":123456789012345678901234567890,"f":1e400}`, 0},
		{"phones in an array", `{"mobile":["13812345678","+86 139 1234 5678"]}`,
			`{"mobile":["138****5678","+86 139 **** 5678"]}`, 2},
		{"account hint needs digits", `{"account":"AC2015908912","from_account":"12345678901"}`,
			`{"account":"AC2015908912","from_account":"*******8901"}`, 1},
		{"email", `{"email":"Zhang.San@Example.com","contact":"write to li@example.cn"}`,
			`{"email":"Z***@Example.com","contact":"write to l***@example.cn"}`, 2},
		{"camel case names", `{"holderName":"李四","idNo":"330106197811198076"}`,
			`{"holderName":"*四","idNo":"3****************6"}`, 2},
		{"escaped key and value", `{"holder\u005fname":"\u674e\u56db","x":"\u0036219999814660352367"}`,
			`{"holder\u005fname":"*四","x":"621999*********2367"}`, 2},
		{"names that are things", `{"product_name":"余额宝","branch":"沙盒银行北京朝阳支行","name":"沙盒沪深300指数基金"}`,
			`{"product_name":"余额宝","branch":"沙盒银行北京朝阳支行","name":"沙盒沪深300指数基金"}`, 0},
		{"ids and serials stay", `{"serial_number":"ST2026112545510004","id":"TX202611260000000053","api":"OPC999990201010100000001","order":"20261126223116339876241510c9d"}`,
			`{"serial_number":"ST2026112545510004","id":"TX202611260000000053","api":"OPC999990201010100000001","order":"20261126223116339876241510c9d"}`, 0},
		{"whitespace kept", "{\n  \"phone\" : \"13812345678\" ,\n  \"a\": [ 1, true, null ]\n}\n",
			"{\n  \"phone\" : \"138****5678\" ,\n  \"a\": [ 1, true, null ]\n}\n", 1},
		{"scalar document", `"13812345678"`, `"138****5678"`, 1},
		{"map keyed by card", `{"cards":{"6219999814660352367":{"limit":5}}}`, `{"cards":{"621999*********2367":{"limit":5}}}`, 1},
		{"negative integer", `{"x":-13812345678}`, `{"x":"-138****5678"}`, 1},
		{"email hides numbers in the domain", `{"email":"x@13812345678"}`, `{"email":"x@138****5678"}`, 1},
		{"already masked", `{"card_number":"621999*********2367","holder_name":"**志"}`,
			`{"card_number":"621999*********2367","holder_name":"**志"}`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, n, err := e.MaskJSON([]byte(tc.in), &Policy{Scan: true})
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tc.want || n != tc.n {
				t.Fatalf("MaskJSON:\n got %s (n=%d)\nwant %s (n=%d)", out, n, tc.want, tc.n)
			}
			if !json.Valid(out) {
				t.Fatalf("output is not JSON: %s", out)
			}
		})
	}
}

func TestMaskJSONRules(t *testing.T) {
	e := newTestEngine(t)
	const doc = `{"accounts":[{"id":"A1","card_number":"6219999814660352367","holder_name":"朱宇志","note":"x"},{"id":"A2","card_number":"6259993483927464","holder_name":"李四","note":"y"}],"owner":{"name":"朱宇志","a/b":"secret"}}`
	psnCard := e.Pseudonym(Card, "6219999814660352367")
	for _, tc := range []struct {
		name  string
		rules []Rule
		scan  bool
		want  string
		n     int
	}{
		{"mask by path", []Rule{{Path: "/accounts/*/card_number", Kind: Card}}, false,
			`{"accounts":[{"id":"A1","card_number":"621999*********2367","holder_name":"朱宇志","note":"x"},{"id":"A2","card_number":"625999******7464","holder_name":"李四","note":"y"}],"owner":{"name":"朱宇志","a/b":"secret"}}`, 2},
		{"double star", []Rule{{Path: "/**/holder_name"}, {Path: "/**/name"}}, false,
			`{"accounts":[{"id":"A1","card_number":"6219999814660352367","holder_name":"**志","note":"x"},{"id":"A2","card_number":"6259993483927464","holder_name":"*四","note":"y"}],"owner":{"name":"**志","a/b":"secret"}}`, 3},
		{"array index", []Rule{{Path: "/accounts/1/id", Kind: Account}}, false,
			`{"accounts":[{"id":"A1","card_number":"6219999814660352367","holder_name":"朱宇志","note":"x"},{"id":"**","card_number":"6259993483927464","holder_name":"李四","note":"y"}],"owner":{"name":"朱宇志","a/b":"secret"}}`, 1},
		{"escaped pattern, unknown kind hides all", []Rule{{Path: "/owner/a~1b"}}, false,
			`{"accounts":[{"id":"A1","card_number":"6219999814660352367","holder_name":"朱宇志","note":"x"},{"id":"A2","card_number":"6259993483927464","holder_name":"李四","note":"y"}],"owner":{"name":"朱宇志","a/b":"******"}}`, 1},
		{"pseudonym", []Rule{{Path: "/accounts/0/card_number", Action: ActionPseudonym}}, false,
			`{"accounts":[{"id":"A1","card_number":"` + psnCard + `","holder_name":"朱宇志","note":"x"},{"id":"A2","card_number":"6259993483927464","holder_name":"李四","note":"y"}],"owner":{"name":"朱宇志","a/b":"secret"}}`, 1},
		{"drop last and first members", []Rule{{Path: "/accounts/*/note", Action: ActionDrop}, {Path: "/accounts/*/id", Action: ActionDrop}}, false,
			`{"accounts":[{"card_number":"6219999814660352367","holder_name":"朱宇志"},{"card_number":"6259993483927464","holder_name":"李四"}],"owner":{"name":"朱宇志","a/b":"secret"}}`, 4},
		{"drop all members", []Rule{{Path: "/owner/*", Action: ActionDrop}}, false,
			`{"accounts":[{"id":"A1","card_number":"6219999814660352367","holder_name":"朱宇志","note":"x"},{"id":"A2","card_number":"6259993483927464","holder_name":"李四","note":"y"}],"owner":{}}`, 2},
		{"drop array element", []Rule{{Path: "/accounts/0", Action: ActionDrop}}, false,
			`{"accounts":[{"id":"A2","card_number":"6259993483927464","holder_name":"李四","note":"y"}],"owner":{"name":"朱宇志","a/b":"secret"}}`, 1},
		{"drop leading members then mask", []Rule{{Path: "/accounts/*/id", Action: ActionDrop}, {Path: "/accounts/*/card_number", Action: ActionDrop}, {Path: "/accounts/*/holder_name"}}, false,
			`{"accounts":[{"holder_name":"**志","note":"x"},{"holder_name":"*四","note":"y"}],"owner":{"name":"朱宇志","a/b":"secret"}}`, 6},
		{"keep stops the scan", []Rule{{Path: "/owner", Action: ActionKeep}}, true,
			`{"accounts":[{"id":"A1","card_number":"621999*********2367","holder_name":"**志","note":"x"},{"id":"A2","card_number":"625999******7464","holder_name":"*四","note":"y"}],"owner":{"name":"朱宇志","a/b":"secret"}}`, 4},
		{"rule on a container", []Rule{{Path: "/owner", Kind: Name}}, false,
			`{"accounts":[{"id":"A1","card_number":"6219999814660352367","holder_name":"朱宇志","note":"x"},{"id":"A2","card_number":"6259993483927464","holder_name":"李四","note":"y"}],"owner":{"name":"**志","a/b":"*****t"}}`, 2},
		{"first rule wins", []Rule{{Path: "/owner/name", Action: ActionKeep}, {Path: "/**/name", Action: ActionDrop}}, true,
			`{"accounts":[{"id":"A1","card_number":"621999*********2367","holder_name":"**志","note":"x"},{"id":"A2","card_number":"625999******7464","holder_name":"*四","note":"y"}],"owner":{"name":"朱宇志","a/b":"secret"}}`, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, n, err := e.MaskJSON([]byte(doc), &Policy{Rules: tc.rules, Scan: tc.scan})
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tc.want || n != tc.n {
				t.Fatalf("MaskJSON:\n got %s (n=%d)\nwant %s (n=%d)", out, n, tc.want, tc.n)
			}
			if !json.Valid(out) {
				t.Fatalf("output is not JSON: %s", out)
			}
		})
	}
}

func TestMaskJSONDropWhitespace(t *testing.T) {
	e := newTestEngine(t)
	for _, tc := range []struct{ name, in, want string }{
		{"middle", `{ "a": 1 , "b": 2 , "c": 3 }`, `{ "a": 1 , "c": 3 }`},
		{"first two", `{ "b": 1 , "b": 2 , "c": 3 }`, `{ "c": 3 }`},
		{"only", `[ 1, {"b": [1,2]} ]`, `[ 1 ]`},
		{"nested and element", "[\n {\"b\":1},\n {\"b\":2}\n]", "[\n {}\n]"},
		{"all", `{ "b": 1, "b": 2 }`, `{  }`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := e.MaskJSON([]byte(tc.in), &Policy{Rules: []Rule{{Path: "/**/b", Action: ActionDrop}, {Path: "/1", Action: ActionDrop}}})
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tc.want || !json.Valid(out) {
				t.Fatalf("got %s, want %s", out, tc.want)
			}
		})
	}
}

func TestMaskJSONUnchangedIsTheSameSlice(t *testing.T) {
	e := newTestEngine(t)
	doc := []byte(`{"balance":"60609.06","currency":"CNY","items":[1,2.5,-3,"x"]}`)
	out, n, err := e.MaskJSON(doc, &Policy{Scan: true})
	if err != nil || n != 0 || &out[0] != &doc[0] {
		t.Fatalf("MaskJSON = %s, %d, %v; want doc itself", out, n, err)
	}
}

func TestMaskJSONErrors(t *testing.T) {
	e := newTestEngine(t)
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	for _, tc := range []struct {
		name string
		doc  string
		p    *Policy
		want error
	}{
		{"empty", "", nil, ErrInvalidJSON},
		{"truncated", `{"a":"1`, nil, ErrInvalidJSON},
		{"trailing", `{} {}`, nil, ErrInvalidJSON},
		{"trailing comma", `{"a":1,}`, nil, ErrInvalidJSON},
		{"array trailing comma", `[1,]`, nil, ErrInvalidJSON},
		{"single quotes", `{'a':1}`, nil, ErrInvalidJSON},
		{"bad escape", `"\x"`, nil, ErrInvalidJSON},
		{"bad unicode escape", `"\u12G4"`, nil, ErrInvalidJSON},
		{"control character", "\"a\x01\"", nil, ErrInvalidJSON},
		{"leading zero", `01`, nil, ErrInvalidJSON},
		{"bare minus", `-`, nil, ErrInvalidJSON},
		{"bad fraction", `1.`, nil, ErrInvalidJSON},
		{"bad exponent", `1e+`, nil, ErrInvalidJSON},
		{"bad literal", `tru`, nil, ErrInvalidJSON},
		{"missing colon", `{"a" 1}`, nil, ErrInvalidJSON},
		{"key not string", `{1:1}`, nil, ErrInvalidJSON},
		{"invalid inside dropped value", `{"a":[1,}`, &Policy{Rules: []Rule{{Path: "/a", Action: ActionDrop}}}, ErrInvalidJSON},
		{"invalid inside kept value", `{"a":{"b":01}}`, &Policy{Rules: []Rule{{Path: "/a", Action: ActionKeep}}}, ErrInvalidJSON},
		{"too deep", deep(MaxDepth + 1), nil, ErrTooDeep},
		{"far too deep", deep(1 << 20), nil, ErrTooDeep},
		{"too large", `"` + strings.Repeat("a", MaxJSONBytes) + `"`, nil, ErrTooLarge},
		{"bad path", `{}`, &Policy{Rules: []Rule{{Path: "accounts"}}}, ErrPolicy},
		{"bad escape in path", `{}`, &Policy{Rules: []Rule{{Path: "/a~2"}}}, ErrPolicy},
		{"bad action", `{}`, &Policy{Rules: []Rule{{Path: "/a", Action: "encrypt"}}}, ErrPolicy},
		{"bad kind", `{}`, &Policy{Rules: []Rule{{Path: "/a", Kind: "iban"}}}, ErrPolicy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if json.Valid([]byte(tc.doc)) && tc.want == ErrInvalidJSON {
				t.Fatalf("encoding/json accepts %q", tc.doc)
			}
			out, _, err := e.MaskJSON([]byte(tc.doc), tc.p)
			if !errors.Is(err, tc.want) || out != nil {
				t.Fatalf("MaskJSON(%.40q) = %.40q, %v; want %v", tc.doc, out, err, tc.want)
			}
		})
	}
	if _, _, err := e.MaskJSON([]byte(deep(MaxDepth)), nil); err != nil {
		t.Fatalf("MaxDepth levels: %v", err)
	}
}

func TestMaskJSONAgreesWithEncodingJSON(t *testing.T) {
	e := newTestEngine(t)
	in := `{"a":"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00\ud800x","b":[1.5e3,-0,true,false,null,{}],"holder_name":"李\u56db","memo":"<&>` + "\u2028" + ` 13812345678"}`
	out, n, err := e.MaskJSON([]byte(in), nil)
	if err != nil || n != 2 {
		t.Fatalf("MaskJSON = %s, %d, %v", out, n, err)
	}
	var got, want map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(in), &want); err != nil {
		t.Fatal(err)
	}
	want["holder_name"] = "*四"
	want["memo"] = "<&>\u2028 138****5678"
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if !bytes.Equal(gb, wb) {
		t.Fatalf("decoded output differs:\n got %s\nwant %s", gb, wb)
	}
}

func TestPolicyValidate(t *testing.T) {
	p := Policy{Rules: []Rule{{Path: "/a/*/b~0c~1d"}, {Path: "/**", Action: ActionKeep, Kind: Email}}}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestMatchPath(t *testing.T) {
	path := []seg{{name: []byte("accounts")}, {index: 10, isIndex: true}, {name: []byte("card/no")}}
	for _, tc := range []struct {
		pat  string
		want bool
	}{
		{"/accounts/10/card~1no", true}, {"/accounts/*/card~1no", true}, {"/**/card~1no", true},
		{"/**", true}, {"/accounts/**", true}, {"/**/10/**", true}, {"/*/*/*", true},
		{"/**/**/card~1no", true}, {"/accounts/010/card~1no", false}, {"/accounts/+10/card~1no", false},
		{"/accounts/*", false}, {"/*/*/*/*", false}, {"/accounts/10/card/no", false}, {"/**/accounts/x", false},
	} {
		if got := matchPath(tc.pat, path); got != tc.want {
			t.Errorf("matchPath(%q) = %v, want %v", tc.pat, got, tc.want)
		}
	}
}

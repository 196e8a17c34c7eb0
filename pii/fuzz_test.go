package pii

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzTexts seed FuzzFind: true and false positives of every detector.
var fuzzTexts = []string{
	"", "transfer to " + cardLog, card19, card16, cardVisa, cardBad16, id18, idX, idBadDate,
	"6219 9983 4583 3190 724", "4111-1111-1111-1111", "330106 19781119 8076", "+86 138 1234 5678",
	"0086-138-1234-5678", "8613812345678", "13812345678.50", "20261126223116339876241510c9d",
	"OPC999990201010100000001", "2026-11-26T10:15:00+08:00", "12345.67", "a@b.cn.x@y.cn",
	"zhang.san@example.com", "13812345678@qq.com", "转账给" + cardLog + "成功", "0.4111111111111111",
	card19 + " 4111 1111 1111 1", strings.Repeat("1 ", 40), "x\xff" + mobile + "\xfe",
}

func FuzzFind(f *testing.F) {
	for _, s := range fuzzTexts {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fs := Find(s)
		prev := 0
		for _, x := range fs {
			if x.Start < prev || x.End <= x.Start || x.End > len(s) {
				t.Fatalf("Find(%q): finding %v out of order or bounds", s, x)
			}
			prev = x.End
			if x.Kind == Card || x.Kind == IDNumber || x.Kind == Phone {
				if !wholeNumber(s, x) {
					t.Fatalf("Find(%q): %v touches a letter or digit", s, x)
				}
			}
		}
		m := MaskText(s)
		if left := numericFindings(Find(m)); len(left) > 0 {
			t.Fatalf("MaskText(%q) = %q still has %v", s, m, left)
		}
		if len(fs) == 0 && m != s {
			t.Fatalf("MaskText(%q) = %q without findings", s, m)
		}
		if utf8.ValidString(s) && !utf8.ValidString(m) {
			t.Fatalf("MaskText(%q) = %q is not UTF-8", s, m)
		}
	})
}

// wholeNumber reports whether a numeric finding neither starts nor ends inside a word.
func wholeNumber(s string, f Finding) bool {
	return (f.Start == 0 || !isAlnum(s[f.Start-1])) && (f.End == len(s) || !isAlnum(s[f.End]))
}

// fuzzDocs seed FuzzMaskJSON.
var fuzzDocs = []string{
	`{"accounts":[{"id":"AC4949077557","card_number":"6219999814660352367","holder_name":"朱宇志","holder_id_number":"330106197811198076","holder_phone":"18035413832","balance":"60609.06"}]}`,
	`{"transactions":[{"counterparty_name":"孙晨晨","counterparty_account":"6258880860282167477","description":"转账 13812345678"}],"next_page_token":"djE6MzQ"}`,
	`{"a":[1,-2.5e3,true,false,null,{"b":{}}],"c":"\u674e\ud83d\ude00\n","6219999814660352367":6219999814660352367}`,
	`[{"note":"x"},{"id":1,"note":2}]`, `"13812345678"`, `-0`, `{"email":"li@example.cn"}`,
	`{"a":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}`, `{"a":1,}`, `{"a":"\ud800"}`,
}

// fuzzPolicies are tried on every document: the scan alone, and rules of every action.
var fuzzPolicies = []*Policy{
	{Scan: true},
	{Scan: true, Rules: []Rule{
		{Path: "/**/note", Action: ActionDrop}, {Path: "/a/*", Action: ActionKeep},
		{Path: "/accounts/*/card_number", Action: ActionPseudonym}, {Path: "/**/id", Kind: Account},
		{Path: "/*/0", Action: ActionDrop}, {Path: "/c"},
	}},
}

func FuzzMaskJSON(f *testing.F) {
	for _, d := range fuzzDocs {
		f.Add([]byte(d))
	}
	e, err := NewEngine(testKey)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		valid := json.Valid(doc)
		for pi, p := range fuzzPolicies {
			in := bytes.Clone(doc)
			out, n, err := e.MaskJSON(in, p)
			if !bytes.Equal(in, doc) {
				t.Fatal("MaskJSON changed its input")
			}
			if err != nil {
				if valid && !errors.Is(err, ErrTooDeep) {
					t.Fatalf("MaskJSON(%q) of valid JSON: %v", doc, err)
				}
				continue
			}
			if !valid {
				t.Fatalf("MaskJSON(%q) accepted invalid JSON: %q", doc, out)
			}
			if !json.Valid(out) {
				t.Fatalf("MaskJSON(%q) = %q is not JSON", doc, out)
			}
			if n == 0 && !bytes.Equal(out, doc) {
				t.Fatalf("MaskJSON(%q) = %q changed nothing but differs", doc, out)
			}
			if pi == 0 {
				if s, ok := unmaskedString(t, out); ok {
					t.Fatalf("MaskJSON(%q) = %q leaves %q", doc, out, s)
				}
				sameShape(t, doc, out)
			}
		}
	})
}

// unmaskedString returns a string, member name or number of doc in which Find still sees a
// card, ID or phone number.
func unmaskedString(t *testing.T, doc []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return "", false
		}
		if err != nil {
			t.Fatalf("decoding %q: %v", doc, err)
		}
		var s string
		switch v := tok.(type) {
		case string:
			s = v
		case json.Number:
			s = string(v)
		default:
			continue
		}
		if len(numericFindings(Find(s))) > 0 {
			return s, true
		}
	}
}

// sameShape fails unless the scan kept the structure of doc: the same tokens, of which only
// strings and numbers changed, and those into strings.
func sameShape(t *testing.T, doc, out []byte) {
	tokens := func(b []byte) []json.Token {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var ts []json.Token
		for {
			tok, err := dec.Token()
			if err == io.EOF {
				return ts
			}
			if err != nil {
				t.Fatalf("decoding %q: %v", b, err)
			}
			ts = append(ts, tok)
		}
	}
	a, b := tokens(doc), tokens(out)
	if len(a) != len(b) {
		t.Fatalf("MaskJSON(%q) = %q: %d tokens became %d", doc, out, len(a), len(b))
	}
	for i := range a {
		if a[i] == b[i] {
			continue
		}
		_, wasString := a[i].(string)
		_, wasNumber := a[i].(json.Number)
		if _, isString := b[i].(string); !isString || !wasString && !wasNumber {
			t.Fatalf("MaskJSON(%q) = %q: token %v became %v", doc, out, a[i], b[i])
		}
	}
}

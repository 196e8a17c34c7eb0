package fieldcrypt

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\s`, "\n\r\t\b\f\x00\x1f\x7f", "中文 é", "\u2028\u2029", "<&>", "\U0001F600"} {
		enc := appendString(nil, s)
		var got string
		if err := json.Unmarshal(enc, &got); err != nil || got != s {
			t.Fatalf("appendString(%q) = %s, decodes to %q, %v", s, enc, got, err)
		}
	}
	if got := string(appendString(nil, "a\u2028\n\x01")); got != `"a\u2028\n\u0001"` {
		t.Fatalf("escapes: %s", got)
	}
}

func TestParseJSON(t *testing.T) {
	tests := []struct {
		in, out string
		err     error
	}{
		{`  {"b":1, "a":[true,false,null,"x"]} `, `{"b":1,"a":[true,false,null,"x"]}`, nil},
		{`[1.50,-0,1E+400,12345678901234567890123]`, `[1.50,-0,1E+400,12345678901234567890123]`, nil},
		{`"\u00e9\/\ud83d\ude00"`, `"é/😀"`, nil},
		{`"\ud800"`, "\"\uFFFD\"", nil},
		{"\"\xff\"", "\"\uFFFD\"", nil},
		{`{}`, `{}`, nil},
		{`[]`, `[]`, nil},
		{`{"a":1,"a":1}`, "", ErrMalformed},
		{`{"a":1}x`, "", ErrMalformed},
		{``, "", ErrMalformed},
		{`[1,]`, "", ErrMalformed},
		{`{"a" 1}`, "", ErrMalformed},
		{`NaN`, "", ErrMalformed},
		{`{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":0,"k11":1,"k12":2,"k13":3,"k14":4,"k15":5,"k16":6,"k3":0}`, "", ErrMalformed},
	}
	for _, tt := range tests {
		n, err := parseJSON([]byte(tt.in), MaxDepth)
		if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
			t.Fatalf("parseJSON(%q): %v, want %v", tt.in, err, tt.err)
		}
		if err == nil {
			if got := string(appendJSON(nil, n)); got != tt.out {
				t.Fatalf("parseJSON(%q) encodes as %s, want %s", tt.in, got, tt.out)
			}
		}
	}
}

func TestPatterns(t *testing.T) {
	doc := `{"a":[{"b":1},{"b":2,"c":3}],"x/y":{"~":4},"*":5,"n":{"01":6,"1":7}}`
	root, err := parseJSON([]byte(doc), MaxDepth)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		patterns []string
		want     string
	}{
		{[]string{"/a/*/b"}, "/a/0/b /a/1/b"},
		{[]string{"/a/1/*"}, "/a/1/b /a/1/c"},
		{[]string{"/a/01/b", "/a/-/b", "/a/2/b"}, ""},
		{[]string{"/x~1y/~0"}, "/x~1y/~0"},
		{[]string{"/*"}, "/a /x~1y /* /n"},
		{[]string{"/n/01", "/n/1"}, "/n/01 /n/1"},
		{[]string{"/a/*/b", "/a"}, "/a"},
	}
	for _, tt := range tests {
		pats, err := parsePatterns(tt.patterns)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range matchAll(root, pats) {
			got = append(got, m.ptr)
		}
		if strings.Join(got, " ") != tt.want {
			t.Fatalf("%q matched %q, want %q", tt.patterns, got, tt.want)
		}
		// Every concrete pointer locates the same value again.
		ms, err := locate(root, got)
		if err != nil {
			t.Fatalf("locate(%q): %v", got, err)
		}
		for i, m := range ms {
			if m.ptr != got[i] {
				t.Fatalf("locate order: %q", m.ptr)
			}
		}
	}
}

// FuzzParseJSON checks the tree builder against encoding/json: it accepts
// what json.Valid accepts (bar duplicates and depth), and its compact
// encoding decodes to the same value and re-parses to itself.
func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,"b",null,true,{"c":-1.5e3}]}`, `"\u2028\ud800\\"`, "[\"\xff\"]", `{"a":1,"a":2}`, `[[[[]]]]`, ` 0 `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := parseJSON(data, 8)
		if err != nil {
			if json.Valid(data) && !errors.Is(err, ErrTooLarge) && !strings.Contains(err.Error(), "duplicate") {
				t.Fatalf("valid json refused: %v", err)
			}
			return
		}
		out := appendJSON(nil, n)
		var a, b any
		da := json.NewDecoder(bytes.NewReader(data))
		da.UseNumber()
		db := json.NewDecoder(bytes.NewReader(out))
		db.UseNumber()
		if err := da.Decode(&a); err != nil {
			t.Fatal(err)
		}
		if err := db.Decode(&b); err != nil {
			t.Fatalf("encoding %q is not json: %v", out, err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%q re-encodes as %q", data, out)
		}
		n2, err := parseJSON(out, 8)
		if err != nil || !bytes.Equal(appendJSON(nil, n2), out) {
			t.Fatalf("encoding %q is not stable: %v", out, err)
		}
	})
}

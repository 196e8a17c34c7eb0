package jsonptr

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	for _, tc := range []struct {
		name, body, pointer, want string
		err                       error
	}{
		{"top-level member", `{"from_account_id":"AC1","x":1}`, "/from_account_id", "AC1", nil},
		{"nested", `{"debit":{"account":"AC2"}}`, "/debit/account", "AC2", nil},
		{"array index", `{"legs":[{"a":"X"},{"a":"Y"}]}`, "/legs/1/a", "Y", nil},
		{"escaped key", `{"a/b":{"c~d":"Z"}}`, "/a~1b/c~0d", "Z", nil},
		{"unicode escape in key", `{"from\u005faccount_id":"AC3"}`, "/from_account_id", "AC3", nil},
		{"missing", `{"to":"AC1"}`, "/from_account_id", "", ErrAbsent},
		{"duplicate", `{"a":"1","a":"2"}`, "/a", "", ErrAmbiguous},
		{"case variant", `{"a":"1","A":"2"}`, "/a", "", ErrAmbiguous},
		{"kelvin sign folds to k", `{"k":"1","\u212a":"2"}`, "/k", "", ErrAmbiguous},
		{"only a case variant", `{"A":"2"}`, "/a", "", ErrAbsent},
		{"duplicate elsewhere is fine", `{"a":"1","b":"x","b":"y"}`, "/a", "1", nil},
		{"number", `{"a":1}`, "/a", "", ErrNotString},
		{"null", `{"a":null}`, "/a", "", ErrNotString},
		{"trailing document", `{"a":"1"}{"a":"2"}`, "/a", "", ErrNotJSON},
		{"not JSON", `a=1`, "/a", "", ErrNotJSON},
		{"empty body", ``, "/a", "", ErrNotJSON},
		{"invalid UTF-8", "{\"a\":\"\xff\"}", "/a", "", ErrNotJSON},
		{"index past the end", `{"l":["x"]}`, "/l/1", "", ErrAbsent},
		{"leading zero index", `{"l":["x","y"]}`, "/l/01", "", ErrAbsent},
		{"into a string", `{"a":"xyz"}`, "/a/0", "", ErrAbsent},
		{"pointer without slash", `{"a":"1"}`, "a", "", ErrPointer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := String([]byte(tc.body), tc.pointer)
			if !errors.Is(err, tc.err) || got != tc.want {
				t.Fatalf("stringAt = %q, %v; want %q, %v", got, err, tc.want, tc.err)
			}
		})
	}
}

// FuzzString checks that whatever the body, a value found is the one
// encoding/json finds, and that no body makes the lookup panic.
func FuzzString(f *testing.F) {
	for _, s := range []string{`{"a":"1"}`, `{"a":"1","A":"2"}`, `{"a":{"b":["x","y"]}}`, `[]`, `"s"`, `{"a":"\u00e9"}`} {
		f.Add(s, "/a")
	}
	f.Fuzz(func(t *testing.T, body, pointer string) {
		got, err := String([]byte(body), pointer)
		if err != nil || strings.ContainsAny(pointer[1:], "/~") {
			return
		}
		if !json.Valid([]byte(body)) {
			t.Fatalf("found %q in a body that is not JSON: %q", got, body)
		}
		// A one-segment pointer into an object: encoding/json agrees on the member.
		var m map[string]any
		if json.Unmarshal([]byte(body), &m) != nil {
			return // an array
		}
		if v, _ := m[pointer[1:]].(string); v != got {
			t.Fatalf("stringAt = %q, encoding/json %q, body %q", got, v, body)
		}
	})
}

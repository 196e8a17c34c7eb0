package usertoken

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestStringAt(t *testing.T) {
	for _, tc := range []struct {
		name, body, pointer, want string
		err                       error
	}{
		{"top-level member", `{"from_account_id":"AC1","x":1}`, "/from_account_id", "AC1", nil},
		{"nested", `{"debit":{"account":"AC2"}}`, "/debit/account", "AC2", nil},
		{"array index", `{"legs":[{"a":"X"},{"a":"Y"}]}`, "/legs/1/a", "Y", nil},
		{"escaped key", `{"a/b":{"c~d":"Z"}}`, "/a~1b/c~0d", "Z", nil},
		{"unicode escape in key", `{"from\u005faccount_id":"AC3"}`, "/from_account_id", "AC3", nil},
		{"missing", `{"to":"AC1"}`, "/from_account_id", "", errAbsent},
		{"duplicate", `{"a":"1","a":"2"}`, "/a", "", errAmbiguous},
		{"case variant", `{"a":"1","A":"2"}`, "/a", "", errAmbiguous},
		{"kelvin sign folds to k", `{"k":"1","\u212a":"2"}`, "/k", "", errAmbiguous},
		{"only a case variant", `{"A":"2"}`, "/a", "", errAbsent},
		{"duplicate elsewhere is fine", `{"a":"1","b":"x","b":"y"}`, "/a", "1", nil},
		{"number", `{"a":1}`, "/a", "", errNotString},
		{"null", `{"a":null}`, "/a", "", errNotString},
		{"trailing document", `{"a":"1"}{"a":"2"}`, "/a", "", errNotJSON},
		{"not JSON", `a=1`, "/a", "", errNotJSON},
		{"empty body", ``, "/a", "", errNotJSON},
		{"invalid UTF-8", "{\"a\":\"\xff\"}", "/a", "", errNotJSON},
		{"index past the end", `{"l":["x"]}`, "/l/1", "", errAbsent},
		{"leading zero index", `{"l":["x","y"]}`, "/l/01", "", errAbsent},
		{"into a string", `{"a":"xyz"}`, "/a/0", "", errAbsent},
		{"pointer without slash", `{"a":"1"}`, "a", "", errPointer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := stringAt([]byte(tc.body), tc.pointer)
			if !errors.Is(err, tc.err) || got != tc.want {
				t.Fatalf("stringAt = %q, %v; want %q, %v", got, err, tc.want, tc.err)
			}
		})
	}
}

// FuzzStringAt checks that whatever the body, a value found is the one
// encoding/json finds, and that no body makes the lookup panic.
func FuzzStringAt(f *testing.F) {
	for _, s := range []string{`{"a":"1"}`, `{"a":"1","A":"2"}`, `{"a":{"b":["x","y"]}}`, `[]`, `"s"`, `{"a":"\u00e9"}`} {
		f.Add(s, "/a")
	}
	f.Fuzz(func(t *testing.T, body, pointer string) {
		got, err := stringAt([]byte(body), pointer)
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

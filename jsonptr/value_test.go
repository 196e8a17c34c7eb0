package jsonptr

import (
	"errors"
	"testing"
)

func TestValue(t *testing.T) {
	body := []byte(`{"a":{"b~/c":[1,"x"]},"n":null,"s":"é"}`)
	for _, tt := range []struct {
		ptr, want string
		err       error
	}{
		{"/a/b~0~1c/1", `"x"`, nil},
		{"/a/b~0~1c/0", `1`, nil},
		{"/a/b~0~1c/2", "", ErrAbsent},
		{"/a/b~0~1c/01", "", ErrAbsent},
		{"/n", `null`, nil},
		{"/x", "", ErrAbsent},
		{"a", "", ErrPointer},
		{"/a~2", "", ErrPointer},
	} {
		got, err := Value(body, tt.ptr)
		if string(got) != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("Value(%q) = %s, %v; want %s, %v", tt.ptr, got, err, tt.want, tt.err)
		}
	}
	if _, err := Value([]byte(`{"a":1,"A":2}`), "/a"); !errors.Is(err, ErrAmbiguous) {
		t.Errorf("a member named twice: %v", err)
	}
	if _, err := Value([]byte(`{"a":1}{"a":2}`), "/a"); !errors.Is(err, ErrNotJSON) {
		t.Errorf("two documents: %v", err)
	}
	if _, err := String(body, "/n"); !errors.Is(err, ErrNotString) {
		t.Errorf("null as a string: %v", err)
	}
}

// Package jsonptr reads a value of a JSON document at an RFC 6901 pointer,
// strictly: the gateway must read the same value a backend will act on, so
// an object on the way that names the member twice — also in another letter
// case, which some decoders (Go's encoding/json among them) match
// case-insensitively — is refused, not resolved. The object-level check of
// user tokens (the debited account) and the risk rules (amount, payee) read
// transfers with it.
package jsonptr

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The errors; they are internal (callers answer with their own code).
var (
	ErrNotJSON   = errors.New("jsonptr: the body is not one JSON document")
	ErrPointer   = errors.New("jsonptr: malformed JSON pointer")
	ErrAbsent    = errors.New("jsonptr: the body has no member at the pointer")
	ErrAmbiguous = errors.New("jsonptr: the body names the member more than once")
	ErrNotString = errors.New("jsonptr: the member is not a string")
)

// unescape decodes a pointer segment: ~1 is "/", ~0 is "~" (RFC 6901 §4).
var unescape = strings.NewReplacer("~1", "/", "~0", "~")

// Valid reports whether p is a JSON pointer to a member (RFC 6901): "/a/b",
// with ~ only in ~0 and ~1.
func Valid(p string) bool {
	if p == "" || p[0] != '/' || !utf8.ValidString(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] == '~' && (i+1 == len(p) || p[i+1] != '0' && p[i+1] != '1') {
			return false
		}
	}
	return true
}

// Value returns the JSON value at pointer in body.
func Value(body []byte, pointer string) (json.RawMessage, error) {
	if !utf8.Valid(body) || !json.Valid(body) {
		return nil, ErrNotJSON
	}
	if !Valid(pointer) {
		return nil, ErrPointer
	}
	raw := json.RawMessage(body)
	for _, seg := range Segments(pointer) {
		var err error
		if raw, err = child(raw, seg); err != nil {
			return nil, err
		}
	}
	return raw, nil
}

// String returns the string at pointer in body.
func String(body []byte, pointer string) (string, error) {
	raw, err := Value(body, pointer)
	if err != nil {
		return "", err
	}
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil { // null would decode to ""
		return "", ErrNotString
	}
	return s, nil
}

// child returns the member seg of the object raw, or its element seg if it
// is an array.
func child(raw []byte, seg string) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, ErrNotJSON
	}
	switch tok {
	case json.Delim('{'):
		var found json.RawMessage
		seen := 0
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, ErrNotJSON
			}
			key, _ := kt.(string)
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return nil, ErrNotJSON
			}
			if strings.EqualFold(key, seg) {
				seen++
				if key == seg {
					found = v
				}
			}
		}
		switch {
		case seen > 1:
			return nil, ErrAmbiguous
		case found == nil:
			return nil, ErrAbsent
		}
		return found, nil
	case json.Delim('['):
		idx, ok := arrayIndex(seg)
		if !ok {
			return nil, ErrAbsent
		}
		for i := 0; dec.More(); i++ {
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return nil, ErrNotJSON
			}
			if i == idx {
				return v, nil
			}
		}
	}
	return nil, ErrAbsent
}

// arrayIndex parses an RFC 6901 array index: "0" or a decimal without a
// leading zero.
func arrayIndex(seg string) (int, bool) {
	if seg == "" || len(seg) > 9 || len(seg) > 1 && seg[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(seg); i++ {
		if seg[i] < '0' || seg[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(seg)
	return n, err == nil
}

// Segments splits a valid pointer into its unescaped segments.
func Segments(p string) []string {
	s := strings.Split(p[1:], "/")
	for i := range s {
		s[i] = unescape.Replace(s[i])
	}
	return s
}

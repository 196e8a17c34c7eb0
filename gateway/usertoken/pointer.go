package usertoken

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Errors of stringAt; they stay internal.
var (
	errNotJSON   = errors.New("usertoken: the body is not one JSON document")
	errPointer   = errors.New("usertoken: malformed JSON pointer")
	errAbsent    = errors.New("usertoken: the body has no member at the pointer")
	errAmbiguous = errors.New("usertoken: the body names the member more than once")
	errNotString = errors.New("usertoken: the member is not a string")
)

// unescape decodes a JSON pointer segment: ~1 is "/", ~0 is "~" (RFC 6901 §4).
var unescape = strings.NewReplacer("~1", "/", "~0", "~")

// stringAt returns the string at pointer (RFC 6901) in the JSON document
// body.
//
// The gateway and the backend must read the same account from one body, or
// the check is worthless: an object on the way that names the member twice
// — also in another letter case, which some decoders (Go's encoding/json
// among them) match case-insensitively — is refused, not resolved.
func stringAt(body []byte, pointer string) (string, error) {
	if !utf8.Valid(body) || !json.Valid(body) {
		return "", errNotJSON
	}
	if pointer == "" || pointer[0] != '/' {
		return "", errPointer
	}
	raw := body
	for _, seg := range strings.Split(pointer[1:], "/") {
		seg = unescape.Replace(seg)
		var err error
		if raw, err = child(raw, seg); err != nil {
			return "", err
		}
	}
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil { // null would decode to ""
		return "", errNotString
	}
	return s, nil
}

// child returns the member seg of the object raw, or its element seg if it
// is an array.
func child(raw []byte, seg string) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, errNotJSON
	}
	switch tok {
	case json.Delim('{'):
		var found json.RawMessage
		seen := 0
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, errNotJSON
			}
			key, _ := kt.(string)
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return nil, errNotJSON
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
			return nil, errAmbiguous
		case found == nil:
			return nil, errAbsent
		}
		return found, nil
	case json.Delim('['):
		idx, ok := arrayIndex(seg)
		if !ok {
			return nil, errAbsent
		}
		for i := 0; dec.More(); i++ {
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return nil, errNotJSON
			}
			if i == idx {
				return v, nil
			}
		}
	}
	return nil, errAbsent
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

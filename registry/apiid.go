package registry

import (
	"fmt"
	"strings"
)

// APIIDLen is the length of a unified API identifier code.
const APIIDLen = 24

// APIID is a parsed unified API identifier code (U_API_ID, JR/T 0185-2020
// Annex B as far as known; T/PCAC 0008-2020 8.1): "OP", a 6-character bank
// code (the first 6 characters of the JR/T 0124 institution code), a 2-digit
// level, a 6-character service category whose first 2 digits are the service
// type, and an 8-character sequence.
type APIID struct {
	BankCode string
	Level    Level
	Category string
	Sequence string
}

// ParseAPIID validates and splits a U_API_ID. The parts whose structure is not
// public are only checked for their length and character set.
func ParseAPIID(s string) (APIID, error) {
	if len(s) != APIIDLen {
		return APIID{}, fmt.Errorf("U_API_ID %q: want %d characters, have %d", s, APIIDLen, len(s))
	}
	for i := 0; i < len(s); i++ {
		if !isUpperAlnum(s[i]) {
			return APIID{}, fmt.Errorf("U_API_ID %q: character %d is not an upper-case letter or digit", s, i+1)
		}
	}
	if !strings.HasPrefix(s, "OP") {
		return APIID{}, fmt.Errorf("U_API_ID %q: must start with OP", s)
	}
	id := APIID{BankCode: s[2:8], Category: s[10:16], Sequence: s[16:24]}
	switch s[8:10] {
	case "01":
		id.Level = A1
	case "02":
		id.Level = A2
	default:
		return APIID{}, fmt.Errorf("U_API_ID %q: level %q is not 01 (A1) or 02 (A2)", s, s[8:10])
	}
	if !isDigits(id.Category[:2]) {
		return APIID{}, fmt.Errorf("U_API_ID %q: service type %q is not two digits", s, id.Category[:2])
	}
	return id, nil
}

// String formats the identifier back into its 24 characters.
func (id APIID) String() string {
	level := "01"
	if id.Level == A2 {
		level = "02"
	}
	return "OP" + id.BankCode + level + id.Category + id.Sequence
}

func isUpperAlnum(c byte) bool { return c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

package sandbox

import (
	"strconv"
	"strings"
)

// fen is an amount in fen (分, 0.01 yuan). Money is kept as integers and travels as decimal
// strings; it is never a float.
type fen int64

// maxAmount is the largest amount parseAmount accepts: twelve integer digits.
const maxAmount fen = 999_999_999_999_99

// String formats f as a decimal string with two places, for example "12345.67" or "-0.05".
func (f fen) String() string {
	sign := ""
	u := uint64(f)
	if f < 0 {
		sign = "-"
		u = uint64(-f)
	}
	cents := u % 100
	s := sign + strconv.FormatUint(u/100, 10) + "."
	if cents < 10 {
		s += "0"
	}
	return s + strconv.FormatUint(cents, 10)
}

// parseAmount parses a non-negative decimal amount with at most twelve integer digits and two
// decimals (the pattern ^[0-9]{1,12}(\.[0-9]{1,2})?$ of the OpenAPI document).
func parseAmount(s string) (fen, bool) {
	whole, frac, hasDot := strings.Cut(s, ".")
	if len(whole) < 1 || len(whole) > 12 || !allDigits(whole) {
		return 0, false
	}
	if hasDot && (len(frac) < 1 || len(frac) > 2 || !allDigits(frac)) {
		return 0, false
	}
	for len(frac) < 2 {
		frac += "0"
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, false
	}
	c, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0, false
	}
	return fen(w*100 + c), true
}

// percentOf returns amount × basisPoints / 10000, rounded half up (amount must be ≥ 0).
func percentOf(amount fen, basisPoints int64) fen {
	return fen((int64(amount)*basisPoints + 5000) / 10000)
}

// allDigits reports whether s is non-empty and made only of ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

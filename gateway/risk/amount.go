package risk

import (
	"errors"
	"math"
	"strconv"
)

// Fen is an amount of money in fen (分, 0.01 yuan, CNY). Amounts are integers
// from the moment they are read: the gateway never holds money in a float.
type Fen int64

// maxWholeDigits bounds the integer part of an amount. Fifteen digits keep
// any amount below 10^17 fen, so thousands of them still sum within an int64
// (and the counters saturate rather than wrap).
const maxWholeDigits = 15

// errAmount is why an amount does not parse; it stays internal.
var errAmount = errors.New("risk: the amount is not a decimal of at most 15 integer digits and 2 decimals")

// ParseAmount parses a non-negative decimal amount in yuan with at most 15
// integer digits and at most 2 decimals — "1234.56", "0.5", "100" — into
// fen. Signs, exponents, spaces, a lone or trailing point, a third decimal
// and non-ASCII digits are refused: an amount the gateway cannot read
// exactly is an amount it cannot assess.
func ParseAmount(s string) (Fen, error) {
	whole, frac := s, ""
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			whole, frac = s[:i], s[i+1:]
			if frac == "" || len(frac) > 2 {
				return 0, errAmount
			}
			break
		}
	}
	if whole == "" || len(whole) > maxWholeDigits || !digits(whole) || !digits(frac) {
		return 0, errAmount
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, errAmount
	}
	var c int64
	if frac != "" {
		c, _ = strconv.ParseInt(frac, 10, 64) // one or two digits: cannot fail
		if len(frac) == 1 {
			c *= 10
		}
	}
	return Fen(w*100 + c), nil
}

// String formats f in yuan with two decimals, "1234.56".
func (f Fen) String() string {
	sign := ""
	u := uint64(f)
	if f < 0 {
		sign, u = "-", uint64(-f)
	}
	cents := u % 100
	s := sign + strconv.FormatUint(u/100, 10) + "."
	if cents < 10 {
		s += "0"
	}
	return s + strconv.FormatUint(cents, 10)
}

// digits reports whether s is made only of ASCII digits (true for "").
func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// addSat adds without wrapping around: totals saturate at the int64 bounds.
func addSat(a, b int64) int64 {
	s := a + b
	switch {
	case b > 0 && s < a:
		return math.MaxInt64
	case b < 0 && s > a:
		return math.MinInt64
	}
	return s
}

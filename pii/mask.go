package pii

import (
	"slices"
	"unicode"
	"unicode/utf8"
)

// Mask returns value masked in the format of kind (T/PCAC 0008-2020 3.2.5). Only letters and
// digits count as characters and are replaced, one '*' each; spaces, hyphens and other
// separators stay where they are, so "6222 0202 0011 2233 445" keeps its grouping. A byte that
// is not UTF-8 counts as a character (it may be part of a GBK name), and a '*' as a character
// already hidden, so masking a masked value changes nothing.
//
//   - Card: the first 6 and last 4 digits, "621999*********2367".
//   - Account: the last 4, "****************5678".
//   - IDNumber: the first and the last character, "3****************6".
//   - Phone: the first 3 and last 4 digits of the national number; a country prefix 86 or
//     0086 stays, "+86 180****3832".
//   - Name: the last character, "**志"; a one-character name is hidden whole.
//   - Email: the first character of the local part, then "***@" and the domain.
//   - Any other kind: every character is hidden.
//
// A value too short for its format shows less: the first and last characters are kept only when
// at least 3 stay hidden, the last ones alone only when at least 4 stay hidden, else nothing is
// kept.
func Mask(kind Kind, value string) string {
	return string(appendMask(make([]byte, 0, len(value)+4), kind, value))
}

// text is what the detectors and maskers read: JSON values arrive as bytes, log lines as strings.
type text interface{ ~string | ~[]byte }

// appendMask appends the mask of v in the format of kind to dst.
func appendMask[T text](dst []byte, kind Kind, v T) []byte {
	switch kind {
	case Card:
		return appendKept(dst, v, 6, 4, 0)
	case Account:
		return appendKept(dst, v, 0, 4, 0)
	case IDNumber:
		return appendKept(dst, v, 1, 1, 0)
	case Phone:
		return appendKept(dst, v, 3, 4, countryPrefix(v))
	case Name:
		return appendKept(dst, v, 0, 1, 0)
	case Email:
		return appendEmailMask(dst, v)
	}
	return appendKept(dst, v, 0, 0, 0)
}

// appendKept appends v with all significant characters but the first head+prefix and the last
// tail replaced by '*', following the short-value rule of Mask.
func appendKept[T text](dst []byte, v T, head, tail, prefix int) []byte {
	n, ascii := 0, true
	for i := 0; i < len(v); {
		if c := v[i]; c < utf8.RuneSelf {
			if isAlnum(c) || c == '*' {
				n++
			}
			i++
			continue
		}
		ascii = false
		r, w := decodeRune(v, i)
		if significant(r, w) {
			n++
		}
		i += w
	}
	m := n - prefix
	switch {
	case m >= head+tail+3:
	case m >= tail+4:
		head = 0
	case m >= 2 && head+tail == 1: // names: keep the last of two or more characters
	default:
		head, tail = 0, 0
	}
	head += prefix
	k := 0 // significant characters seen
	if ascii {
		// Card, ID and phone numbers: a byte is a character.
		start := len(dst)
		dst = slices.Grow(dst, len(v))[:start+len(v)]
		out := dst[start:]
		for i := range out {
			c := v[i]
			if isAlnum(c) || c == '*' {
				if k >= head && k < n-tail {
					c = '*'
				}
				k++
			}
			out[i] = c
		}
		return dst
	}
	for i := 0; i < len(v); {
		r, w := decodeRune(v, i)
		if significant(r, w) {
			if k >= head && k < n-tail {
				dst = append(dst, '*')
			} else {
				dst = append(dst, v[i:i+w]...)
			}
			k++
		} else {
			dst = append(dst, v[i:i+w]...)
		}
		i += w
	}
	return dst
}

// countryPrefix returns 2 or 4 when the digits of a phone number are a mainland mobile number
// after 86 or 0086, and 0 otherwise.
func countryPrefix[T text](v T) int {
	var d [16]byte
	n := 0
	for i := 0; i < len(v); i++ {
		if c := v[i]; isDigit(c) {
			if n == len(d) {
				return 0
			}
			d[n] = c
			n++
		}
	}
	return mobileWithCountry(d[:n])
}

// appendEmailMask appends the e-mail mask: the first character of the local part, "***@" and
// the domain. A value without '@' is hidden whole.
func appendEmailMask[T text](dst []byte, v T) []byte {
	at := -1
	for i := len(v) - 1; i >= 0; i-- {
		if v[i] == '@' {
			at = i
			break
		}
	}
	if at < 0 {
		return appendKept(dst, v, 0, 0, 0)
	}
	if at > 0 {
		_, w := decodeRune(v, 0)
		dst = append(dst, v[:w]...)
	}
	dst = append(dst, "***"...)
	dst, _ = appendMaskText(dst, v[at:], nil) // "x@13812345678" hides no number behind the '@'
	return dst
}

// significant reports whether r, w bytes long, is a character a mask hides: a letter or a
// digit. A '*' counts too, as one already hidden, so masking a masked value changes nothing; so
// does a byte that is not UTF-8, which may be a character in another encoding (GBK).
func significant(r rune, w int) bool {
	if r < utf8.RuneSelf {
		return isAlnum(byte(r)) || r == '*'
	}
	if isCommonHan(r) {
		return true // letters, all of them
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == utf8.RuneError && w == 1
}

// decodeRune decodes the rune at s[i] as utf8.DecodeRune does: invalid UTF-8 decodes as
// utf8.RuneError, one byte long. (Written out because it runs for every byte of every masked
// value, for strings and byte slices alike; small enough to be inlined for ASCII.)
func decodeRune[T text](s T, i int) (rune, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return decodeMultiByte(s, i)
}

// decodeMultiByte is decodeRune of a byte that is not ASCII.
func decodeMultiByte[T text](s T, i int) (rune, int) {
	c := s[i]
	n := len(s) - i
	switch {
	case c >= 0xC2 && c < 0xE0 && n >= 2 && s[i+1]&0xC0 == 0x80:
		return rune(c&0x1F)<<6 | rune(s[i+1]&0x3F), 2
	case c >= 0xE0 && c < 0xF0 && n >= 3 && s[i+1]&0xC0 == 0x80 && s[i+2]&0xC0 == 0x80:
		r := rune(c&0x0F)<<12 | rune(s[i+1]&0x3F)<<6 | rune(s[i+2]&0x3F)
		if r >= 0x800 && (r < 0xD800 || r > 0xDFFF) {
			return r, 3
		}
	case c >= 0xF0 && c < 0xF5 && n >= 4 && s[i+1]&0xC0 == 0x80 && s[i+2]&0xC0 == 0x80 && s[i+3]&0xC0 == 0x80:
		r := rune(c&0x07)<<18 | rune(s[i+1]&0x3F)<<12 | rune(s[i+2]&0x3F)<<6 | rune(s[i+3]&0x3F)
		if r >= 0x10000 && r <= utf8.MaxRune {
			return r, 4
		}
	}
	return utf8.RuneError, 1
}

// isCommonHan reports whether r is in the block of CJK Unified Ideographs (U+4E00–U+9FFF), where
// almost every Chinese name and word is: Han letters all, tested without the tables of package
// unicode.
func isCommonHan(r rune) bool { return r >= 0x4E00 && r <= 0x9FFF }

func isDigit(c byte) bool { return c-'0' < 10 }

func isAlnum(c byte) bool { return c-'0' < 10 || (c|0x20)-'a' < 26 }

package scan

import (
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/bankguard/bankguard/pii"
)

const (
	// excerptLen is the most characters an excerpt has.
	excerptLen = 200
	// excerptLead is how many characters an excerpt keeps before its finding.
	excerptLead = 60
	// redacted replaces a secret in an excerpt.
	redacted = "[redacted]"
	// minRepeat is the shortest secret hidden again where it repeats.
	minRepeat = 4
)

// longToken is a run of characters that may be a secret nobody named: a
// token, a key, a hash. Runs of 24 or more that mix letters and digits are
// redacted from excerpts too.
var longToken = regexp.MustCompile(`[A-Za-z0-9+/=_%\-]{24,}`)

// span is a part of a line to hide in an excerpt: replaced by "[redacted]",
// or, if mask is set, masked as personal data.
type span struct {
	start, end int
	mask       bool
}

// excerpt returns line with every span hidden, the rest's personal data
// masked and long random-looking tokens redacted, cut to excerptLen
// characters around spans[focus].
func excerpt(line string, spans []span, focus int) string {
	order := make([]int, len(spans))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return spans[a].start - spans[b].start })
	var secrets []string // redacted values, hidden again wherever they repeat
	for _, s := range spans {
		if !s.mask && s.start >= 0 && s.start <= s.end && s.end <= len(line) && s.end-s.start >= minRepeat {
			secrets = append(secrets, line[s.start:s.end])
		}
	}
	var b strings.Builder
	last, focusAt := 0, 0
	for _, i := range order {
		s := spans[i]
		if s.start < last || s.end > len(line) || s.start > s.end {
			continue // overlaps a span already hidden
		}
		b.WriteString(cleanGap(line[last:s.start], secrets))
		if i == focus {
			focusAt = b.Len()
		}
		if s.mask {
			b.WriteString(sanitize(pii.MaskText(line[s.start:s.end])))
		} else {
			b.WriteString(redacted)
		}
		last = s.end
	}
	b.WriteString(cleanGap(line[last:], secrets))
	return window(b.String(), focusAt)
}

// cleanGap masks personal data and redacts the line's secrets and long
// random-looking tokens in a part of a line between findings.
func cleanGap(s string, secrets []string) string {
	for _, v := range secrets {
		s = strings.ReplaceAll(s, v, redacted)
	}
	s = pii.MaskText(s)
	s = longToken.ReplaceAllStringFunc(s, func(t string) string {
		if strings.ContainsAny(t, "0123456789") && strings.IndexFunc(t, isLetter) >= 0 {
			return redacted
		}
		return t
	})
	return sanitize(s)
}

func isLetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }

// sanitize makes s printable: invalid UTF-8 and control characters become
// U+FFFD and spaces.
func sanitize(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// window cuts s to excerptLen characters, keeping excerptLead characters
// before byte offset at, and marks the cuts with an ellipsis.
func window(s string, at int) string {
	n := utf8.RuneCountInString(s)
	if n <= excerptLen {
		return s
	}
	r := []rune(s)
	fr := utf8.RuneCountInString(s[:min(max(at, 0), len(s))])
	start := max(0, fr-excerptLead)
	end := min(n, start+excerptLen)
	start = max(0, end-excerptLen)
	out := slices.Clone(r[start:end])
	if start > 0 {
		out[0] = '…'
	}
	if end < n {
		out[len(out)-1] = '…'
	}
	return string(out)
}

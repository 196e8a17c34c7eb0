package pii

// Finding is one piece of personal data found in free text.
type Finding struct {
	// Kind is Card, IDNumber, Phone or Email: the kinds free text can be searched for.
	Kind Kind
	// Start and End are byte offsets: the finding is text[Start:End].
	Start, End int
}

// Find returns the personal data in text, in order and never overlapping:
//
//   - Card: 13–19 digits with a valid Luhn check digit and a major industry identifier of a bank
//     card (first digit 3–6, 8 or 9, or 2221–2720), written as one run or in groups separated by
//     single spaces or single hyphens (the same separator throughout): groups of four and a
//     last group of one to four (4-4-4-4-3, 4-4-4-4), 4-6-5, 4-6-4, or 6 and the rest.
//   - IDNumber: an 18-character resident identity number (GB 11643-1999): 17 digits and a check
//     character that is a digit or X/x, valid, with a province code and a real birth date
//     between 1900 and 2099; as one run or grouped 6-8-4.
//   - Phone: a mainland mobile number 1[3-9] and 9 digits, as one run or grouped 3-4-4,
//     optionally after 86, 0086 or +86 (joined, or separated like the groups).
//   - Email: local@domain with local part [A-Za-z0-9._%+-] and a domain of two or more labels
//     ending in a letters-only top-level domain.
//
// A number counts only as a whole: its first and last digits must not touch a letter or another
// digit, and a number with a decimal point ("13812345678.50") is an amount, not a phone. A
// Luhn-valid run inside a longer run (order and transaction serial numbers such as
// 20261126223116339876241510c9d, U_API_IDs, TX… ids) is never reported.
//
// Deliberately not detected: names and account numbers (only by member name, in MaskJSON),
// old 15-digit identity numbers (no check digit; invalid since 2013), landline numbers, and
// digits outside ASCII (full-width ６２２２…).
func Find(text string) []Finding {
	return appendFindings(nil, text)
}

// MaskText returns text with every finding of Find replaced by Mask of its kind. Text without
// findings is returned as it is, without copying.
//
// Masking keeps some digits, and kept digits next to neighbouring digit groups can form a new
// finding ("…3445 1234 5678 9012 34"); MaskText masks again until none is left, so Find of its
// result never reports a card, ID number or phone.
func MaskText(text string) string {
	var buf [16]Finding
	fs := appendFindings(buf[:0], text)
	for len(fs) > 0 {
		text = string(appendMasked(make([]byte, 0, len(text)+8), text, fs))
		fs = numericFindings(appendFindings(fs[:0], text))
	}
	return text
}

// appendMaskText appends v masked as by MaskText to dst, and reports whether anything changed.
// fs is scratch space.
func appendMaskText[T text](dst []byte, v T, fs []Finding) ([]byte, bool) {
	fs = appendFindings(fs[:0], v)
	if len(fs) == 0 {
		return append(dst, v...), false
	}
	return appendMaskFindings(dst, v, fs), true
}

// appendMaskFindings appends v with its findings fs masked to dst, and masks again until no
// card, ID or phone number is left (see MaskText). fs is overwritten.
func appendMaskFindings[T text](dst []byte, v T, fs []Finding) []byte {
	start := len(dst)
	dst = appendMasked(dst, v, fs)
	for {
		fs = numericFindings(appendFindings(fs[:0], dst[start:]))
		if len(fs) == 0 {
			return dst
		}
		again := appendMasked(nil, dst[start:], fs)
		dst = append(dst[:start], again...)
	}
}

// numericFindings keeps the findings of kinds whose masks hide digits: each pass of MaskText
// hides at least one more digit, so the loop ends.
func numericFindings(fs []Finding) []Finding {
	out := fs[:0]
	for _, f := range fs {
		if f.Kind != Email {
			out = append(out, f)
		}
	}
	return out
}

// appendMasked appends s with each finding replaced by its mask.
func appendMasked[T text](dst []byte, s T, fs []Finding) []byte {
	last := 0
	for _, f := range fs {
		dst = append(dst, s[last:f.Start]...)
		dst = appendMask(dst, f.Kind, s[f.Start:f.End])
		last = f.End
	}
	return append(dst, s[last:]...)
}

// run is a maximal run of ASCII digits s[start:end], possibly followed by the check character
// X of an identity number (x set; end excludes it).
type run struct {
	start, end int
	x          bool
}

func (r run) len() int { return r.end - r.start }

// maxRuns bounds the runs held at once while a long cluster of digit groups is read.
const maxRuns = 32

// appendFindings appends the findings of s to dst.
func appendFindings[T text](dst []Finding, s T) []Finding {
	from := findFrom(s)
	if from < 0 {
		return dst
	}
	var ebuf [4]Finding
	emails := appendEmails(ebuf[:0], s)
	e := 0
	n := len(s)
	for i := from; i < n; {
		if e < len(emails) && i >= emails[e].Start {
			dst = append(dst, emails[e])
			i = emails[e].End
			e++
			continue
		}
		if !isDigit(s[i]) {
			i++
			continue
		}
		limit := n // digit groups stop where an e-mail address starts
		if e < len(emails) {
			limit = emails[e].Start
		}
		if i > 0 && (isAlnum(s[i-1]) || s[i-1] == '.' && i > 1 && isDigit(s[i-2])) {
			for i < limit && isAlnum(s[i]) { // inside a word or the fraction of a number
				i++
			}
			continue
		}
		dst, i = appendCluster(dst, s[:limit], i)
	}
	return dst
}

// findFrom returns where the search for findings in s may start, or -1 when s has none: every
// finding has an '@', or 11 digits in a row or in groups joined by single spaces or hyphens (a
// mobile number has 11, the fewest of all), and text without either, most of it (dates, times,
// amounts, serial numbers), is read once. Before the group that has 11 digits there is nothing
// to find, and the search starts where the group does, as it would arrive there from the start of
// s; after an '@' it starts at 0.
func findFrom[T text](s T) int {
	n, from := 0, 0 // the digits in the group at hand, which starts at from
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c-'0' < 10:
			if n == 0 {
				from = i
			}
			if n++; n >= minFindDigits {
				return from
			}
		case c == '@':
			return 0
		case (c == ' ' || c == '-') && i > 0 && s[i-1]-'0' < 10 && i+1 < len(s) && s[i+1]-'0' < 10:
		default:
			n = 0
		}
	}
	return -1
}

// appendCluster reads the digit groups that start at s[i] and are joined by one separator (a
// single space or hyphen, the same throughout), appends the findings among them, and returns
// where reading stopped.
func appendCluster[T text](dst []Finding, s T, i int) ([]Finding, int) {
	var rbuf [maxRuns]run
	runs := rbuf[:0]
	var sep byte
	n := len(s)
	for {
		r := run{start: i}
		for i < n && isDigit(s[i]) {
			i++
		}
		r.end = i
		if i < n && s[i]|0x20 == 'x' && (i+1 == n || !isAlnum(s[i+1])) {
			r.x = true
			i++
		}
		if i < n && isAlnum(s[i]) { // digits glued to letters: part of an identifier
			for i < n && isAlnum(s[i]) {
				i++
			}
			break
		}
		if !r.x && i+1 < n && s[i] == '.' && isDigit(s[i+1]) { // a decimal number
			for i++; i < n && isDigit(s[i]); i++ {
			}
			break
		}
		runs = append(runs, r)
		if r.x || i+1 >= n || !isDigit(s[i+1]) || (s[i] != ' ' && s[i] != '-') || (sep != 0 && s[i] != sep) {
			break
		}
		sep = s[i]
		i++
		if len(runs) == maxRuns {
			var k int
			dst, k = appendWindows(dst, s, runs, false)
			runs = runs[:copy(runs, runs[k:])]
		}
	}
	dst, _ = appendWindows(dst, s, runs, true)
	return dst, i
}

// maxWindow is the most digit groups one finding spans (4-4-4-4-3 card, +86 138 1234 5678).
const maxWindow = 5

// appendWindows matches findings left to right, longest first, among runs of one cluster. Unless
// final, it stops where a window could reach past the runs read so far, and returns the index of
// the first run it did not consume.
func appendWindows[T text](dst []Finding, s T, runs []run, final bool) ([]Finding, int) {
	k := 0
	for k < len(runs) && (final || k+maxWindow <= len(runs)) {
		kind, m := matchAt(s, runs, k)
		if m == 0 {
			k++
			continue
		}
		start, last := runs[k].start, runs[k+m-1]
		end := last.end
		if last.x {
			end++
		}
		if kind == Phone && start > 0 && s[start-1] == '+' && (start == 1 || !isAlnum(s[start-2])) {
			start-- // +86 …
		}
		dst = append(dst, Finding{Kind: kind, Start: start, End: end})
		k += m
	}
	return dst, k
}

// matchAt returns the kind and the number of runs of the finding that starts at runs[k], or
// m == 0 when none does.
func matchAt[T text](s T, runs []run, k int) (kind Kind, m int) {
	rest := runs[k:]
	if len(rest) >= 3 && rest[0].len() == 6 && rest[1].len() == 8 && !rest[0].x && !rest[1].x &&
		(rest[2].len() == 4 && !rest[2].x || rest[2].len() == 3 && rest[2].x) {
		var d [18]byte
		if validResidentID(gather(d[:0], s, rest[:3])) {
			return IDNumber, 3
		}
	}
	if p := rest[0]; !p.x && (p.len() == 2 && s[p.start] == '8' && s[p.start+1] == '6' ||
		p.len() == 4 && s[p.start] == '0' && s[p.start+1] == '0' && s[p.start+2] == '8' && s[p.start+3] == '6') {
		if m := phoneAt(s, rest[1:]); m > 0 {
			return Phone, m + 1
		}
	}
	if m := phoneAt(s, rest); m > 1 {
		return Phone, m
	}
	for m := min(len(rest), maxWindow); m >= 2; m-- {
		if cardShape(rest[:m]) {
			var d [19]byte
			if plausibleCard(gather(d[:0], s, rest[:m])) {
				return Card, m
			}
		}
	}
	return single(s, rest[0])
}

// phoneAt returns how many runs (1 or 3) form a mobile number at runs[0], or 0.
func phoneAt[T text](s T, runs []run) int {
	var d [11]byte
	switch {
	case len(runs) >= 1 && runs[0].len() == 11 && !runs[0].x:
		if validMobile(gather(d[:0], s, runs[:1])) {
			return 1
		}
	case len(runs) >= 3 && runs[0].len() == 3 && runs[1].len() == 4 && runs[2].len() == 4 && !runs[2].x:
		if validMobile(gather(d[:0], s, runs[:3])) {
			return 3
		}
	}
	return 0
}

// single returns the kind of the finding that one run is alone, with m == 1, or m == 0.
func single[T text](s T, r run) (Kind, int) {
	var d [20]byte
	l := r.len()
	switch {
	case r.x:
		if l == 17 && validResidentID(gather(d[:0], s, []run{r})) {
			return IDNumber, 1
		}
		return "", 0
	case l < 11 || l > 19:
		return "", 0
	}
	digits := gather(d[:0], s, []run{r})
	switch {
	case l == 18 && validResidentID(digits):
		return IDNumber, 1
	case l == 11 && validMobile(digits):
		return Phone, 1
	case mobileWithCountry(digits) > 0:
		return Phone, 1
	case plausibleCard(digits):
		return Card, 1
	}
	return "", 0
}

// cardShape reports whether 2 to 5 digit groups are laid out as a card number is printed:
// 6 and the rest, 4-6-5 or 4-6-4, or groups of 4 and a last group of 1–4, 13–19 digits in all.
func cardShape(runs []run) bool {
	total := 0
	for _, r := range runs {
		if r.x {
			return false
		}
		total += r.len()
	}
	if total < 13 || total > 19 {
		return false
	}
	if len(runs) == 2 {
		return runs[0].len() == 6
	}
	if len(runs) == 3 && runs[0].len() == 4 && runs[1].len() == 6 {
		return true
	}
	for _, r := range runs[:len(runs)-1] {
		if r.len() != 4 {
			return false
		}
	}
	return len(runs) >= 4
}

// gather appends the digits of runs, and X for a final check character, to d.
func gather[T text](d []byte, s T, runs []run) []byte {
	for _, r := range runs {
		d = append(d, s[r.start:r.end]...)
		if r.x {
			d = append(d, 'X')
		}
	}
	return d
}

package pii

// appendEmails appends the e-mail addresses in s to dst, in order. Each byte is read a bounded
// number of times, so a text of many '@' costs linear time.
func appendEmails[T text](dst []Finding, s T) []Finding {
	from := 0 // no address starts before this: the end of the previous one, or past a failed '@'
	for from < len(s) {
		at := indexByte(s, from, '@')
		if at < 0 {
			break
		}
		start := at
		for start > from && isLocal(s[start-1]) {
			start--
		}
		for start < at && s[start] == '.' {
			start++
		}
		end := domainEnd(s, at+1)
		if start == at || end < 0 {
			from = at + 1
			continue
		}
		dst = append(dst, Finding{Kind: Email, Start: start, End: end})
		from = end
	}
	return dst
}

// domainEnd returns the end of the longest domain name that starts at s[i]: two or more labels
// of letters, digits and inner hyphens, the last one a top-level domain of letters (or an
// internationalized xn-- label). It returns -1 when there is none. "b.cn.x" ends after cn.
func domainEnd[T text](s T, i int) int {
	best := -1
	labels := 0
	for start := i; ; {
		end := start
		for end < len(s) && (isAlnum(s[end]) || s[end] == '-') {
			end++
		}
		l := s[start:end]
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return best
		}
		labels++
		if labels >= 2 && topLevel(l) {
			best = end
		}
		if end+1 >= len(s) || s[end] != '.' {
			return best
		}
		start = end + 1
	}
}

// topLevel reports whether l can be a top-level domain: two or more letters, or xn--….
func topLevel[T text](l T) bool {
	if len(l) > 4 && l[0] == 'x' && l[1] == 'n' && l[2] == '-' && l[3] == '-' {
		return true
	}
	if len(l) < 2 {
		return false
	}
	for i := 0; i < len(l); i++ {
		if (l[i]|0x20)-'a' >= 26 {
			return false
		}
	}
	return true
}

// isLocal reports whether c may be part of the local part of an address as the detector reads
// it. '*' is not: a masked address ("a***@example.com") is not found again.
func isLocal(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

// indexByte returns the index of the first c in s at or after from, or -1.
func indexByte[T text](s T, from int, c byte) int {
	for i := from; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

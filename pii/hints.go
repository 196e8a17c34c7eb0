package pii

import (
	"bytes"
	"unicode"
	"unicode/utf8"
)

// Member-name hints: names and account numbers cannot be detected in free text, but a JSON
// member called holder_name or account_no says what its value is. Names are compared in
// snake_case: holderName, Holder-Name and HOLDER_NAME all read as holder_name.

// maxHintName is the longest member name that is looked at; longer names give no hint.
const maxHintName = 64

// hintFor returns the kind a member name suggests, or "". It looks at the last words of the
// name: holder_id_number is an ID number, to_card_number a card, counterparty_account an
// account, holder_phone a phone, customer_name a name but product_name not.
func hintFor(name []byte) Kind {
	// Most names end in a word no case of hintOf has: when the last word needs no change to
	// snake_case, it is the last word of the name in snake_case too, and a glance at it is
	// enough.
	i := len(name) - 1
	for i >= 0 && inWord[name[i]] {
		i--
	}
	if (i < 0 || name[i] == '_') && !hintWord(name[i+1:]) {
		return ""
	}
	return hintOf(name)
}

// hintOf is hintFor without the glance at the last word.
func hintOf(name []byte) Kind {
	if len(name) == 0 || len(name) > maxHintName {
		return ""
	}
	n := name
	if !isSnakeCase(name) {
		var buf [2 * maxHintName]byte
		n = snakeCase(buf[:0], name)
	}
	last, n := lastWord(n)
	prev, n := lastWord(n)
	switch string(last) {
	case "email", "mail":
		return Email
	case "address":
		if string(prev) == "email" || string(prev) == "mail" {
			return Email
		}
	case "phone", "mobile", "tel", "telephone", "cellphone":
		return Phone
	case "idno", "idcard":
		return IDNumber
	case "cardno", "pan":
		return Card
	case "account", "acct":
		return Account
	case "card":
		switch string(prev) {
		case "id", "identity":
			return IDNumber
		case "bank":
			return Card
		}
	case "number", "no", "num":
		switch string(prev) {
		case "id", "idcard", "certificate", "cert", "identity", "passport":
			return IDNumber
		case "card":
			if first, _ := lastWord(n); string(first) == "id" || string(first) == "identity" {
				return IDNumber
			}
			return Card
		case "account", "acct":
			return Account
		case "phone", "mobile", "tel", "telephone":
			return Phone
		}
	case "name":
		if !notPersonName(prev) {
			return Name
		}
	case "surname", "holder", "cardholder":
		return Name
	}
	return ""
}

// inWord is set for the bytes snakeCase leaves as they are, but '_'.
var inWord = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c != '_' && !notSnake[c]
	}
	return t
}()

// hintWordList is every word the outer switch of hintOf has a case for.
var hintWordList = [...]string{
	"email", "mail", "address", "phone", "mobile", "tel", "telephone", "cellphone", "idno", "idcard",
	"cardno", "pan", "account", "acct", "card", "number", "no", "num", "name", "surname", "holder",
	"cardholder",
}

// hintWords has a bit 1<<n at index c when a word of hintWordList starts with c and is n bytes
// long.
var hintWords = func() (t [256]uint32) {
	for _, w := range hintWordList {
		t[w[0]] |= 1 << len(w)
	}
	return t
}()

// hintWord reports whether w may be a word of hintWordList: one of its first letter and length
// is.
func hintWord(w []byte) bool {
	return len(w) > 0 && len(w) < 32 && hintWords[w[0]]&(1<<len(w)) != 0
}

// lastWord splits the last word off a snake_case name.
func lastWord(n []byte) (word, rest []byte) {
	i := bytes.LastIndexByte(n, '_')
	if i < 0 {
		return n, nil
	}
	return n[i+1:], n[:i]
}

// notPersonName reports whether the word before _name names a thing rather than a person:
// product_name, bank_name, branch_name, file_name, ….
func notPersonName(thing []byte) bool {
	switch string(thing) {
	case "product", "bank", "branch", "file", "app", "application", "company", "org", "organization",
		"issuer", "currency", "type", "channel", "business", "host", "service", "api", "event",
		"category", "brand", "city", "province", "country", "region", "district", "shop", "store",
		"plan", "fund", "field", "key", "scope", "algorithm", "alg", "method", "status", "item",
		"goods", "project", "institution", "dept", "department", "device", "model", "os", "browser",
		"network", "route", "table", "column", "param", "parameter", "tag", "group", "role", "stage":
		return true
	}
	return false
}

// isSnakeCase reports whether name is in lower snake_case already, as snakeCase leaves it.
func isSnakeCase(name []byte) bool {
	for _, c := range name {
		if notSnake[c] {
			return false
		}
	}
	return true
}

// notSnake is set for the bytes snakeCase changes: upper-case letters, '-', ' ' and '.'.
var notSnake = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c >= 'A' && c <= 'Z' || c == '-' || c == ' ' || c == '.'
	}
	return t
}()

// snakeCase appends name in lower snake_case to dst: "holderName" and "Holder-Name" become
// "holder_name". A name that is already is returned as it is.
func snakeCase(dst, name []byte) []byte {
	if isSnakeCase(name) {
		return name
	}
	for i, c := range name {
		switch {
		case c >= 'A' && c <= 'Z':
			if i > 0 && (name[i-1] >= 'a' && name[i-1] <= 'z' || isDigit(name[i-1])) {
				dst = append(dst, '_')
			}
			dst = append(dst, c+'a'-'A')
		case c == '-' || c == ' ' || c == '.':
			dst = append(dst, '_')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// looksLikeName reports whether v, the value of a member whose name suggests a person's name,
// is one: 2–4 Chinese characters (or up to 16 for names of ethnic minorities and foreigners
// joined by '·'), or two to four Latin words, and not an organization ("优选商城",
// "Apple Store").
func looksLikeName[T text](v T) bool {
	han, latin, dots, words := 0, 0, 0, 0
	prevLetter := false
	for i := 0; i < len(v); {
		var r rune
		switch c := v[i]; {
		case c < utf8.RuneSelf:
			r = rune(c)
			i++
		case c >= 0xE4 && c <= 0xE9 && i+2 < len(v) && v[i+1]&0xC0 == 0x80 && v[i+2]&0xC0 == 0x80:
			r = rune(c&0x0F)<<12 | rune(v[i+1]&0x3F)<<6 | rune(v[i+2]&0x3F) // U+4000–U+9FFF, most Han
			i += 3
		default:
			var w int
			r, w = decodeMultiByte(v, i)
			i += w
		}
		letter := false
		switch {
		case isCommonHan(r) || r >= 0x2E80 && unicode.Is(unicode.Han, r):
			han++
		case r < 0x80 && isAlnum(byte(r)) && !isDigit(byte(r)):
			latin++
			if !prevLetter {
				words++
			}
			letter = true
		case r == '·' || r == '•' || r == '・':
			dots++
		case r == ' ' || r == '.' || r == '\'' || r == '-':
		default:
			return false // a character no name has
		}
		if han > 0 && latin > 0 || han > 16 {
			return false
		}
		prevLetter = letter
	}
	switch {
	case han > 0:
		return (han >= 2 && han <= 4 || dots > 0) && !organization(v)
	case latin > 0:
		return words >= 2 && words <= 4 && len(v) <= 64 && !organization(v)
	}
	return false
}

// orgSuffixes end the names of organizations.
var orgSuffixes = [...]string{
	"公司", "银行", "支行", "分行", "超市", "商城", "商店", "中心", "集团", "医院", "学校",
	"大学", "学院", "餐厅", "饭店", "酒店", "药房", "药店", "门店", "商行", "基金", "理财",
	"存款", "保险", "证券", "有限", "店", "馆", "厂", "局",
}

// orgLastBytes is set for the last byte of each of orgSuffixes: a value that ends in another
// byte ends in none of them.
var orgLastBytes = func() (t [256]bool) {
	for _, suf := range orgSuffixes {
		t[suf[len(suf)-1]] = true
	}
	return t
}()

// organization reports whether a name-like value is the name of an organization: it ends in a
// word such as 公司 or 超市, or has a Latin word such as Ltd or Store.
func organization[T text](v T) bool {
	if len(v) > 0 && orgLastBytes[v[len(v)-1]] {
		last := v[len(v)-1]
		for _, suf := range orgSuffixes {
			if suf[len(suf)-1] == last && len(v) >= len(suf) && string(v[len(v)-len(suf):]) == suf {
				return true
			}
		}
	}
	for start := 0; start < len(v); {
		end := start
		for end < len(v) && isAlnum(v[end]) {
			end++
		}
		var lower [12]byte
		if w := end - start; w > 0 && w <= len(lower) {
			for i := range w {
				lower[i] = v[start+i] | 0x20
			}
			switch string(lower[:w]) {
			case "inc", "ltd", "llc", "co", "corp", "company", "bank", "store", "shop", "limited",
				"group", "gmbh", "plc", "market", "mall", "cafe", "restaurant", "hotel", "services",
				"technology":
				return true
			}
		}
		start = end + 1
	}
	return false
}

package scan

import (
	"strings"
)

// maxValueLen bounds the search for the end of a value, so that a long line
// (minified code, a JSON log record) is read in linear time.
const maxValueLen = 8 << 10

// assignment is a name given a literal value on one line:
// `name: value`, `name = "value"`, `"name": "value"`, `name := "value"`,
// `<name>value</name>` or `name="NAME" value="value"` (XML attributes).
type assignment struct {
	// name is the name as written, without quotes.
	name string
	// value is the literal without its quotes; line[start:end] == value.
	value      string
	start, end int
}

// assignments returns the name–value pairs of one line. In program source
// (code) only quoted literals are values: `secret = os.Getenv("X")` assigns
// an expression, not a secret. In configuration a bare word is a value too.
func assignments(line string, code bool) []assignment {
	var out []assignment
	for i := 0; i < len(line); i++ {
		var (
			a    assignment
			ok   bool
			next int
		)
		switch line[i] {
		case ':', '=':
			a, ok, next = opAssignment(line, i, code)
		case '<':
			a, ok, next = xmlElement(line, i)
		default:
			continue
		}
		if ok {
			out = append(out, a)
		}
		i = max(i, next-1)
	}
	return attributePairs(out)
}

// opAssignment reads the assignment whose operator starts at line[i], and
// returns where to continue.
func opAssignment(line string, i int, code bool) (assignment, bool, int) {
	end, ok := operator(line, i)
	if !ok {
		return assignment{}, false, end
	}
	name, ok := nameBefore(line, i)
	if !ok {
		return assignment{}, false, end
	}
	start, stop, ok := valueAt(line, end, code)
	if !ok {
		return assignment{}, false, end
	}
	return assignment{name: name, value: line[start:stop], start: start, end: stop}, true, stop
}

// operator reports whether line[i] starts an assignment operator (":", "=",
// ":=", "=>") and returns the index after it. Comparisons ("==", "!=",
// "<=", "=~") and compound assignments ("+=") are not assignments of a
// literal; a colon must be followed by a blank, a quote or the line end, so
// that URLs and times do not count.
func operator(line string, i int) (int, bool) {
	n := len(line)
	at := func(j int) byte {
		if j < 0 || j >= n {
			return 0
		}
		return line[j]
	}
	if line[i] == ':' {
		switch c := at(i + 1); {
		case c == '=':
			return i + 2, true
		case c == 0 || c == ' ' || c == '\t' || isQuote(c):
			return i + 1, true
		}
		return i + 1, false
	}
	if i > 0 && strings.IndexByte("!<>=+-*/%&|^~?:", line[i-1]) >= 0 {
		return i + 1, false
	}
	switch at(i + 1) {
	case '=', '~':
		j := i + 1
		for j < n && (line[j] == '=' || line[j] == '~') {
			j++
		}
		return j, false
	case '>':
		return i + 2, true
	}
	return i + 1, true
}

// nameBefore returns the name that ends just before the operator at line[i]:
// a quoted string or a run of name characters, blanks between allowed.
func nameBefore(line string, i int) (string, bool) {
	k := i
	for k > 0 && (line[k-1] == ' ' || line[k-1] == '\t') {
		k--
	}
	if k == 0 {
		return "", false
	}
	if q := line[k-1]; isQuote(q) {
		open := strings.LastIndexByte(line[:k-1], q)
		if open < 0 {
			return "", false
		}
		name := line[open+1 : k-1]
		if name == "" || strings.IndexFunc(name, func(r rune) bool { return r > 0x7f || !isNameChar(byte(r)) }) >= 0 {
			return "", false
		}
		return name, true
	}
	end := k
	for k > 0 && isNameChar(line[k-1]) {
		k--
	}
	if k == end {
		return "", false
	}
	return line[k:end], true
}

// valueAt reads the literal that starts at or after line[p] (blanks
// skipped) and returns its bounds without quotes.
func valueAt(line string, p int, code bool) (int, int, bool) {
	n := len(line)
	for p < n && (line[p] == ' ' || line[p] == '\t') {
		p++
	}
	if p == n {
		return 0, 0, false
	}
	if q := line[p]; isQuote(q) {
		end := closingQuote(line, p+1, q)
		if end < 0 {
			return 0, 0, false // a string continued on the next line
		}
		if code && concatenated(line, end+1) {
			return 0, 0, false // the first part of a longer string
		}
		return p + 1, end, true
	}
	if code {
		return 0, 0, false // an expression, not a literal
	}
	end := p
	for end < n && !isBareStop(line[end]) {
		end++
	}
	return p, end, end > p
}

// concatenated reports a '+' after line[p:], blanks skipped: the literal
// before is only part of the value.
func concatenated(line string, p int) bool {
	for p < len(line) && (line[p] == ' ' || line[p] == '\t') {
		p++
	}
	return p < len(line) && line[p] == '+'
}

// closingQuote returns the index of the quote q that closes a string whose
// content starts at line[p], or -1. Backslash escapes count except in
// backquoted strings.
func closingQuote(line string, p int, q byte) int {
	for j := p; j < len(line) && j < p+maxValueLen; j++ {
		switch line[j] {
		case '\\':
			if q != '`' {
				j++
			}
		case q:
			return j
		}
	}
	return -1
}

// xmlElement reads `<name>value</…` starting at line[i].
func xmlElement(line string, i int) (assignment, bool, int) {
	j := i + 1
	for j < len(line) && (isNameChar(line[j]) || line[j] == ':') {
		j++
	}
	if j == i+1 || j >= len(line) || line[j] != '>' {
		return assignment{}, false, i + 1
	}
	name := line[i+1 : j]
	start := j + 1
	end := strings.Index(line[start:min(len(line), start+maxValueLen)], "</")
	if end <= 0 {
		return assignment{}, false, start
	}
	end += start
	return assignment{name: name, value: line[start:end], start: start, end: end}, true, end
}

// attributePairs turns `name="password" value="…"` (and key=/value=) into
// one assignment of the value to the name it announces.
func attributePairs(as []assignment) []assignment {
	for i := 0; i+1 < len(as); i++ {
		n := strings.ToLower(as[i].name)
		if (n == "name" || n == "key") && strings.EqualFold(as[i+1].name, "value") {
			v := as[i+1]
			v.name = as[i].value
			as[i+1] = v
		}
	}
	return as
}

func isQuote(c byte) bool { return c == '"' || c == '\'' || c == '`' }

// isNameChar reports the characters of a name: letters, digits, _ . - and $
// (PHP and shell variables).
func isNameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '.' || c == '-' || c == '$'
}

// isBareStop ends an unquoted value: blanks, separators of inline maps and
// query strings, quotes and markup.
func isBareStop(c byte) bool {
	return strings.IndexByte(" \t,;&)}]\"'`<", c) >= 0
}

// normName reduces a name to lower-case letters and digits, so that
// app_secret, appSecret, APP-SECRET and app.secret compare equal.
func normName(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'A' && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteByte(c)
		}
	}
	return b.String()
}

// encodingSuffixes name an encoding after a key name (secret_hex, key_b64).
var encodingSuffixes = []string{"hex", "base64", "b64", "pem", "der", "value", "str", "string"}

// secretSuffixes end a name that holds an App_Secret, a password or a token.
var secretSuffixes = []string{
	"secret", "secretkey", "hmackey", "apikey", "password", "passwd", "pwd",
	"passphrase", "token", "sm4key", "aeskey", "encryptkey", "encryptionkey", "masterkey",
}

// privateKeySuffixes end a name that holds a private key.
var privateKeySuffixes = []string{"privatekey", "privkey", "prikey", "sm2key", "signingkey"}

// keyName strips an encoding suffix from a normalized name.
func keyName(name string) string {
	n := normName(name)
	for _, s := range encodingSuffixes {
		if len(n) > len(s) {
			n = strings.TrimSuffix(n, s)
		}
	}
	return n
}

func hasSuffix(n string, suffixes []string) bool {
	for _, s := range suffixes {
		if strings.HasSuffix(n, s) {
			return true
		}
	}
	return false
}

// isSecretName reports a name that holds a secret: app_secret, client_secret,
// secret_key, hmac_key, api_key, password, token… but not secret_file or
// token_url.
func isSecretName(name string) bool { return hasSuffix(keyName(name), secretSuffixes) }

// isPrivateKeyName reports a name that holds a private key: private_key,
// privkey, priKey, sm2_key, signing_key, or d (a JWK's private part).
func isPrivateKeyName(name string) bool {
	n := keyName(name)
	return n == "d" || hasSuffix(n, privateKeySuffixes)
}

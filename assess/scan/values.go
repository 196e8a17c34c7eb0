package scan

import (
	"regexp"
	"strings"
)

// minSecretLen is the shortest value taken for a real secret.
const minSecretLen = 12

// placeholderPrefixes start a value that stands for a secret kept elsewhere:
// template and environment references, YAML tags, Jasypt's ENC(…) (an
// encrypted value), and references to files, vaults and key services.
var placeholderPrefixes = []string{
	"${", "$(", "$", "{{", "<", "%(", "%{", "#{", "@", "!", "enc(", "file:", "classpath:",
	"env:", "vault:", "secret_file:", "ref:", "kms:", "arn:", "{cipher}",
}

// placeholderWords appear in values written to be replaced.
var placeholderWords = []string{
	"xxx", "***", "...", "…", "changeme", "change_me", "change-me", "changeit", "replace",
	"your", "example", "placeholder", "dummy", "sample", "redacted", "todo", "fixme",
	"${", "{{", "getenv", "environ", "process.env", "://",
}

// fileExts end a value that names a file rather than holding a secret.
var fileExts = []string{
	".pem", ".key", ".crt", ".cer", ".der", ".p12", ".pfx", ".jks", ".keystore",
	".json", ".yaml", ".yml", ".txt", ".conf", ".properties", ".env", ".secret", ".toml", ".ini",
}

var (
	// envelope is a versioned ciphertext: Vault's "vault:v1:…", this
	// project's sealed fields "sm2:v1:key:…".
	envelope = regexp.MustCompile(`^[a-z0-9]+:v[0-9]+:`)
	// dotted is a qualified identifier ("Storage.deleteToken"), a name.
	dotted    = regexp.MustCompile(`^[A-Za-z_]+(\.[A-Za-z_]+)+$`)
	envName   = regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$`)
	plainPath = regexp.MustCompile(`^[a-z0-9_.\-]+(/[a-z0-9_.\-]+)+/?$`)
	hexKey    = regexp.MustCompile(`^(0[xX])?[0-9a-fA-F]{64,}$`)
	base64Key = regexp.MustCompile(`^[A-Za-z0-9+/_\-]{40,}={0,2}$`)
)

// looksSecret reports whether v looks like a real secret rather than a
// placeholder, a reference or a file name: at least 12 characters of printable
// ASCII without blanks or quotes, not a template or environment reference,
// not an encrypted envelope (ENC(…), {cipher}…, vault:v1:…), not a file path,
// not made of a handful of repeated characters.
func looksSecret(v string) bool {
	if len(v) < minSecretLen || !printableASCII(v) || strings.ContainsAny(v, "\"'`") || envelope.MatchString(v) {
		return false
	}
	lv := strings.ToLower(v)
	for _, p := range placeholderPrefixes {
		if strings.HasPrefix(lv, p) {
			return false
		}
	}
	for _, w := range placeholderWords {
		if strings.Contains(lv, w) {
			return false
		}
	}
	return !isPath(v) && !envName.MatchString(v) && !dotted.MatchString(v) && distinct(v) >= 5
}

// looksKeyMaterial reports a raw private key: at least 64 hexadecimal digits,
// or at least 40 base64 characters mixing upper case, lower case and digits.
func looksKeyMaterial(v string) (string, bool) {
	switch {
	case hexKey.MatchString(v):
		return "hex", distinct(v) >= 5
	case base64Key.MatchString(v) && mixed(v) && !isPath(v):
		return "base64", true
	}
	return "", false
}

// isPath reports a value that names a file: an absolute, relative or home
// path, a Windows drive path, a name with a file extension, or lower-case
// words separated by slashes ("apps/x/secret").
func isPath(v string) bool {
	lv := strings.ToLower(v)
	for _, p := range []string{"/", "./", "../", "~/", "\\\\"} {
		if strings.HasPrefix(lv, p) {
			return true
		}
	}
	if len(v) > 2 && v[1] == ':' && (v[2] == '\\' || v[2] == '/') {
		return true
	}
	for _, e := range fileExts {
		if strings.HasSuffix(lv, e) {
			return true
		}
	}
	return plainPath.MatchString(v)
}

// printableASCII reports a value of printable ASCII without blanks.
func printableASCII(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] >= 0x7f {
			return false
		}
	}
	return true
}

// distinct counts the different bytes of v.
func distinct(v string) int {
	var seen [256]bool
	n := 0
	for i := 0; i < len(v); i++ {
		if !seen[v[i]] {
			seen[v[i]] = true
			n++
		}
	}
	return n
}

// mixed reports whether v has an upper-case letter, a lower-case letter and
// a digit, as random base64 of 40 characters almost always has.
func mixed(v string) bool {
	var up, low, dig bool
	for i := 0; i < len(v); i++ {
		c := v[i]
		up = up || c >= 'A' && c <= 'Z'
		low = low || c >= 'a' && c <= 'z'
		dig = dig || c >= '0' && c <= '9'
	}
	return up && low && dig
}

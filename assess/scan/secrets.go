package scan

import (
	"context"
	"regexp"
	"strings"

	"github.com/bankguard/bankguard/assess"
)

// The rules of the secret and key scans, as findings name them.
const (
	ruleSecret     = "secret"      // an App_Secret-like value assigned to a key name
	rulePEM        = "private-key" // a PEM private key block
	ruleKeyValue   = "key-material"
	rulePKCS12     = "pkcs12"
	pemLookahead   = 5  // lines after a PEM header searched for its body
	minPEMBodyRun  = 40 // base64 characters that show a PEM body is really there
	maxMessageName = 64
)

// pemKeyLabel ends the label of every PEM private key block. It is kept out
// of the pattern's literal so that this file does not itself read as one
// holding a key to scanners that look for the whole header line.
const pemKeyLabel = "PRIVATE" + " KEY"

// pemHeader matches the first line of a PEM private key. Encrypted keys
// count too: 3.3.4-2 forbids private keys in code "plain or encrypted".
var pemHeader = regexp.MustCompile(`-----BEGIN ((?:RSA |EC |DSA |ENCRYPTED |OPENSSH |SM2 |PGP )?` + pemKeyLabel + `(?: BLOCK)?)-----`)

var base64Run = regexp.MustCompile(`[A-Za-z0-9+/]{40,}`)

// hit is a secret or a key found on a line.
type hit struct {
	rule       string
	name       string // the name it is assigned to, or the PEM label
	kind       string // "hex" or "base64" for key material
	start, end int    // the span to redact
	encrypted  bool   // an encrypted private key
}

// codeExts are the extensions of program source, where only quoted literals
// are values. Everything else (YAML, JSON, INI, properties, .env, XML,
// shell, Markdown) is read as configuration.
var codeExts = map[string]bool{
	".go": true, ".java": true, ".kt": true, ".kts": true, ".scala": true, ".groovy": true,
	".js": true, ".jsx": true, ".ts": true, ".tsx": true, ".mjs": true, ".cjs": true, ".vue": true,
	".py": true, ".rb": true, ".php": true, ".cs": true, ".c": true, ".h": true, ".cc": true,
	".cpp": true, ".hpp": true, ".rs": true, ".swift": true, ".m": true, ".dart": true, ".lua": true,
}

// lineHits returns the secrets and keys on ls[i]. It looks ahead a few lines
// for the body of a PEM block.
func lineHits(ls []string, i int, code bool) []hit {
	line := ls[i]
	var hs []hit
	if m := pemHeader.FindStringSubmatchIndex(line); m != nil && pemBody(ls, i, m[1]) {
		label := line[m[2]:m[3]]
		hs = append(hs, hit{rule: rulePEM, name: label, start: m[1], end: len(line),
			encrypted: strings.HasPrefix(label, "ENCRYPTED") || legacyEncrypted(ls, i)})
	}
	for _, a := range assignments(line, code) {
		if overlaps(hs, a.start, a.end) {
			continue
		}
		if h, ok := classify(a); ok {
			hs = append(hs, h)
		}
	}
	return hs
}

// classify decides whether an assignment holds a secret or a key.
func classify(a assignment) (hit, bool) {
	if isPrivateKeyName(a.name) {
		if kind, ok := looksKeyMaterial(a.value); ok {
			return hit{rule: ruleKeyValue, name: a.name, kind: kind, start: a.start, end: a.end}, true
		}
	}
	if isSecretName(a.name) && looksSecret(a.value) {
		return hit{rule: ruleSecret, name: a.name, start: a.start, end: a.end}, true
	}
	return hit{}, false
}

// pemBody reports whether a PEM header is followed by a body: a run of 40
// base64 characters after it on the same line or on one of the next lines.
// A documentation example (the header line, then "...") has none.
func pemBody(ls []string, i, from int) bool {
	rest := strings.ReplaceAll(ls[i][from:], `\n`, " ")
	if base64Run.MatchString(rest) {
		return true
	}
	for j := i + 1; j < len(ls) && j <= i+pemLookahead; j++ {
		if strings.Contains(ls[j], "-----END ") {
			return false
		}
		if base64Run.MatchString(ls[j]) {
			return true
		}
	}
	return false
}

// legacyEncrypted reports an OpenSSL "Proc-Type: 4,ENCRYPTED" header below
// the PEM header at ls[i].
func legacyEncrypted(ls []string, i int) bool {
	if strings.Contains(ls[i], "Proc-Type: 4,ENCRYPTED") {
		return true
	}
	for j := i + 1; j < len(ls) && j <= i+2; j++ {
		if strings.Contains(ls[j], "Proc-Type: 4,ENCRYPTED") {
			return true
		}
	}
	return false
}

func overlaps(hs []hit, start, end int) bool {
	for _, h := range hs {
		if start < h.end && h.start < end {
			return true
		}
	}
	return false
}

// runSecrets is files.secrets: App_Secret values in configuration and
// source. T/PCAC 0008-2020 3.3.4-2 (bank) and 9.2.2-1 (application party).
func runSecrets(ctx context.Context, o Options) assess.Result {
	var fs findings
	sc := scanTrees(ctx, o, []string{"config", "src"}, func(f *file, st *stats) error {
		scanFileHits(f, readText(f, st), &fs, func(h hit) []string { return secretItems(o, h) }, ruleSecret)
		return nil
	})
	return verdict(sc, &fs, "values that look like an App_Secret, password or token",
		"local configuration and code must not store an App_Secret", o.items().secrets)
}

// runPrivateKeys is files.private-keys: PEM private keys, PKCS#12 key stores
// and raw key material in configuration and source. T/PCAC 0008-2020 3.3.4-2
// (no private key in code, plain or encrypted) and 9.2.2-1, 11.3.5-2.
func runPrivateKeys(ctx context.Context, o Options) assess.Result {
	var fs findings
	sc := scanTrees(ctx, o, []string{"config", "src"}, func(f *file, st *stats) error {
		scanKeyFile(f, st, o, &fs)
		return nil
	})
	return verdict(sc, &fs, "private keys", "code and local configuration must not hold a private key, plain or encrypted", o.items().secrets)
}

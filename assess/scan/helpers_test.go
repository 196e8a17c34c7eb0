package scan

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bankguard/bankguard/assess"
)

// plant writes files (slash-separated names) under dir.
func plant(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// run runs the check with the given id.
func run(t *testing.T, o Options, id string) assess.Result {
	t.Helper()
	for _, c := range Checks(o) {
		if c.ID == id {
			return c.Run(context.Background())
		}
	}
	t.Fatalf("no check %s", id)
	return assess.Result{}
}

// randomHex returns n random bytes in hexadecimal: a fresh secret for each
// run, never committed.
func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// randomSecret returns a secret that looks real: hexadecimal with at least
// one letter and one digit, 16 characters: too short for the excerpts' redaction
// of long tokens, so only the redaction of the finding hides it.
func randomSecret(t *testing.T) string {
	return "k9" + randomHex(t, 6) + "Qz"
}

func randomDigits(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	for range n {
		d, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(d.String())
	}
	return b.String()
}

// cardNumber returns a Luhn-valid 19-digit card number of a test BIN.
func cardNumber(t *testing.T) string {
	body := "622202" + randomDigits(t, 12)
	sum := 0
	for i := len(body) - 1; i >= 0; i-- {
		d := int(body[i] - '0')
		if (len(body)-i)%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return body + strconv.Itoa((10-sum%10)%10)
}

// idNumber returns a resident identity number with a valid GB 11643 check
// character; wrong returns one with a wrong check character.
func idNumber(t *testing.T, wrong bool) string {
	body := "110101" + "19900307" + randomDigits(t, 3)
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(body[i]-'0') * w
	}
	const checks = "10X98765432"
	k := sum % 11
	if wrong {
		k = (k + 1) % 11
		for checks[k] == 'X' { // keep it all digits, like an order id
			k = (k + 1) % 11
		}
	}
	return body + string(checks[k])
}

func mobileNumber(t *testing.T) string { return "138" + randomDigits(t, 8) }

// noLeak fails the test if the value shows anywhere in the result. It never
// prints the value.
func noLeak(t *testing.T, r assess.Result, value string) {
	t.Helper()
	if strings.Contains(r.Reason, value) {
		t.Error("the reason shows the planted value")
	}
	for _, f := range r.Findings {
		if strings.Contains(f.Excerpt, value) || strings.Contains(f.Message, value) {
			t.Errorf("the finding at %s line %d shows the planted value", f.Path, f.Line)
		}
	}
}

// wantFinding fails unless r has a finding of rule at path and line.
func wantFinding(t *testing.T, r assess.Result, rule, path string, line int) {
	t.Helper()
	for _, f := range r.Findings {
		if f.Rule == rule && f.Path == path && f.Line == line {
			if f.Level != "error" {
				t.Errorf("finding %s at %s:%d has level %q", rule, path, line, f.Level)
			}
			return
		}
	}
	var got []string
	for _, f := range r.Findings {
		got = append(got, f.Rule+" "+f.Path+":"+strconv.Itoa(f.Line))
	}
	t.Errorf("want a %s finding at %s line %d; got %v", rule, path, line, got)
}

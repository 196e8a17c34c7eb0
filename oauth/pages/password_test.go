package pages

import (
	"regexp"
	"strings"
	"testing"
)

func TestHashPasswordIsArgon2idPHC(t *testing.T) {
	h1, err := HashPassword("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := HashPassword("s3cret")
	phcRE := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !phcRE.MatchString(h1) {
		t.Fatalf("hash %q is not the expected PHC string", h1)
	}
	if h1 == h2 {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	if !VerifyPassword(h1, "s3cret") || !VerifyPassword(h2, "s3cret") {
		t.Error("the right password does not verify")
	}
	if VerifyPassword(h1, "s3cret ") || VerifyPassword(h1, "") {
		t.Error("a wrong password verifies")
	}
	if _, err := HashPassword(strings.Repeat("x", maxPasswordLen+1)); err == nil {
		t.Error("an over-long password was hashed")
	}
}

func TestVerifyPasswordRefusesMalformedHashes(t *testing.T) {
	good, _ := HashPassword("pw")
	parts := strings.Split(good, "$")
	tests := []struct{ name, hash string }{
		{"empty", ""},
		{"argon2i", strings.Replace(good, "argon2id", "argon2i", 1)},
		{"other version", strings.Replace(good, "v=19", "v=16", 1)},
		{"huge memory", strings.Replace(good, "m=19456", "m=4194304", 1)},
		{"zero time", strings.Replace(good, "t=2", "t=0", 1)},
		{"missing parameter", strings.Replace(good, ",p=1", "", 1)},
		{"bad salt", "$argon2id$v=19$" + parts[3] + "$!!!$" + parts[5]},
		{"short key", "$argon2id$v=19$" + parts[3] + "$" + parts[4] + "$AAAA"},
		{"extra field", good + "$x"},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if VerifyPassword(tt.hash, "pw") {
				t.Errorf("%q verified", tt.hash)
			}
		})
	}
	if VerifyPassword(good, strings.Repeat("p", maxPasswordLen+1)) {
		t.Error("an over-long password verified")
	}
}

package pages

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Password hashing parameters: argon2id with 19 MiB, 2 passes, 1 lane,
// OWASP's Password Storage Cheat Sheet minimum (2023), which costs about as
// much as its 46 MiB/1 pass alternative while keeping the memory each
// concurrent sign-in needs small; Config.HashConcurrency bounds how many
// run at once. A 16-byte random salt, a 32-byte hash.
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonSaltLen = 16
	argonKeyLen  = 32
)

// Bounds on the parameters VerifyPassword accepts from a stored hash, so a
// corrupted record cannot make a sign-in exhaust memory or CPU.
const (
	maxArgonMemory  = 256 * 1024 // KiB
	maxArgonTime    = 16
	maxArgonThreads = 16
	maxPasswordLen  = 256 // bytes; longer input is refused before hashing
)

var b64 = base64.RawStdEncoding

// HashPassword hashes pw with argon2id into a PHC string:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash> (unpadded standard base64).
func HashPassword(pw string) (string, error) {
	if len(pw) > maxPasswordLen {
		return "", fmt.Errorf("pages: password longer than %d bytes", maxPasswordLen)
	}
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword reports whether pw matches hash, a PHC string made by
// HashPassword. The final comparison is constant-time; a malformed hash
// or out-of-bounds parameters never match.
func VerifyPassword(hash, pw string) bool {
	p, ok := parsePHC(hash)
	if !ok || len(pw) > maxPasswordLen {
		return false
	}
	key := argon2.IDKey([]byte(pw), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	return subtle.ConstantTimeCompare(key, p.key) == 1
}

type phc struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

// parsePHC parses $argon2id$v=19$m=M,t=T,p=P$salt$hash.
func parsePHC(s string) (phc, bool) {
	var p phc
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, false
	}
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return p, false
	}
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(params[i], name)
		if !ok {
			return p, false
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, false
		}
		vals[i] = n
	}
	if vals[0] < 8 || vals[0] > maxArgonMemory || vals[1] < 1 || vals[1] > maxArgonTime || vals[2] < 1 || vals[2] > maxArgonThreads {
		return p, false
	}
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 || len(key) > 64 {
		return p, false
	}
	p.memory, p.time, p.threads, p.salt, p.key = uint32(vals[0]), uint32(vals[1]), uint8(vals[2]), salt, key
	return p, true
}

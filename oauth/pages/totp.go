package pages

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/url"
	"sync"
	"time"
)

// TOTP parameters (RFC 6238 with its defaults): HMAC-SHA-1, 30-second
// steps from the Unix epoch, 6 digits; a code of the step before or after
// the current one is accepted too (clock drift), each step once per user.
const (
	totpStep   = 30 // seconds
	totpDigits = 6
	totpSkew   = 1 // steps either side
	// TOTPSecretSize is the size of secrets made by NewTOTPSecret (160 bits,
	// RFC 4226 §4's recommendation).
	TOTPSecretSize = 20
)

// NewTOTPSecret returns a fresh random TOTP secret.
func NewTOTPSecret() ([]byte, error) {
	s := make([]byte, TOTPSecretSize)
	if _, err := rand.Read(s); err != nil {
		return nil, err
	}
	return s, nil
}

// TOTP returns the 6-digit RFC 6238 code of secret at t. Tools that drive
// the pages (bankguard call --user) use it to answer the second factor.
func TOTP(secret []byte, t time.Time) string {
	return hotp(secret, uint64(t.Unix()/totpStep))
}

// TOTPURI returns the otpauth:// URI an authenticator app enrols from.
func TOTPURI(issuer, account string, secret []byte) string {
	v := url.Values{}
	v.Set("secret", base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret))
	v.Set("issuer", issuer)
	v.Set("algorithm", "SHA1")
	v.Set("digits", fmt.Sprint(totpDigits))
	v.Set("period", fmt.Sprint(totpStep))
	return "otpauth://totp/" + url.PathEscape(issuer+":"+account) + "?" + v.Encode()
}

// hotp is RFC 4226's HOTP with dynamic truncation to 6 digits.
func hotp(secret []byte, counter uint64) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	m := hmac.New(sha1.New, secret)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", bin%1000000)
}

// matchTOTP returns the step whose code equals code, trying every step of
// the window without stopping early and comparing in constant time.
func matchTOTP(secret []byte, code string, now time.Time) (step int64, ok bool) {
	if len(code) != totpDigits || len(secret) == 0 {
		return 0, false
	}
	cur := now.Unix() / totpStep
	for s := cur - totpSkew; s <= cur+totpSkew; s++ {
		if subtle.ConstantTimeCompare([]byte(hotp(secret, uint64(s))), []byte(code)) == 1 && !ok {
			step, ok = s, true
		}
	}
	return step, ok
}

// TOTPSteps remembers which TOTP steps each user has used, so that a code is
// accepted once (RFC 6238 §5.2). Use must be atomic: it records step and
// reports true only if step is later than every step recorded for the user
// before, which also refuses an older code once a newer one was accepted.
type TOTPSteps interface {
	Use(ctx context.Context, userID string, step int64) (fresh bool, err error)
}

// memSteps is the in-memory TOTPSteps. It keeps one number per user who
// ever passed the second factor.
type memSteps struct {
	mu   sync.Mutex
	last map[string]int64
}

func newMemSteps() *memSteps { return &memSteps{last: map[string]int64{}} }

func (m *memSteps) Use(_ context.Context, userID string, step int64) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if last, ok := m.last[userID]; ok && step <= last {
		return false, nil
	}
	m.last[userID] = step
	return true, nil
}

package sandbox

import (
	"crypto/subtle"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/bankguard/bankguard/fieldcrypt"
)

// Payment passwords (支付密码). A transfer carries the customer's payment password sealed to the
// bank's SM2 encryption key ("sm2:v1:<keyid>:<base64>", docs/envelope.md §4): the application
// never sends it in clear (T/PCAC 0008-2020 3.2.5), the gateway only checks that it is sealed and
// passes it on, and the sandbox, playing the bank's core system, opens it and compares it with
// the customer's password, which is how the bank verifies that the user means to make this fund
// transaction (6.2.2).

// Client-facing details of the check. They are fixed texts: nothing of the submitted value, nor
// why it failed (not sealed, another key, wrong password), ever reaches the client.
const (
	detailPasswordIncorrect = "the payment password is incorrect"
	detailPasswordLocked    = "the payment password is locked after too many incorrect attempts; try again later"
)

// The lockout policy: after maxPasswordFailures consecutive failures a customer's transfers are
// refused for passwordLockout, whatever password they carry.
const (
	maxPasswordFailures = 5
	passwordLockout     = 30 * time.Minute
)

// maxSealedPassword is the schema's maxLength of payment_password; a sealed password of the
// longest key id is under 1,700 characters.
const maxSealedPassword = 2048

// passwordSeedStream separates the random stream of the payment passwords from that of the rest
// of the generated data, so that adding passwords left every other seeded value unchanged.
const passwordSeedStream = 0x9a55_0000_00c0_de06

// passwordGuard counts one customer's consecutive payment password failures. Its mutex is held
// for a whole verification, so concurrent attempts are judged one after another and no more
// than maxPasswordFailures can be tried before the lock engages.
type passwordGuard struct {
	mu          sync.Mutex
	failures    int       // consecutive failures since the last success or lockout
	lockedUntil time.Time // zero when not locked
}

// checkPaymentPassword verifies the sealed payment password of a transfer by c and returns ""
// when it is c's password, else codePasswordIncorrect or codePasswordLocked. Every failure to
// open or match counts towards the lockout, except when the bank has no key (the customer is
// not at fault) or the caller is not a customer (there is no counter to keep). It must run
// before anything that depends on the customer's accounts, so a wrong or locked password
// reveals no balance and nothing about the payee.
func (b *Bank) checkPaymentPassword(c *customer, sealed string) string {
	if c == nil {
		return codePasswordIncorrect
	}
	g := &c.password
	g.mu.Lock()
	defer g.mu.Unlock()
	now := b.now()
	if !g.lockedUntil.IsZero() {
		if now.Before(g.lockedUntil) {
			return codePasswordLocked
		}
		g.lockedUntil, g.failures = time.Time{}, 0 // the lock has run out: a fresh start
	}
	if b.paymentKey == nil {
		return codePasswordIncorrect // fail closed
	}
	if b.passwordMatches(c, sealed) {
		g.failures = 0
		return ""
	}
	g.failures++
	if g.failures >= maxPasswordFailures {
		g.lockedUntil = now.Add(passwordLockout)
	}
	return codePasswordIncorrect
}

// passwordMatches opens sealed with the bank's key and compares it with c's password in
// constant time. Any error opening it is simply a mismatch.
func (b *Bank) passwordMatches(c *customer, sealed string) bool {
	plain, err := fieldcrypt.OpenValue(sealed, b.paymentKey, b.paymentKeyID)
	if err != nil {
		return false
	}
	ok := subtle.ConstantTimeCompare(plain, []byte(c.paymentPassword)) == 1
	clear(plain)
	return ok
}

// assignPaymentPasswords gives every customer a distinct six-digit payment password drawn from
// the seed (its own stream: see passwordSeedStream), redrawing weak ones.
func assignPaymentPasswords(seed int64, customers []*customer) {
	rng := rand.New(rand.NewPCG(uint64(seed), passwordSeedStream))
	used := map[string]bool{}
	for _, c := range customers {
		for {
			var pw [6]byte
			for i := range pw {
				pw[i] = byte('0' + rng.IntN(10))
			}
			if s := string(pw[:]); !used[s] && !weakPassword(s, c) {
				used[s] = true
				c.paymentPassword = s
				break
			}
		}
	}
}

// weakPassword reports whether a six-digit password is one a bank refuses at enrolment: one
// digit repeated (000000), a run up or down (123456, 654321, 890123), a repeated pair or triple
// (121212, 123123), or six consecutive digits of the customer's identity or mobile number (which
// covers the birth date).
func weakPassword(pw string, c *customer) bool {
	step := (pw[1] - pw[0] + 10) % 10
	run := step == 0 || step == 1 || step == 9
	for i := 2; run && i < len(pw); i++ {
		run = (pw[i]-pw[i-1]+10)%10 == step
	}
	return run ||
		pw == strings.Repeat(pw[:2], 3) || pw == strings.Repeat(pw[:3], 2) ||
		strings.Contains(c.idNumber, pw) || strings.Contains(c.phone, pw)
}

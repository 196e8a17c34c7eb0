package pages

import (
	"context"
	"strings"
	"testing"
	"time"
)

// RFC 6238 Appendix B, SHA-1, truncated to the 6 digits the pages use.
func TestTOTPMatchesRFC6238Vectors(t *testing.T) {
	secret := []byte("12345678901234567890")
	for _, v := range []struct {
		unix int64
		want string
	}{
		{59, "287082"}, {1111111109, "081804"}, {1111111111, "050471"},
		{1234567890, "005924"}, {2000000000, "279037"}, {20000000000, "353130"},
	} {
		if got := TOTP(secret, time.Unix(v.unix, 0)); got != v.want {
			t.Errorf("TOTP at %d = %s, want %s", v.unix, got, v.want)
		}
	}
}

func TestMatchTOTPWindow(t *testing.T) {
	now := time.Unix(1111111111, 0)
	at := func(d time.Duration) string { return TOTP(aliceSecret, now.Add(d)) }
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		if _, ok := matchTOTP(aliceSecret, at(d), now); !ok {
			t.Errorf("the code of %v was refused", d)
		}
	}
	for _, d := range []time.Duration{-90 * time.Second, 90 * time.Second} {
		if _, ok := matchTOTP(aliceSecret, at(d), now); ok {
			t.Errorf("the code of %v (outside the window) was accepted", d)
		}
	}
	for _, code := range []string{"", "12345", "1234567", at(0) + " "} {
		if _, ok := matchTOTP(aliceSecret, code, now); ok {
			t.Errorf("malformed code %q accepted", code)
		}
	}
	if _, ok := matchTOTP(nil, at(0), now); ok {
		t.Error("a code matched an empty secret")
	}
	step, _ := matchTOTP(aliceSecret, at(30*time.Second), now)
	if step != now.Unix()/30+1 {
		t.Errorf("step %d, want the next step", step)
	}
}

func TestMemStepsAcceptEachStepOnce(t *testing.T) {
	m, ctx := newMemSteps(), context.Background()
	for _, c := range []struct {
		user string
		step int64
		want bool
	}{
		{"u1", 100, true},
		{"u1", 100, false}, // replay
		{"u1", 99, false},  // older than one already used
		{"u2", 100, true},  // another user
		{"u1", 101, true},
	} {
		if got, err := m.Use(ctx, c.user, c.step); err != nil || got != c.want {
			t.Errorf("Use(%s, %d) = %v, %v; want %v", c.user, c.step, got, err, c.want)
		}
	}
}

func TestTOTPURIAndSecret(t *testing.T) {
	s, err := NewTOTPSecret()
	if err != nil || len(s) != TOTPSecretSize {
		t.Fatalf("NewTOTPSecret: %d bytes, %v", len(s), err)
	}
	u := TOTPURI("Example Bank", "alice", []byte("12345678901234567890"))
	if !strings.HasPrefix(u, "otpauth://totp/Example%20Bank:alice?") || !strings.Contains(u, "secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ") {
		t.Errorf("TOTPURI = %s", u)
	}
}

// Package oauthtest holds the conformance tests every oauth.Store must
// pass: the in-memory one and store/sqlite run the same table, so the
// atomicity the server relies on (single-use codes, refresh rotation,
// once-consents) is shown for each.
package oauthtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bankguard/bankguard/oauth"
)

// T0 is the tests' fixed "now".
var T0 = time.Date(2026, 3, 1, 9, 30, 0, 123456789, time.UTC)

// Run runs the conformance tests against stores made by open, a new empty
// one for each test.
func Run(t *testing.T, open func(t *testing.T) oauth.Store) {
	t.Run("codes", func(t *testing.T) { testCodes(t, open(t)) })
	t.Run("tokens", func(t *testing.T) { testTokens(t, open(t)) })
	t.Run("rotate", func(t *testing.T) { testRotate(t, open(t)) })
	t.Run("revoke", func(t *testing.T) { testRevoke(t, open(t)) })
	t.Run("consents", func(t *testing.T) { testConsents(t, open(t)) })
	t.Run("consume once", func(t *testing.T) { testConsume(t, open(t)) })
	t.Run("events", func(t *testing.T) { testEvents(t, open(t)) })
}

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func testCodes(t *testing.T, st oauth.Store) {
	ctx := context.Background()
	c := oauth.CodeRecord{Hash: hash("code-1"), AppID: "app-a", UserID: "u1", ConsentID: "cns_1",
		RedirectURI: "https://app.example/cb", Challenge: "ch", ACR: oauth.ACRTwoFactor, SessionID: "s1",
		FamilyID: "fam_1", AuthenticatedAt: T0.Add(-time.Minute), CreatedAt: T0, ExpiresAt: T0.Add(time.Minute)}
	if err := st.CreateCode(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateCode(ctx, c); err == nil {
		t.Error("a duplicate code was stored")
	}
	got, err := st.CodeByHash(ctx, c.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if err := sameCode(got, &c); err != nil {
		t.Error(err)
	}
	if _, err := st.CodeByHash(ctx, hash("unknown")); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("CodeByHash(unknown) = %v, want ErrNotFound", err)
	}
	if err := st.UseCode(ctx, hash("unknown"), T0); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("UseCode(unknown) = %v, want ErrNotFound", err)
	}
	at := Token("code-1-at", oauth.KindAccess, "fam_1", "app-a", "u1", "cns_1")
	rt := Token("code-1-rt", oauth.KindRefresh, "fam_1", "app-a", "u1", "cns_1")
	if err := st.UseCode(ctx, c.Hash, T0.Add(time.Second), at, rt); err != nil {
		t.Fatalf("first UseCode = %v", err)
	}
	for _, tok := range []oauth.TokenRecord{at, rt} {
		if _, err := st.TokenByHash(ctx, tok.Hash); err != nil {
			t.Errorf("a token issued with the code was not stored: %v", err)
		}
	}
	c.UsedAt = T0.Add(time.Second)
	if got, _ := st.CodeByHash(ctx, c.Hash); got == nil || sameCode(got, &c) != nil {
		t.Errorf("used code = %+v, want %+v", got, c)
	}
	late := Token("code-1-late", oauth.KindAccess, "fam_1", "app-a", "u1", "cns_1")
	if err := st.UseCode(ctx, c.Hash, T0.Add(2*time.Second), late); !errors.Is(err, oauth.ErrAlreadyUsed) {
		t.Errorf("second UseCode = %v, want ErrAlreadyUsed", err)
	}
	if _, err := st.TokenByHash(ctx, late.Hash); !errors.Is(err, oauth.ErrNotFound) {
		t.Error("a second use stored tokens")
	}
	if got, _ := st.CodeByHash(ctx, c.Hash); !got.UsedAt.Equal(c.UsedAt) {
		t.Errorf("a second use moved UsedAt to %v", got.UsedAt)
	}

	// A use whose tokens cannot be stored leaves the code unused.
	c3 := c
	c3.Hash, c3.UsedAt = hash("code-3"), time.Time{}
	if err := st.CreateCode(ctx, c3); err != nil {
		t.Fatal(err)
	}
	if err := st.UseCode(ctx, c3.Hash, T0, at); err == nil {
		t.Error("UseCode stored a duplicate token")
	}
	if got, _ := st.CodeByHash(ctx, c3.Hash); got == nil || !got.UsedAt.IsZero() {
		t.Errorf("a failed use marked the code used: %+v", got)
	}
	// Burning: no tokens.
	if err := st.UseCode(ctx, c3.Hash, T0); err != nil {
		t.Errorf("burning a code = %v", err)
	}

	// Concurrent uses: exactly one succeeds.
	c2 := c
	c2.Hash, c2.UsedAt = hash("code-2"), time.Time{}
	if err := st.CreateCode(ctx, c2); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	i := 0
	n := race(16, func() bool {
		mu.Lock()
		i++
		tok := Token(fmt.Sprintf("code-2-at-%d", i), oauth.KindAccess, "fam_2", "app-a", "u1", "cns_1")
		mu.Unlock()
		return st.UseCode(ctx, c2.Hash, T0, tok) == nil
	})
	if n != 1 {
		t.Errorf("%d concurrent UseCode calls succeeded, want 1", n)
	}
}

func sameCode(got, want *oauth.CodeRecord) error {
	if !bytes.Equal(got.Hash, want.Hash) || got.AppID != want.AppID || got.UserID != want.UserID ||
		got.ConsentID != want.ConsentID || got.RedirectURI != want.RedirectURI || got.Challenge != want.Challenge ||
		got.ACR != want.ACR || got.SessionID != want.SessionID || got.FamilyID != want.FamilyID ||
		!got.AuthenticatedAt.Equal(want.AuthenticatedAt) || !got.CreatedAt.Equal(want.CreatedAt) ||
		!got.ExpiresAt.Equal(want.ExpiresAt) || !got.UsedAt.Equal(want.UsedAt) {
		return fmt.Errorf("code = %+v, want %+v", got, want)
	}
	return nil
}

// Token makes a token record for tests.
func Token(name, kind, family, app, user, consent string) oauth.TokenRecord {
	return oauth.TokenRecord{Hash: hash(name), Kind: kind, FamilyID: family, AppID: app, UserID: user,
		ConsentID: consent, Scopes: []string{"accounts", "transfers"}, ACR: oauth.ACRTwoFactor,
		CertThumbprint: "thumb", IssuedAt: T0, ExpiresAt: T0.Add(5 * time.Minute)}
}

func testTokens(t *testing.T, st oauth.Store) {
	ctx := context.Background()
	a := Token("at", oauth.KindAccess, "fam_1", "app-a", "u1", "cns_1")
	r := Token("rt", oauth.KindRefresh, "fam_1", "app-a", "u1", "cns_1")
	if err := st.CreateTokens(ctx, a, r); err != nil {
		t.Fatal(err)
	}
	got, err := st.TokenByHash(ctx, a.Hash)
	if err != nil || !bytes.Equal(got.Hash, a.Hash) || got.Kind != a.Kind || got.FamilyID != a.FamilyID ||
		got.AppID != a.AppID || got.UserID != a.UserID || got.ConsentID != a.ConsentID ||
		fmt.Sprint(got.Scopes) != fmt.Sprint(a.Scopes) || got.ACR != a.ACR || got.CertThumbprint != a.CertThumbprint ||
		!got.IssuedAt.Equal(a.IssuedAt) || !got.ExpiresAt.Equal(a.ExpiresAt) || !got.RevokedAt.IsZero() || !got.UsedAt.IsZero() {
		t.Errorf("TokenByHash = %+v, %v; want %+v", got, err, a)
	}
	if _, err := st.TokenByHash(ctx, hash("unknown")); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("TokenByHash(unknown) = %v, want ErrNotFound", err)
	}
	// All or none: a batch holding an existing token stores nothing.
	fresh := Token("fresh", oauth.KindAccess, "fam_2", "app-a", "u1", "cns_1")
	if err := st.CreateTokens(ctx, fresh, a); err == nil {
		t.Error("a duplicate token was stored")
	}
	if _, err := st.TokenByHash(ctx, fresh.Hash); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("a failed batch left a token behind: %v", err)
	}
}

func testRotate(t *testing.T, st oauth.Store) {
	ctx := context.Background()
	a := Token("at", oauth.KindAccess, "fam_1", "app-a", "u1", "cns_1")
	r := Token("rt", oauth.KindRefresh, "fam_1", "app-a", "u1", "cns_1")
	if err := st.CreateTokens(ctx, a, r); err != nil {
		t.Fatal(err)
	}
	a2, r2 := Token("at2", oauth.KindAccess, "fam_1", "app-a", "u1", "cns_1"), Token("rt2", oauth.KindRefresh, "fam_1", "app-a", "u1", "cns_1")
	if err := st.RotateRefresh(ctx, r.Hash, T0.Add(time.Minute), a2, r2); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.TokenByHash(ctx, r.Hash); got == nil || !got.UsedAt.Equal(T0.Add(time.Minute)) {
		t.Errorf("the rotated refresh token is not marked used: %+v", got)
	}
	if _, err := st.TokenByHash(ctx, r2.Hash); err != nil {
		t.Errorf("the new refresh token was not stored: %v", err)
	}
	a3, r3 := Token("at3", oauth.KindAccess, "fam_1", "app-a", "u1", "cns_1"), Token("rt3", oauth.KindRefresh, "fam_1", "app-a", "u1", "cns_1")
	for _, tc := range []struct {
		name string
		old  []byte
	}{
		{"already rotated", r.Hash},
		{"an access token", a.Hash},
		{"unknown", hash("unknown")},
	} {
		if err := st.RotateRefresh(ctx, tc.old, T0, a3, r3); !errors.Is(err, oauth.ErrAlreadyUsed) {
			t.Errorf("RotateRefresh(%s) = %v, want ErrAlreadyUsed", tc.name, err)
		}
		if _, err := st.TokenByHash(ctx, r3.Hash); !errors.Is(err, oauth.ErrNotFound) {
			t.Errorf("RotateRefresh(%s) stored the next tokens", tc.name)
		}
	}
	if _, err := st.RevokeTokens(ctx, oauth.TokenSelector{Hash: r2.Hash}, T0); err != nil {
		t.Fatal(err)
	}
	if err := st.RotateRefresh(ctx, r2.Hash, T0, a3, r3); !errors.Is(err, oauth.ErrAlreadyUsed) {
		t.Errorf("RotateRefresh(revoked) = %v, want ErrAlreadyUsed", err)
	}

	// Concurrent rotations of one token: exactly one wins.
	r4 := Token("rt4", oauth.KindRefresh, "fam_4", "app-a", "u1", "cns_1")
	if err := st.CreateTokens(ctx, r4); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	i := 0
	n := race(16, func() bool {
		mu.Lock()
		i++
		next := Token(fmt.Sprintf("rt4-next-%d", i), oauth.KindRefresh, "fam_4", "app-a", "u1", "cns_1")
		mu.Unlock()
		return st.RotateRefresh(ctx, r4.Hash, T0, next) == nil
	})
	if n != 1 {
		t.Errorf("%d concurrent rotations succeeded, want 1", n)
	}
}

func testRevoke(t *testing.T, st oauth.Store) {
	ctx := context.Background()
	ts := []oauth.TokenRecord{
		Token("t1", oauth.KindAccess, "fam_1", "app-a", "u1", "cns_1"),
		Token("t2", oauth.KindRefresh, "fam_1", "app-a", "u1", "cns_1"),
		Token("t3", oauth.KindAccess, "fam_2", "app-a", "u2", "cns_2"),
		Token("t4", oauth.KindAccess, "fam_3", "app-b", "u1", "cns_3"),
		Token("t5", oauth.KindAccess, "fam_4", "app-b", "u2", "cns_4"),
	}
	if err := st.CreateTokens(ctx, ts...); err != nil {
		t.Fatal(err)
	}
	for _, sel := range []oauth.TokenSelector{{}, {AppID: "app-a", UserID: "u1"}} {
		if n, err := st.RevokeTokens(ctx, sel, T0); err == nil || n != 0 {
			t.Errorf("RevokeTokens(%+v) = %d, %v; want an error", sel, n, err)
		}
	}
	if n, _ := st.TokenByHash(ctx, ts[0].Hash); !n.RevokedAt.IsZero() {
		t.Fatal("a refused selector revoked a token")
	}
	for _, tc := range []struct {
		name string
		sel  oauth.TokenSelector
		want int
	}{
		{"hash", oauth.TokenSelector{Hash: ts[0].Hash}, 1},
		{"hash again", oauth.TokenSelector{Hash: ts[0].Hash}, 0},
		{"family", oauth.TokenSelector{FamilyID: "fam_1"}, 1}, // t1 already revoked
		{"consent", oauth.TokenSelector{ConsentID: "cns_2"}, 1},
		{"app", oauth.TokenSelector{AppID: "app-b"}, 2},
		{"user", oauth.TokenSelector{UserID: "u2"}, 0},
		{"unknown app", oauth.TokenSelector{AppID: "nobody"}, 0},
	} {
		n, err := st.RevokeTokens(ctx, tc.sel, T0.Add(time.Minute))
		if err != nil || n != tc.want {
			t.Errorf("RevokeTokens(%s) = %d, %v; want %d", tc.name, n, err, tc.want)
		}
	}
	for _, tok := range ts {
		got, err := st.TokenByHash(ctx, tok.Hash)
		if err != nil || !got.RevokedAt.Equal(T0.Add(time.Minute)) {
			t.Errorf("token %x: revoked at %v (%v), want %v", tok.Hash[:4], got.RevokedAt, err, T0.Add(time.Minute))
		}
	}
}

// Consent makes a consent for tests.
func Consent(id, app, user string, v oauth.Validity, created time.Time) oauth.Consent {
	return oauth.Consent{ID: id, AppID: app, UserID: user, Scopes: []string{"accounts"},
		Accounts: []string{"acc-1", "acc-2"}, Validity: v, ExpiresAt: created.Add(time.Hour),
		CreatedAt: created, SessionID: "s1", RiskAcknowledged: true}
}

func testConsents(t *testing.T, st oauth.Store) {
	ctx := context.Background()
	c1 := Consent("cns_1", "app-a", "u1", oauth.ValidityAgreement, T0)
	c2 := Consent("cns_2", "app-b", "u1", oauth.ValidityUntil, T0.Add(time.Second))
	c3 := Consent("cns_3", "app-a", "u2", oauth.ValidityOnce, T0)
	c4 := Consent("cns_0", "app-a", "u1", oauth.ValidityOnce, T0) // same time as cns_1, stored later
	for _, c := range []oauth.Consent{c1, c2, c3, c4} {
		if err := st.CreateConsent(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.CreateConsent(ctx, c1); err == nil {
		t.Error("a duplicate consent was stored")
	}
	got, err := st.ConsentByID(ctx, "cns_1")
	if err != nil || got.AppID != c1.AppID || got.UserID != c1.UserID || fmt.Sprint(got.Scopes) != fmt.Sprint(c1.Scopes) ||
		fmt.Sprint(got.Accounts) != fmt.Sprint(c1.Accounts) || got.Validity != c1.Validity || !got.ExpiresAt.Equal(c1.ExpiresAt) ||
		!got.CreatedAt.Equal(c1.CreatedAt) || got.SessionID != c1.SessionID || !got.RiskAcknowledged ||
		!got.RevokedAt.IsZero() || !got.ConsumedAt.IsZero() {
		t.Errorf("ConsentByID = %+v, %v; want %+v", got, err, c1)
	}
	if _, err := st.ConsentByID(ctx, "nope"); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("ConsentByID(unknown) = %v, want ErrNotFound", err)
	}
	list, err := st.ConsentsOf(ctx, "u1")
	if err != nil || len(list) != 3 || list[0].ID != "cns_2" || list[1].ID != "cns_0" || list[2].ID != "cns_1" {
		t.Errorf("ConsentsOf(u1) = %+v, %v; want cns_2, cns_0, cns_1", list, err)
	}
	if list, _ := st.ConsentsOf(ctx, "nobody"); len(list) != 0 {
		t.Errorf("ConsentsOf(nobody) = %+v", list)
	}
	if err := st.RevokeConsent(ctx, "u2", "cns_1", T0); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("RevokeConsent(another user's) = %v, want ErrNotFound", err)
	}
	if got, _ := st.ConsentByID(ctx, "cns_1"); !got.RevokedAt.IsZero() {
		t.Error("another user revoked the consent")
	}
	if err := st.RevokeConsent(ctx, "u1", "nope", T0); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("RevokeConsent(unknown) = %v, want ErrNotFound", err)
	}
	if err := st.RevokeConsent(ctx, "u1", "cns_1", T0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := st.RevokeConsent(ctx, "u1", "cns_1", T0.Add(2*time.Minute)); err != nil {
		t.Errorf("revoking twice = %v", err)
	}
	if got, _ := st.ConsentByID(ctx, "cns_1"); !got.RevokedAt.Equal(T0.Add(time.Minute)) {
		t.Errorf("RevokedAt = %v, want the first revocation's time", got.RevokedAt)
	}
}

func testConsume(t *testing.T, st oauth.Store) {
	ctx := context.Background()
	once := Consent("once", "app-a", "u1", oauth.ValidityOnce, T0)
	revoked := Consent("revoked", "app-a", "u1", oauth.ValidityOnce, T0)
	expired := Consent("expired", "app-a", "u1", oauth.ValidityOnce, T0.Add(-2*time.Hour))
	periodic := Consent("periodic", "app-a", "u1", oauth.ValidityUntil, T0)
	race1 := Consent("race", "app-a", "u1", oauth.ValidityOnce, T0)
	for _, c := range []oauth.Consent{once, revoked, expired, periodic, race1} {
		if err := st.CreateConsent(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.RevokeConsent(ctx, "u1", "revoked", T0); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id   string
		want error
	}{
		{"once", nil},
		{"once", oauth.ErrConsentUsed},
		{"revoked", oauth.ErrTokenRevoked},
		{"expired", oauth.ErrTokenRevoked},
		{"periodic", oauth.ErrTokenRevoked},
		{"nope", oauth.ErrNotFound},
	} {
		if err := st.ConsumeConsent(ctx, tc.id, T0.Add(time.Second)); !errors.Is(err, tc.want) && err != tc.want {
			t.Errorf("ConsumeConsent(%s) = %v, want %v", tc.id, err, tc.want)
		}
	}
	if got, _ := st.ConsentByID(ctx, "once"); !got.ConsumedAt.Equal(T0.Add(time.Second)) {
		t.Errorf("ConsumedAt = %v", got.ConsumedAt)
	}
	if got, _ := st.ConsentByID(ctx, "periodic"); !got.ConsumedAt.IsZero() {
		t.Error("a periodic consent was consumed")
	}
	if n := race(16, func() bool { return st.ConsumeConsent(ctx, "race", T0) == nil }); n != 1 {
		t.Errorf("%d concurrent consumptions succeeded, want 1", n)
	}
}

func testEvents(t *testing.T, st oauth.Store) {
	ctx := context.Background()
	for i, e := range []oauth.Event{
		{Kind: oauth.EventLogin, UserID: "u1"},
		{Kind: oauth.EventConsent, UserID: "u1", AppID: "app-a", ConsentID: "cns_1", Detail: "scopes accounts"},
		{Kind: oauth.EventAlert, AppID: "app-b", Detail: "token_other_app"},
		{Kind: oauth.EventLogin, UserID: "u2"},
		{Kind: oauth.EventToken, UserID: "u1", AppID: "app-a", ConsentID: "cns_1"},
	} {
		e.Time = T0.Add(time.Duration(i) * time.Second)
		if err := st.AddEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.Events(ctx, oauth.EventQuery{UserID: "u1"})
	if err != nil || len(got) != 3 || got[0].Kind != oauth.EventToken || got[2].Kind != oauth.EventLogin {
		t.Fatalf("Events(u1) = %+v, %v", got, err)
	}
	if got[1].Detail != "scopes accounts" || got[1].ConsentID != "cns_1" || got[1].AppID != "app-a" ||
		!got[1].Time.Equal(T0.Add(time.Second)) || got[1].ID == 0 || got[0].ID <= got[1].ID {
		t.Errorf("event = %+v", got[1])
	}
	if got, _ := st.Events(ctx, oauth.EventQuery{UserID: "u1", Limit: 2}); len(got) != 2 || got[0].Kind != oauth.EventToken {
		t.Errorf("Events(u1, limit 2) = %+v", got)
	}
	if got, _ := st.Events(ctx, oauth.EventQuery{Kind: oauth.EventAlert}); len(got) != 1 || got[0].AppID != "app-b" {
		t.Errorf("Events(alert) = %+v", got)
	}
	if got, _ := st.Events(ctx, oauth.EventQuery{UserID: "u1", Kind: oauth.EventLogin}); len(got) != 1 {
		t.Errorf("Events(u1, login) = %+v", got)
	}
	if _, err := st.Events(ctx, oauth.EventQuery{}); err == nil {
		t.Error("an empty event query was answered")
	}
}

// race runs f in n goroutines at once and counts the true results.
func race(n int, f func() bool) int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	start := make(chan struct{})
	count := 0
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if f() {
				mu.Lock()
				count++
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	return count
}

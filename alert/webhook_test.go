package alert

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bankguard/bankguard/httpsig"
)

// verifyWebhook checks a delivery as a receiver does: Content-Digest, a
// signature labelled "bank" covering the webhook components, keyid, alg and
// created, verified with the bank's public key.
func verifyWebhook(r *http.Request, body []byte, keyID string, v httpsig.Verifier) error {
	if err := httpsig.VerifyContentDigest(r.Header.Values("Content-Digest"), body); err != nil {
		return err
	}
	sigs, err := httpsig.ParseSignatures(r.Header)
	if err != nil {
		return err
	}
	var sig *httpsig.Signature
	for i := range sigs {
		if sigs[i].Input.Label == WebhookLabel {
			sig = &sigs[i]
		}
	}
	if sig == nil {
		return errors.New("no signature labelled bank")
	}
	for _, c := range WebhookComponents() {
		if !sig.Input.Covers(c) {
			return fmt.Errorf("signature does not cover %s", c)
		}
	}
	p := sig.Input.Params
	if p.KeyID != keyID || p.Alg != v.Alg() || p.Created.IsZero() {
		return fmt.Errorf("params keyid=%q alg=%q created=%v", p.KeyID, p.Alg, p.Created)
	}
	return sig.Verify(httpsig.NewRequestMessage(r), v)
}

// receiver is a webhook endpoint that verifies every delivery and answers
// the statuses in fail first, then 204.
type receiver struct {
	keyID string
	v     httpsig.Verifier
	fail  []int

	mu     sync.Mutex
	calls  int
	valid  int
	errs   []error
	bodies [][]byte
}

func (rv *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rv.mu.Lock()
	defer rv.mu.Unlock()
	rv.calls++
	if err := verifyWebhook(r, body, rv.keyID, rv.v); err != nil {
		rv.errs = append(rv.errs, err)
	} else {
		rv.valid++
	}
	if rv.calls <= len(rv.fail) {
		w.WriteHeader(rv.fail[rv.calls-1])
		return
	}
	rv.bodies = append(rv.bodies, body)
	w.WriteHeader(http.StatusNoContent)
}

func ed25519Pair(t *testing.T) (httpsig.Signer, httpsig.Verifier) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := httpsig.NewSigner(httpsig.AlgEd25519, priv)
	if err != nil {
		t.Fatal(err)
	}
	v, err := httpsig.NewVerifier(httpsig.AlgEd25519, pub)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

func TestWebhookDeliversSignedAlert(t *testing.T) {
	signer, verifier := ed25519Pair(t)
	rv := &receiver{keyID: "alert-2026", v: verifier}
	srv := httptest.NewServer(rv)
	defer srv.Close()

	clk := newClock()
	wh := &Webhook{URL: srv.URL + "/hooks/bankguard?channel=soc", KeyID: "alert-2026", Signer: signer, Backoff: time.Millisecond}
	m := newTest(t, clk, Options{Routes: []Route{{Name: "soc", Notifier: wh, MinSeverity: Warning}}})
	m.Raise(context.Background(), Alert{Rule: "blacklist.auto", Severity: Critical, Subject: "ip:203.0.113.7",
		Summary: "10 bad signatures in 1m", TxnID: "TX1"})
	flush(t, m)

	rv.mu.Lock()
	defer rv.mu.Unlock()
	if rv.calls != 1 || rv.valid != 1 {
		t.Fatalf("calls=%d valid=%d errs=%v", rv.calls, rv.valid, rv.errs)
	}
	var n Notification
	if err := json.Unmarshal(rv.bodies[0], &n); err != nil {
		t.Fatal(err)
	}
	if n.Type != TypeAlert || n.Alert == nil || n.Alert.Rule != "blacklist.auto" || n.Alert.Subject != "ip:203.0.113.7" ||
		n.Alert.IncidentID == "" || n.Severity != Critical {
		t.Errorf("delivered %+v", n)
	}
}

func TestWebhookSignatureFailsWhenTamperedOrWrongKey(t *testing.T) {
	signer, verifier := ed25519Pair(t)
	_, other := ed25519Pair(t)
	var req *http.Request
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		req = r
	}))
	defer srv.Close()
	wh := &Webhook{URL: srv.URL + "/h", KeyID: "k", Signer: signer, DigestAlg: httpsig.DigestSHA256}
	if err := wh.Send(context.Background(), []byte(`{"type":"alert"}`)); err != nil {
		t.Fatal(err)
	}
	if err := verifyWebhook(req, body, "k", verifier); err != nil {
		t.Fatalf("genuine delivery does not verify: %v", err)
	}
	if err := verifyWebhook(req, []byte(`{"type":"forged"}`), "k", verifier); !errors.Is(err, httpsig.ErrDigestMismatch) {
		t.Errorf("tampered body: %v, want a digest mismatch", err)
	}
	if err := verifyWebhook(req, body, "k", other); err == nil {
		t.Error("verified with another key")
	}
	req.URL.Path, req.RequestURI = "/elsewhere", "/elsewhere"
	if err := verifyWebhook(req, body, "k", verifier); !errors.Is(err, httpsig.ErrVerification) {
		t.Errorf("other path: %v, want a verification failure", err)
	}
}

func TestWebhookRetriesOn500(t *testing.T) {
	signer, verifier := ed25519Pair(t)
	rv := &receiver{keyID: "k", v: verifier, fail: []int{500, 503}}
	srv := httptest.NewServer(rv)
	defer srv.Close()
	wh := &Webhook{URL: srv.URL, KeyID: "k", Signer: signer, Attempts: 3, Backoff: time.Millisecond}
	if err := wh.Send(context.Background(), []byte(`{}`)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	rv.mu.Lock()
	defer rv.mu.Unlock()
	if rv.calls != 3 || rv.valid != 3 || len(rv.bodies) != 1 {
		t.Errorf("calls=%d valid=%d delivered=%d errs=%v, want 3 signed attempts, the last accepted", rv.calls, rv.valid, len(rv.bodies), rv.errs)
	}
}

func TestWebhookGivesUp(t *testing.T) {
	signer, verifier := ed25519Pair(t)
	for _, tc := range []struct {
		name      string
		fail      []int
		wantCalls int
	}{
		{"client error is not retried", []int{400}, 1},
		{"server errors until attempts run out", []int{500, 500, 500, 500}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rv := &receiver{keyID: "k", v: verifier, fail: tc.fail}
			srv := httptest.NewServer(rv)
			defer srv.Close()
			wh := &Webhook{URL: srv.URL, KeyID: "k", Signer: signer, Attempts: 3, Backoff: time.Millisecond}
			if err := wh.Send(context.Background(), []byte(`{}`)); err == nil {
				t.Fatal("Send succeeded")
			}
			rv.mu.Lock()
			defer rv.mu.Unlock()
			if rv.calls != tc.wantCalls {
				t.Errorf("calls = %d, want %d", rv.calls, tc.wantCalls)
			}
		})
	}
}

func TestWebhookFollowsNoRedirect(t *testing.T) {
	var mu sync.Mutex
	reached := false
	elsewhere := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		mu.Lock()
		reached = true
		mu.Unlock()
	}))
	defer elsewhere.Close()
	srv := httptest.NewServer(http.RedirectHandler(elsewhere.URL+"/collect", http.StatusTemporaryRedirect))
	defer srv.Close()
	signer, _ := ed25519Pair(t)
	wh := &Webhook{URL: srv.URL, KeyID: "k", Signer: signer, Attempts: 1}
	if err := wh.Send(context.Background(), []byte(`{}`)); err == nil {
		t.Error("a redirect counted as a delivery")
	}
	mu.Lock()
	defer mu.Unlock()
	if reached {
		t.Error("the alert followed the redirect to another host")
	}
}

func TestWebhookErrorDoesNotRepeatTheURL(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	signer, _ := ed25519Pair(t)
	wh := &Webhook{URL: "http://" + addr + "/h?token=s3cr3t-token", KeyID: "k", Signer: signer, Attempts: 2, Backoff: time.Millisecond}
	err = wh.Send(context.Background(), []byte(`{}`))
	if err == nil {
		t.Fatal("Send to a closed port succeeded")
	}
	if strings.Contains(err.Error(), "s3cr3t-token") {
		t.Errorf("error leaks the URL: %v", err)
	}
}

func TestWebhookWithoutKeyRefuses(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { calls++ }))
	defer srv.Close()
	wh := &Webhook{URL: srv.URL}
	if err := wh.Send(context.Background(), []byte(`{}`)); err == nil || calls != 0 {
		t.Errorf("unsigned delivery: err=%v calls=%d, want a refusal before sending", err, calls)
	}
}

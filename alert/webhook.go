package alert

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/bankguard/bankguard/httpsig"
)

// WebhookLabel is the signature label of webhook deliveries: the receiver
// verifies them as it verifies the bank's response signatures.
const WebhookLabel = "bank"

// Defaults of Webhook.
const (
	DefaultWebhookTimeout  = 5 * time.Second
	DefaultWebhookAttempts = 3
	DefaultWebhookBackoff  = time.Second
	maxWebhookBackoff      = 30 * time.Second
)

// WebhookComponents are what a webhook signature covers.
func WebhookComponents() []httpsig.Component {
	return []httpsig.Component{{Name: "@method"}, {Name: "@authority"}, {Name: "@path"}, {Name: "content-digest"}}
}

// Webhook is the notifier that POSTs notifications as JSON, with a
// Content-Digest (RFC 9530) and an RFC 9421 signature labelled "bank" over
// @method, @authority, @path and content-digest with created, keyid and alg,
// so that the receiver can verify the alert came from the bank (active
// notification, T/PCAC 0008-2020 6.1.2-3; integrity as in 3.2.4). Failed
// deliveries (network errors, 408, 429, 5xx) are retried with exponential
// backoff; each attempt has a timeout and is signed afresh.
type Webhook struct {
	URL string
	// KeyID and Signer are the bank's alert-signing key: a key of its own,
	// never a response-signing or encryption key (3.3.4).
	KeyID  string
	Signer httpsig.Signer
	// DigestAlg is the Content-Digest algorithm (httpsig.DigestSM3 unless
	// set, as on the bank's responses).
	DigestAlg string
	// Client sends the requests (nil: a client that needs TLS 1.2 or later
	// for https and follows no redirect).
	Client *http.Client
	// Timeout bounds each attempt (DefaultWebhookTimeout unless set).
	Timeout time.Duration
	// Attempts is the number of tries (DefaultWebhookAttempts unless set).
	Attempts int
	// Backoff is the wait before the first retry, doubled for each further
	// one up to 30 seconds (DefaultWebhookBackoff unless set).
	Backoff time.Duration
	// Now is the clock of the signature's created parameter (nil: time.Now).
	Now func() time.Time
}

// defaultClient follows no redirect: the signature names the receiver's
// authority and path, and the alert goes nowhere else.
var defaultClient = &http.Client{
	Transport: &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     90 * time.Second,
	},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Notify implements Notifier.
func (w *Webhook) Notify(ctx context.Context, n Notification) error {
	body, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("alert: webhook: %w", err)
	}
	return w.Send(ctx, body)
}

// Send POSTs a JSON body, signed, retrying as described on Webhook. Other
// packages may use it to notify through a signed webhook.
func (w *Webhook) Send(ctx context.Context, body []byte) error {
	attempts := w.Attempts
	if attempts <= 0 {
		attempts = DefaultWebhookAttempts
	}
	wait := w.Backoff
	if wait <= 0 {
		wait = DefaultWebhookBackoff
	}
	for attempt := 1; ; attempt++ {
		retry, err := w.post(ctx, body)
		if err == nil {
			return nil
		}
		if !retry || attempt >= attempts {
			return fmt.Errorf("%w (attempt %d of %d)", err, attempt, attempts)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w; retry abandoned: %w", err, ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, maxWebhookBackoff)
	}
}

// post makes one attempt; retry reports whether another may succeed.
// Errors never repeat the URL, which may carry a receiver's token.
func (w *Webhook) post(ctx context.Context, body []byte) (retry bool, err error) {
	if w.Signer == nil || w.KeyID == "" {
		return false, errors.New("alert: webhook: no signing key")
	}
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = DefaultWebhookTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return false, errors.New("alert: webhook: the url is not valid")
	}
	if err := w.sign(req, body); err != nil {
		return false, err
	}
	client := w.Client
	if client == nil {
		client = defaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return true, fmt.Errorf("alert: webhook: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch s := resp.StatusCode; {
	case s >= 200 && s < 300:
		return false, nil
	case s == http.StatusRequestTimeout, s == http.StatusTooManyRequests, s >= 500:
		return true, fmt.Errorf("alert: webhook: receiver answered %d", s)
	default:
		return false, fmt.Errorf("alert: webhook: receiver refused with %d", s)
	}
}

// sign sets Content-Type, Content-Digest and the signature.
func (w *Webhook) sign(req *http.Request, body []byte) error {
	alg := w.DigestAlg
	if alg == "" {
		alg = httpsig.DigestSM3
	}
	digest, err := httpsig.ContentDigest(alg, body)
	if err != nil {
		return fmt.Errorf("alert: webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Digest", digest)
	now := time.Now()
	if w.Now != nil {
		now = w.Now()
	}
	in := httpsig.Input{
		Label:      WebhookLabel,
		Components: WebhookComponents(),
		Params:     httpsig.Params{Created: now, KeyID: w.KeyID, Alg: w.Signer.Alg()},
	}
	if err := httpsig.SignHeader(req.Header, httpsig.NewRequestMessage(req), in, w.Signer); err != nil {
		return fmt.Errorf("alert: webhook: sign: %w", err)
	}
	return nil
}

var _ Notifier = (*Webhook)(nil)

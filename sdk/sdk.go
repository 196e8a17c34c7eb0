// Package sdk is what an application party (应用方) links in to call a bank's
// open APIs through bankguard: it signs each request (RFC 9421 with a
// Content-Digest, CONTRACT.md §2) and verifies the bank's signature on each
// response (CONTRACT.md §3), refusing a response that fails.
//
// Integrity and non-repudiation on the application side: T/PCAC 0008-2020
// 11.2.1, 11.3.3.
package sdk

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"github.com/bankguard/bankguard/fieldcrypt"
	"github.com/bankguard/bankguard/httpsig"
)

// RequestLabel is the label of the request signature.
const RequestLabel = "sig"

// BankLabel is the label of the bank's response signature.
const BankLabel = "bank"

// MaxResponseBody bounds the response bodies Do reads.
const MaxResponseBody = 16 << 20

// ErrBankSignature is returned (wrapped) when a response's bank signature is
// missing where required, or does not verify.
var ErrBankSignature = errors.New("sdk: bank response signature not valid")

// Client signs requests and verifies responses.
type Client struct {
	// HTTP sends the requests; it must use TLS 1.2 or later (nil: a default client).
	HTTP *http.Client
	// KeyID and Signer are the app's registered credential.
	KeyID  string
	Signer httpsig.Signer
	// BankKeys verify the bank's response signatures.
	BankKeys KeySet
	// DigestAlg is the Content-Digest algorithm (default sha-256).
	DigestAlg string
	// RequireBankSignature makes Do fail on a response without a bank
	// signature. Set it when calling A2 APIs.
	RequireBankSignature bool
	// MaxSkew is how far the bank's signature time may be from the local clock
	// (default 5 minutes).
	MaxSkew time.Duration
	// EncryptionKey is the app's SM2 encryption private key: Do decrypts the
	// fields the bank encrypted to it (clearing data). Nil leaves them
	// encrypted.
	EncryptionKey *sm2.PrivateKey
	// Now is the clock (nil means time.Now).
	Now func() time.Time
}

// Response is an HTTP response whose body has been read and, if the bank
// signed it, verified.
type Response struct {
	*http.Response
	// Body is the whole response body, decrypted if the bank encrypted fields
	// of it and the client holds the key.
	Body []byte
	// RawBody is the body as received, before decryption.
	RawBody []byte
	// Decrypted reports that Body was decrypted.
	Decrypted bool
	// BankSignature describes the verified bank signature; nil if the
	// response carried none.
	BankSignature *Verified
}

// Verified describes a verified bank signature.
type Verified struct {
	KeyID   string
	Alg     string
	Created time.Time
}

// Do signs and sends req, reads the response and verifies its bank signature.
// If the signature is missing (when required) or invalid, Do returns the
// response together with an error wrapping ErrBankSignature: callers must not
// act on it, but may show it.
func (c *Client) Do(req *http.Request) (*Response, error) {
	if err := c.Sign(req); err != nil {
		return nil, err
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBody+1))
	if err != nil {
		return nil, fmt.Errorf("sdk: read response: %w", err)
	}
	if len(body) > MaxResponseBody {
		return nil, fmt.Errorf("sdk: response body exceeds %d bytes", MaxResponseBody)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	out := &Response{Response: resp, Body: body, RawBody: body}
	v, err := c.VerifyResponse(req, resp.StatusCode, resp.Header, body)
	out.BankSignature = v
	if err != nil {
		return out, err
	}
	if v == nil && c.RequireBankSignature {
		return out, fmt.Errorf("%w: the response carries no bank signature", ErrBankSignature)
	}
	if c.EncryptionKey != nil && bytes.Contains(body, []byte(`"bankguard_encryption"`)) {
		plain, err := fieldcrypt.DecryptFields(body, c.EncryptionKey)
		if err != nil {
			return out, fmt.Errorf("sdk: encrypted response: %w", err)
		}
		out.Body, out.Decrypted = plain, true
		resp.Body = io.NopCloser(bytes.NewReader(plain))
	}
	return out, nil
}

// Sign adds Content-Digest (when there is a body) and the request signature
// to req. It reads and replaces req.Body.
func (c *Client) Sign(req *http.Request) error {
	if c.Signer == nil || c.KeyID == "" {
		return errors.New("sdk: client has no credential")
	}
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return fmt.Errorf("sdk: read request body: %w", err)
		}
		body = b
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		req.ContentLength = int64(len(body))
	}
	components := []httpsig.Component{{Name: "@method"}, {Name: "@authority"}, {Name: "@path"}, {Name: "@query"}}
	if len(body) > 0 {
		alg := c.DigestAlg
		if alg == "" {
			alg = httpsig.DigestSHA256
		}
		d, err := httpsig.ContentDigest(alg, body)
		if err != nil {
			return fmt.Errorf("sdk: %w", err)
		}
		req.Header.Set("Content-Digest", d)
		components = append(components, httpsig.Component{Name: "content-digest"})
	}
	if req.Header.Get("Authorization") != "" {
		components = append(components, httpsig.Component{Name: "authorization"})
	}
	nonce, err := Nonce()
	if err != nil {
		return err
	}
	in := httpsig.Input{
		Label:      RequestLabel,
		Components: components,
		Params:     httpsig.Params{Created: c.now(), Nonce: nonce, KeyID: c.KeyID, Alg: c.Signer.Alg()},
	}
	if err := httpsig.SignHeader(req.Header, httpsig.NewRequestMessage(req), in, c.Signer); err != nil {
		return fmt.Errorf("sdk: sign request: %w", err)
	}
	return nil
}

// Nonce returns a fresh random nonce: 32 URL-safe characters (192 bits).
func Nonce() (string, error) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("sdk: nonce: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// bankComponents are what a bank signature must cover at least.
var bankComponents = []httpsig.Component{
	{Name: "@status"}, {Name: "content-digest"},
	{Name: "@method", Req: true}, {Name: "@path", Req: true}, {Name: "@query", Req: true},
}

// VerifyResponse checks the bank signature on a response to req. It returns
// nil, nil when the response carries no bank signature.
func (c *Client) VerifyResponse(req *http.Request, status int, h http.Header, body []byte) (*Verified, error) {
	sigs, err := httpsig.ParseSignatures(h)
	if errors.Is(err, httpsig.ErrMissing) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBankSignature, err)
	}
	var sig *httpsig.Signature
	for i := range sigs {
		if sigs[i].Input.Label == BankLabel {
			sig = &sigs[i]
		}
	}
	if sig == nil {
		return nil, nil
	}
	p := sig.Input.Params
	for _, comp := range bankComponents {
		if !sig.Input.Covers(comp) {
			return nil, fmt.Errorf("%w: it does not cover %s", ErrBankSignature, comp)
		}
	}
	v, ok := c.BankKeys[p.KeyID]
	if !ok {
		return nil, fmt.Errorf("%w: unknown bank key %q", ErrBankSignature, p.KeyID)
	}
	if p.Alg != "" && p.Alg != v.Alg() {
		return nil, fmt.Errorf("%w: alg %q does not match bank key %q", ErrBankSignature, p.Alg, p.KeyID)
	}
	skew := c.MaxSkew
	if skew == 0 {
		skew = 5 * time.Minute
	}
	if d := c.now().Sub(p.Created); p.Created.IsZero() || d > skew || d < -skew {
		return nil, fmt.Errorf("%w: created is missing or outside ±%s of the local clock", ErrBankSignature, skew)
	}
	if err := httpsig.VerifyContentDigest(h.Values("Content-Digest"), body); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBankSignature, err)
	}
	msg := httpsig.NewResponseMessage(status, h, httpsig.NewRequestMessage(req))
	if err := sig.Verify(msg, v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBankSignature, err)
	}
	return &Verified{KeyID: p.KeyID, Alg: v.Alg(), Created: p.Created}, nil
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// NewRequest is http.NewRequestWithContext with a byte body.
func NewRequest(ctx context.Context, method, url string, body []byte) (*http.Request, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return nil, err
	}
	if len(body) > 0 && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// Package respsign signs every response of an A2 API, errors included, with
// the bank's key (CONTRACT.md §3), so the application can prove what the bank
// answered. Non-repudiation for A2: T/PCAC 0008-2020 3.2.4, 5.2.2.
package respsign

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/httpsig"
	"github.com/bankguard/bankguard/problem"
	"github.com/bankguard/bankguard/registry"
)

// Label is the signature label of bank response signatures.
const Label = "bank"

// DefaultMaxBody bounds the response size the gateway buffers for signing.
const DefaultMaxBody = 8 << 20

// Keys gives the key that signs at a given time.
type Keys interface {
	Signer(t time.Time) (keyID string, s httpsig.Signer, ok bool)
}

// Handler is the response-signing stage.
type Handler struct {
	Keys      Keys
	DigestAlg string // httpsig.DigestSM3 unless set
	MaxBody   int    // DefaultMaxBody unless set
	Now       func() time.Time
}

// Components returns what a bank signature covers for a request that was
// signed under reqLabel ("" if it was not).
func Components(reqLabel string) []httpsig.Component {
	c := []httpsig.Component{
		{Name: "@status"},
		{Name: "content-digest"},
		{Name: "x-request-id"},
		{Name: "@method", Req: true},
		{Name: "@path", Req: true},
		{Name: "@query", Req: true},
	}
	if reqLabel != "" {
		c = append(c, httpsig.Component{Name: "signature", Key: reqLabel, Req: true})
	}
	return c
}

// ServeHTTP buffers the response of an A2 API, renders any error into it,
// and sends it with Content-Digest and the bank's signature.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next stage.Handler) error {
	ex := stage.FromContext(r.Context())
	if ex.API == nil || ex.API.Level != registry.A2 {
		return next.ServeHTTP(w, r)
	}
	bw := stage.NewResponseBuffer(w, h.maxBody())
	if err := next.ServeHTTP(bw, r); err != nil {
		bw.Reset()
		problem.Write(bw, ex.ID, err)
		// The error is rendered here so that it is signed; report it to the
		// edge for logging and audit through the exchange.
		ex.Err = err
	} else if bw.Overflow {
		bw.Reset()
		err := problem.Wrap(errors.New("upstream response exceeds the signing buffer"),
			problem.UpstreamUnavailable, "the bank's response could not be delivered")
		problem.Write(bw, ex.ID, err)
		ex.Err = err
	}
	if err := h.sign(bw, r, ex); err != nil {
		return err
	}
	return bw.Send(w)
}

// sign adds Content-Digest and the bank's signature to the buffered response.
func (h *Handler) sign(bw *stage.ResponseBuffer, r *http.Request, ex *stage.Exchange) error {
	alg := h.DigestAlg
	if alg == "" {
		alg = httpsig.DigestSM3
	}
	hdr := bw.Header()
	digest, err := httpsig.ContentDigest(alg, bw.Body.Bytes())
	if err != nil {
		return problem.Wrap(err, problem.Internal, "the response could not be signed")
	}
	hdr.Set("Content-Digest", digest)
	hdr.Del("Signature-Input")
	hdr.Del("Signature")
	now := time.Now()
	if h.Now != nil {
		now = h.Now()
	}
	keyID, signer, ok := h.Keys.Signer(now)
	if !ok {
		return problem.Wrap(errors.New("no bank signing key is valid now"), problem.Internal, "the response could not be signed")
	}
	in := httpsig.Input{
		Label:      Label,
		Components: Components(ex.SignatureLabel),
		Params:     httpsig.Params{Created: now, KeyID: keyID, Alg: signer.Alg()},
	}
	msg := httpsig.NewResponseMessage(bw.Status, hdr, httpsig.NewRequestMessage(r))
	if err := httpsig.SignHeader(hdr, msg, in, signer); err != nil {
		return problem.Wrap(fmt.Errorf("sign response: %w", err), problem.Internal, "the response could not be signed")
	}
	return nil
}

func (h *Handler) maxBody() int {
	if h.MaxBody > 0 {
		return h.MaxBody
	}
	return DefaultMaxBody
}

var _ stage.Middleware = (*Handler)(nil)

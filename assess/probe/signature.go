package probe

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/bankguard/bankguard/assess"
	"github.com/bankguard/bankguard/fieldcrypt"
	"github.com/bankguard/bankguard/httpsig"
	"github.com/bankguard/bankguard/sdk"
)

// probeParam is the query parameter the tampered-query check signs for and
// then leaves out.
const probeParam = "bankguard_probe=1"

// staleBy is how far the stale check moves created from now: well outside
// the 300 s back and 60 s ahead that CONTRACT.md §2 allows.
const staleBy = 10 * time.Minute

// checkUnsigned sends the A1 read without any signature. Application
// authentication on every request: T/PCAC 0008-2020 3.2.1, 5.2.1.
func (t *Target) checkUnsigned(ctx context.Context) assess.Result {
	c, r := t.open(ctx, t.a1Read())
	if r != nil {
		return *r
	}
	if r := c.control(ctx); r != nil {
		return *r
	}
	req, err := c.request(ctx)
	if err != nil {
		return c.result(assess.Errorf("The request could not be built: %v.", err))
	}
	x, err := c.send(c.client.HTTP, "the A1 read without any signature", req)
	return c.result(c.refusal(x, err, fmt.Sprintf("a %s to the A1 read without Signature, Signature-Input or Content-Digest", req.Method)))
}

// checkUnknownApp signs the A1 read correctly but with a random keyid that
// no app has and a random HMAC key, over TLS without a client certificate.
// App_ID drives authentication: T/PCAC 0008-2020 5.2.1.
func (t *Target) checkUnknownApp(ctx context.Context) assess.Result {
	c, r := t.open(ctx, t.a1Read())
	if r != nil {
		return *r
	}
	if r := c.control(ctx); r != nil {
		return *r
	}
	alg := httpsig.AlgHMACSHA256
	if a := c.app.Credentials[0].Alg; httpsig.Symmetric(a) {
		alg = a
	}
	signer, err := freshSigner(alg)
	if err != nil {
		return c.result(assess.Errorf("No %s key could be made: %v.", alg, err))
	}
	hc, err := t.Profile.HTTPClient(nil)
	if err != nil {
		return c.result(assess.Errorf("No TLS client could be made: %v.", err))
	}
	defer hc.CloseIdleConnections()
	stranger := &sdk.Client{HTTP: hc, KeyID: "bankguard-probe-" + randomHex(8), Signer: signer}
	req, err := c.request(ctx)
	if err == nil {
		err = stranger.Sign(req)
	}
	if err != nil {
		return c.result(assess.Errorf("The request could not be signed: %v.", err))
	}
	x, err := c.send(hc, "the A1 read signed by an unknown app", req)
	return c.result(c.refusal(x, err, fmt.Sprintf("a %s to the A1 read signed with keyid %s, which no app has, and a random %s key",
		req.Method, stranger.KeyID, alg)))
}

// checkWrongKey signs the A1 read and the A2 read with their apps' real
// keyids but fresh keys of the same algorithms: the MAC (A1) and the
// digital signature (A2) must both be verified. T/PCAC 0008-2020 3.2.1,
// 5.2.1.
func (t *Target) checkWrongKey(ctx context.Context) assess.Result {
	var parts []assess.Result
	var ev []assess.Evidence
	for _, r := range []role{t.a1Read(), t.a2Read()} {
		p := t.wrongKey(ctx, r)
		parts, ev = append(parts, p), append(ev, p.Evidence...)
	}
	return combine(parts...).With(ev...)
}

func (t *Target) wrongKey(ctx context.Context, r role) assess.Result {
	c, res := t.open(ctx, r)
	if res != nil {
		return *res
	}
	if res := c.control(ctx); res != nil {
		return *res
	}
	alg := c.app.Credentials[0].Alg
	signer, err := freshSigner(alg)
	if err != nil {
		return c.result(assess.Errorf("No %s key could be made: %v.", alg, err))
	}
	impostor := *c.client
	impostor.Signer = signer
	req, err := c.request(ctx)
	if err == nil {
		err = impostor.Sign(req)
	}
	if err != nil {
		return c.result(assess.Errorf("The request could not be signed: %v.", err))
	}
	x, err := c.send(impostor.HTTP, r.name+" signed with a wrong key", req)
	return c.result(c.refusal(x, err, fmt.Sprintf("a %s to %s signed with app %s's keyid %s but a fresh %s key",
		req.Method, r.name, c.app.AppID, impostor.KeyID, alg)))
}

// checkTamperedBody signs the A2 transfer correctly, then inserts a space
// before its body, leaving Content-Digest as signed. The transfer itself is
// unchanged, so a target without the control at worst carries out the
// transfer the profile describes. Integrity: T/PCAC 0008-2020 3.2.4, 5.2.2.
func (t *Target) checkTamperedBody(ctx context.Context) assess.Result {
	c, req, r := t.signedTransfer(ctx)
	if r != nil {
		return *r
	}
	setBody(req, append([]byte(" "), t.Profile.Endpoints.A2Transfer.Body...))
	x, err := c.send(c.client.HTTP, "the A2 transfer with its body changed after signing", req)
	return c.result(c.refusal(x, err, fmt.Sprintf("a %s to the A2 transfer whose body was changed after signing (a space inserted, Content-Digest left as signed)", req.Method)))
}

// checkTamperedHeader signs the A2 transfer correctly, then replaces its
// body (a space inserted) and its Content-Digest with the digest of the new
// body: the digest matches, and only a signature that covers content-digest
// can tell. Integrity: T/PCAC 0008-2020 3.2.4, 5.2.2.
func (t *Target) checkTamperedHeader(ctx context.Context) assess.Result {
	c, req, r := t.signedTransfer(ctx)
	if r != nil {
		return *r
	}
	body := append([]byte(" "), t.Profile.Endpoints.A2Transfer.Body...)
	alg, _, _ := strings.Cut(req.Header.Get("Content-Digest"), "=")
	digest, err := httpsig.ContentDigest(alg, body)
	if err != nil {
		return c.result(assess.Errorf("No %q digest could be made: %v.", alg, err))
	}
	setBody(req, body)
	req.Header.Set("Content-Digest", digest)
	x, err := c.send(c.client.HTTP, "the A2 transfer with Content-Digest replaced after signing", req)
	return c.result(c.refusal(x, err, fmt.Sprintf("a %s to the A2 transfer whose body and Content-Digest were replaced after signing (the digest matches the new body, not the signature)", req.Method)))
}

// checkTamperedQuery signs the A1 read for its query with one parameter
// more (bankguard_probe=1) and sends it without that parameter. What is sent
// is the profile's own request, which the control shows the target serves,
// so only the signature's coverage of @query can make the difference.
// Integrity: T/PCAC 0008-2020 3.2.4, 5.2.2.
func (t *Target) checkTamperedQuery(ctx context.Context) assess.Result {
	c, r := t.open(ctx, t.a1Read())
	if r != nil {
		return *r
	}
	if r := c.control(ctx); r != nil {
		return *r
	}
	req, err := c.request(ctx)
	if err != nil {
		return c.result(assess.Errorf("The request could not be built: %v.", err))
	}
	sent := req.URL.RawQuery
	req.URL.RawQuery = strings.TrimPrefix(sent+"&"+probeParam, "&")
	err = c.client.Sign(req)
	req.URL.RawQuery = sent
	if err != nil {
		return c.result(assess.Errorf("The request could not be signed: %v.", err))
	}
	x, err := c.send(c.client.HTTP, "the A1 read with its query changed after signing", req)
	return c.result(c.refusal(x, err, fmt.Sprintf("a %s to the A1 read signed for the query with %s and sent without it", req.Method, probeParam)))
}

// signedTransfer builds the A2 transfer and signs it as its app. A non-nil
// result means the check cannot go on.
func (t *Target) signedTransfer(ctx context.Context) (*call, *http.Request, *assess.Result) {
	c, r := t.open(ctx, t.a2Transfer())
	if r != nil {
		return nil, nil, r
	}
	if len(c.role.ep.Body) == 0 {
		return nil, nil, stop(assess.NotTestedf("The profile's endpoints.a2_transfer has no body to alter."))
	}
	req, err := c.request(ctx)
	if err == nil {
		err = c.client.Sign(req)
	}
	if err != nil {
		return nil, nil, stop(assess.Errorf("The A2 transfer could not be signed: %v.", err))
	}
	return c, req, nil
}

// checkMissingDigest sends the A2 transfer with its body but without
// Content-Digest, signed over @method, @authority, @path and @query only:
// the body is then protected by nothing. CONTRACT.md §2; integrity:
// T/PCAC 0008-2020 3.2.4, 5.2.2.
func (t *Target) checkMissingDigest(ctx context.Context) assess.Result {
	c, r := t.open(ctx, t.a2Transfer())
	if r != nil {
		return *r
	}
	if len(c.role.ep.Body) == 0 {
		return assess.NotTestedf("The profile's endpoints.a2_transfer has no body, so there is no digest to leave out.")
	}
	req, err := c.request(ctx)
	if err != nil {
		return assess.Errorf("The request could not be built: %v.", err)
	}
	nonce, err := sdk.Nonce()
	if err != nil {
		return assess.Errorf("No nonce could be made: %v.", err)
	}
	in := httpsig.Input{
		Label:      sdk.RequestLabel,
		Components: []httpsig.Component{{Name: "@method"}, {Name: "@authority"}, {Name: "@path"}, {Name: "@query"}},
		Params:     httpsig.Params{Created: time.Now(), Nonce: nonce, KeyID: c.client.KeyID, Alg: c.client.Signer.Alg()},
	}
	req.Header.Del("Content-Digest")
	if err := httpsig.SignHeader(req.Header, httpsig.NewRequestMessage(req), in, c.client.Signer); err != nil {
		return assess.Errorf("The request could not be signed: %v.", err)
	}
	x, err := c.send(c.client.HTTP, "the A2 transfer signed without content-digest", req)
	return c.result(c.refusal(x, err, fmt.Sprintf("a %s to the A2 transfer with a body but no Content-Digest, signed over @method, @authority, @path and @query only", req.Method)))
}

// checkStale signs the A1 read with created 10 minutes in the past, then 10
// minutes in the future. Replay protection: T/PCAC 0008-2020 3.3.2.
func (t *Target) checkStale(ctx context.Context) assess.Result {
	c, r := t.open(ctx, t.a1Read())
	if r != nil {
		return *r
	}
	if r := c.control(ctx); r != nil {
		return *r
	}
	var parts []assess.Result
	var codes []string
	for _, by := range []time.Duration{-staleBy, staleBy} {
		when := fmt.Sprintf("%d minutes in the past", staleBy/time.Minute)
		if by > 0 {
			when = fmt.Sprintf("%d minutes in the future", staleBy/time.Minute)
		}
		skewed := *c.client
		skewed.Now = func() time.Time { return time.Now().Add(by) }
		req, err := c.request(ctx)
		if err == nil {
			err = skewed.Sign(req)
		}
		if err != nil {
			return c.result(assess.Errorf("The request could not be signed: %v.", err))
		}
		x, err := c.send(skewed.HTTP, "the A1 read signed "+when, req)
		parts = append(parts, c.refusal(x, err, fmt.Sprintf("a %s to the A1 read whose signature was created %s", req.Method, when)))
		codes = append(codes, status(x))
	}
	res := combine(parts...)
	if res.Verdict == assess.Pass {
		res.Reason = fmt.Sprintf("The target refused requests to the A1 read whose signatures were created %d minutes in the past and in the future: %s and %s; %s.",
			staleBy/time.Minute, codes[0], codes[1], c.controlNote())
	}
	return c.result(res)
}

// checkReplay sends the A1 read correctly signed, then the very same request
// again (same Signature, same nonce). Replay protection: T/PCAC 0008-2020
// 3.3.2.
func (t *Target) checkReplay(ctx context.Context) assess.Result {
	c, r := t.open(ctx, t.a1Read())
	if r != nil {
		return *r
	}
	req, x, err := c.signed(ctx, "the A1 read, correctly signed (first sending)")
	if err != nil && x == nil {
		return c.result(assess.Errorf("The request could not be signed: %v.", err))
	}
	if r := c.controlFailed(x, err); r != nil {
		return *r
	}
	again, err := resend(ctx, req)
	if err != nil {
		return c.result(assess.Errorf("The request could not be copied: %v.", err))
	}
	c.controlWhat = "its first sending"
	x, err = c.send(c.client.HTTP, "the same request sent again", again)
	return c.result(c.refusal(x, err, fmt.Sprintf("the same signed %s to the A1 read sent a second time (same Signature and nonce)", req.Method)))
}

// checkResponseSignature calls the A2 read correctly and verifies the bank's
// signature on the answer (CONTRACT.md §3): present, valid under the bank's
// published keys, SM2, covering @status, content-digest and the request's
// @method, @path and @query, and not valid for another request. It notes
// whether the signing keys are apart from the encryption keys.
// Non-repudiation for A2: T/PCAC 0008-2020 3.2.4-2, 5.2.2-2.
func (t *Target) checkResponseSignature(ctx context.Context) assess.Result {
	c, r := t.open(ctx, t.a2Read())
	if r != nil {
		return *r
	}
	req, x, err := c.signed(ctx, "the A2 read, correctly signed")
	if x == nil {
		return c.result(assess.Errorf("The request could not be signed: %v.", err))
	}
	if r := c.controlFailed(x, err); r != nil {
		return *r
	}
	res := c.bankSignature(ctx, req, x)
	c.ev = append(c.ev, assess.Evidence{Title: "signing and encryption keys", Note: t.keySeparation(ctx, c)})
	return c.result(res)
}

// bankSignature judges the bank signature on x, the answer to req.
func (c *call) bankSignature(ctx context.Context, req *http.Request, x *Exchange) assess.Result {
	what := fmt.Sprintf("the answer (%d) to a correctly signed %s to the A2 read", x.Status, req.Method)
	v, err := c.client.VerifyResponse(req, x.Status, x.Header, x.Body)
	switch {
	case err != nil:
		why := strings.TrimPrefix(err.Error(), sdk.ErrBankSignature.Error()+": ")
		return assess.Failf("The bank signature on %s is not valid: %s.", what, strings.TrimPrefix(why, "httpsig: "))
	case v == nil:
		return assess.Failf("%s carries no bank signature (no Signature-Input member labelled %q).", capital(what), sdk.BankLabel)
	case v.Alg != httpsig.AlgSM2SM3:
		return assess.Failf("The bank signs %s with %s, not with SM2 (sm2-sm3), the national algorithm 3.2.4-2 requires.", what, v.Alg)
	}
	other := req.Clone(ctx)
	u := *req.URL
	u.Path, u.RawPath = "/bankguard-probe/another-request", ""
	other.URL = &u
	if vo, err := c.client.VerifyResponse(other, x.Status, x.Header, x.Body); err == nil && vo != nil {
		return assess.Failf("The bank signature on %s also verifies for a request to another path, so it is not bound to the request it answers.", what)
	}
	return assess.Passf("%s carries a bank signature by key %s (%s) that verifies under the bank's published keys, covers @status, content-digest and the request's @method, @path and @query, and does not verify for a request to another path.",
		capital(what), v.KeyID, v.Alg)
}

// keySeparation reads the bank's key documents and says whether its
// response-signing keys are apart from its encryption keys. 3.3.4-1 asks
// for separate keys; it is a file and manual item, so this is a note for
// the assessor, not a verdict.
func (t *Target) keySeparation(ctx context.Context, c *call) string {
	bk := t.Profile.BankKeys
	if len(bk.Pinned) > 0 {
		return "The bank's signing keys are pinned in the profile; whether they are apart from its encryption keys was not examined."
	}
	signing, enc, err := c.publishedKeys(ctx, cmp.Or(bk.URL, sdk.KeysPath), true)
	if err != nil {
		return "The bank's key document could not be read: " + err.Error() + "."
	}
	_, more, err := c.publishedKeys(ctx, cmp.Or(bk.EncryptionURL, sdk.EncryptionKeysPath), false)
	if err != nil {
		return "The bank's encryption key document could not be read: " + err.Error() + "."
	}
	enc = append(enc, more...)
	for _, s := range signing {
		for _, e := range enc {
			if bytes.Equal(s.der, e.der) {
				return fmt.Sprintf("Note: the response-signing key %s is also published as encryption key %s; 3.3.4-1 asks for separate signing and encryption keys.", s.id, e.id)
			}
		}
	}
	if len(enc) == 0 {
		return fmt.Sprintf("Note: the bank publishes no encryption key; its response-signing keys are %s.", keyIDs(signing))
	}
	return fmt.Sprintf("Note: the response-signing keys (%s) are apart from the encryption keys (%s), as 3.3.4-1 asks.", keyIDs(signing), keyIDs(enc))
}

// publishedKey is a public key of a bank key document.
type publishedKey struct {
	id  string
	der []byte
}

// publishedKeys fetches a key document and returns its keys, sorted into
// signing and encryption keys by their alg (all are encryption keys when
// mixed is false). A missing document (404) has no keys.
func (c *call) publishedKeys(ctx context.Context, path string, mixed bool) (signing, enc []publishedKey, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.t.Profile.URL(path), nil)
	if err != nil {
		return nil, nil, err
	}
	x, err := c.send(c.client.HTTP, "key document "+path, req)
	switch {
	case x.Status == 0:
		return nil, nil, errors.New(netErr(err))
	case x.Status == http.StatusNotFound:
		return nil, nil, nil
	case !success(x.Status):
		return nil, nil, fmt.Errorf("%s answered %s", path, status(x))
	}
	var doc struct {
		Keys []struct {
			KeyID        string `json:"keyid"`
			Alg          string `json:"alg"`
			PublicKeyPEM string `json:"public_key_pem"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(x.Body, &doc); err != nil {
		return nil, nil, fmt.Errorf("%s is not a key document", path)
	}
	for _, k := range doc.Keys {
		b, _ := pem.Decode([]byte(k.PublicKeyPEM))
		if b == nil {
			continue
		}
		pk := publishedKey{id: k.KeyID, der: b.Bytes}
		if mixed && k.Alg != fieldcrypt.KeyAlg {
			signing = append(signing, pk)
		} else {
			enc = append(enc, pk)
		}
	}
	return signing, enc, nil
}

func keyIDs(ks []publishedKey) string {
	ids := make([]string, len(ks))
	for i, k := range ks {
		ids[i] = k.id
	}
	return strings.Join(ids, ", ")
}

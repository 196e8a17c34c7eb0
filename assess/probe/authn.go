package probe

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/emmansun/gmsm/sm2"

	"github.com/bankguard/bankguard/assess"
	"github.com/bankguard/bankguard/httpsig"
	"github.com/bankguard/bankguard/profile"
	"github.com/bankguard/bankguard/sdk"
)

// authnChecks are the checks of application authentication and message
// integrity: each sends a request that a gateway must refuse (unsigned,
// signed by an unknown app or with a wrong key, altered after signing,
// stale, replayed, or below the API's level), or checks the bank's response
// signature. T/PCAC 0008-2020 3.2.1, 3.2.4, 3.3.2, 5.2.1, 5.2.2.
func authnChecks(t *Target) []assess.Check {
	return []assess.Check{
		{ID: "signature.unsigned", Title: "An unsigned request is refused",
			Items: []string{"3.2.1-1", "5.2.1-2"}, Run: t.checkUnsigned},
		{ID: "signature.unknown-app", Title: "A request signed by an unknown app is refused",
			Items: []string{"3.2.1-1", "5.2.1-1", "5.2.1-2"}, Run: t.checkUnknownApp},
		{ID: "signature.wrong-key", Title: "A request signed with the wrong key is refused",
			Items: []string{"3.2.1-1", "5.2.1-1", "5.2.1-2"}, Run: t.checkWrongKey},
		{ID: "signature.tampered-body", Title: "A body changed after signing is refused",
			Items: []string{"3.2.4-1", "5.2.2-2"}, Run: t.checkTamperedBody},
		{ID: "signature.tampered-query", Title: "A query changed after signing is refused",
			Items: []string{"3.2.4-1", "5.2.2-1"}, Run: t.checkTamperedQuery},
		{ID: "signature.tampered-header", Title: "A Content-Digest replaced after signing is refused",
			Items: []string{"3.2.4-1", "5.2.2-2"}, Run: t.checkTamperedHeader},
		{ID: "signature.missing-digest", Title: "A body whose digest the signature does not cover is refused",
			Items: []string{"3.2.4-1", "5.2.2-2"}, Run: t.checkMissingDigest},
		{ID: "signature.stale", Title: "A signature created outside the time window is refused",
			Items: []string{"3.3.2-2"}, Run: t.checkStale},
		{ID: "signature.replay", Title: "A replayed request is refused",
			Items: []string{"3.3.2-2"}, Run: t.checkReplay},
		{ID: "level.a2-secret-only", Title: "An HMAC-only app is refused on an A2 API",
			Items: []string{"3.2.1-2", "3.2.4-2", "5.2.1-2", "5.2.2-2"}, Run: t.checkA2SecretOnly},
		{ID: "level.a2-client-certificate", Title: "An A2 call without the app's client certificate is refused",
			Items: []string{"3.2.1-2", "5.2.1-2"}, Run: t.checkA2ClientCertificate},
		{ID: "response.signature", Title: "A2 answers carry a bank signature bound to the request",
			Items: []string{"3.2.4-2", "5.2.2-2"}, Run: t.checkResponseSignature},
	}
}

// role is an endpoint of the profile that plays a part in a check.
type role struct {
	ep *profile.Endpoint
	// field is the profile field, for not_tested reasons.
	field string
	// name is how reasons call it.
	name string
}

func (t *Target) a1Read() role {
	return role{t.Profile.Endpoints.A1Read, "endpoints.a1_read", "the A1 read"}
}

func (t *Target) a2Read() role {
	return role{t.Profile.Endpoints.A2Read, "endpoints.a2_read", "the A2 read"}
}

func (t *Target) a2Transfer() role {
	return role{t.Profile.Endpoints.A2Transfer, "endpoints.a2_transfer", "the A2 transfer"}
}

// call is one check's use of a role: the endpoint, the app it is called as
// and that app's client, and the evidence gathered so far.
type call struct {
	t      *Target
	role   role
	app    *profile.App
	client *sdk.Client
	ev     []assess.Evidence
	// controlWhat names the good control in a pass's reason (default "the
	// same request correctly signed"); controlStatus is what it got, 0 if
	// none was sent.
	controlWhat   string
	controlStatus int
}

// open prepares a call of r as the app the profile names for it. A non-nil
// result means the check cannot go on.
func (t *Target) open(ctx context.Context, r role) (*call, *assess.Result) {
	if r.ep == nil {
		return nil, stop(assess.NotTestedf("The profile has no %s, so there is no request to send.", r.field))
	}
	app, err := t.AppFor(r.ep)
	if err != nil {
		return nil, stop(assess.NotTestedf("The app for %s: %v.", r.field, err))
	}
	return t.openAs(ctx, r, app)
}

// openAs is open with the app given.
func (t *Target) openAs(ctx context.Context, r role, app *profile.App) (*call, *assess.Result) {
	if r.ep != nil && r.ep.User != "" && r.ep.App != app.AppID {
		ep := *r.ep // the user's token must be this app's own
		ep.App = app.AppID
		r.ep = &ep
	}
	c, err := t.Client(ctx, app.AppID)
	var ue *url.Error
	switch {
	case errors.As(err, &ue):
		return nil, stop(assess.Errorf("The target could not be reached to set up app %s (its client fetches the bank's keys): %v.", app.AppID, ue.Err))
	case err != nil:
		return nil, stop(assess.Errorf("No client could be made for app %s: %v.", app.AppID, err))
	}
	return &call{t: t, role: r, app: app, client: c}, nil
}

func stop(r assess.Result) *assess.Result { return &r }

// request builds the role's request, unsigned.
func (c *call) request(ctx context.Context) (*http.Request, error) {
	return c.t.Request(ctx, c.role.ep)
}

// send sends req with hc and keeps the exchange as evidence.
func (c *call) send(hc *http.Client, title string, req *http.Request) (*Exchange, error) {
	x, err := c.t.Send(hc, title, req)
	c.ev = append(c.ev, x.Evidence)
	return x, err
}

// signed builds the role's request, signs it with the app's client and
// sends it.
func (c *call) signed(ctx context.Context, title string) (*http.Request, *Exchange, error) {
	req, err := c.request(ctx)
	if err != nil {
		return nil, nil, err
	}
	if err := c.client.Sign(req); err != nil {
		return nil, nil, err
	}
	x, err := c.send(c.client.HTTP, title, req)
	return req, x, err
}

// control sends the role's request correctly signed. It must succeed: a
// target that refuses the good request proves nothing by refusing a bad one.
// A non-nil result means the check cannot go on.
func (c *call) control(ctx context.Context) *assess.Result {
	_, x, err := c.signed(ctx, "control: "+c.role.name+", correctly signed as "+c.app.AppID)
	return c.controlFailed(x, err)
}

// controlFailed judges the answer to a control request: nil if it
// succeeded, else the result that ends the check.
func (c *call) controlFailed(x *Exchange, err error) *assess.Result {
	what := fmt.Sprintf("A correctly signed request to %s as %s", c.role.name, c.app.AppID)
	switch {
	case x == nil || x.Status == 0:
		return c.end(assess.Errorf("%s could not be sent: %s.", what, netErr(err)))
	case success(x.Status):
		c.controlStatus = x.Status
		return nil
	case x.Status == http.StatusTooManyRequests || x.Status >= 500:
		return c.end(assess.Errorf("%s got %s, so the check could not run.", what, status(x)))
	}
	return c.end(assess.NotTestedf("%s got %s; with the good request refused, the check has nothing to compare with (check the profile's %s and app %s).",
		what, status(x), c.role.field, c.app.AppID))
}

// end returns r with the call's evidence, as the result that ends a check.
func (c *call) end(r assess.Result) *assess.Result {
	r = r.With(c.ev...)
	return &r
}

// result returns r with the call's evidence.
func (c *call) result(r assess.Result) assess.Result { return r.With(c.ev...) }

// refusal judges the answer to a bad request, described by what (e.g.
// "an unsigned GET to the A1 read"): a 4xx refusal passes, an acceptance or
// a server error fails.
func (c *call) refusal(x *Exchange, err error, what string) assess.Result {
	switch {
	case x == nil || x.Status == 0:
		return assess.Errorf("%s could not be sent: %s.", capital(what), netErr(err))
	case success(x.Status):
		return assess.Failf("The target accepted %s: it answered %s.", what, status(x))
	case x.Status >= 500:
		return assess.Failf("The target answered %s with %s, a server error instead of a clean 4xx refusal.", what, status(x))
	case x.Status == http.StatusTooManyRequests:
		return assess.Errorf("The target rate-limited %s (%s), so whether it refuses it is unknown.", what, status(x))
	case x.Status < 400:
		return assess.Failf("The target answered %s with %s, which is not a refusal.", what, status(x))
	case c.controlStatus == 0 && (x.Status == http.StatusNotFound || x.Status == http.StatusMethodNotAllowed || x.Status == http.StatusGone):
		// Without a good control (for a transfer it would move money), a
		// missing endpoint looks like a refusal.
		return assess.NotTestedf("The target answered %s with %s, as if the endpoint did not exist; check the profile's %s.",
			what, status(x), c.role.field)
	}
	r := assess.Passf("The target refused %s: %s", what, status(x))
	if note := c.controlNote(); note != "" {
		r.Reason += "; " + note
	}
	r.Reason += "."
	return r
}

// controlNote says what the good control got, "" if none was sent.
func (c *call) controlNote() string {
	if c.controlStatus == 0 {
		return ""
	}
	what := c.controlWhat
	if what == "" {
		what = "the same request correctly signed"
	}
	return fmt.Sprintf("%s got %d", what, c.controlStatus)
}

// combine joins the results of a check's parts: the first fail, else the
// first error, else a pass when a part passed (its reason naming the parts
// not tested), else the first not_tested. Evidence is the caller's to add.
func combine(parts ...assess.Result) assess.Result {
	for _, v := range []assess.Verdict{assess.Fail, assess.Error} {
		for _, p := range parts {
			if p.Verdict == v {
				return assess.Result{Verdict: v, Reason: p.Reason}
			}
		}
	}
	var reasons []string
	passed := false
	for _, p := range parts {
		passed = passed || p.Verdict == assess.Pass
		reasons = append(reasons, p.Reason)
	}
	if !passed {
		return assess.Result{Verdict: parts[0].Verdict, Reason: parts[0].Reason}
	}
	return assess.Result{Verdict: assess.Pass, Reason: strings.Join(reasons, " ")}
}

func success(code int) bool { return code >= 200 && code < 300 }

// status describes an answer's status and problem code, e.g.
// "401 Unauthorized (signature_invalid)".
func status(x *Exchange) string {
	s := fmt.Sprintf("%d %s", x.Status, http.StatusText(x.Status))
	if code := x.Code(); code != "" {
		s += " (" + code + ")"
	}
	return s
}

// netErr describes a transport error without the URL, which may hold an
// account number.
func netErr(err error) string {
	if err == nil {
		return "no answer"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// resend returns a copy of a sent request, with the same header fields and
// body.
func resend(ctx context.Context, req *http.Request) (*http.Request, error) {
	again := req.Clone(ctx)
	if req.GetBody != nil {
		b, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		again.Body = b
	}
	return again, nil
}

// setBody replaces req's body.
func setBody(req *http.Request, body []byte) {
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	req.ContentLength = int64(len(body))
}

// freshSigner returns a signer of alg with a new random key: a key of the
// right kind that no app registered.
func freshSigner(alg string) (httpsig.Signer, error) {
	var key any
	var err error
	switch alg {
	case httpsig.AlgHMACSHA256, httpsig.AlgHMACSM3:
		b := make([]byte, 32)
		_, err = rand.Read(b)
		key = b
	case httpsig.AlgECDSAP256SHA256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case httpsig.AlgSM2SM3:
		key, err = sm2.GenerateKey(rand.Reader)
	case httpsig.AlgEd25519:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	case httpsig.AlgRSAPSSSHA512:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		return nil, fmt.Errorf("unsupported algorithm %q", alg)
	}
	if err != nil {
		return nil, err
	}
	return httpsig.NewSigner(alg, key)
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand, Go 1.24 and later)
	return hex.EncodeToString(b)
}

// checkA2SecretOnly calls the A2 read as an active app whose credentials are
// all HMAC secrets, correctly signed: A2 APIs need a digital signature or
// certificate. T/PCAC 0008-2020 3.2.1-2, 5.2.1-2 c), 5.2.2-2.
func (t *Target) checkA2SecretOnly(ctx context.Context) assess.Result {
	r := t.a2Read()
	if r.ep == nil {
		return assess.NotTestedf("The profile has no %s, so there is no A2 API to call.", r.field)
	}
	hmacApp := t.secretOnlyApp()
	if hmacApp == nil {
		return assess.NotTestedf("The profile has no active app whose credentials are all HMAC secrets (secret_file), so there is none to call the A2 read as.")
	}
	c, res := t.open(ctx, r)
	if res != nil {
		return *res
	}
	c.controlWhat = "the same request signed as " + c.app.AppID
	if res := c.control(ctx); res != nil {
		return *res
	}
	h, res := t.openAs(ctx, r, hmacApp)
	if res != nil {
		return c.result(*res)
	}
	_, x, err := h.signed(ctx, "the A2 read signed as HMAC-only app "+hmacApp.AppID)
	c.ev = append(c.ev, h.ev...)
	if x == nil {
		return c.result(assess.Errorf("The request could not be signed: %v.", err))
	}
	return c.result(c.refusal(x, err, fmt.Sprintf("a %s to the A2 read correctly signed as %s, whose credentials are all HMAC secrets (%s)",
		r.ep.Method, hmacApp.AppID, hmacApp.Credentials[0].Alg)))
}

// secretOnlyApp returns an active app whose credentials are all symmetric:
// the A1 read's app if it is one, else the first such app; nil if none.
func (t *Target) secretOnlyApp() *profile.App {
	ok := func(a *profile.App) bool {
		if a.Status != "" && a.Status != "active" {
			return false
		}
		for _, cr := range a.Credentials {
			if !httpsig.Symmetric(cr.Alg) {
				return false
			}
		}
		return true
	}
	if ep := t.Profile.Endpoints.A1Read; ep != nil {
		if a, err := t.AppFor(ep); err == nil && ok(a) {
			return a
		}
	}
	for i := range t.Profile.Apps {
		if a := &t.Profile.Apps[i]; ok(a) {
			return a
		}
	}
	return nil
}

// checkA2ClientCertificate calls the A2 read as an A2 app that has a
// registered client certificate, correctly signed, first over TLS with the
// certificate (the control) and then without it. Two-way authentication
// for A2: T/PCAC 0008-2020 3.2.1-2, 5.2.1-2 c).
func (t *Target) checkA2ClientCertificate(ctx context.Context) assess.Result {
	r := t.a2Read()
	if r.ep == nil {
		return assess.NotTestedf("The profile has no %s, so there is no A2 API to call.", r.field)
	}
	app := t.certApp()
	if app == nil {
		return assess.NotTestedf("No active A2 app of the profile has a client_cert, so a call without it cannot be compared.")
	}
	c, res := t.openAs(ctx, r, app)
	if res != nil {
		return *res
	}
	c.controlWhat = "the same request with the certificate"
	if res := c.control(ctx); res != nil {
		return *res
	}
	hc, err := t.Profile.HTTPClient(nil)
	if err != nil {
		return c.result(assess.Errorf("No TLS client could be made: %v.", err))
	}
	defer hc.CloseIdleConnections()
	bare := *c.client
	bare.HTTP = hc
	req, err := c.request(ctx)
	if err == nil {
		err = bare.Sign(req)
	}
	if err != nil {
		return c.result(assess.Errorf("The request could not be signed: %v.", err))
	}
	x, err := c.send(hc, "the A2 read without the client certificate", req)
	what := fmt.Sprintf("a %s to the A2 read correctly signed as %s but without its TLS client certificate", req.Method, app.AppID)
	if x.Status == 0 && strings.Contains(netErr(err), "tls:") {
		return c.result(assess.Passf("The target refused %s at the TLS handshake: %s; %s.", what, netErr(err), c.controlNote()))
	}
	return c.result(c.refusal(x, err, what))
}

// certApp returns an active A2 app with a client certificate: the A2 read's
// or the A2 transfer's app if it has one, else the first such app.
func (t *Target) certApp() *profile.App {
	ok := func(a *profile.App) bool {
		return a.Level == "A2" && a.ClientCert != "" && (a.Status == "" || a.Status == "active")
	}
	for _, ep := range []*profile.Endpoint{t.Profile.Endpoints.A2Read, t.Profile.Endpoints.A2Transfer} {
		if ep == nil {
			continue
		}
		if a, err := t.AppFor(ep); err == nil && ok(a) {
			return a
		}
	}
	for i := range t.Profile.Apps {
		if a := &t.Profile.Apps[i]; ok(a) {
			return a
		}
	}
	return nil
}

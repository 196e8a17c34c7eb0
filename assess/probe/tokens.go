package probe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/bankguard/bankguard/assess"
	"github.com/bankguard/bankguard/oauth"
	"github.com/bankguard/bankguard/oauth/authflow"
	"github.com/bankguard/bankguard/profile"
	"github.com/bankguard/bankguard/sdk"
)

// tokenSignInTimeout bounds the checks that sign a user in afresh at the
// bank's pages: a sign-in costs a password hash on the bank's side and a
// handful of page loads, on top of the check's own calls.
const tokenSignInTimeout = 60 * time.Second

// tokenFundScope is the fund scope of bankguard's authorization server
// (its default pages.fund_scopes); the scopes of endpoints.a2_transfer
// count as fund scopes too.
const tokenFundScope = "transfers"

// tokenFallbackScope is asked for when the user-bound read names only fund
// scopes: a scope that needs no second factor.
const tokenFallbackScope = "accounts"

// tokenOtherReasons are refusal codes (CONTRACT.md §4) that say a request was
// refused for something other than the user's token: such a refusal is no
// evidence about the token.
var tokenOtherReasons = []string{
	"signature_missing", "signature_invalid", "digest_mismatch", "timestamp_out_of_window",
	"replay_detected", "app_unknown", "app_suspended", "api_not_granted", "level_insufficient",
	"blacklisted", "rate_limited", "request_invalid",
}

// tokenChecks are the checks of user authorization at the gateway: a call
// for a user needs the user's access token (3.3.2, 5.3.2), a revoked token
// is refused at once (active revocation, 5.2.1 e), a token is good only for
// the app it was issued to (least privilege by App_ID, 5.3.2; impersonated
// use, 6.1.2), a one-time consent serves one call (5.3.2), and a one-factor
// sign-in cannot move money (two factors for A2 fund transactions, 3.2.2).
// Each fresh token comes from a sign-in of its own at the bank's pages
// (oauth/authflow), never from the shared Tokens cache, and is revoked when
// the check ends.
func tokenChecks(t *Target) []assess.Check {
	return []assess.Check{
		{ID: "token.missing", Title: "A call for a user without the user's access token is refused",
			Items: []string{"3.3.2-2", "5.3.2-1"}, Run: t.checkTokenMissing},
		{ID: "token.revoked", Title: "An access token revoked by the app is refused at once",
			Items: []string{"5.2.1-2"}, Run: t.checkTokenRevoked, Timeout: tokenSignInTimeout},
		{ID: "token.other-app", Title: "A user's access token presented by another app is refused",
			Items: []string{"5.3.2-1", "6.1.2-3"}, Run: t.checkTokenOtherApp, Timeout: tokenSignInTimeout},
		{ID: "consent.once-reused", Title: "A one-time consent serves one call only",
			Items: []string{"5.3.2-2"}, Run: t.checkConsentOnceReused, Timeout: tokenSignInTimeout},
		{ID: "transfer.one-factor", Title: "A token from a one-factor sign-in cannot make a transfer",
			Items: []string{"3.2.2-2", "6.2.2-3"}, Run: t.checkTransferOneFactor, Timeout: tokenSignInTimeout},
	}
}

// checkTokenMissing calls the user-bound read with the user's token (the
// control) and then the same request, correctly signed, without an
// Authorization header: a call that acts for a user must carry the user's
// authorization (unauthorized access, 3.3.2; least privilege by user, 5.3.2).
func (t *Target) checkTokenMissing(ctx context.Context) assess.Result {
	r, res := t.tokenUserRole()
	if res != nil {
		return *res
	}
	c, res := t.open(ctx, r)
	if res != nil {
		return *res
	}
	c.controlWhat = "the same request with the user's access token"
	if res := c.control(ctx); res != nil {
		return *res
	}
	x, err := c.tokenCall(ctx, r.name+" without Authorization, correctly signed as "+c.app.AppID, "")
	what := fmt.Sprintf("a %s to %s correctly signed as %s but without the user's access token (no Authorization header)",
		r.ep.Method, r.name, c.app.AppID)
	return c.result(c.tokenJudge(x, err, what, false))
}

// checkTokenRevoked signs the user in afresh, calls the user-bound read with
// the new token (the control), revokes the token at the bank's RFC 7009
// endpoint as the app, and calls again: the revoked token must be refused
// (active revocation of tokens, T/PCAC 0008-2020 5.2.1 e).
func (t *Target) checkTokenRevoked(ctx context.Context) assess.Result {
	r, c, s, res := t.tokenFreshSession(ctx, "")
	if res != nil {
		return *res
	}
	defer s.close(ctx)
	c.controlWhat = "the same request with the token before its revocation"
	x, err := c.tokenCall(ctx, "control: "+r.name+" with a freshly issued token, as "+c.app.AppID, s.tokens.AccessToken)
	if res := c.controlFailed(x, err); res != nil {
		return *res
	}
	if err := s.flow.Revoke(ctx, s.tokens.AccessToken); err != nil {
		var ee *authflow.EndpointError
		if errors.As(err, &ee) && (ee.Status == http.StatusNotFound || ee.Status == http.StatusMethodNotAllowed) {
			return c.result(assess.NotTestedf("The target has no RFC 7009 revocation endpoint at %s (it answered %d), so the app cannot revoke the token there; judge active revocation in the workbook.",
				authflow.PathRevoke, ee.Status))
		}
		return c.result(assess.Errorf("The revocation of the fresh token at %s as %s failed: %s.", authflow.PathRevoke, c.app.AppID, netErr(err)))
	}
	c.ev = append(c.ev, assess.Evidence{Title: "RFC 7009 revocation of the fresh access token",
		Note: fmt.Sprintf("POST %s signed as %s with the access token (not shown): the bank answered 200.", authflow.PathRevoke, c.app.AppID)})
	x, err = c.tokenCall(ctx, r.name+" with the token after its revocation, as "+c.app.AppID, s.tokens.AccessToken)
	what := fmt.Sprintf("a %s to %s correctly signed as %s with the user's access token after the app revoked it", r.ep.Method, r.name, c.app.AppID)
	return c.result(c.tokenJudge(x, err, what, false))
}

// checkConsentOnceReused signs the user in afresh and consents for one call
// only (validity "once"); the first call with the token must be served (the
// control) and the second refused: the call validity is single-use
// (T/PCAC 0008-2020 5.3.2-2).
func (t *Target) checkConsentOnceReused(ctx context.Context) assess.Result {
	r, c, s, res := t.tokenFreshSession(ctx, oauth.ValidityOnce)
	if res != nil {
		return *res
	}
	defer s.close(ctx)
	c.controlWhat = "the first call under the one-time consent"
	x, err := c.tokenCall(ctx, "control: the first call of "+r.name+" under a one-time consent, as "+c.app.AppID, s.tokens.AccessToken)
	if res := c.controlFailed(x, err); res != nil {
		return *res
	}
	x, err = c.tokenCall(ctx, "the second call of "+r.name+" under the same one-time consent, as "+c.app.AppID, s.tokens.AccessToken)
	what := fmt.Sprintf("a second %s to %s correctly signed as %s with the token of a one-time consent already used", r.ep.Method, r.name, c.app.AppID)
	return c.result(c.tokenJudge(x, err, what, false))
}

// checkTokenOtherApp presents the user's access token of the read's app A in
// a correctly signed call by another active app B of the same level. Two
// controls first: A with its token, and B with its own token for the same
// user and scopes. A token is good only for the App_ID it was issued to
// (least privilege by App_ID, 5.3.2); a stolen token in another app's hands
// is impersonated use (6.1.2-3: the refusal is what can be seen from
// outside, the alert to staff is for the workbook).
func (t *Target) checkTokenOtherApp(ctx context.Context) assess.Result {
	r, res := t.tokenUserRole()
	if res != nil {
		return *res
	}
	a, res := t.open(ctx, r)
	if res != nil {
		return *res
	}
	other := t.tokenOtherApp(a.app)
	if other == nil {
		return assess.NotTestedf("The profile has no other active %s app with a redirect_uri (apps[].redirect_uri) besides %s, so there is no second app to present the user's token.",
			a.app.Level, a.app.AppID)
	}
	if res := a.control(ctx); res != nil {
		return *res
	}
	b, res := t.openAs(ctx, r, other)
	if res != nil {
		return a.result(*res)
	}
	b.ev = a.ev
	if res := b.control(ctx); res != nil {
		return *res
	}
	tok, err := t.UserToken(ctx, r.ep)
	if err != nil {
		return b.result(assess.Errorf("The user's access token for %s could not be obtained: %v.", a.app.AppID, err))
	}
	b.controlWhat = fmt.Sprintf("the token signed as its own app %s got %d, and %s with its own token", a.app.AppID, a.controlStatus, other.AppID)
	x, err := b.tokenCall(ctx, r.name+" signed as "+other.AppID+" with the token issued to "+a.app.AppID, tok)
	what := fmt.Sprintf("a %s to %s correctly signed as %s with the user's access token issued to %s", r.ep.Method, r.name, other.AppID, a.app.AppID)
	return b.result(b.tokenJudge(x, err, what, false))
}

// checkTransferOneFactor tries to obtain a token for the fund scopes of
// endpoints.a2_transfer with a password alone — the bank should ask for a
// second factor, which is positive evidence — and else signs the user in with
// one factor for scopes without fund APIs. The transfer, correctly signed as
// its app with the one-factor token, must be refused: A2 fund transactions
// need two factors (T/PCAC 0008-2020 3.2.2-2) and the bank must see that the
// user themself authorized the transaction (6.2.2). As for every check that
// uses endpoints.a2_transfer, no good control is sent: it would move money.
func (t *Target) checkTransferOneFactor(ctx context.Context) assess.Result {
	tr := t.a2Transfer()
	if tr.ep == nil {
		return assess.NotTestedf("The profile has no %s, so there is no transfer to try with a one-factor token.", tr.field)
	}
	user := tr.ep.User
	if user == "" {
		if r, res := t.tokenUserRole(); res == nil {
			user = r.ep.User
		}
	}
	if user == "" {
		return assess.NotTestedf("The profile names no user for %s (endpoints.a2_transfer.user, or endpoints.a2_read.user), so there is no one to sign in.", tr.field)
	}
	c, res := t.open(ctx, tr)
	if res != nil {
		return *res
	}
	fund := slices.Clone(tr.ep.Scopes)
	if len(fund) == 0 {
		fund = []string{tokenFundScope}
	}
	s, res := t.tokenSignIn(ctx, c, user, authflow.Request{Scopes: fund, AcknowledgeRisk: true, SkipSecondFactor: true})
	pages := ""
	switch {
	case res == nil:
		defer s.close(ctx)
		pages = fmt.Sprintf("Asked for the fund scopes %s, the bank's pages issued a token after a password alone (scope %s, acr %s).",
			strings.Join(fund, " "), clipText(s.tokens.Scope), clipText(s.tokens.ACR))
	case s != nil && errors.Is(s.err, authflow.ErrSecondFactorRequired):
		pages = fmt.Sprintf("The bank's pages asked for a second factor before granting the fund scopes %s.", strings.Join(fund, " "))
		s = nil
	case s != nil:
		pages = fmt.Sprintf("A one-factor sign-in for the fund scopes %s ended with: %s.", strings.Join(fund, " "), netErr(s.err))
		s = nil
	default:
		return *res
	}
	c.ev = append(c.ev, assess.Evidence{Title: "a one-factor sign-in for the fund scopes", Note: pages})
	if s == nil {
		scopes := t.tokenScopes(t.tokenReadEndpoint())
		s, res = t.tokenSignIn(ctx, c, user, authflow.Request{Scopes: scopes, SkipSecondFactor: true})
		if s != nil && errors.Is(s.err, authflow.ErrSecondFactorRequired) {
			return c.result(assess.Passf("%s It asked for a second factor even for %s, so no one-factor token exists to try on the transfer.", pages, strings.Join(scopes, " ")))
		}
		if res != nil {
			return *res
		}
		defer s.close(ctx)
	}
	x, err := c.tokenCall(ctx, "the A2 transfer with a one-factor token, correctly signed as "+c.app.AppID, s.tokens.AccessToken)
	what := fmt.Sprintf("a %s to the A2 transfer correctly signed as %s with a token from a one-factor sign-in (scopes %s)",
		tr.ep.Method, c.app.AppID, clipText(s.tokens.Scope))
	res2 := c.tokenJudge(x, err, what, true)
	if res2.Verdict == assess.Fail && success(x.Status) {
		res2.Reason += " A transfer made with one factor may have moved money."
	}
	res2.Reason = pages + " " + res2.Reason
	return c.result(res2)
}

// tokenUserRole is the user-bound read the token checks call:
// endpoints.a2_read if it acts for a user, else endpoints.personal_data.
func (t *Target) tokenUserRole() (role, *assess.Result) {
	for _, r := range []role{t.a2Read(), {t.Profile.Endpoints.PersonalData, "endpoints.personal_data", "the personal-data read"}} {
		if r.ep != nil && r.ep.User != "" {
			return r, nil
		}
	}
	return role{}, stop(assess.NotTestedf("The profile has no endpoints.a2_read or endpoints.personal_data that acts for a user (endpoints.a2_read.user and .scopes), so there is no user-bound API to call."))
}

// tokenReadEndpoint is the user-bound read's endpoint, nil if there is none.
func (t *Target) tokenReadEndpoint() *profile.Endpoint {
	r, _ := t.tokenUserRole()
	return r.ep
}

// tokenScopes are the scopes a fresh one-factor sign-in asks for: ep's
// scopes without fund scopes (tokenFundScope and the scopes of
// endpoints.a2_transfer), or tokenFallbackScope when none is left.
func (t *Target) tokenScopes(ep *profile.Endpoint) []string {
	var fund []string
	if tr := t.Profile.Endpoints.A2Transfer; tr != nil {
		fund = tr.Scopes
	}
	var out []string
	if ep != nil {
		for _, s := range ep.Scopes {
			if s != tokenFundScope && !slices.Contains(fund, s) {
				out = append(out, s)
			}
		}
	}
	if len(out) == 0 {
		out = []string{tokenFallbackScope}
	}
	return out
}

// tokenOtherApp is the first active app other than a, of a's level, with a
// redirect_uri to sign its own user in; nil if there is none.
func (t *Target) tokenOtherApp(a *profile.App) *profile.App {
	for i := range t.Profile.Apps {
		b := &t.Profile.Apps[i]
		if b.AppID != a.AppID && b.Level == a.Level && authzActive(b) && b.RedirectURI != "" {
			return b
		}
	}
	return nil
}

// tokenSession is a fresh sign-in of a check's own: the flow that made it
// and the tokens it got (or the error that ended it).
type tokenSession struct {
	flow   *authflow.Flow
	tokens *authflow.Tokens
	err    error
}

// tokenFreshSession opens the user-bound read's role and signs its user in
// afresh with one factor, for the read's scopes and the given validity ("":
// the bank's default): a session of the check's own, never the shared cache.
func (t *Target) tokenFreshSession(ctx context.Context, validity oauth.Validity) (role, *call, *tokenSession, *assess.Result) {
	r, res := t.tokenUserRole()
	if res != nil {
		return r, nil, nil, res
	}
	c, res := t.open(ctx, r)
	if res != nil {
		return r, nil, nil, res
	}
	s, res := t.tokenSignIn(ctx, c, r.ep.User, authflow.Request{Scopes: t.tokenScopes(r.ep), Validity: validity, SkipSecondFactor: true})
	return r, c, s, res
}

// tokenSignIn signs user in afresh at the bank's pages for c's app, bypassing
// t.Tokens (the check spends or revokes the token), and keeps a note of it as
// evidence. A non-nil result means the check cannot go on; the session is
// then returned too when the flow itself ended with an error (s.err), so that
// the caller may tell a request for a second factor from other refusals.
func (t *Target) tokenSignIn(ctx context.Context, c *call, user string, req authflow.Request) (*tokenSession, *assess.Result) {
	if c.app.RedirectURI == "" {
		return nil, c.end(assess.NotTestedf("App %s has no redirect_uri in the profile (apps[].redirect_uri), so its user cannot be signed in.", c.app.AppID))
	}
	f, err := authflow.FromProfile(ctx, t.Profile, c.app.AppID, user, c.app.RedirectURI)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return nil, c.end(assess.Errorf("The target could not be reached to prepare the user's sign-in for %s: %v.", c.app.AppID, ue.Err))
		}
		return nil, c.end(assess.Errorf("The user's sign-in for %s could not be prepared: %v.", c.app.AppID, err))
	}
	scopes := strings.Join(req.Scopes, " ")
	validity := string(req.Validity)
	if validity == "" {
		validity = string(oauth.ValidityAgreement)
	}
	toks, err := f.Run(ctx, req)
	s := &tokenSession{flow: f, tokens: toks, err: err}
	if err != nil {
		s.close(ctx)
		var pe *authflow.PageError
		var re *authflow.RedirectError
		switch {
		case errors.Is(err, authflow.ErrSecondFactorRequired):
			return s, c.end(assess.NotTestedf("The bank asked for a second factor to grant %s to %s; the check needs a sign-in with a password alone for scopes without fund APIs.", scopes, c.app.AppID))
		case errors.As(err, &pe), errors.As(err, &re):
			return s, c.end(assess.NotTestedf("The bank's authorization pages refused the sign-in for %s (scopes %s, validity %s): %v.", c.app.AppID, scopes, validity, err))
		}
		return s, c.end(assess.Errorf("The user's sign-in for %s (scopes %s, validity %s) failed: %s.", c.app.AppID, scopes, validity, netErr(err)))
	}
	c.ev = append(c.ev, assess.Evidence{
		Title: "a fresh sign-in at the bank's authorization pages for " + c.app.AppID,
		Note: fmt.Sprintf("The user signed in with a password alone and consented to %s (validity %s); the token endpoint issued a bearer token (acr %s, expires in %d s, scope %s) under consent %s. The token is not shown.",
			scopes, validity, clipText(toks.ACR), toks.ExpiresIn, clipText(toks.Scope), clipText(toks.ConsentID)),
	})
	return s, nil
}

// close revokes what the session got — its refresh token, which revokes the
// whole authorization, or else its access token — so that no usable token is
// left behind, and closes the flow's connections. Errors are ignored: the
// check has its verdict.
func (s *tokenSession) close(ctx context.Context) {
	if s == nil || s.flow == nil {
		return
	}
	if s.tokens != nil {
		tok := s.tokens.RefreshToken
		if tok == "" {
			tok = s.tokens.AccessToken
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_ = s.flow.Revoke(ctx, tok)
		cancel()
		s.tokens = nil
	}
	if s.flow.HTTP != nil {
		s.flow.HTTP.CloseIdleConnections()
	}
	if s.flow.App != nil && s.flow.App.HTTP != nil {
		s.flow.App.HTTP.CloseIdleConnections()
	}
}

// tokenCall sends the role's request, signed as c's app, with token as its
// bearer token ("" for no Authorization header), and keeps the exchange.
func (c *call) tokenCall(ctx context.Context, title, token string) (*Exchange, error) {
	req, err := tokenRequest(ctx, c.t.Profile, c.role.ep, token)
	if err != nil {
		return nil, err
	}
	if err := c.client.Sign(req); err != nil {
		return nil, err
	}
	return c.send(c.client.HTTP, title, req)
}

// tokenRequest builds ep's request (unsigned) with the given bearer token.
func tokenRequest(ctx context.Context, p *profile.Profile, ep *profile.Endpoint, token string) (*http.Request, error) {
	var body []byte
	if len(ep.Body) > 0 {
		body = slices.Clone(ep.Body)
	}
	req, err := sdk.NewRequest(ctx, ep.Method, p.URL(ep.Path), body)
	if err == nil && token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req, err
}

// tokenJudge judges the answer to a call that must be refused for its user
// token: a 401 passes (RFC 6750 §3.1), and so does a 403 — when fund403 is
// set it is the expected answer (consent_missing, second_factor_required),
// else the reason notes that RFC 6750 asks for 401. A 2xx or a 5xx fails; a
// refusal for another reason (tokenOtherReasons) or another 4xx cannot be
// judged (not_tested); a 429 or no answer is error.
func (c *call) tokenJudge(x *Exchange, err error, what string, fund403 bool) assess.Result {
	switch {
	case x == nil || x.Status == 0:
		return assess.Errorf("%s could not be sent: %s.", capital(what), netErr(err))
	case success(x.Status):
		return assess.Failf("The target accepted %s: it answered %s.", what, status(x))
	case x.Status >= 500:
		return assess.Failf("The target answered %s with %s, a server error instead of a clean refusal.", what, status(x))
	case x.Status == http.StatusTooManyRequests:
		return assess.Errorf("The target rate-limited %s (%s), so whether it refuses it is unknown.", what, status(x))
	case (x.Status == http.StatusUnauthorized || x.Status == http.StatusForbidden) && slices.Contains(tokenOtherReasons, x.Code()):
		return assess.NotTestedf("The target refused %s with %s, a refusal for another reason than the user's token, so the token was not what was judged.", what, status(x))
	case x.Status != http.StatusUnauthorized && x.Status != http.StatusForbidden:
		return assess.NotTestedf("The target answered %s with %s, neither served nor refused as unauthorized, so the token's refusal could not be judged; check the profile's %s.",
			what, status(x), c.role.field)
	}
	r := assess.Passf("The target refused %s: %s", what, status(x))
	if x.Status == http.StatusForbidden && !fund403 {
		r.Reason += " (RFC 6750 §3.1 asks for 401 invalid_token)"
	}
	if note := c.controlNote(); note != "" {
		r.Reason += "; " + note
	}
	r.Reason += "."
	return r
}

// clipText keeps a value the bank sent short and printable for a reason.
func clipText(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	if s == "" {
		s = "(none)"
	}
	return s
}

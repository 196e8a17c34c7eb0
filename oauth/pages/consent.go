package pages

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/bankguard/bankguard/oauth"
)

// consentView is the body of the consent page.
type consentView struct {
	AppName      string
	Scopes       []scopeView
	Accounts     []accountChoice
	Fund         bool
	Risk         msg
	Today        string
	MaxDate      string
	AgreementEnd string
	OnceLimit    string
	OnceLimitEN  string
	// The user's choices, kept when the form comes back with an error.
	Validity string
	Until    string
	RiskAck  bool
}

type scopeView struct {
	Name, Text string
	Fund       bool
}

type accountChoice struct {
	ID, Label string
	Checked   bool
}

// choice is what the user submitted on the consent page.
type choice struct {
	accounts []string
	validity string
	until    string
	riskAck  bool
}

const dateLayout = "2006-01-02"

// consentPage shows what the app asks for and lets the user choose
// (T/PCAC 0008-2020 11.3.2, 5.3.2, 6.2.2-4).
func (h *Handler) consentPage(w http.ResponseWriter, r *http.Request) {
	s, ok := h.load(w, r, false)
	if !ok {
		return
	}
	app, accts, ok := h.consentContext(w, r, s)
	if !ok {
		return
	}
	h.renderConsent(w, s, app, accts, choice{}, http.StatusOK, nil)
}

// consentContext checks that s may give consent now and returns the app (as
// it is registered now, not when the request began) and the user's accounts.
// On refusal it has written the response.
func (h *Handler) consentContext(w http.ResponseWriter, r *http.Request, s *session) (*oauth.AppInfo, []Account, bool) {
	if s.pending == nil || s.stage != stageDone {
		http.Redirect(w, r, next(s), http.StatusSeeOther)
		return nil, nil, false
	}
	if !h.now().Before(s.pending.deadline) {
		h.end(w, s)
		h.message(w, http.StatusBadRequest, codeSessionExpired, msgSessionExpired)
		return nil, nil, false
	}
	if s.pending.fund && s.acr != oauth.ACRTwoFactor {
		h.end(w, s)
		h.message(w, http.StatusForbidden, codeSecondFactorRequired, msgSecondFactorRequired)
		return nil, nil, false
	}
	app, err := h.apps.App(r.Context(), s.pending.appID)
	if err != nil && !errors.Is(err, oauth.ErrNotFound) {
		h.internal(w, r, "consent: app lookup", err)
		return nil, nil, false
	}
	if app == nil || !registered(app, s.pending.redirectURI) || !agreementOpen(app, h.now()) {
		h.end(w, s)
		h.message(w, http.StatusBadRequest, codeClientUnknown, msgAppGone)
		return nil, nil, false
	}
	accts, err := h.accounts.AccountsOf(r.Context(), s.userID)
	if err != nil {
		h.internal(w, r, "consent: accounts", err)
		return nil, nil, false
	}
	return app, accts, true
}

func (h *Handler) renderConsent(w http.ResponseWriter, s *session, app *oauth.AppInfo, accts []Account, c choice, status int, e *msg) {
	p, loc, now := s.pending, h.cfg.Location, h.now()
	v := consentView{
		AppName: app.Name, Fund: p.fund, Risk: msgRiskWarning,
		Today: now.In(loc).Format(dateLayout), MaxDate: lastDay(app, loc).Format(dateLayout),
		Validity: c.validity, Until: c.until, RiskAck: c.riskAck,
	}
	v.AgreementEnd = v.MaxDate
	v.OnceLimit, v.OnceLimitEN = durationText(h.cfg.OneTimeValidity)
	for _, sc := range p.scopes {
		v.Scopes = append(v.Scopes, scopeView{Name: sc, Text: h.cfg.ScopeText[sc], Fund: h.fund[sc]})
	}
	for _, a := range accts {
		v.Accounts = append(v.Accounts, accountChoice{ID: a.ID, Label: a.Label, Checked: contains(c.accounts, a.ID)})
	}
	if e == nil && len(accts) == 0 {
		e = &msgNoAccounts
	}
	code := ""
	if e != nil {
		code = codeConsentInvalid
	}
	// The answer to this form redirects to the app: form-action must allow
	// its origin, or browsers that apply form-action to redirects block it.
	h.setHeaders(w, formOrigin(p.redirectURI))
	h.render(w, status, "consent", pageData{Title: msg{"授权确认", "Authorize access"}, CSRF: s.csrf, Code: code, Error: e, Body: v})
}

// consent takes the user's answer. Deny goes back to the app with
// access_denied; approve records the consent, issues a code and goes back to
// the app with it (RFC 6749 §4.1.2). The pending request is taken before
// either, so a second submission cannot issue a second code.
func (h *Handler) consent(w http.ResponseWriter, r *http.Request) {
	s, ok := h.post(w, r, false)
	if !ok {
		return
	}
	app, accts, ok := h.consentContext(w, r, s)
	if !ok {
		return
	}
	ctx, now := r.Context(), h.now()
	switch r.PostForm.Get("action") {
	case "deny":
		p := h.sessions.takePending(s.key)
		h.end(w, s)
		if p == nil {
			h.message(w, http.StatusBadRequest, codeSessionExpired, msgSessionExpired)
			return
		}
		h.events.AddEvent(ctx, s.userID, EventConsentDenied, app.Name)
		http.Redirect(w, r, withQuery(p.redirectURI, errorParams("access_denied", p.state)), http.StatusSeeOther)
		return
	case "approve":
	default:
		h.renderConsent(w, s, app, accts, choice{}, http.StatusBadRequest, &msgRequestInvalid)
		return
	}
	c := choice{accounts: r.PostForm["account"], validity: r.PostForm.Get("validity"),
		until: r.PostForm.Get("until"), riskAck: r.PostForm.Get("risk_ack") == "yes"}
	shared, e := pickAccounts(c.accounts, accts)
	var validity oauth.Validity
	var expires time.Time
	if e == nil {
		validity, expires, e = h.validity(c, app, now)
	}
	if e == nil && s.pending.fund && !c.riskAck {
		e = &msgRiskNotAck
	}
	if e != nil {
		h.renderConsent(w, s, app, accts, c, http.StatusBadRequest, e)
		return
	}
	p := h.sessions.takePending(s.key)
	h.end(w, s)
	if p == nil {
		h.message(w, http.StatusBadRequest, codeSessionExpired, msgSessionExpired)
		return
	}
	given, err := h.consents.CreateConsent(ctx, oauth.Consent{
		AppID: p.appID, UserID: s.userID, Scopes: p.scopes, Accounts: shared,
		Validity: validity, ExpiresAt: expires, CreatedAt: now, SessionID: s.ref,
		RiskAcknowledged: p.fund && c.riskAck,
	})
	if err != nil {
		h.internal(w, r, "consent: create", err)
		return
	}
	code, err := h.consents.IssueCode(ctx, oauth.CodeRequest{
		AppID: p.appID, RedirectURI: p.redirectURI, CodeChallenge: p.challenge, CodeChallengeMethod: "S256", ConsentID: given.ID,
		UserID: s.userID, ACR: s.acr, SessionID: s.ref, AuthenticatedAt: s.authAt,
	})
	if err != nil {
		if rerr := h.consents.RevokeConsent(ctx, s.userID, given.ID); rerr != nil {
			err = errors.Join(err, rerr)
		}
		h.internal(w, r, "consent: issue code", err)
		return
	}
	v := url.Values{"code": {code}}
	if p.state != "" {
		v.Set("state", p.state)
	}
	http.Redirect(w, r, withQuery(p.redirectURI, v), http.StatusSeeOther)
}

// pickAccounts checks the chosen account ids against the user's own
// accounts: at least one, each the user's, no repeats.
func pickAccounts(chosen []string, own []Account) ([]string, *msg) {
	var out []string
	for _, id := range chosen {
		found := false
		for _, a := range own {
			found = found || a.ID == id
		}
		if !found {
			return nil, &msgBadAccount
		}
		if !contains(out, id) {
			out = append(out, id)
		}
	}
	if len(out) == 0 {
		return nil, &msgNoAccount
	}
	return out, nil
}

// validity turns the user's choice into a validity and its end, never
// later than the app's agreement (T/PCAC 0008-2020 5.3.2: single use, until
// a date, or the agreement term). Dates are whole days in cfg.Location.
func (h *Handler) validity(c choice, app *oauth.AppInfo, now time.Time) (oauth.Validity, time.Time, *msg) {
	loc := h.cfg.Location
	switch oauth.Validity(c.validity) {
	case oauth.ValidityOnce:
		return oauth.ValidityOnce, earliest(now.Add(h.cfg.OneTimeValidity), app.AgreementEnd), nil
	case oauth.ValidityAgreement:
		return oauth.ValidityAgreement, app.AgreementEnd, nil
	case oauth.ValidityUntil:
		d, err := time.ParseInLocation(dateLayout, c.until, loc)
		if err != nil {
			return "", time.Time{}, &msgBadDate
		}
		n := now.In(loc)
		today := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, loc)
		if d.Before(today) || d.After(lastDay(app, loc)) {
			return "", time.Time{}, &msgBadDate
		}
		return oauth.ValidityUntil, earliest(d.AddDate(0, 0, 1), app.AgreementEnd), nil
	default:
		return "", time.Time{}, &msgNoValidity
	}
}

// lastDay is the last calendar day (in loc) on which the app's agreement
// still runs.
func lastDay(app *oauth.AppInfo, loc *time.Location) time.Time {
	e := app.AgreementEnd.Add(-time.Nanosecond).In(loc)
	return time.Date(e.Year(), e.Month(), e.Day(), 0, 0, 0, 0, loc)
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func errorParams(code, state string) url.Values {
	v := url.Values{"error": {code}}
	if state != "" {
		v.Set("state", state)
	}
	return v
}

// durationText writes d in whole hours or minutes, Chinese and English.
func durationText(d time.Duration) (string, string) {
	if d >= time.Hour && d%time.Hour == 0 {
		return fmt.Sprintf("%d 小时", d/time.Hour), fmt.Sprintf("%d h", d/time.Hour)
	}
	return fmt.Sprintf("%d 分钟", d/time.Minute), fmt.Sprintf("%d min", d/time.Minute)
}

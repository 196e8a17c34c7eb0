package authflow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxPageBody bounds a page the flow reads.
const maxPageBody = 1 << 20

// The stable code of the bank's refusal of a TOTP code (oauth/pages).
const codeSecondFactorFailed = "second_factor_failed"

// run is one authorization in progress: the browser's cookies, the PKCE
// verifier and the state live here and nowhere else.
type run struct {
	f               *Flow
	req             Request
	base            *url.URL
	client          *http.Client
	verifier, state string
	// answered counts the forms submitted, by action path: each page is
	// answered once (the second factor twice with RetryTOTP), so a bank that
	// shows a page again ends the run instead of looping.
	answered map[string]int
}

// response is one answer of the bank, its body read.
type response struct {
	url      *url.URL // the request's
	status   int
	location string
	body     []byte
}

func (r *run) get(ctx context.Context, u *url.URL) (*response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("authflow: %w", err)
	}
	return r.do(req)
}

func (r *run) post(ctx context.Context, u *url.URL, form url.Values) (*response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("authflow: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r.do(req)
}

// do sends req. A transport error names the path only: the URL of an
// authorization request is not secret, but a form's body is never shown.
func (r *run) do(req *http.Request) (*response, error) {
	resp, err := r.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("authflow: %s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPageBody+1))
	if err != nil {
		return nil, fmt.Errorf("authflow: %s %s: read: %w", req.Method, req.URL.Path, err)
	}
	if len(body) > maxPageBody {
		return nil, fmt.Errorf("authflow: %s %s: the page exceeds %d bytes", req.Method, req.URL.Path, maxPageBody)
	}
	return &response{url: req.URL, status: resp.StatusCode, location: resp.Header.Get("Location"), body: body}, nil
}

// step takes one answer of the bank: it follows a redirect inside the bank,
// takes the code from the redirect to the app, or answers the page's form.
// It returns the next answer, or the grant when the flow is done.
func (r *run) step(ctx context.Context, resp *response) (*response, *Grant, error) {
	if isRedirect(resp.status) {
		loc, err := resp.url.Parse(resp.location)
		if resp.location == "" || err != nil {
			return nil, nil, errors.New("authflow: the bank sent a redirect without a valid location")
		}
		switch {
		case toApp(loc, r.f.RedirectURI):
			g, err := r.finish(loc)
			return nil, g, err
		case sameOrigin(loc, r.base):
			next, err := r.get(ctx, loc)
			return next, nil, err
		}
		return nil, nil, fmt.Errorf("authflow: the bank redirected to an unexpected address (%s://%s); not followed", loc.Scheme, loc.Host)
	}
	p := parsePage(resp.body)
	if p.errorCode != "" && !r.retryTOTP(resp, p) {
		return nil, nil, &PageError{Step: stepName(resp.url.Path), Status: resp.status, Code: p.errorCode}
	}
	if p.errorCode == "" && resp.status != http.StatusOK {
		return nil, nil, fmt.Errorf("authflow: the bank answered %d at %s", resp.status, resp.url.Path)
	}
	fm, action := r.form(resp, p)
	if fm == nil {
		return nil, nil, fmt.Errorf("authflow: unexpected page at %s: no sign-in, second-factor or consent form", resp.url.Path)
	}
	values, err := r.answer(ctx, action.Path, fm)
	if err != nil {
		return nil, nil, err
	}
	r.answered[action.Path]++
	next, err := r.post(ctx, action, values)
	return next, nil, err
}

// retryTOTP reports whether a refusal is a TOTP code refused as used that
// RetryTOTP lets the flow answer once more.
func (r *run) retryTOTP(resp *response, p *page) bool {
	return r.f.RetryTOTP && p.errorCode == codeSecondFactorFailed && resp.url.Path == PathTOTP &&
		r.answered[PathTOTP] == 1 && p.formFor(PathTOTP) != nil
}

// form returns the page's sign-in, second-factor or consent form and where
// it posts to, which must be the bank itself: a password or code is never
// sent anywhere else.
func (r *run) form(resp *response, p *page) (*form, *url.URL) {
	for i := range p.forms {
		fm := &p.forms[i]
		u, err := resp.url.Parse(fm.action)
		if err != nil || !sameOrigin(u, r.base) {
			continue
		}
		switch u.Path {
		case PathLogin, PathTOTP, PathConsent:
			return fm, u
		}
	}
	return nil, nil
}

// answer fills in the form posted to path as the user would: the page's
// hidden fields (its CSRF token) and the user's answer.
func (r *run) answer(ctx context.Context, path string, fm *form) (url.Values, error) {
	v := fm.hidden()
	n := r.answered[path]
	switch path {
	case PathLogin:
		if n > 0 {
			return nil, errors.New("authflow: the bank asked to sign in again (the session ended or the user is locked out)")
		}
		r.f.progress("signing in with a password")
		v.Set("username", r.f.Username)
		v.Set("password", r.f.Password)
	case PathTOTP:
		if len(r.f.TOTPSecret) == 0 || r.req.SkipSecondFactor {
			return nil, ErrSecondFactorRequired
		}
		if n > 1 || n == 1 && !r.f.RetryTOTP {
			return nil, errors.New("authflow: the bank asked for the second factor again")
		}
		if n == 1 {
			wait := r.f.untilNextStep()
			r.f.progress(fmt.Sprintf("the one-time code was refused (used by another sign-in?): waiting %d s for a fresh one", (wait+time.Second-1)/time.Second))
			if err := r.f.sleep(ctx, wait); err != nil {
				return nil, fmt.Errorf("authflow: %w", err)
			}
		}
		r.f.progress("answering the second factor")
		v.Set("code", r.f.totpCode())
	case PathConsent:
		if n > 0 {
			return nil, errors.New("authflow: the bank showed the consent page again")
		}
		r.consent(v, fm)
	}
	return v, nil
}

// consent fills in the consent form.
func (r *run) consent(v url.Values, fm *form) {
	req := r.req
	accounts := req.Accounts
	if len(accounts) == 0 {
		accounts = fm.values("account")
	}
	for _, a := range accounts {
		v.Add("account", a)
	}
	validity := string(req.Validity)
	if validity == "" {
		validity = "agreement"
	}
	v.Set("validity", validity)
	if !req.Until.IsZero() {
		v.Set("until", req.Until.Format("2006-01-02"))
	}
	if req.AcknowledgeRisk {
		v.Set("risk_ack", "yes")
	}
	action := "approve"
	if req.Deny {
		action = "deny"
	}
	v.Set("action", action)
	r.f.progress(fmt.Sprintf("consent: %s, %d account(s), validity %s", action, len(accounts), validity))
}

func isRedirect(status int) bool {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

func sameOrigin(u, base *url.URL) bool {
	return strings.EqualFold(u.Scheme, base.Scheme) && strings.EqualFold(u.Host, base.Host)
}

// stepName names the page a path serves, for errors.
func stepName(path string) string {
	switch path {
	case PathAuthorize:
		return "authorization request"
	case PathLogin:
		return "sign-in"
	case PathTOTP:
		return "second factor"
	case PathConsent:
		return "consent"
	}
	return "request at " + clip(path, 64)
}

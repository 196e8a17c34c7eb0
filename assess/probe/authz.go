package probe

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/bankguard/bankguard/assess"
	"github.com/bankguard/bankguard/pii"
	"github.com/bankguard/bankguard/profile"
)

// App statuses of the profile (apps[].status) that the authorization checks
// look for.
const (
	statusSuspended = "suspended"
	statusExited    = "exited"
)

// authzOtherReasons are CONTRACT.md §4 refusal codes that say a request was
// refused for a reason other than the one a check is testing: such a refusal
// is no evidence either way.
var authzOtherReasons = []string{"app_suspended", "blacklisted", "level_insufficient"}

// authzChecks are the authorization checks: least privilege by app, API and
// user (T/PCAC 0008-2020 3.3.1, 3.3.2, 5.3.2), refusal of a suspended app
// (6.1.2, blacklist control) and of an app that exited (5.4). The user-token
// and consent checks are in tokens.go.
func authzChecks(t *Target) []assess.Check {
	return []assess.Check{
		{ID: "authz.not-granted", Title: "An API the app is not granted is refused",
			Items: []string{"3.3.1-1", "5.3.2-1"}, Run: t.checkNotGranted},
		{ID: "authz.other-user-resource", Title: "Another user's resource is refused",
			Items: []string{"5.3.2-1", "3.3.2-2"}, Run: t.checkOtherUserResource},
		{ID: "authz.suspended-app", Title: "A suspended (blacklisted) app is refused",
			Items: []string{"6.1.2-1", "6.1.2-4"}, Run: t.checkSuspendedApp},
		{ID: "authz.exited-app", Title: "The credentials of an app that exited are refused",
			Items: []string{"5.4-2"}, Run: t.checkExitedApp},
	}
}

// checkNotGranted calls endpoints.not_granted, correctly signed as its app,
// and expects 403: an app may call only the APIs it is granted, on least
// privilege (T/PCAC 0008-2020 3.3.1, 5.3.2).
func (t *Target) checkNotGranted(ctx context.Context) assess.Result {
	ep := t.Profile.Endpoints.NotGranted
	if ep == nil {
		return assess.NotTestedf("the profile has no endpoints.not_granted (an API the test app is not granted)")
	}
	app, err := t.AppFor(ep)
	if err != nil {
		return assess.NotTestedf("endpoints.not_granted cannot be called: %v", err)
	}
	x, res, ok := t.authzCall(ctx, app.AppID, "the API the app is not granted, correctly signed", ep)
	if !ok {
		return res
	}
	what := fmt.Sprintf("%s %s signed as %s (not granted)", ep.Method, authzPath(ep), app.AppID)
	switch {
	case authz2xx(x.Status):
		return assess.Failf("%s was served with %s: the target does not enforce the app's API grants.", what, authzAnswer(x)).With(x.Evidence)
	case x.Status == http.StatusForbidden && slices.Contains(authzOtherReasons, x.Code()):
		return assess.NotTestedf("%s was refused with %s, a refusal for another reason, so the grant was not what was tested; check endpoints.not_granted and its app.", what, authzAnswer(x)).With(x.Evidence)
	case x.Status == http.StatusForbidden:
		return assess.Passf("%s was refused with %s.", what, authzAnswer(x)).With(x.Evidence)
	case x.Status == http.StatusNotFound:
		return assess.NotTestedf("%s got %s: the target says the API does not exist, so the grant was not what was tested; check endpoints.not_granted.", what, authzAnswer(x)).With(x.Evidence)
	}
	return authzUnjudged(what, x).With(x.Evidence)
}

// checkOtherUserResource calls endpoints.other_user_resource, correctly
// signed, and expects 403 or 404 with no resource data: a user's data is
// served only to those the user authorized, and unauthorized access is
// refused (T/PCAC 0008-2020 3.3.2, 5.3.2). When endpoints.a2_read is called
// as the same app, it is called first as a control.
func (t *Target) checkOtherUserResource(ctx context.Context) assess.Result {
	ep := t.Profile.Endpoints.OtherUserResource
	if ep == nil {
		return assess.NotTestedf("the profile has no endpoints.other_user_resource (another user's resource)")
	}
	app, err := t.AppFor(ep)
	if err != nil {
		return assess.NotTestedf("endpoints.other_user_resource cannot be called: %v", err)
	}
	cx, res, ok := t.authzOwnResource(ctx, app.AppID)
	if !ok {
		return res
	}
	var ev []assess.Evidence
	control := ""
	if cx != nil {
		ev = append(ev, cx.Evidence)
		control = fmt.Sprintf(", while the own user's resource (endpoints.a2_read) got %d", cx.Status)
	}
	x, res, ok := t.authzCall(ctx, app.AppID, "another user's resource, correctly signed", ep)
	if !ok {
		return res.With(ev...)
	}
	what := fmt.Sprintf("%s %s signed as %s (another user's resource)", ep.Method, authzPath(ep), app.AppID)
	return authzJudgeOther(what, x, control).With(append(ev, x.Evidence)...)
}

// authzOwnResource calls endpoints.a2_read as a control when the profile
// calls it as appID: the app must be able to read its own user's resource,
// or a refusal of another user's shows nothing. It returns a nil exchange
// when there is no such control, and ok false with the result to return
// when the control fails.
func (t *Target) authzOwnResource(ctx context.Context, appID string) (cx *Exchange, res assess.Result, ok bool) {
	own := t.Profile.Endpoints.A2Read
	if own == nil {
		return nil, res, true
	}
	if a, err := t.AppFor(own); err != nil || a.AppID != appID {
		return nil, res, true
	}
	cx, res, ok = t.authzCall(ctx, appID, "control: the test user's own resource", own)
	if ok && !authz2xx(cx.Status) {
		return nil, assess.NotTestedf("the control call of the own user's resource (endpoints.a2_read, %s %s as %s) got %s, so a refusal of another user's resource would show nothing.",
			own.Method, authzPath(own), appID, authzAnswer(cx)).With(cx.Evidence), false
	}
	return cx, res, ok
}

// authzJudgeOther judges the answer to another user's resource (without
// evidence): 2xx is fail, 403 or 404 with no data is pass.
func authzJudgeOther(what string, x *Exchange, control string) assess.Result {
	switch {
	case authz2xx(x.Status):
		return assess.Failf("%s was served with %s: the target does not bind the resource to its user.", what, authzAnswer(x))
	case x.Status == http.StatusUnauthorized:
		return assess.NotTestedf("%s got %s: the target did not accept the request as authenticated, so the resource's authorization was never judged.", what, authzAnswer(x))
	case x.Status != http.StatusForbidden && x.Status != http.StatusNotFound:
		return authzUnjudged(what, x)
	case slices.Contains(authzOtherReasons, x.Code()):
		return assess.NotTestedf("%s was refused with %s, a refusal for another reason, so the resource's authorization was not what was tested.", what, authzAnswer(x))
	case !authzNoData(x):
		return assess.Failf("%s was refused with %d, but the answer's body is %s rather than an RFC 9457 problem, so it may carry the resource.",
			what, x.Status, authzBodyKind(x))
	}
	return assess.Passf("%s was refused with %s and no resource data%s.", what, authzAnswer(x), control)
}

// checkSuspendedApp calls endpoints.a1_read signed as an app the profile
// marks "suspended" and expects 401 or 403: a suspended app is the app-level
// blacklist (T/PCAC 0008-2020 6.1.2).
func (t *Target) checkSuspendedApp(ctx context.Context) assess.Result {
	return t.checkAppRefused(ctx, statusSuspended)
}

// checkExitedApp calls endpoints.a1_read signed as an app the profile marks
// "exited" and expects 401 or 403: after an application party exits, its
// App_Secret and key pairs are invalidated (T/PCAC 0008-2020 5.4).
func (t *Target) checkExitedApp(ctx context.Context) assess.Result {
	return t.checkAppRefused(ctx, statusExited)
}

// checkAppRefused calls endpoints.a1_read as an active app (a control, which
// must be served) and then as the first app with the given status, which
// must be refused with 401 or 403.
func (t *Target) checkAppRefused(ctx context.Context, status string) assess.Result {
	ep := t.Profile.Endpoints.A1Read
	if ep == nil {
		return assess.NotTestedf("the profile has no endpoints.a1_read to call as the %s app", status)
	}
	app := t.authzAppWithStatus(status)
	if app == nil {
		return assess.NotTestedf("the profile names no app with status %q (apps[].status)", status)
	}
	active := t.authzActiveApp(ep)
	if active == nil {
		return assess.NotTestedf("the profile has no active app to call endpoints.a1_read as a control")
	}
	cx, res, ok := t.authzCall(ctx, active.AppID, "control: the active app "+active.AppID, ep)
	if !ok {
		return res
	}
	if !authz2xx(cx.Status) {
		return assess.NotTestedf("the control call of endpoints.a1_read (%s %s) as the active app %s got %s, so a refusal of the %s app would show nothing.",
			ep.Method, authzPath(ep), active.AppID, authzAnswer(cx), status).With(cx.Evidence)
	}
	x, res, ok := t.authzCall(ctx, app.AppID, "the "+status+" app "+app.AppID, ep)
	if !ok {
		return res.With(cx.Evidence)
	}
	ev := []assess.Evidence{cx.Evidence, x.Evidence}
	what := fmt.Sprintf("%s %s signed as the %s app %s", ep.Method, authzPath(ep), status, app.AppID)
	switch {
	case authz2xx(x.Status):
		return assess.Failf("%s was served with %s: the target still accepts its credentials.", what, authzAnswer(x)).With(ev...)
	case x.Status == http.StatusUnauthorized || x.Status == http.StatusForbidden:
		return assess.Passf("%s was refused with %s, while the active app %s got %d.", what, authzAnswer(x), active.AppID, cx.Status).With(ev...)
	case x.Status >= 500:
		return assess.Errorf("%s got %s: the target failed, so the refusal could not be judged.", what, authzAnswer(x)).With(ev...)
	}
	return assess.Failf("%s got %s rather than a refusal (401 or 403).", what, authzAnswer(x)).With(ev...)
}

// authzCall sends the endpoint's request signed as appID. When it cannot,
// ok is false and res is the error result to return.
func (t *Target) authzCall(ctx context.Context, appID, title string, ep *profile.Endpoint) (x *Exchange, res assess.Result, ok bool) {
	req, err := t.Request(ctx, ep)
	if err != nil {
		return nil, assess.Errorf("the request %s %s could not be built: %v", ep.Method, authzPath(ep), err), false
	}
	x, err = t.Call(ctx, appID, title, req)
	if err != nil {
		res = assess.Errorf("%s %s as %s could not be sent or got no answer: %v", ep.Method, authzPath(ep), appID, err)
		if x != nil {
			res = res.With(x.Evidence)
		}
		return nil, res, false
	}
	return x, assess.Result{}, true
}

// authzUnjudged is the result, without evidence, for an answer that is
// neither served nor the expected refusal: error for a failing target,
// not_tested otherwise.
func authzUnjudged(what string, x *Exchange) assess.Result {
	if x.Status >= 500 {
		return assess.Errorf("%s got %s: the target failed, so the authorization could not be judged.", what, authzAnswer(x))
	}
	return assess.NotTestedf("%s got %s, neither served nor refused as unauthorized, so the authorization could not be judged; check the profile's endpoint.", what, authzAnswer(x))
}

// authzAppWithStatus is the first app the profile gives the status.
func (t *Target) authzAppWithStatus(status string) *profile.App {
	for i := range t.Profile.Apps {
		if strings.EqualFold(t.Profile.Apps[i].Status, status) {
			return &t.Profile.Apps[i]
		}
	}
	return nil
}

// authzActiveApp is the app an endpoint is called as, if it is active, or
// else the first active app whose level fits the endpoint.
func (t *Target) authzActiveApp(ep *profile.Endpoint) *profile.App {
	if a, err := t.AppFor(ep); err == nil && authzActive(a) {
		return a
	}
	for i := range t.Profile.Apps {
		a := &t.Profile.Apps[i]
		if authzActive(a) && (ep.Level != "A2" || a.Level == "A2") {
			return a
		}
	}
	return nil
}

func authzActive(a *profile.App) bool {
	return a.Status == "" || strings.EqualFold(a.Status, "active")
}

func authz2xx(status int) bool { return status >= 200 && status < 300 }

// authzNoData reports whether a refusal's body can carry no resource data:
// it is empty or an RFC 9457 problem.
func authzNoData(x *Exchange) bool {
	if len(strings.TrimSpace(string(x.Body))) == 0 {
		return true
	}
	_, ok := x.Problem()
	return ok
}

// authzBodyKind names a body's media type for a reason.
func authzBodyKind(x *Exchange) string {
	ct := x.Header.Get("Content-Type")
	if ct == "" {
		ct = "untyped"
	}
	return fmt.Sprintf("%s (%d bytes)", ct, len(x.Body))
}

// authzAnswer describes an answer for a reason: its status and problem code,
// or its status and body kind.
func authzAnswer(x *Exchange) string {
	if c := x.Code(); c != "" {
		return fmt.Sprintf("%d (code %s)", x.Status, c)
	}
	if len(x.Body) == 0 {
		return fmt.Sprintf("%d", x.Status)
	}
	return fmt.Sprintf("%d with a body of %s", x.Status, authzBodyKind(x))
}

// authzPath is the endpoint's path for a reason: without its query, with
// personal data masked, and with all but the last 4 digits of every run of 6
// or more digits (an account or card number) masked.
func authzPath(ep *profile.Endpoint) string {
	p, _, _ := strings.Cut(ep.Path, "?")
	b := []byte(pii.MaskText(p))
	for i := 0; i < len(b); {
		j := i
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j-i >= 6 {
			for k := i; k < j-4; k++ {
				b[k] = '*'
			}
		}
		i = max(j, i+1)
	}
	return string(b)
}

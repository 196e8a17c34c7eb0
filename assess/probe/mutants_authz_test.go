package probe_test

import (
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bankguard/bankguard/assess"
	"github.com/bankguard/bankguard/assess/internal/weak"
	"github.com/bankguard/bankguard/problem"
	"github.com/bankguard/bankguard/profile"
)

// authzA1Path is the demo's endpoints.a1_read path, which the rows below
// use as a stand-in for the endpoints the demo's profile does not name.
const authzA1Path = "/v1/products"

// authzMutants are the mutants of the checks in authz.go and traffic.go.
var authzMutants = []mutant{
	// The demo has no per-app API grants, so its profile names no not_granted endpoint.
	{check: "authz.not-granted", onDemo: assess.NotTested, name: "an API the app may call stands as not granted",
		profile: authzNotGranted},
	{check: "authz.not-granted", onDemo: assess.NotTested, name: "the front refuses the API as not granted", fix: true,
		profile: authzNotGranted, mutation: weak.Mutation{Handle: authzRefuse(authzA1Path, problem.APINotGranted)}},

	// The sandbox bank answers another user's account as not found.
	{check: "authz.other-user-resource", onDemo: assess.Pass, name: "another user's resource is served",
		mutation: weak.Mutation{Response: weak.AcceptRefusals("resource_forbidden")}},
	{check: "authz.other-user-resource", onDemo: assess.Pass, name: "the refusal carries the resource",
		mutation: weak.Mutation{Response: authzRefusalWithData}},
	{check: "authz.other-user-resource", onDemo: assess.Pass, name: "a 404 without data is a refusal too", fix: true,
		mutation: weak.Mutation{Response: authzNotFoundForbidden}},

	{check: "authz.suspended-app", onDemo: assess.Pass, name: "a suspended app is served",
		mutation: weak.Mutation{Response: weak.AcceptRefusals("app_suspended")}},

	// The demo has no app that exited.
	{check: "authz.exited-app", onDemo: assess.NotTested, name: "an app that exited keeps its credentials",
		profile: authzStatus("demo-a2-sm2", "exited")},
	{check: "authz.exited-app", onDemo: assess.NotTested, name: "an app that exited is refused", fix: true,
		profile: authzStatus("demo-suspended", "exited")},

	// The demo limits GET /v1/products/WMP001 (its profile's rate_limited); these rows point the
	// check at a1_read, which has no limit, and limit it in the front instead.
	{check: "traffic.rate-limit", onDemo: assess.Pass, name: "no rate limit",
		profile: authzRateLimited},
	{check: "traffic.rate-limit", onDemo: assess.Pass, name: "the front limits 5 per 2 s", fix: true,
		profile: authzRateLimited, mutation: weak.Mutation{Handle: (&authzLimiter{limit: 5, retryAfter: true, problem: true}).handle}},
	{check: "traffic.rate-limit", onDemo: assess.Pass, name: "the front limits 5 per 2 s, its window turning within the first burst", fix: true,
		profile: authzRateLimited, mutation: weak.Mutation{Handle: (&authzLimiter{limit: 5, first: 8, retryAfter: true, problem: true}).handle}},
	{check: "traffic.rate-limit", onDemo: assess.Pass, name: "429 without Retry-After",
		profile: authzRateLimited, mutation: weak.Mutation{Handle: (&authzLimiter{limit: 5, problem: true}).handle}},
	{check: "traffic.rate-limit", onDemo: assess.Pass, name: "429 without a problem body",
		profile: authzRateLimited, mutation: weak.Mutation{Handle: (&authzLimiter{limit: 5, retryAfter: true}).handle}},
	{check: "traffic.rate-limit", onDemo: assess.Pass, name: "the front limits 10 per 2 s, twice the profile's",
		profile: authzRateLimited, mutation: weak.Mutation{Handle: (&authzLimiter{limit: 10, retryAfter: true, problem: true}).handle}},
}

// authzNotGranted names the demo's a1_read, which its app may call, as the
// API it is not granted.
func authzNotGranted(p *profile.Profile) {
	ep := *p.Endpoints.A1Read
	p.Endpoints.NotGranted = &ep
}

// authzRateLimited names the demo's a1_read as limited to 5 calls per 2 s.
func authzRateLimited(p *profile.Profile) {
	p.Endpoints.RateLimited = &profile.RateLimited{Endpoint: *p.Endpoints.A1Read, Limit: 5, Window: "2s"}
}

// authzStatus gives an app of the profile a status.
func authzStatus(appID, status string) func(*profile.Profile) {
	return func(p *profile.Profile) {
		if a, ok := p.App(appID); ok {
			a.Status = status
		}
	}
}

// authzRefuse answers requests for path with the code's refusal.
func authzRefuse(path string, code problem.Code) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != path {
			return false
		}
		problem.Write(w, "", problem.New(code, "refused by the test front"))
		return true
	}
}

// authzRefusalWithData keeps the 403 but gives it a balance for a body.
func authzRefusalWithData(resp *http.Response) error {
	if resp.StatusCode != http.StatusForbidden {
		return nil
	}
	return authzReplace(resp, http.StatusForbidden, "application/json", `{"account_id":"AC0000000000","balance":"1234.56"}`)
}

// authzNotFoundForbidden turns the gateway's 403 into a backend-style 404
// not_found, which refuses just as well.
func authzNotFoundForbidden(resp *http.Response) error {
	if resp.StatusCode != http.StatusForbidden {
		return nil
	}
	return authzReplace(resp, http.StatusNotFound, "application/problem+json",
		string(problem.Body(problem.New(problem.NotFound, "no such account"), "")))
}

func authzReplace(resp *http.Response, status int, contentType, body string) error {
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	resp.StatusCode, resp.Status = status, strconv.Itoa(status)+" "+http.StatusText(status)
	resp.Header.Set("Content-Type", contentType)
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	resp.ContentLength = int64(len(body))
	resp.Body = io.NopCloser(strings.NewReader(body))
	return nil
}

// authzLimiter is a rate limiter in the front for the demo's a1_read: a
// fixed window of 2 s that starts with its first request.
type authzLimiter struct {
	limit int
	// first, if set, is the first window's quota instead of limit: what a
	// caller sees when a window turns within its burst.
	first int
	// retryAfter adds Retry-After to the 429; problem makes its body
	// problem+json (else plain text).
	retryAfter, problem bool

	mu      sync.Mutex
	start   time.Time
	count   int
	windows int
}

const authzWindow = 2 * time.Second

func (l *authzLimiter) handle(w http.ResponseWriter, r *http.Request) bool {
	if r.URL.Path != authzA1Path {
		return false
	}
	l.mu.Lock()
	now := time.Now()
	if l.start.IsZero() || now.Sub(l.start) >= authzWindow {
		l.start, l.count = now, 0
		l.windows++
	}
	l.count++
	quota := l.limit
	if l.windows == 1 && l.first > 0 {
		quota = l.first
	}
	over, reset := l.count > quota, l.start.Add(authzWindow).Sub(now)
	l.mu.Unlock()
	if !over {
		return false
	}
	if l.retryAfter {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(reset.Seconds()))))
	}
	if !l.problem {
		http.Error(w, "too many requests", http.StatusTooManyRequests)
		return true
	}
	problem.Write(w, "", problem.New(problem.RateLimited, "too many requests"))
	return true
}

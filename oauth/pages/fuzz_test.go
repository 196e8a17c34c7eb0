package pages

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bankguard/bankguard/oauth"
)

// FuzzAuthorize feeds arbitrary queries to the authorization endpoint: it
// must never redirect anywhere but a registered redirect URI or the bank's
// own sign-in page, and never fail badly.
func FuzzAuthorize(f *testing.F) {
	f.Add(authzQuery("accounts transfers").Encode())
	f.Add("client_id=app-1&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&response_type=token")
	f.Add("client_id=app-1&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&redirect_uri=https%3A%2F%2Fevil.example")
	f.Add("client_id=app-1&redirect_uri=https://app.example/cb2?tenant=7&scope=x")
	f.Add("%zz")
	apps := &fakeApps{apps: map[string]*oauth.AppInfo{}}
	registeredURIs := []string{appRedirect, "https://app.example/cb2?tenant=7"}
	apps.set(oauth.AppInfo{ID: "app-1", Name: "App", RedirectURIs: registeredURIs, AgreementEnd: agreement})
	users, _ := NewMemUsers()
	h, err := New(Config{MaxSessions: 1 << 20}, users, MemAccounts{}, apps, &fakeConsents{}, nil, func() time.Time { return start })
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, query string) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "https://bank.example/oauth/authorize", nil)
		req.URL.RawQuery = query
		h.ServeHTTP(rec, req)
		loc := rec.Header().Get("Location")
		switch rec.Code {
		case http.StatusFound:
			ok := false
			for _, u := range registeredURIs {
				ok = ok || strings.HasPrefix(loc, u+"?") || strings.HasPrefix(loc, u+"&")
			}
			if !ok {
				t.Fatalf("redirected to %q", loc)
			}
		case http.StatusSeeOther:
			if loc != pathLogin {
				t.Fatalf("303 to %q", loc)
			}
		case http.StatusBadRequest:
			if loc != "" {
				t.Fatalf("400 with Location %q", loc)
			}
		default:
			t.Fatalf("status %d", rec.Code)
		}
	})
}

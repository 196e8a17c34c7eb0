package oauth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/bankguard/bankguard/oauth"
)

// FuzzToken feeds the token endpoint arbitrary forms: it must answer every
// one with a JSON body, an RFC 6749 §5.2 error code and a status to match,
// and never issue a token for a code it did not see redeemed properly.
func FuzzToken(f *testing.F) {
	h := newHarness(f)
	c, err := h.srv.CreateConsent(context.Background(), oauth.Consent{AppID: appA, UserID: alice,
		Scopes: []string{"accounts"}, Accounts: []string{"a"}, Validity: oauth.ValidityAgreement, SessionID: "s"})
	if err != nil {
		f.Fatal(err)
	}
	code, err := h.srv.IssueCode(context.Background(), oauth.CodeRequest{AppID: appA, RedirectURI: redirectA,
		CodeChallenge: challenge(verifier), CodeChallengeMethod: "S256", ConsentID: c.ID, UserID: alice,
		ACR: oauth.ACRTwoFactor})
	if err != nil {
		f.Fatal(err)
	}
	f.Add("grant_type=authorization_code&code=" + code + "&redirect_uri=" + url.QueryEscape(redirectA) + "&code_verifier=" + verifier + "x")
	f.Add("grant_type=authorization_code&code=" + code + "&redirect_uri=" + url.QueryEscape(redirectA))
	f.Add("grant_type=refresh_token&refresh_token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&scope=accounts%20x")
	f.Add("grant_type=refresh_token&grant_type=authorization_code")
	f.Add("grant_type=password&username=u&password=p")
	f.Add("grant_type=&code=%00%ff&redirect_uri=javascript:alert(1)")
	f.Add("")
	allowed := map[string]int{
		"invalid_request": http.StatusBadRequest, "invalid_grant": http.StatusBadRequest,
		"unsupported_grant_type": http.StatusBadRequest, "invalid_scope": http.StatusBadRequest,
		"invalid_client": http.StatusUnauthorized,
	}
	f.Fuzz(func(t *testing.T, raw string) {
		form, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		status, body := h.srv.Token(context.Background(), appA, thumbA, form)
		var b struct {
			AccessToken string `json:"access_token"`
			Error       string `json:"error"`
		}
		if err := json.Unmarshal(body, &b); err != nil {
			t.Fatalf("body %q is not JSON: %v", body, err)
		}
		if status == http.StatusOK {
			// Only the real code with the real verifier and redirect.
			if form.Get("code") != code || form.Get("code_verifier") != verifier || form.Get("redirect_uri") != redirectA || b.AccessToken == "" {
				t.Fatalf("issued a token for %q", raw)
			}
			return
		}
		if want, ok := allowed[b.Error]; !ok || want != status || b.AccessToken != "" {
			t.Fatalf("Token(%q) = %d %s", raw, status, body)
		}
	})
}

package e2e

// Helpers of the user-authorization refusal tests (authz_test.go,
// authz_signin_test.go). Every helper takes the calling (sub)test's t, so
// that a failure stops the subtest that hit it, and none prints a password,
// TOTP code, authorization code, verifier or token: failure messages carry
// status codes, refusal codes and the flow's own secret-free errors only.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/bankguard/bankguard/demo"
	"github.com/bankguard/bankguard/oauth/authflow"
	bank "github.com/bankguard/bankguard/sandbox"
	"github.com/bankguard/bankguard/sdk"
)

// The demo apps the tests act as: demo-a2-sm2 is an A2 app without a
// registered client certificate, demo-a2-ecdsa one with it.
const (
	authzAppSM2   = "demo-a2-sm2"
	authzAppECDSA = "demo-a2-ecdsa"
)

// authzReadOnly is a one-factor authorization of the account scope: no TOTP
// code is used, so any number of them may run for one user in a row.
var authzReadOnly = authflow.Request{Scopes: []string{"accounts"}, SkipSecondFactor: true}

// authzFunds is a two-factor authorization with the fund scope: it uses the
// user's TOTP code of the current 30-second step, so a test runs at most one
// per user and demo.
var authzFunds = authflow.Request{Scopes: []string{"accounts", "transfers"}, AcknowledgeRisk: true}

// authzFlow is the authorization flow of the demo user u for appID, with
// the app's registered redirect URI.
func authzFlow(t *testing.T, s *sandbox, appID string, u bank.User) *authflow.Flow {
	t.Helper()
	f, err := authflow.FromProfile(context.Background(), s.profile, appID, authzUsername(u), demo.RedirectURI(appID))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// authzUsername is the demo's sign-in name of a sandbox customer.
func authzUsername(u bank.User) string { return strings.ToLower(u.ID) }

// authzRun authorizes req through the bank's pages and exchanges the code.
func authzRun(t *testing.T, f *authflow.Flow, req authflow.Request) *authflow.Tokens {
	t.Helper()
	tok, err := f.Run(context.Background(), req)
	if err != nil {
		t.Fatalf("authorizing %s for %v: %v", f.AppID, req.Scopes, err)
	}
	return tok
}

// authzAuthorize runs the browser's part of the flow only.
func authzAuthorize(t *testing.T, f *authflow.Flow, req authflow.Request) *authflow.Grant {
	t.Helper()
	g, err := f.Authorize(context.Background(), req)
	if err != nil {
		t.Fatalf("authorizing %s for %v: %v", f.AppID, req.Scopes, err)
	}
	return g
}

// authzEndpointRefusal asserts that err is the token or revocation
// endpoint's refusal with status and code.
func authzEndpointRefusal(t *testing.T, err error, status int, code string) {
	t.Helper()
	var ee *authflow.EndpointError
	if !errors.As(err, &ee) {
		t.Fatalf("want the endpoint's refusal %d %s, got %v", status, code, err)
	}
	if ee.Status != status || ee.Code != code {
		t.Fatalf("refusal %d %s (%s), want %d %s", ee.Status, ee.Code, ee.Description, status, code)
	}
}

// authzPageRefusal asserts that err is a refusal shown by the bank's page
// of step, with status and code.
func authzPageRefusal(t *testing.T, err error, step string, status int, code string) {
	t.Helper()
	var pe *authflow.PageError
	if !errors.As(err, &pe) {
		t.Fatalf("want the %s page's refusal %d %s, got %v", step, status, code, err)
	}
	if pe.Step != step || pe.Status != status || pe.Code != code {
		t.Fatalf("refusal at %s: %d %s, want %s: %d %s", pe.Step, pe.Status, pe.Code, step, status, code)
	}
}

// authzCall sends a signed request as appID carrying token as the user's
// bearer token ("" for none) and headers, and checks what every response
// must have.
func authzCall(t *testing.T, s *sandbox, appID, token, method, path string, body []byte, headers ...string) *sdk.Response {
	t.Helper()
	ctx := context.Background()
	c, err := s.profile.Client(ctx, appID)
	if err != nil {
		t.Fatal(err)
	}
	req, err := sdk.NewRequest(ctx, method, s.profile.URL(path), body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s as %s: %v", method, path, appID, err)
	}
	checkCommon(t, resp.Response, resp.Body)
	return resp
}

// authzBalance returns an account's balance in fen, read through the
// gateway with token.
func authzBalance(t *testing.T, s *sandbox, appID, token, accountID string) int64 {
	t.Helper()
	resp := authzCall(t, s, appID, token, "GET", "/v1/accounts/"+accountID+"/balance", nil)
	expect(t, resp, 200, "")
	var b struct {
		Balance string `json:"balance"`
	}
	if err := json.Unmarshal(resp.Body, &b); err != nil {
		t.Fatalf("balance: %v", err)
	}
	return authzFen(t, b.Balance)
}

// authzFen parses a yuan amount ("1234.56") into fen.
func authzFen(t *testing.T, amount string) int64 {
	t.Helper()
	yuan, fen, ok := strings.Cut(amount, ".")
	if !ok || len(fen) != 2 {
		t.Fatalf("amount %q is not yuan with two decimals", amount)
	}
	n, err := strconv.ParseInt(yuan+fen, 10, 64)
	if err != nil {
		t.Fatalf("amount %q: %v", amount, err)
	}
	return n
}

// authzTransferBody is a transfer of amount from account from to the payee's
// first account, with the payer's payment password sealed afresh.
func authzTransferBody(t *testing.T, s *sandbox, payer bank.User, from string, payee bank.User, amount string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]string{"from_account_id": from, "to_card_number": payee.Accounts[0].CardNumber,
		"to_name": payee.Name, "amount": amount, "currency": "CNY", "memo": "authz e2e",
		"payment_password": s.seal(t, payer.PaymentPassword)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// authzPKCE returns a fresh PKCE verifier and its S256 challenge (RFC 7636).
func authzPKCE() (verifier, challenge string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// authzTransferable returns the customer's accounts money can leave:
// active, and not credit cards.
func authzTransferable(u bank.User) []bank.Account {
	var out []bank.Account
	for _, a := range u.Accounts {
		if a.Status == "active" && a.Type != "credit" {
			out = append(out, a)
		}
	}
	return out
}

// authzUser returns a customer other than those in skip with at least
// minTransferable accounts money can leave; it fails the test if the demo
// has none.
func authzUser(t *testing.T, users []bank.User, minTransferable int, skip ...string) bank.User {
	t.Helper()
	for _, u := range users {
		if !slices.Contains(skip, u.ID) && len(authzTransferable(u)) >= minTransferable {
			return u
		}
	}
	t.Fatalf("the demo has no further customer with %d transferable accounts", minTransferable)
	return bank.User{}
}

// authzPassword reads the demo user's password from the profile's file.
func authzPassword(t *testing.T, s *sandbox, u bank.User) string {
	t.Helper()
	pu, ok := s.profile.User(authzUsername(u))
	if !ok {
		t.Fatalf("the profile has no user %s", u.ID)
	}
	b, err := os.ReadFile(s.profile.Path(pu.PasswordFile))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimRight(string(b), "\r\n")
}

// authzNoSecretInLogs fails if the node's logs hold any of secrets (tokens,
// passwords); the message names only which argument leaked.
func authzNoSecretInLogs(t *testing.T, s *sandbox, secrets ...string) {
	t.Helper()
	logs := s.logs.String()
	for i, sec := range secrets {
		if sec != "" && strings.Contains(logs, sec) {
			t.Errorf("the logs hold secret #%d of this test", i)
		}
	}
}

// authzBrowser is a plain net/http browser of the bank's pages: a cookie
// jar, the demo CA, no client certificate, and redirects returned to the
// test instead of followed.
type authzBrowser struct {
	s *sandbox
	c *http.Client
}

// authzPageResp is one answer of the bank's pages.
type authzPageResp struct {
	status   int
	location string
	code     string // <main data-error>
	csrf     string // the page's form token
}

var (
	authzMainRE = regexp.MustCompile(`<main(?:\s+data-error="([^"]*)")?\s*>`)
	authzCSRFRE = regexp.MustCompile(`<input type="hidden" name="csrf" value="([^"]*)">`)
)

func authzNewBrowser(t *testing.T, s *sandbox) *authzBrowser {
	t.Helper()
	hc, err := s.profile.HTTPClient(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := *hc
	c.Jar, _ = cookiejar.New(nil)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &authzBrowser{s: s, c: &c}
}

// authzState is the state of the authorization requests the browser sends.
const authzState = "authz-e2e"

// authzAuthorizeQuery is a valid authorization request of appID for scope,
// with redirectURI as the app's return address.
func authzAuthorizeQuery(appID, redirectURI, scope string) url.Values {
	_, challenge := authzPKCE()
	return url.Values{"response_type": {"code"}, "client_id": {appID}, "redirect_uri": {redirectURI},
		"scope": {scope}, "state": {authzState}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
}

// authzAuthorizeURL is the URL of the authorization request q.
func authzAuthorizeURL(s *sandbox, q url.Values) string {
	return s.profile.URL("/oauth/authorize?" + q.Encode())
}

func (b *authzBrowser) get(t *testing.T, u string) authzPageResp {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b.do(t, req)
}

// post submits a form; its values are never printed.
func (b *authzBrowser) post(t *testing.T, path string, form url.Values) authzPageResp {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.s.profile.URL(path), strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(t, req)
}

func (b *authzBrowser) do(t *testing.T, req *http.Request) authzPageResp {
	t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	p := authzPageResp{status: resp.StatusCode, location: resp.Header.Get("Location")}
	if m := authzMainRE.FindSubmatch(body); m != nil {
		p.code = string(m[1])
	}
	if m := authzCSRFRE.FindSubmatch(body); m != nil {
		p.csrf = string(m[1])
	}
	return p
}

// signInPage starts an authorization of appID for the account scope and
// follows the bank to its sign-in form, which it returns.
func (b *authzBrowser) signInPage(t *testing.T, appID string) authzPageResp {
	t.Helper()
	p := b.get(t, authzAuthorizeURL(b.s, authzAuthorizeQuery(appID, demo.RedirectURI(appID), "accounts")))
	if p.status != http.StatusSeeOther || p.location != "/oauth/login" {
		t.Fatalf("authorization request: %d to %q, want 303 to the sign-in page", p.status, p.location)
	}
	p = b.get(t, b.s.profile.URL(p.location))
	if p.status != http.StatusOK || p.code != "" || p.csrf == "" {
		t.Fatalf("sign-in page: %d, data-error %q, form token present %t", p.status, p.code, p.csrf != "")
	}
	return p
}

// authzExpectPage asserts a page's status and data-error code, and that it
// sends the browser nowhere.
func authzExpectPage(t *testing.T, p authzPageResp, status int, code string) {
	t.Helper()
	if p.status != status || p.code != code {
		t.Fatalf("page %d data-error %q, want %d %q", p.status, p.code, status, code)
	}
	if p.location != "" {
		t.Fatalf("the refusal page redirects (to %q)", p.location)
	}
}

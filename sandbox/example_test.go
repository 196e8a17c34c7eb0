package sandbox_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/bankguard/bankguard/sandbox"
)

// The bank is an http.Handler; the gateway proxies to it and names the user it authorized in
// Bankguard-User.
func Example() {
	bank := sandbox.New(sandbox.Options{Seed: 1})
	user := bank.Users()[1]

	req := httptest.NewRequest(http.MethodGet, "/v1/accounts/"+user.Accounts[0].ID+"/balance", nil)
	req.Header.Set("Bankguard-User", user.ID)
	rr := httptest.NewRecorder()
	bank.ServeHTTP(rr, req)
	fmt.Println(rr.Code, rr.Header().Get("Content-Type"))

	// Another user's account is as absent as one that does not exist.
	req.Header.Set("Bankguard-User", bank.Users()[0].ID)
	rr = httptest.NewRecorder()
	bank.ServeHTTP(rr, req)
	fmt.Println(rr.Code, rr.Header().Get("Content-Type"))
	// Output:
	// 200 application/json; charset=utf-8
	// 404 application/problem+json; charset=utf-8
}

package sandbox_test

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/bankguard/bankguard/fieldcrypt"
	"github.com/bankguard/bankguard/sandbox"
	"github.com/emmansun/gmsm/sm2"
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

// A transfer carries the customer's payment password sealed to the bank's SM2 encryption key:
// the application seals it, the gateway passes it on sealed, and the bank opens and checks it.
func Example_transfer() {
	bankKey, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	bank := sandbox.New(sandbox.Options{Seed: 1, PaymentKey: bankKey, PaymentKeyID: "bank-enc-2026"})
	user := bank.Users()[0]

	transfer := func(password string) int {
		sealed, err := fieldcrypt.SealValue([]byte(password), &bankKey.PublicKey, "bank-enc-2026")
		if err != nil {
			panic(err)
		}
		body, _ := json.Marshal(map[string]string{
			"from_account_id": user.Accounts[0].ID, "to_card_number": "6218881234567890125",
			"to_name": "李四", "amount": "100.00", "payment_password": sealed,
		})
		req := httptest.NewRequest(http.MethodPost, "/v1/transfers", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Bankguard-User", user.ID)
		rr := httptest.NewRecorder()
		bank.ServeHTTP(rr, req)
		return rr.Code
	}
	fmt.Println(transfer(user.PaymentPassword))
	fmt.Println(transfer("000000")) // payment_password_incorrect
	// Output:
	// 201
	// 422
}

package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// externalCard is a card of another demo bank with a valid Luhn digit.
const externalCard = "6218881234567890125"

// transferBody is a transfer request carrying password, a sealed payment password.
func transferBody(from, to, amount, password string) string {
	return fmt.Sprintf(`{"from_account_id":%q,"to_card_number":%q,"to_name":"李四","amount":%q,"currency":"CNY","memo":"房租","payment_password":%q}`,
		from, to, amount, password)
}

func TestTransferMovesMoney(t *testing.T) {
	b := newTestBank(t)
	u := b.Users()[0]
	from := u.Accounts[0]
	before, _ := parseAmount(from.Balance)

	rr := call(t, b, "POST", "/v1/transfers", u.ID, transferBody(from.ID, externalCard, "1234.5", sealFor(t, b, u.ID)))
	if rr.Code != http.StatusCreated {
		t.Fatalf("status %d: %s", rr.Code, rr.Body)
	}
	var tr transferView
	decode(t, rr, &tr)
	if tr.Status != "completed" || tr.Amount != "1234.50" || tr.FromAccountID != from.ID || tr.ToCardNumber != externalCard ||
		tr.Memo != "房租" || tr.BalanceAfter != (before-1234_50).String() || tr.CreatedAt != "2026-11-26T14:00:00+08:00" {
		t.Fatalf("transfer %+v", tr)
	}
	var bal balanceView
	decode(t, call(t, b, "GET", "/v1/accounts/"+from.ID+"/balance", u.ID, ""), &bal)
	if bal.Balance != tr.BalanceAfter || bal.AvailableBalance != tr.BalanceAfter {
		t.Fatalf("balance %+v after transfer %+v", bal, tr)
	}
	var list struct{ Transactions []txnView }
	decode(t, call(t, b, "GET", "/v1/accounts/"+from.ID+"/transactions?page_size=1", u.ID, ""), &list)
	if got := list.Transactions[0]; got.Direction != directionDebit || got.Amount != "1234.50" ||
		got.CounterpartyAccount != externalCard || got.Channel != channelOpenAPI || got.BalanceAfter != tr.BalanceAfter {
		t.Fatalf("newest transaction %+v", got)
	}
	var recon struct{ Entries []entryView }
	decode(t, call(t, b, "GET", "/v1/reconciliation/2026-11-26", "", ""), &recon)
	found := false
	for _, e := range recon.Entries {
		found = found || e.SerialNumber == tr.ID && e.AppID == "APP0000000001" && e.BusinessType == bizInterbank
	}
	if !found {
		t.Fatal("the transfer is not in today's reconciliation")
	}
}

func TestTransferWithinTheBankCreditsThePayee(t *testing.T) {
	b := newTestBank(t)
	users := b.Users()
	payer, payee := users[0], users[1]
	before, _ := parseAmount(payee.Accounts[0].Balance)
	rr := call(t, b, "POST", "/v1/transfers", payer.ID, transferBody(payer.Accounts[0].ID, payee.Accounts[0].CardNumber, "88.00", sealFor(t, b, payer.ID)))
	if rr.Code != http.StatusCreated {
		t.Fatalf("status %d: %s", rr.Code, rr.Body)
	}
	var bal balanceView
	decode(t, call(t, b, "GET", "/v1/accounts/"+payee.Accounts[0].ID+"/balance", payee.ID, ""), &bal)
	if bal.Balance != (before + 88_00).String() {
		t.Fatalf("payee balance %s, want %s", bal.Balance, before+88_00)
	}
}

func TestTransferRefusals(t *testing.T) {
	b := newTestBank(t)
	users := b.Users()
	u := users[0]
	debit := u.Accounts[0]
	avail, _ := parseAmount(debit.AvailableBalance)
	var credit, frozen Account
	var frozenOwner string
	for _, x := range users {
		for _, a := range x.Accounts {
			if a.Type == typeCredit && x.ID == u.ID {
				credit = a
			}
			if a.Status == statusFrozen {
				frozen, frozenOwner = a, x.ID
			}
		}
	}
	pw := map[string]string{}
	for _, x := range users {
		pw[x.ID] = sealFor(t, b, x.ID)
	}
	body := func(from, to, amount string) string { return transferBody(from, to, amount, pw[u.ID]) }
	ok := func(field, value string) string {
		var m map[string]string
		_ = json.Unmarshal([]byte(body(debit.ID, externalCard, "1.00")), &m)
		if value == "<delete>" {
			delete(m, field)
		} else {
			m[field] = value
		}
		out, _ := json.Marshal(m)
		return string(out)
	}
	for _, tc := range []struct {
		name, user, body string
		status           int
		code, field      string
	}{
		{"insufficient funds", u.ID, body(debit.ID, externalCard, (avail + 1).String()), 422, codeInsufficientFunds, ""},
		{"luhn", u.ID, body(debit.ID, "6218881234567890126", "1.00"), 422, codeRequestInvalid, "to_card_number"},
		{"zero amount", u.ID, body(debit.ID, externalCard, "0.00"), 422, codeRequestInvalid, "amount"},
		{"to itself", u.ID, body(debit.ID, debit.CardNumber, "1.00"), 422, codeRequestInvalid, "to_card_number"},
		{"from a credit card", u.ID, body(credit.ID, externalCard, "1.00"), 422, codeRequestInvalid, "from_account_id"},
		{"frozen", frozenOwner, transferBody(frozen.ID, externalCard, "1.00", pw[frozenOwner]), 422, codeAccountFrozen, ""},
		{"another user's account", users[1].ID, transferBody(debit.ID, externalCard, "1.00", pw[users[1].ID]), 404, codeNotFound, ""},
		{"nonexistent account", u.ID, body("AC0000000000", externalCard, "1.00"), 404, codeNotFound, ""},
		{"missing amount", u.ID, ok("amount", "<delete>"), 400, codeRequestInvalid, "amount"},
		{"missing to_name", u.ID, ok("to_name", "<delete>"), 400, codeRequestInvalid, "to_name"},
		{"missing payment_password", u.ID, ok("payment_password", "<delete>"), 400, codeRequestInvalid, "payment_password"},
		{"long payment_password", u.ID, ok("payment_password", strings.Repeat("A", maxSealedPassword+1)), 400, codeRequestInvalid, "payment_password"},
		{"empty to_name", u.ID, ok("to_name", ""), 400, codeRequestInvalid, "to_name"},
		{"long to_name", u.ID, ok("to_name", strings.Repeat("名", 65)), 400, codeRequestInvalid, "to_name"},
		{"control in to_name", u.ID, ok("to_name", "李\x00四"), 400, codeRequestInvalid, "to_name"},
		{"long memo", u.ID, ok("memo", strings.Repeat("备", 141)), 400, codeRequestInvalid, "memo"},
		{"three decimals", u.ID, ok("amount", "1.001"), 400, codeRequestInvalid, "amount"},
		{"negative", u.ID, ok("amount", "-1.00"), 400, codeRequestInvalid, "amount"},
		{"currency", u.ID, ok("currency", "USD"), 400, codeRequestInvalid, "currency"},
		{"short card", u.ID, ok("to_card_number", "621888123456"), 400, codeRequestInvalid, "to_card_number"},
		{"card with letters", u.ID, ok("to_card_number", "62188812345678901a"), 400, codeRequestInvalid, "to_card_number"},
		{"bad account id", u.ID, ok("from_account_id", "AC-1"), 400, codeRequestInvalid, "from_account_id"},
		{"unknown member", u.ID, `{"from_account_id":"` + debit.ID + `","to_card_number":"` + externalCard + `","to_name":"李四","amount":"1.00","fee":"0"}`, 400, codeRequestInvalid, "fee"},
		{"duplicate member", u.ID, `{"amount":"1.00","amount":"2.00"}`, 400, codeRequestInvalid, "amount"},
		{"number amount", u.ID, `{"from_account_id":"` + debit.ID + `","to_card_number":"` + externalCard + `","to_name":"李四","amount":1}`, 400, codeRequestInvalid, "amount"},
		{"not an object", u.ID, `["x"]`, 400, codeRequestInvalid, "body"},
		{"trailing data", u.ID, body(debit.ID, externalCard, "1.00") + `{}`, 400, codeRequestInvalid, "body"},
		{"truncated", u.ID, `{"amount":"1.00"`, 400, codeRequestInvalid, "body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := wantProblem(t, call(t, b, "POST", "/v1/transfers", tc.user, tc.body), tc.status, tc.code)
			if tc.field != "" && !strings.HasPrefix(p.Detail, tc.field+":") {
				t.Fatalf("detail %q does not name %s", p.Detail, tc.field)
			}
		})
	}
	if got := b.Users()[0].Accounts[0].Balance; got != debit.Balance {
		t.Fatalf("refused transfers moved the balance from %s to %s", debit.Balance, got)
	}
}

func TestTransferMediaTypeAndSize(t *testing.T) {
	b := newTestBank(t)
	req := func(ct, body string) *http.Request {
		r, _ := http.NewRequest("POST", "/v1/transfers", strings.NewReader(body))
		r.Header.Set("Content-Type", ct)
		r.Header.Set(headerRequestID, testRequestID)
		return r
	}
	for _, tc := range []struct {
		name, ct, body string
		status         int
		code           string
	}{
		{"form", "application/x-www-form-urlencoded", "amount=1", 415, codeUnsupportedMedia},
		{"no content type", "", "{}", 415, codeUnsupportedMedia},
		{"too large", "application/json", `{"memo":"` + strings.Repeat("a", maxBodyBytes) + `"}`, 413, codeBodyTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rr := httptestRecorder(b, req(tc.ct, tc.body))
			wantProblem(t, rr, tc.status, tc.code)
		})
	}
}

func TestConcurrentTransfersNeverOverdraw(t *testing.T) {
	b := newTestBank(t)
	u := b.Users()[0]
	from := u.Accounts[0]
	balance, _ := parseAmount(from.Balance)
	password := sealFor(t, b, u.ID)
	const workers = 64
	amount := balance/workers*2 + 1 // about half the transfers can succeed
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rr := call(t, b, "POST", "/v1/transfers", u.ID, transferBody(from.ID, externalCard, amount.String(), password))
			if rr.Code == http.StatusUnprocessableEntity && !strings.Contains(rr.Body.String(), codeInsufficientFunds) {
				t.Errorf("unexpected refusal %s", rr.Body)
			}
			mu.Lock()
			codes[rr.Code]++
			mu.Unlock()
		}()
	}
	// Readers race the writers.
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			call(t, b, "GET", "/v1/accounts/"+from.ID+"/transactions?page_size=100", u.ID, "")
			call(t, b, "GET", "/v1/reconciliation/2026-11-26", "", "")
		}()
	}
	wg.Wait()
	succeeded := int64(balance / amount)
	if int64(codes[http.StatusCreated]) != succeeded || codes[http.StatusCreated]+codes[http.StatusUnprocessableEntity] != workers {
		t.Fatalf("outcomes %v, want %d successes of %d", codes, succeeded, workers)
	}
	after, _ := parseAmount(b.Users()[0].Accounts[0].Balance)
	if after < 0 || after != balance-fen(succeeded)*amount {
		t.Fatalf("balance %s after %d transfers of %s from %s", after, succeeded, amount, balance)
	}
}

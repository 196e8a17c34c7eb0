package sandbox

import (
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// The read APIs. Every handler validates its parameters before it looks anything up, so the
// answer to a malformed request never depends on what the bank holds.

const detailAccountNotFound = "account not found"

// listProducts answers GET /v1/products (A1, public product shelf).
func (b *Bank) listProducts(w http.ResponseWriter, r *http.Request, _ []string) {
	q, bad := query(r, "type", "risk_level", "page_size", "page_token")
	if bad != nil {
		writeProblem(w, r, http.StatusBadRequest, codeRequestInvalid, bad.detail)
		return
	}
	typ, risk := q.Get("type"), q.Get("risk_level")
	switch {
	case typ != "" && typ != "wealth_management" && typ != "time_deposit" && typ != "fund":
		bad = invalid("type", "must be one of wealth_management, time_deposit, fund")
	case risk != "" && (len(risk) != 2 || risk[0] != 'R' || risk[1] < '1' || risk[1] > '5'):
		bad = invalid("risk_level", "must be one of R1, R2, R3, R4, R5")
	}
	size, bad2 := pageSize(q)
	after, bad3 := pageKey(q)
	if bad = firstBad(bad, bad2, bad3); bad != nil {
		writeProblem(w, r, http.StatusBadRequest, codeRequestInvalid, bad.detail)
		return
	}
	page := []productView{}
	next := ""
	for i := range b.products { // sorted by id
		p := &b.products[i]
		if p.id <= after || typ != "" && p.kind != typ || risk != "" && p.risk != risk {
			continue
		}
		if len(page) == size {
			next = pageToken(page[len(page)-1].ID)
			break
		}
		page = append(page, viewProduct(p))
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"products": page, "next_page_token": next})
}

// getProduct answers GET /v1/products/{product_id} (A1).
func (b *Bank) getProduct(w http.ResponseWriter, r *http.Request, params []string) {
	if bad := noQuery(r, "product_id", params[0]); bad != nil {
		writeProblem(w, r, http.StatusBadRequest, codeRequestInvalid, bad.detail)
		return
	}
	p, ok := b.byProd[params[0]]
	if !ok {
		writeProblem(w, r, http.StatusNotFound, codeNotFound, "product not found")
		return
	}
	writeJSON(w, r, http.StatusOK, viewProduct(p))
}

// listAccounts answers GET /v1/accounts (A2): the authorized user's accounts, only those the
// user shared with the application when the gateway names them (Bankguard-Accounts).
func (b *Bank) listAccounts(w http.ResponseWriter, r *http.Request, _ []string) {
	if _, bad := query(r); bad != nil {
		writeProblem(w, r, http.StatusBadRequest, codeRequestInvalid, bad.detail)
		return
	}
	shared, named := sharedAccounts(r)
	b.mu.RLock()
	list := []accountView{}
	if c := b.customerOf(r); c != nil {
		for _, a := range c.accounts {
			if !named || shared[a.id] {
				list = append(list, viewAccount(a))
			}
		}
	}
	b.mu.RUnlock()
	writeJSON(w, r, http.StatusOK, map[string]any{"accounts": list})
}

// getBalance answers GET /v1/accounts/{account_id}/balance (A2).
func (b *Bank) getBalance(w http.ResponseWriter, r *http.Request, params []string) {
	if bad := noQuery(r, "account_id", params[0]); bad != nil {
		writeProblem(w, r, http.StatusBadRequest, codeRequestInvalid, bad.detail)
		return
	}
	b.mu.RLock()
	a, ok := b.ownedAccount(r, b.customerOf(r), params[0])
	var v balanceView
	if ok {
		v = balanceView{
			AccountID: a.id, Currency: currencyCNY, Balance: a.balance.String(),
			AvailableBalance: a.available().String(), Status: a.status, AsOf: timestamp(b.now()),
		}
	}
	b.mu.RUnlock()
	if !ok {
		writeProblem(w, r, http.StatusNotFound, codeNotFound, detailAccountNotFound)
		return
	}
	writeJSON(w, r, http.StatusOK, v)
}

// listTransactions answers GET /v1/accounts/{account_id}/transactions (A2), newest first. from
// and to are inclusive dates in China Standard Time.
func (b *Bank) listTransactions(w http.ResponseWriter, r *http.Request, params []string) {
	id := params[0]
	q, bad := query(r, "from", "to", "page_size", "page_token")
	if bad == nil && !validID(id) {
		bad = invalid("account_id", "must be 6 to 32 letters or digits")
	}
	from, to := q.Get("from"), q.Get("to")
	if bad == nil && from != "" {
		_, bad = parseDate("from", from)
	}
	if bad == nil && to != "" {
		_, bad = parseDate("to", to)
	}
	if bad == nil && from != "" && to != "" && from > to {
		bad = invalid("from", "must not be after to")
	}
	size, bad2 := pageSize(q)
	cursor, bad3 := seqCursor(q)
	if bad = firstBad(bad, bad2, bad3); bad != nil {
		writeProblem(w, r, http.StatusBadRequest, codeRequestInvalid, bad.detail)
		return
	}

	b.mu.RLock()
	a, ok := b.ownedAccount(r, b.customerOf(r), id)
	page := []txnView{}
	next := ""
	if ok {
		var last int64
		for i := len(a.txns) - 1; i >= 0; i-- {
			t := &a.txns[i]
			day := t.at.In(cst).Format(time.DateOnly)
			if cursor > 0 && t.seq >= cursor || from != "" && day < from || to != "" && day > to {
				continue
			}
			if len(page) == size {
				next = pageToken(strconv.FormatInt(last, 10))
				break
			}
			page = append(page, viewTxn(t))
			last = t.seq
		}
	}
	b.mu.RUnlock()
	if !ok {
		writeProblem(w, r, http.StatusNotFound, codeNotFound, detailAccountNotFound)
		return
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"account_id": id, "transactions": page, "next_page_token": next})
}

// seqCursor decodes the page token of the transaction list: the serial of the last transaction
// returned; 0 means the first page.
func seqCursor(q url.Values) (int64, *badRequest) {
	key, bad := pageKey(q)
	if bad != nil || key == "" {
		return 0, bad
	}
	n, err := strconv.ParseInt(key, 10, 64)
	if err != nil || n <= 0 {
		return 0, invalid("page_token", "is not a token this API issued")
	}
	return n, nil
}

// listHoldings answers GET /v1/holdings (A2): the authorized user's product holdings.
func (b *Bank) listHoldings(w http.ResponseWriter, r *http.Request, _ []string) {
	if _, bad := query(r); bad != nil {
		writeProblem(w, r, http.StatusBadRequest, codeRequestInvalid, bad.detail)
		return
	}
	list := []holdingView{}
	var total fen
	if c := b.customerOf(r); c != nil {
		b.mu.RLock()
		for i := range b.holdings[c.id] {
			h := &b.holdings[c.id][i]
			list = append(list, viewHolding(h))
			total += h.marketValue
		}
		b.mu.RUnlock()
	}
	writeJSON(w, r, http.StatusOK, map[string]any{
		"holdings": list, "total_market_value": total.String(), "currency": currencyCNY,
	})
}

// listExchangeRates answers GET /v1/exchange-rates (A1, deprecated in the catalog; the gateway
// adds the Deprecation and Sunset headers). Quotes are per 100 units of foreign currency.
func (b *Bank) listExchangeRates(w http.ResponseWriter, r *http.Request, _ []string) {
	if _, bad := query(r); bad != nil {
		writeProblem(w, r, http.StatusBadRequest, codeRequestInvalid, bad.detail)
		return
	}
	now := b.now().In(cst)
	published := time.Date(now.Year(), now.Month(), now.Day(), 9, 30, 0, 0, cst)
	if now.Before(published) {
		published = published.AddDate(0, 0, -1)
	}
	rates := []map[string]string{}
	for _, x := range exchangeRates() {
		rates = append(rates, map[string]string{
			"currency": x.currency, "name": x.name, "buying_rate": fixed4(x.buying),
			"cash_buying_rate": fixed4(x.cashBuying), "selling_rate": fixed4(x.selling),
			"middle_rate": fixed4(x.middleRate),
		})
	}
	writeJSON(w, r, http.StatusOK, map[string]any{
		"base_currency": currencyCNY, "unit": 100, "published_at": timestamp(published), "rates": rates,
	})
}

// getLoyaltyPoints answers GET /v1/loyalty-points. The API is terminated (T/PCAC 0008-2020 7):
// the gateway answers for it and never calls the bank, but the bank refuses it too.
func (b *Bank) getLoyaltyPoints(w http.ResponseWriter, r *http.Request, _ []string) {
	writeProblem(w, r, http.StatusGone, codeServiceTerminated,
		"积分查询服务已于2026年6月30日终止，请改用沙盒银行手机银行App查询积分。The loyalty points service was terminated on 2026-06-30; use the Sandbox Bank mobile app instead.")
}

// noQuery refuses any query parameter on operations that define none, and checks the id in
// the path.
func noQuery(r *http.Request, field, id string) *badRequest {
	if _, bad := query(r); bad != nil {
		return bad
	}
	if !validID(id) {
		return invalid(field, "must be 6 to 32 letters or digits")
	}
	return nil
}

// firstBad returns the first non-nil problem.
func firstBad(list ...*badRequest) *badRequest {
	for _, b := range list {
		if b != nil {
			return b
		}
	}
	return nil
}

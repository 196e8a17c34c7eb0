package sandbox

import (
	"strconv"
	"time"
)

// JSON shapes of the responses. They mirror the schemas of openapi.yaml one to one; the
// response validation test keeps the two in step.

type productView struct {
	ID                  string  `json:"id"`
	Name                string  `json:"name"`
	Type                string  `json:"type"`
	RiskLevel           string  `json:"risk_level"`
	ExpectedAnnualYield *string `json:"expected_annual_yield"`
	NAV                 *string `json:"nav"`
	MinAmount           string  `json:"min_amount"`
	TermDays            int     `json:"term_days"`
	Currency            string  `json:"currency"`
	Status              string  `json:"status"`
	Issuer              string  `json:"issuer"`
}

func viewProduct(p *product) productView {
	v := productView{
		ID: p.id, Name: p.name, Type: p.kind, RiskLevel: p.risk, MinAmount: p.minAmount.String(),
		TermDays: p.termDays, Currency: currencyCNY, Status: p.status, Issuer: p.issuer,
	}
	if p.yieldBP >= 0 {
		y := fen(p.yieldBP).String() + "%"
		v.ExpectedAnnualYield = &y
	}
	if p.nav > 0 {
		n := fixed4(p.nav)
		v.NAV = &n
	}
	return v
}

type accountView struct {
	ID               string `json:"id"`
	CardNumber       string `json:"card_number"`
	HolderName       string `json:"holder_name"`
	HolderIDNumber   string `json:"holder_id_number"`
	HolderPhone      string `json:"holder_phone"`
	Type             string `json:"type"`
	Currency         string `json:"currency"`
	Balance          string `json:"balance"`
	AvailableBalance string `json:"available_balance"`
	CreditLimit      string `json:"credit_limit,omitempty"`
	Status           string `json:"status"`
	Branch           string `json:"branch"`
	OpenedOn         string `json:"opened_on"`
}

func viewAccount(a *account) accountView {
	v := accountView{
		ID: a.id, CardNumber: a.cardNumber, HolderName: a.owner.name, HolderIDNumber: a.owner.idNumber,
		HolderPhone: a.owner.phone, Type: a.kind, Currency: currencyCNY, Balance: a.balance.String(),
		AvailableBalance: a.available().String(), Status: a.status, Branch: a.branch, OpenedOn: a.openedOn,
	}
	if a.kind == typeCredit {
		v.CreditLimit = a.creditLimit.String()
	}
	return v
}

type balanceView struct {
	AccountID        string `json:"account_id"`
	Currency         string `json:"currency"`
	Balance          string `json:"balance"`
	AvailableBalance string `json:"available_balance"`
	Status           string `json:"status"`
	AsOf             string `json:"as_of"`
}

type txnView struct {
	ID                  string `json:"id"`
	PostedAt            string `json:"posted_at"`
	Amount              string `json:"amount"`
	Direction           string `json:"direction"`
	Currency            string `json:"currency"`
	BalanceAfter        string `json:"balance_after"`
	CounterpartyName    string `json:"counterparty_name"`
	CounterpartyAccount string `json:"counterparty_account"`
	Description         string `json:"description"`
	Channel             string `json:"channel"`
}

func viewTxn(t *txn) txnView {
	return txnView{
		ID: t.id, PostedAt: timestamp(t.at), Amount: t.amount.String(), Direction: t.direction,
		Currency: currencyCNY, BalanceAfter: t.balanceAfter.String(), CounterpartyName: t.cpName,
		CounterpartyAccount: t.cpAccount, Description: t.description, Channel: t.channel,
	}
}

type holdingView struct {
	ProductID        string  `json:"product_id"`
	ProductName      string  `json:"product_name"`
	ProductType      string  `json:"product_type"`
	RiskLevel        string  `json:"risk_level"`
	AccountID        string  `json:"account_id"`
	Shares           string  `json:"shares"`
	Cost             string  `json:"cost"`
	MarketValue      string  `json:"market_value"`
	UnrealizedProfit string  `json:"unrealized_profit"`
	Currency         string  `json:"currency"`
	PurchasedOn      string  `json:"purchased_on"`
	MaturesOn        *string `json:"matures_on"`
}

func viewHolding(h *holding) holdingView {
	v := holdingView{
		ProductID: h.product.id, ProductName: h.product.name, ProductType: h.product.kind,
		RiskLevel: h.product.risk, AccountID: h.accountID, Shares: fen(h.shares).String(),
		Cost: h.cost.String(), MarketValue: h.marketValue.String(),
		UnrealizedProfit: (h.marketValue - h.cost).String(), Currency: currencyCNY, PurchasedOn: h.purchasedOn,
	}
	if h.maturesOn != "" {
		m := h.maturesOn
		v.MaturesOn = &m
	}
	return v
}

type entryView struct {
	SerialNumber        string `json:"serial_number"`
	AccountNumber       string `json:"account_number"`
	CounterpartyAccount string `json:"counterparty_account"`
	Direction           string `json:"direction"`
	BusinessType        string `json:"business_type"`
	Amount              string `json:"amount"`
	Fee                 string `json:"fee"`
	Currency            string `json:"currency"`
	Status              string `json:"status"`
	TransactionTime     string `json:"transaction_time"`
	SettlementDate      string `json:"settlement_date"`
	AppID               string `json:"app_id,omitempty"`
}

// timestamp formats t as RFC 3339 in China Standard Time, e.g. 2026-11-26T10:15:00+08:00.
func timestamp(t time.Time) string { return t.In(cst).Format(time.RFC3339) }

// fixed4 formats a non-negative value kept in 1/10000 units, e.g. 12876 → "1.2876".
func fixed4(v int64) string {
	frac := strconv.FormatInt(v%10000, 10)
	for len(frac) < 4 {
		frac = "0" + frac
	}
	return strconv.FormatInt(v/10000, 10) + "." + frac
}

package sandbox

import "time"

// User is a seeded customer of the demo bank, as the demo prints it and as the assessor profile
// names its test users.
type User struct {
	// ID is the bank's user id: the value the gateway sends in Bankguard-User.
	ID string
	// Name is the customer's legal name (2–3 Chinese characters).
	Name string
	// IDNumber is the 18-character resident identity number (GB 11643-1999, valid check digit).
	IDNumber string
	// Phone is the 11-digit mainland mobile number.
	Phone string
	// PaymentPassword is the customer's six-digit payment password (支付密码), which a transfer
	// must carry sealed to the bank's key. Demo data only: it is exported so that the demo and
	// the assessor can make transfers as the customer; a real bank never discloses it.
	PaymentPassword string
	// Accounts are the customer's accounts, in the order GET /v1/accounts lists them.
	Accounts []Account
}

// Account is one of a user's accounts as it stands at the moment Users is called.
type Account struct {
	// ID is the account id used in API paths (/v1/accounts/{account_id}/…).
	ID string
	// CardNumber is the card number: a Sandbox Bank BIN and a valid Luhn check digit.
	CardNumber string
	// Type is debit, savings or credit.
	Type string
	// Currency is the ISO 4217 code; always CNY.
	Currency string
	// Balance is the ledger balance as a decimal string with two places; negative on a credit
	// card means money owed.
	Balance string
	// AvailableBalance is what can be spent now: the balance, the unused credit line of a credit
	// card, or 0.00 when the account is frozen.
	AvailableBalance string
	// CreditLimit is the credit line of a credit card, empty for other types.
	CreditLimit string
	// Status is active or frozen.
	Status string
	// Branch is the opening branch (开户网点).
	Branch string
	// OpenedOn is the opening date, YYYY-MM-DD.
	OpenedOn string
}

// Account types and statuses.
const (
	typeDebit   = "debit"
	typeSavings = "savings"
	typeCredit  = "credit"

	statusActive = "active"
	statusFrozen = "frozen"

	directionDebit  = "debit"  // money leaves the account
	directionCredit = "credit" // money enters the account

	currencyCNY = "CNY"
)

// customer is the bank's record of a user.
type customer struct {
	id, name, idNumber, phone string
	accounts                  []*account
	paymentPassword           string        // six digits, drawn by assignPaymentPasswords
	password                  passwordGuard // failed attempts and lockout
}

// account is the bank's ledger of one account; the Bank's mutex guards balance and txns.
type account struct {
	id, cardNumber, kind, status, branch, openedOn string
	owner                                          *customer
	balance, creditLimit                           fen
	txns                                           []txn // oldest first
}

// available is what the account can pay out now.
func (a *account) available() fen {
	switch {
	case a.status != statusActive:
		return 0
	case a.kind == typeCredit:
		return a.creditLimit + a.balance
	default:
		return a.balance
	}
}

// txn is one posted transaction. seq orders an account's transactions and is the page cursor.
type txn struct {
	seq          int64
	id           string
	at           time.Time
	amount       fen // always positive; direction says which way it moved
	direction    string
	balanceAfter fen
	cpName       string
	cpAccount    string
	description  string
	channel      string
}

// product is a wealth management product, time deposit or fund on the bank's shelf.
type product struct {
	id, name, kind, risk, issuer, status string
	yieldBP                              int64 // expected annual yield in basis points; <0: none
	minAmount                            fen
	termDays                             int
	nav                                  int64 // funds: net asset value in 1/10000 yuan
}

// holding is a customer's position in a product.
type holding struct {
	product     *product
	accountID   string
	shares      int64 // hundredths of a share
	cost        fen
	marketValue fen
	purchasedOn string
	maturesOn   string // empty for open-ended products
}

// settlement is one clearing entry of the reconciliation file.
type settlement struct {
	serial, accountNumber, counterparty, direction, businessType string
	appID                                                        string // transfers made through the open API
	failed                                                       bool   // returned by the counterparty bank
	amount, fee                                                  fen
	at                                                           time.Time
}

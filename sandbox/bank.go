package sandbox

import (
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm2"
)

// Headers the gateway sets on the requests it forwards. The sandbox trusts them: it is only
// reachable through the gateway, which authenticated the application and the user, and which
// removes any the client sent. The last three come with user-bound calls only.
const (
	headerRequestID = "X-Request-Id"
	headerAppID     = "Bankguard-App-Id"
	headerUser      = "Bankguard-User"     // the bank's user id the call is made for
	headerConsent   = "Bankguard-Consent"  // the consent the call runs under
	headerAccounts  = "Bankguard-Accounts" // the account ids the user shared, comma-separated
)

// seededUsers is how many customers New creates.
const seededUsers = 4

// Options configures a Bank. The zero value is usable, but a bank without PaymentKey refuses
// every transfer.
type Options struct {
	// Seed determines the generated data: the same seed on the same day gives the same bank,
	// and the same seed gives the same payment passwords on any day.
	Seed int64
	// Now is the bank's clock; nil means time.Now. The transaction history ends at Now() as
	// read once in New, transfers are stamped with it, and payment password lockouts are timed
	// by it.
	Now func() time.Time
	// PaymentKey is the bank's SM2 encryption private key, to which applications seal payment
	// passwords (fieldcrypt.SealValue; docs/envelope.md §4). It is an encryption key, never a
	// signing key. Nil fails closed: every POST /v1/transfers is refused with 422
	// payment_password_incorrect, since no password can be verified (T/PCAC 0008-2020 3.2.5,
	// 6.2.2).
	PaymentKey *sm2.PrivateKey
	// PaymentKeyID is the key id of PaymentKey, as sealed values name it
	// ("sm2:v1:<keyid>:<base64>"). A value sealed under another key id never opens.
	PaymentKeyID string
	// RequireUser makes the user-bound APIs (/v1/accounts*, /v1/holdings, /v1/transfers)
	// answer 401 user_required to a request without Bankguard-User, as a bank's core system
	// behind a gateway that authorizes users does. False keeps the demo fallback: such a
	// request acts as the first seeded user.
	RequireUser bool
}

// Bank is the demo bank: its ledger lives in memory and it answers the APIs of its OpenAPI
// document. It is safe for concurrent use.
type Bank struct {
	now    func() time.Time
	seed   int64
	routes []route

	paymentKey   *sm2.PrivateKey // nil: every transfer is refused
	paymentKeyID string
	requireUser  bool

	products []product // sorted by id, read-only
	byProd   map[string]*product

	mu        sync.RWMutex // guards everything below and the accounts' balances and txns
	customers []*customer
	byAccount map[string]*account // account id → account
	byCard    map[string]*account // card number → account
	holdings  map[string][]holding
	transfers []settlement // clearing entries of transfers made through the API
	seq       int64        // last transaction serial issued
	// idempotent holds each user's completed transfers by Idempotency-Key (idempotency.go).
	idempotent map[string]map[string]idempotentTransfer
}

// New creates a bank with data generated from opts.Seed.
func New(opts Options) *Bank {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	g := newGenerator(opts.Seed, now())
	b := &Bank{
		now:          now,
		seed:         opts.Seed,
		paymentKey:   opts.PaymentKey,
		paymentKeyID: opts.PaymentKeyID,
		requireUser:  opts.RequireUser,
		idempotent:   map[string]map[string]idempotentTransfer{},
		products:     catalog(),
		byProd:       map[string]*product{},
		customers:    g.customers(seededUsers),
		byAccount:    map[string]*account{},
		byCard:       map[string]*account{},
		holdings:     map[string][]holding{},
	}
	assignPaymentPasswords(opts.Seed, b.customers)
	sort.Slice(b.products, func(i, j int) bool { return b.products[i].id < b.products[j].id })
	for i := range b.products {
		b.byProd[b.products[i].id] = &b.products[i]
	}
	for i, c := range b.customers {
		for _, a := range c.accounts {
			b.byAccount[a.id] = a
			b.byCard[a.cardNumber] = a
		}
		b.holdings[c.id] = g.holdings(c, b.products, i == 0)
	}
	b.seq = g.seq
	b.routes = b.routeTable()
	return b
}

// Users returns the seeded users with their accounts as they stand now. The result is a copy.
func (b *Bank) Users() []User {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([]User, 0, len(b.customers))
	for _, c := range b.customers {
		u := User{ID: c.id, Name: c.name, IDNumber: c.idNumber, Phone: c.phone, PaymentPassword: c.paymentPassword}
		for _, a := range c.accounts {
			acc := Account{
				ID:               a.id,
				CardNumber:       a.cardNumber,
				Type:             a.kind,
				Currency:         currencyCNY,
				Balance:          a.balance.String(),
				AvailableBalance: a.available().String(),
				Status:           a.status,
				Branch:           a.branch,
				OpenedOn:         a.openedOn,
			}
			if a.kind == typeCredit {
				acc.CreditLimit = a.creditLimit.String()
			}
			u.Accounts = append(u.Accounts, acc)
		}
		out = append(out, u)
	}
	return out
}

// ServeHTTP answers one API call. Unknown paths get 404 and known paths with another method
// 405 with Allow, both as problem+json; a panic becomes a bare 500 (T/PCAC 0008-2020 3.1-7).
func (b *Bank) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			writeProblem(w, r, http.StatusInternalServerError, codeInternal, "the bank could not complete the request")
		}
	}()
	segs := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	var allow []string
	for _, rt := range b.routes {
		params, ok := rt.match(segs)
		if !ok {
			continue
		}
		if rt.method == r.Method {
			rt.handle(w, r, params)
			return
		}
		allow = append(allow, rt.method)
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeProblem(w, r, http.StatusMethodNotAllowed, codeMethodNotAllowed, "method "+r.Method+" is not allowed on this path")
		return
	}
	writeProblem(w, r, http.StatusNotFound, codeNotFound, "no API at this path")
}

// route is one operation of the OpenAPI document; "{}" in segs matches one path parameter.
type route struct {
	method string
	segs   []string
	handle func(w http.ResponseWriter, r *http.Request, params []string)
}

// match reports whether path segments fit the route, and returns the path parameters.
func (rt route) match(segs []string) ([]string, bool) {
	if len(segs) != len(rt.segs) {
		return nil, false
	}
	var params []string
	for i, s := range rt.segs {
		switch {
		case s == "{}" && segs[i] != "":
			params = append(params, segs[i])
		case s != segs[i]:
			return nil, false
		}
	}
	return params, true
}

// routeTable lists the operations of openapi.yaml.
func (b *Bank) routeTable() []route {
	r := func(method, path string, h func(http.ResponseWriter, *http.Request, []string)) route {
		return route{method: method, segs: strings.Split(strings.TrimPrefix(path, "/"), "/"), handle: h}
	}
	return []route{
		r(http.MethodGet, "/v1/products", b.listProducts),
		r(http.MethodGet, "/v1/products/{}", b.getProduct),
		r(http.MethodGet, "/v1/accounts", b.userBound(b.listAccounts)),
		r(http.MethodGet, "/v1/accounts/{}/balance", b.userBound(b.getBalance)),
		r(http.MethodGet, "/v1/accounts/{}/transactions", b.userBound(b.listTransactions)),
		r(http.MethodPost, "/v1/transfers", b.userBound(b.createTransfer)),
		r(http.MethodGet, "/v1/holdings", b.userBound(b.listHoldings)),
		r(http.MethodGet, "/v1/reconciliation/{}", b.getReconciliation),
		r(http.MethodGet, "/v1/exchange-rates", b.listExchangeRates),
		r(http.MethodGet, "/v1/loyalty-points", b.getLoyaltyPoints),
	}
}

// customerOf returns the user the gateway authorized for r, or nil when the id is not a
// customer of the bank (such a caller owns nothing and sees empty lists and 404s).
//
// Without Bankguard-User, a bank with RequireUser has no customer (userBound refused the call
// already), and one without acts as the first seeded user: the demo fallback from before the
// gateway authorized users.
func (b *Bank) customerOf(r *http.Request) *customer {
	id := strings.TrimSpace(r.Header.Get(headerUser))
	if id == "" {
		if b.requireUser {
			return nil
		}
		return b.customers[0]
	}
	for _, c := range b.customers {
		if c.id == id {
			return c
		}
	}
	return nil
}

// ownedAccount returns the account with the given id if c owns it and, when the gateway named
// the accounts the user shared (Bankguard-Accounts), it is one of them. An account of another
// customer, or one not shared, is reported exactly like one that does not exist (T/PCAC
// 0008-2020 3.3.2, object level authorization). The caller holds b.mu.
func (b *Bank) ownedAccount(r *http.Request, c *customer, id string) (*account, bool) {
	a, ok := b.byAccount[id]
	if !ok || c == nil || a.owner != c {
		return nil, false
	}
	if shared, named := sharedAccounts(r); named && !shared[id] {
		return nil, false
	}
	return a, true
}

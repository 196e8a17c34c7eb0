package sandbox

import (
	"math/rand/v2"
	"sort"
	"strconv"
	"time"
)

// cst is China Standard Time, the bank's business time zone (no tzdata needed).
var cst = time.FixedZone("CST", 8*60*60)

// historyDays is how far back the generated transactions go.
const historyDays = 90

// generator makes the bank's seeded data. It is used once, inside New, and then dropped.
type generator struct {
	rng       *rand.Rand
	now       time.Time // in cst
	seq       int64     // last transaction serial issued
	issued    map[string]bool
	corporate map[string]string // merchant name → corporate account number
}

func newGenerator(seed int64, now time.Time) *generator {
	return &generator{
		rng:       rand.New(rand.NewPCG(uint64(seed), 0x5ab0_c0de_ba_7c)),
		now:       now.In(cst),
		issued:    map[string]bool{},
		corporate: map[string]string{},
	}
}

// between returns a uniformly random integer in [lo, hi].
func (g *generator) between(lo, hi int64) int64 { return lo + g.rng.Int64N(hi-lo+1) }

// digits returns n random ASCII digits.
func (g *generator) digits(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + g.rng.IntN(10))
	}
	return string(b)
}

// unique calls gen until it returns a value not issued before, and records it.
func (g *generator) unique(gen func() string) string {
	for {
		if v := gen(); !g.issued[v] {
			g.issued[v] = true
			return v
		}
	}
}

// card returns a card number of the given length under bin, with a valid Luhn check digit.
func (g *generator) card(bin string, length int) string {
	return g.unique(func() string {
		p := bin + g.digits(length-len(bin)-1)
		return p + string(luhnCheckDigit(p))
	})
}

// customers makes n customers with their accounts and transaction histories.
func (g *generator) customers(n int) []*customer {
	order := g.rng.Perm(len(areas))
	out := make([]*customer, 0, n)
	for i := 0; i < n; i++ {
		ar := areas[order[i%len(areas)]]
		male := g.rng.IntN(2) == 0
		c := &customer{
			id:    g.unique(func() string { return "U" + g.digits(9) }),
			name:  g.unique(func() string { return g.name(male) }),
			phone: g.unique(func() string { return g.pick(mobilePrefixes) + g.digits(8) }),
		}
		c.idNumber = g.unique(func() string { return g.idNumber(ar.code, male) })
		for _, kind := range g.accountKinds(i) {
			c.accounts = append(c.accounts, g.account(c, kind, ar.branch))
		}
		// One account of the third customer is frozen (司法冻结), for the account_frozen case.
		if i == 2 {
			c.accounts[len(c.accounts)-1].status = statusFrozen
		}
		out = append(out, c)
	}
	return out
}

// accountKinds chooses the account types of the i-th customer: the first customer has one of
// each, the others a debit card and one or two more.
func (g *generator) accountKinds(i int) []string {
	switch {
	case i == 0:
		return []string{typeDebit, typeSavings, typeCredit}
	case i == 1:
		return []string{typeDebit, typeCredit}
	case i == 2:
		return []string{typeDebit, typeSavings}
	case g.rng.IntN(2) == 0:
		return []string{typeDebit, typeSavings}
	default:
		return []string{typeDebit, typeSavings, typeCredit}
	}
}

func (g *generator) pick(list []string) string { return list[g.rng.IntN(len(list))] }

// name returns a two- or three-character Chinese name.
func (g *generator) name(male bool) string {
	given := givenFemale
	if male {
		given = givenMale
	}
	n := g.pick(surnames) + g.pick(given)
	if g.rng.IntN(3) > 0 {
		n += g.pick(given)
	}
	return n
}

// idNumber returns a resident identity number (GB 11643-1999): area code, birth date (an adult
// of 22 to 60), sequence code whose last digit is odd for men and even for women, and the check
// character.
func (g *generator) idNumber(areaCode string, male bool) string {
	birth := g.now.AddDate(-60, 0, int(g.between(0, 38*365)))
	sex := 2 * g.rng.IntN(5)
	if male {
		sex++
	}
	p := areaCode + birth.Format("20060102") + g.digits(2) + strconv.Itoa(sex)
	return p + string(gbCheckDigit(p))
}

// account opens an account of the given type and posts its history.
func (g *generator) account(c *customer, kind, branch string) *account {
	a := &account{
		id:       g.unique(func() string { return "AC" + g.digits(10) }),
		kind:     kind,
		status:   statusActive,
		branch:   branch,
		owner:    c,
		openedOn: g.now.AddDate(0, 0, -int(g.between(200, 1500))).Format(time.DateOnly),
	}
	switch kind {
	case typeDebit:
		a.cardNumber = g.card(binDebit, 19)
		a.balance = fen(g.between(2000_00, 60000_00))
	case typeSavings:
		a.cardNumber = g.card(binSavings, 19)
		a.balance = fen(g.between(30000_00, 400000_00))
	case typeCredit:
		a.cardNumber = g.card(binCredit, 16)
		a.creditLimit = fen(g.between(2, 8) * 10000_00)
		a.balance = -fen(g.between(0, int64(a.creditLimit)/4))
	}
	g.history(a)
	return a
}

// event is a transaction before its amount is checked against the balance.
type event struct {
	at       time.Time
	k        kind
	amount   fen
	computed func(balance fen) fen // scheduled events whose amount depends on the balance
	party    *party                // a fixed counterparty; nil draws one from k.pool
}

// party is the other side of a transaction.
type party struct{ name, number string }

// history posts 20–60 transactions over the last historyDays days, starting from the opening
// balance in a.balance; a.balance ends as the current balance.
func (g *generator) history(a *account) {
	kinds := debitKinds
	switch a.kind {
	case typeSavings:
		kinds = savingsKinds
	case typeCredit:
		kinds = creditKinds
	}
	events := g.scheduled(a)
	for n := g.between(20, 50); n > 0; n-- {
		k := g.weighted(kinds)
		events = append(events, event{at: g.randomTime(), k: k, amount: fen(g.between(int64(k.min), int64(k.max)))})
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].at.Before(events[j].at) })
	for _, e := range events {
		amount := e.amount
		if e.computed != nil {
			if amount = e.computed(a.balance); amount <= 0 {
				continue
			}
		}
		k := e.k
		if k.direction == directionDebit && amount > a.available() {
			// Not enough money: a relative sends some instead (or, on a card, it is repaid).
			k = kind{description: "转账", direction: directionCredit, channel: channelMobile, pool: poolPerson}
			if a.kind == typeCredit {
				k = kind{description: "信用卡还款", direction: directionCredit, channel: channelMobile, pool: poolOwn}
			}
		}
		p := e.party
		if k != e.k || p == nil {
			p = g.counterparty(a, k.pool)
		}
		g.post(a, e.at, k, amount, p)
	}
}

// post appends one transaction to a and moves its balance.
func (g *generator) post(a *account, at time.Time, k kind, amount fen, p *party) {
	if k.direction == directionDebit {
		a.balance -= amount
	} else {
		a.balance += amount
	}
	g.seq++
	a.txns = append(a.txns, txn{
		seq:          g.seq,
		id:           serialNumber("TX", at, g.seq),
		at:           at,
		amount:       amount,
		direction:    k.direction,
		balanceAfter: a.balance,
		cpName:       p.name,
		cpAccount:    p.number,
		description:  k.description,
		channel:      k.channel,
	})
}

// serialNumber formats a serial number (流水号): a two-letter prefix (TX transaction, TR
// transfer), the date in China Standard Time and a ten-digit serial.
func serialNumber(prefix string, at time.Time, seq int64) string {
	s := strconv.FormatInt(seq, 10)
	for len(s) < 10 {
		s = "0" + s
	}
	return prefix + at.In(cst).Format("20060102") + s
}

// scheduled returns the monthly and quarterly events of an account: salary, utilities and rent
// on a debit card, interest on savings, the full repayment of a credit card.
func (g *generator) scheduled(a *account) []event {
	var out []event
	salary := fen(g.between(6000_00, 30000_00))
	employer := g.counterparty(a, poolEmployer)
	paysRent := g.rng.IntN(2) == 0
	rent := fen(g.between(25, 70) * 100_00)
	landlord := g.counterparty(a, poolPerson)
	start := g.now.AddDate(0, 0, -historyDays)
	for d := start; !d.After(g.now); d = d.AddDate(0, 0, 1) {
		at := func(hour int) time.Time {
			return time.Date(d.Year(), d.Month(), d.Day(), hour, g.rng.IntN(60), g.rng.IntN(60), 0, cst)
		}
		switch {
		case a.kind == typeDebit && d.Day() == 10:
			out = append(out, event{at: at(10), amount: salary, party: employer,
				k: kind{description: "工资", direction: directionCredit, channel: channelPayroll}})
		case a.kind == typeDebit && d.Day() == 18:
			out = append(out, event{at: at(3), amount: fen(g.between(80_00, 420_00)),
				k: kind{description: "水电费", direction: directionDebit, channel: channelAuto, pool: poolUtility}})
		case a.kind == typeDebit && d.Day() == 1 && paysRent:
			out = append(out, event{at: at(20), amount: rent, party: landlord,
				k: kind{description: "房租", direction: directionDebit, channel: channelMobile, pool: poolPerson}})
		case a.kind == typeSavings && d.Day() == 21 && d.Month()%3 == 0:
			out = append(out, event{at: at(1), computed: func(b fen) fen { return percentOf(b, 5) },
				k: kind{description: "利息", direction: directionCredit, channel: channelSystem, pool: poolBank}})
		case a.kind == typeCredit && d.Day() == 5:
			out = append(out, event{at: at(9), computed: func(b fen) fen { return -b },
				k: kind{description: "信用卡还款", direction: directionCredit, channel: channelAuto, pool: poolOwn}})
		}
	}
	// Keep only what has already happened and lies inside the window.
	kept := out[:0]
	for _, e := range out {
		if e.at.After(start) && !e.at.After(g.now) {
			kept = append(kept, e)
		}
	}
	return kept
}

// weighted picks a kind with probability proportional to its weight.
func (g *generator) weighted(kinds []kind) kind {
	total := 0
	for _, k := range kinds {
		total += k.weight
	}
	r := g.rng.IntN(total)
	for _, k := range kinds {
		if r -= k.weight; r < 0 {
			return k
		}
	}
	return kinds[len(kinds)-1]
}

// randomTime returns a moment in the last historyDays days, between 07:00 and 23:00.
func (g *generator) randomTime() time.Time {
	start := g.now.AddDate(0, 0, -historyDays)
	for {
		d := start.AddDate(0, 0, g.rng.IntN(historyDays+1))
		t := time.Date(d.Year(), d.Month(), d.Day(), 7+g.rng.IntN(16), g.rng.IntN(60), g.rng.IntN(60), 0, cst)
		if t.After(start) && !t.After(g.now) {
			return t
		}
	}
}

// counterparty draws the other side of a transaction from a pool, with its raw account number.
func (g *generator) counterparty(a *account, pool string) *party {
	switch pool {
	case poolOwn:
		if own := a.owner.accounts; len(own) > 0 && own[0] != a {
			return &party{a.owner.name, own[0].cardNumber}
		}
		return &party{a.owner.name, g.card(g.pick(otherBankBINs), 19)}
	case poolPerson:
		return &party{g.name(g.rng.IntN(2) == 0), g.card(g.pick(otherBankBINs), 19)}
	}
	name := g.pick(merchants[pool])
	n, ok := g.corporate[name]
	if !ok {
		// Corporate settlement accounts carry no Luhn digit: a branch prefix and a serial.
		n = g.unique(func() string { return "31" + g.digits(2) + "0" + g.digits(15) })
		g.corporate[name] = n
	}
	return &party{name, n}
}

package sandbox

import (
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"time"
)

// Reconciliation (对账): the clearing entries of one business day. This is the data the gateway
// field-encrypts with SM4 and integrity-protects (T/PCAC 0008-2020 3.2.5); the bank serves it
// in the clear. It is an application-level API: it does not depend on Bankguard-User.

// Clearing statuses and business types.
const (
	clearSettled = "settled"
	clearPending = "pending"
	clearFailed  = "failed"

	bizCardPayment = "card_payment"
	bizInterbank   = "interbank_transfer"
	bizIntrabank   = "intrabank_transfer"
	bizPayroll     = "payroll"
)

// getReconciliation answers GET /v1/reconciliation/{date} (A2).
func (b *Bank) getReconciliation(w http.ResponseWriter, r *http.Request, params []string) {
	_, bad := query(r)
	var day time.Time
	if bad == nil {
		day, bad = parseDate("date", params[0])
	}
	now := b.now().In(cst)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, cst)
	if bad == nil && day.After(today) {
		bad = invalid("date", "must not be in the future")
	}
	if bad != nil {
		writeProblem(w, r, http.StatusBadRequest, codeRequestInvalid, bad.detail)
		return
	}
	entries := b.settlements(day, now)
	status := clearSettled
	if day.Equal(today) {
		status = clearPending // today's batch is settled after the day closes
	}
	views := make([]entryView, 0, len(entries))
	var total, fees fen
	for _, s := range entries {
		st := status
		if status == clearSettled && s.failed {
			st = clearFailed
		}
		views = append(views, entryView{
			SerialNumber: s.serial, AccountNumber: s.accountNumber, CounterpartyAccount: s.counterparty,
			Direction: s.direction, BusinessType: s.businessType, Amount: s.amount.String(),
			Fee: s.fee.String(), Currency: currencyCNY, Status: st, TransactionTime: timestamp(s.at),
			SettlementDate: day.Format(time.DateOnly), AppID: s.appID,
		})
		if st != clearFailed {
			total += s.amount
			fees += s.fee
		}
	}
	writeJSON(w, r, http.StatusOK, map[string]any{
		"date": day.Format(time.DateOnly), "currency": currencyCNY, "entry_count": len(views),
		"total_amount": total.String(), "total_fee": fees.String(), "entries": views,
	})
}

// settlements returns the clearing entries of day up to now: a batch generated from the seed
// and the date (the same every time it is asked for), plus the transfers made through the API
// that day.
func (b *Bank) settlements(day, now time.Time) []settlement {
	rng := rand.New(rand.NewPCG(uint64(b.seed), uint64(day.Unix())))
	var cards []*account
	for _, c := range b.customers {
		for _, a := range c.accounts {
			if a.status == statusActive {
				cards = append(cards, a)
			}
		}
	}
	date := day.Format("20060102")
	var out []settlement
	for i, n := 0, 6+rng.IntN(9); i < n; i++ {
		a := cards[rng.IntN(len(cards))]
		s := settlement{
			serial:        "ST" + date + fourDigits(rng.IntN(10000)) + fourDigits(i+1),
			accountNumber: a.cardNumber,
			at:            day.Add(time.Duration(rng.Int64N(int64(24*time.Hour/time.Second))) * time.Second),
		}
		switch k := rng.IntN(10); {
		case k < 4 || a.kind == typeCredit:
			s.businessType, s.direction = bizCardPayment, directionDebit
			s.amount = fen(10_00 + rng.Int64N(5000_00))
			s.fee = percentOf(s.amount, 38) // merchant discount, 0.38%
			s.counterparty = corporateNumber(rng)
		case k < 7:
			s.businessType, s.direction = bizInterbank, directionDebit
			s.amount = fen(100_00 + rng.Int64N(50000_00))
			s.fee = min(percentOf(s.amount, 2), 50_00) // 0.02%, at most 50 yuan
			s.counterparty = otherBankCard(rng)
		case k < 9:
			s.businessType, s.direction = bizInterbank, directionCredit
			s.amount = fen(100_00 + rng.Int64N(50000_00))
			s.counterparty = otherBankCard(rng)
		default:
			s.businessType, s.direction = bizPayroll, directionCredit
			s.amount = fen(5000_00 + rng.Int64N(25000_00))
			s.counterparty = corporateNumber(rng)
		}
		s.failed = rng.IntN(15) == 0 // an occasional returned item, for the reconciler to chase
		if !s.at.After(now) {
			out = append(out, s)
		}
	}
	b.mu.RLock()
	for _, s := range b.transfers {
		if s.at.In(cst).Format("20060102") == date {
			out = append(out, s)
		}
	}
	b.mu.RUnlock()
	sort.SliceStable(out, func(i, j int) bool { return out[i].at.Before(out[j].at) })
	return out
}

func fourDigits(n int) string {
	s := strconv.Itoa(n)
	for len(s) < 4 {
		s = "0" + s
	}
	return s
}

// otherBankCard returns a 19-digit card number of another demo bank with a valid Luhn digit.
func otherBankCard(rng *rand.Rand) string {
	p := otherBankBINs[rng.IntN(len(otherBankBINs))]
	for len(p) < 18 {
		p += string(rune('0' + rng.IntN(10)))
	}
	return p + string(luhnCheckDigit(p))
}

// corporateNumber returns a 20-digit corporate settlement account number.
func corporateNumber(rng *rand.Rand) string {
	p := "31" + strconv.Itoa(10+rng.IntN(90)) + "0"
	for len(p) < 20 {
		p += string(rune('0' + rng.IntN(10)))
	}
	return p
}

package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"
)

// maxBodyBytes bounds the request body the bank reads.
const maxBodyBytes = 16 << 10

// transferRequest is a validated POST /v1/transfers body. password is the sealed payment
// password, still sealed: it is opened only by checkPaymentPassword.
type transferRequest struct {
	fromAccountID, toCard, toName, memo string
	password                            string
	amount                              fen
}

type transferView struct {
	ID             string `json:"id"`
	Status         string `json:"status"`
	FromAccountID  string `json:"from_account_id"`
	FromCardNumber string `json:"from_card_number"`
	ToCardNumber   string `json:"to_card_number"`
	ToName         string `json:"to_name"`
	Amount         string `json:"amount"`
	Fee            string `json:"fee"`
	Currency       string `json:"currency"`
	Memo           string `json:"memo"`
	BalanceAfter   string `json:"balance_after"`
	CreatedAt      string `json:"created_at"`
	// ConsentID is the consent the transfer ran under (Bankguard-Consent), so the user and the
	// bank can tell which authorization each fund transaction used (T/PCAC 0008-2020 6.2.2).
	ConsentID string `json:"consent_id,omitempty"`
}

// createTransfer answers POST /v1/transfers (A2 fund transaction): once the body and the
// Idempotency-Key are valid it verifies the payment password (T/PCAC 0008-2020 6.2.2), and only
// then looks at the accounts: it answers a retried key with the transfer already made, or debits
// the paying account and, when the payee card is one of the bank's own, credits it, all in the
// same critical section. The response names the consent the transfer ran under.
func (b *Bank) createTransfer(w http.ResponseWriter, r *http.Request, _ []string) {
	req, status, code, detail := readTransfer(w, r)
	if code != "" {
		writeProblem(w, r, status, code, detail)
		return
	}
	key, bad := idempotencyKey(r)
	if bad != nil {
		writeProblem(w, r, http.StatusBadRequest, codeRequestInvalid, bad.detail)
		return
	}
	c := b.customerOf(r)
	switch b.checkPaymentPassword(c, req.password) {
	case codePasswordIncorrect:
		writeProblem(w, r, http.StatusUnprocessableEntity, codePasswordIncorrect, detailPasswordIncorrect)
		return
	case codePasswordLocked:
		writeProblem(w, r, http.StatusUnprocessableEntity, codePasswordLocked, detailPasswordLocked)
		return
	}
	now := b.now()

	b.mu.Lock()
	if key != "" && c != nil {
		v, found, conflict := b.recalled(c.id, r.Header.Get(headerAppID), key, req, now)
		switch {
		case conflict:
			b.mu.Unlock()
			writeProblem(w, r, http.StatusUnprocessableEntity, codeIdempotencyConflict, detailIdempotencyConflict)
			return
		case found:
			b.mu.Unlock()
			writeJSON(w, r, http.StatusCreated, v)
			return
		}
	}
	from, ok := b.ownedAccount(r, c, req.fromAccountID)
	switch {
	case !ok:
		status, code, detail = http.StatusNotFound, codeNotFound, detailAccountNotFound
	case from.kind == typeCredit:
		status, code, detail = http.StatusUnprocessableEntity, codeRequestInvalid, "from_account_id: transfers from a credit card account are not supported"
	case from.status == statusFrozen:
		status, code, detail = http.StatusUnprocessableEntity, codeAccountFrozen, "the paying account is frozen"
	case req.toCard == from.cardNumber:
		status, code, detail = http.StatusUnprocessableEntity, codeRequestInvalid, "to_card_number: must differ from the paying account's card"
	case req.amount > from.available():
		status, code, detail = http.StatusUnprocessableEntity, codeInsufficientFunds, "the available balance is less than the amount"
	}
	if code != "" {
		b.mu.Unlock()
		writeProblem(w, r, status, code, detail)
		return
	}
	appID := r.Header.Get(headerAppID)
	v := b.book(from, req, now, appID)
	v.ConsentID = consentOf(r)
	if key != "" {
		b.remember(c.id, appID, key, req, v, now)
	}
	b.mu.Unlock()
	writeJSON(w, r, http.StatusCreated, v)
}

// book posts a checked transfer. The caller holds b.mu for writing.
func (b *Bank) book(from *account, req transferRequest, now time.Time, appID string) transferView {
	b.seq++
	id := serialNumber("TR", now, b.seq)
	from.balance -= req.amount
	from.txns = append(from.txns, txn{
		seq: b.seq, id: serialNumber("TX", now, b.seq), at: now, amount: req.amount, direction: directionDebit,
		balanceAfter: from.balance, cpName: req.toName, cpAccount: req.toCard,
		description: "转账", channel: channelOpenAPI,
	})
	biz := bizInterbank
	if to, ok := b.byCard[req.toCard]; ok {
		biz = bizIntrabank
		b.seq++
		to.balance += req.amount
		to.txns = append(to.txns, txn{
			seq: b.seq, id: serialNumber("TX", now, b.seq), at: now, amount: req.amount, direction: directionCredit,
			balanceAfter: to.balance, cpName: from.owner.name, cpAccount: from.cardNumber,
			description: "转账", channel: channelOpenAPI,
		})
	}
	b.transfers = append(b.transfers, settlement{
		serial: id, accountNumber: from.cardNumber, counterparty: req.toCard, direction: directionDebit,
		businessType: biz, amount: req.amount, at: now, appID: appID,
	})
	return transferView{
		ID: id, Status: "completed", FromAccountID: from.id, FromCardNumber: from.cardNumber,
		ToCardNumber: req.toCard, ToName: req.toName, Amount: req.amount.String(), Fee: fen(0).String(),
		Currency: currencyCNY, Memo: req.memo, BalanceAfter: from.balance.String(), CreatedAt: timestamp(now),
	}
}

// readTransfer reads and validates the body. Schema violations are 400 and business-rule
// violations of a well-formed body 422; every detail names the field.
func readTransfer(w http.ResponseWriter, r *http.Request) (transferRequest, int, string, string) {
	var req transferRequest
	if _, bad := query(r); bad != nil {
		return req, http.StatusBadRequest, codeRequestInvalid, bad.detail
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return req, http.StatusUnsupportedMediaType, codeUnsupportedMedia, "the body must be application/json"
	}
	raw, err := readBody(w, r)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return req, http.StatusRequestEntityTooLarge, codeBodyTooLarge, "the body exceeds " + strconv.Itoa(maxBodyBytes) + " bytes"
		}
		return req, http.StatusBadRequest, codeRequestInvalid, "the body could not be read"
	}
	fields, bad := stringMembers(raw, "from_account_id", "to_card_number", "to_name", "amount", "currency", "memo", "payment_password")
	if bad == nil {
		req, bad = checkTransfer(fields)
	}
	if bad != nil {
		return req, http.StatusBadRequest, codeRequestInvalid, bad.detail
	}
	switch {
	case !luhnValid(req.toCard):
		return req, http.StatusUnprocessableEntity, codeRequestInvalid, "to_card_number: the check digit is wrong (Luhn)"
	case req.amount <= 0:
		return req, http.StatusUnprocessableEntity, codeRequestInvalid, "amount: must be greater than 0.00"
	}
	return req, 0, "", ""
}

// readBody reads at most maxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	return buf.Bytes(), err
}

// stringMembers decodes a JSON object whose members are all strings, refusing members outside
// allowed and duplicate members.
func stringMembers(raw []byte, allowed ...string) (map[string]string, *badRequest) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, &badRequest{detail: "body: must be a JSON object"}
	}
	out := map[string]string{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, &badRequest{detail: "body: is not valid JSON"}
		}
		name, _ := tok.(string)
		if !slices.Contains(allowed, name) {
			return nil, invalid(printable(name), "is not a member of the transfer request")
		}
		if _, dup := out[name]; dup {
			return nil, invalid(name, "appears twice")
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, &badRequest{detail: "body: is not valid JSON"}
		}
		s, ok := v.(string)
		if !ok {
			return nil, invalid(name, "must be a string")
		}
		out[name] = s
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, &badRequest{detail: "body: is not valid JSON"}
	}
	if _, err := dec.Token(); err == nil {
		return nil, &badRequest{detail: "body: must hold exactly one JSON object"}
	}
	return out, nil
}

// checkTransfer applies the schema of TransferRequest in openapi.yaml, except the pattern of
// payment_password: as the bank's core system, the sandbox does not tell a value that is not
// sealed from one that does not open or holds the wrong password; all are
// payment_password_incorrect (a plaintext password included) and count as a failed attempt.
func checkTransfer(f map[string]string) (transferRequest, *badRequest) {
	req := transferRequest{
		fromAccountID: f["from_account_id"], toCard: f["to_card_number"], toName: f["to_name"], memo: f["memo"],
		password: f["payment_password"],
	}
	for _, name := range []string{"from_account_id", "to_card_number", "to_name", "amount", "payment_password"} {
		if _, ok := f[name]; !ok {
			return req, invalid(name, "is required")
		}
	}
	var ok bool
	switch {
	case !validID(req.fromAccountID):
		return req, invalid("from_account_id", "must be 6 to 32 letters or digits")
	case len(req.toCard) < 13 || len(req.toCard) > 19 || !allDigits(req.toCard):
		return req, invalid("to_card_number", "must be 13 to 19 digits")
	case !plainText(req.toName, 1, 64):
		return req, invalid("to_name", "must be 1 to 64 characters without control characters")
	case !plainText(req.memo, 0, 140):
		return req, invalid("memo", "must be at most 140 characters without control characters")
	case utf8.RuneCountInString(req.password) > maxSealedPassword:
		return req, invalid("payment_password", "must be at most 2048 characters")
	}
	if cur, set := f["currency"]; set && cur != currencyCNY {
		return req, invalid("currency", "must be CNY")
	}
	if req.amount, ok = parseAmount(f["amount"]); !ok {
		return req, invalid("amount", "must be a decimal string with at most 12 integer digits and 2 decimals, e.g. \"100.00\"")
	}
	return req, nil
}

// plainText reports whether s is valid UTF-8 of lo to hi characters with no control characters.
func plainText(s string, lo, hi int) bool {
	n := utf8.RuneCountInString(s)
	if !utf8.ValidString(s) || n < lo || n > hi {
		return false
	}
	for _, c := range s {
		if unicode.IsControl(c) {
			return false
		}
	}
	return true
}

// printable makes a client-supplied member name safe to echo in a detail.
func printable(s string) string {
	var out []rune
	for _, c := range s {
		if len(out) == 32 {
			return string(out) + "…"
		}
		if !unicode.IsPrint(c) {
			c = '?'
		}
		out = append(out, c)
	}
	return string(out)
}

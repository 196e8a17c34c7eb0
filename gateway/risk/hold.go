package risk

import (
	"context"
	"crypto/rand"
	"net/http"
	"strings"
	"time"

	"github.com/bankguard/bankguard/pii"
	"github.com/bankguard/bankguard/problem"
)

// HeaderConfirmationID carries the confirmation id of a held transfer in
// the 202 transaction_held response (the problem's detail names it too).
const HeaderConfirmationID = "Bankguard-Confirmation-Id"

// HoldStatus is where a held transfer is in its life.
type HoldStatus string

// The hold statuses. A pending hold becomes confirmed or rejected by the
// bank's decision, or expired after Config.HoldExpiry; a confirmed one
// becomes used by the resubmission it lets through, or expired after
// Config.ResubmitWindow.
const (
	HoldPending   HoldStatus = "pending"
	HoldConfirmed HoldStatus = "confirmed"
	HoldRejected  HoldStatus = "rejected"
	HoldUsed      HoldStatus = "used"
	HoldExpired   HoldStatus = "expired"
)

// Hold is a transfer held for the bank's confirmation. It holds no raw
// personal data: the user is a pseudonym and the payee is masked.
type Hold struct {
	ID     string     `json:"id"`
	Status HoldStatus `json:"status"`
	AppID  string     `json:"app_id"`
	APIID  string     `json:"api_id"`
	// User is the user's pseudonym (as in the audit record).
	User string `json:"user"`
	// Amount is in yuan, "50000.00"; Payee is masked ("621999*********2367").
	Amount string `json:"amount"`
	Payee  string `json:"payee,omitempty"`
	// Rules are the names of the rules that held it.
	Rules []string `json:"rules"`
	// TxnID is the transaction serial number of the held request.
	TxnID     string    `json:"txn_id"`
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt ends the wait for a decision.
	ExpiresAt time.Time `json:"expires_at"`
	DecidedAt time.Time `json:"decided_at,omitzero"`
	DecidedBy string    `json:"decided_by,omitempty"`
	// ResubmitBy ends the window in which a confirmed transfer may be resubmitted.
	ResubmitBy time.Time `json:"resubmit_by,omitzero"`
	// UsedBy is the transaction serial number of the resubmission it let through.
	UsedBy string `json:"used_by,omitempty"`
	// Fingerprint identifies the transfer: a keyed pseudonym of the API,
	// app, user, Idempotency-Key and canonical body.
	Fingerprint string `json:"-"`
}

// StatusAt is the hold's status at now, expiry included.
func (h Hold) StatusAt(now time.Time) HoldStatus {
	switch {
	case h.Status == HoldPending && !now.Before(h.ExpiresAt):
		return HoldExpired
	case h.Status == HoldConfirmed && !now.Before(h.ResubmitBy):
		return HoldExpired
	}
	return h.Status
}

// lastDeadline is the latest time the hold still matters.
func (h Hold) lastDeadline() time.Time {
	t := h.ExpiresAt
	for _, u := range []time.Time{h.ResubmitBy, h.DecidedAt} {
		if u.After(t) {
			t = u
		}
	}
	return t
}

// holdKind separates hold fingerprints from every other pseudonym.
const holdKind pii.Kind = "risk_hold"

// fingerprint identifies the transfer a request asks for: the API, the app,
// the user, the Idempotency-Key and the body without its sealed fields
// (sealed afresh for every request), keyed so that it reveals nothing of
// the body.
func (h *Handler) fingerprint(r *http.Request, t *transfer, body []byte, sealed []string) (string, error) {
	c, err := canonical(body, sealed)
	if err != nil {
		return "", err
	}
	key := strings.Join(r.Header.Values("Idempotency-Key"), "\n")
	material := strings.Join([]string{t.apiID, t.appID, t.user, key, string(c)}, "\x00")
	return h.pseudonyms.Pseudonym(holdKind, material), nil
}

// holdOutcome is what the hold store says about a transfer a hold rule caught.
type holdOutcome int

const (
	holdNew      holdOutcome = iota // held now
	holdWaiting                     // held before, still waiting for the decision
	holdReleased                    // confirmed: this resubmission passes (the hold is used)
	holdDeclined                    // the bank rejected it
)

// resolveHold finds the transfer's earlier hold, uses up its confirmation
// if it has one, or holds the transfer anew.
func (h *Handler) resolveHold(ctx context.Context, t *transfer, rules []string) (Hold, holdOutcome, error) {
	prev, ok, err := h.holds.Latest(ctx, t.fingerprint)
	if err != nil {
		return Hold{}, 0, err
	}
	if ok {
		switch prev.StatusAt(t.now) {
		case HoldPending:
			return prev, holdWaiting, nil
		case HoldRejected:
			return prev, holdDeclined, nil
		case HoldConfirmed:
			used := prev
			used.Status, used.UsedBy = HoldUsed, t.txnID
			swapped, err := h.holds.Swap(ctx, used, HoldConfirmed)
			if err != nil {
				return Hold{}, 0, err
			}
			if swapped {
				return used, holdReleased, nil
			}
			// Another resubmission used it first: this one is held anew.
		}
	}
	hold := Hold{
		ID:          "hold_" + strings.ToLower(rand.Text()),
		Status:      HoldPending,
		AppID:       t.appID,
		APIID:       t.apiID,
		User:        t.user,
		Amount:      t.amount.String(),
		Payee:       t.payeeMasked,
		Rules:       rules,
		TxnID:       t.txnID,
		CreatedAt:   t.now,
		ExpiresAt:   t.now.Add(h.cfg.HoldExpiry),
		Fingerprint: t.fingerprint,
	}
	if err := h.holds.Create(ctx, hold); err != nil {
		return Hold{}, 0, err
	}
	return hold, holdNew, nil
}

// restoreHold gives back a confirmation that a resubmission used but the
// backend did not carry out: the app may try again within the window.
func (h *Handler) restoreHold(ctx context.Context, used Hold) error {
	back := used
	back.Status, back.UsedBy = HoldConfirmed, ""
	_, err := h.holds.Swap(ctx, back, HoldUsed)
	return err
}

// heldError answers a held transfer: 202 problem+json with code
// transaction_held, the confirmation id in the Bankguard-Confirmation-Id
// header and in the detail. It is returned as an error, like a refusal, so
// that the edge (or the response-signing stage) renders it once and the
// stages on the way pass it through untouched.
func (h *Handler) heldError(hold Hold) *problem.Error {
	return problem.Newf(problem.TransactionHeld,
		"the transfer was not made: it awaits the bank's confirmation (confirmation id %s). Once it is confirmed, "+
			"resubmit the same transfer, with the same body and Idempotency-Key, within %d minutes",
		hold.ID, int(h.cfg.ResubmitWindow/time.Minute)).
		WithHeader(HeaderConfirmationID, hold.ID)
}

package sandbox

import (
	"crypto/sha256"
	"encoding/binary"
	"net/http"
	"time"
)

// Idempotency keys of POST /v1/transfers (draft-ietf-httpapi-idempotency-key-header): a client
// that does not know whether its transfer went through retries with the same Idempotency-Key,
// and the bank answers with the transfer it already made instead of debiting twice.
//
//   - Keys are the user's own, and within the user's the application's own
//     (Bankguard-App-Id): keys are made up by each application, so two applications may well
//     pick the same one for the same user, and neither may learn about or replay the other's
//     transfer. A key is kept for idempotencyWindow after the transfer.
//   - Only a completed transfer is remembered: a refused one moved no money, and its retry is
//     judged afresh.
//   - "The same request" is the same transfer: the same paying account, payee card, payee name,
//     amount and memo. The payment password is not part of it, because it is sealed afresh for
//     every request (a retry carries a different ciphertext); it is still verified on every
//     request, replays included, before the stored transfer is returned.
//   - The same key with another transfer is 422 idempotency_conflict, and nothing is booked.

const (
	headerIdempotencyKey = "Idempotency-Key"
	// idempotencyWindow is how long a user's key is remembered.
	idempotencyWindow = 24 * time.Hour
	// maxIdempotencyKey bounds a key's length.
	maxIdempotencyKey = 255
)

const (
	detailIdempotencyKey      = "Idempotency-Key: must be 1 to 255 visible ASCII characters, optionally in double quotes, and sent once"
	detailIdempotencyConflict = "the Idempotency-Key was already used for a different transfer"
)

// idempotentTransfer is a completed transfer remembered under its key.
type idempotentTransfer struct {
	fingerprint [sha256.Size]byte
	view        transferView
	expires     time.Time
}

// idempotencyKey reads the Idempotency-Key header: absent is "", a malformed one is refused.
// The value may be a structured-field string ("…", as the draft writes it) or a bare token.
func idempotencyKey(r *http.Request) (string, *badRequest) {
	values := r.Header.Values(headerIdempotencyKey)
	switch len(values) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", &badRequest{detail: detailIdempotencyKey}
	}
	k := values[0]
	if len(k) >= 2 && k[0] == '"' && k[len(k)-1] == '"' {
		k = k[1 : len(k)-1]
	}
	if k == "" || len(k) > maxIdempotencyKey {
		return "", &badRequest{detail: detailIdempotencyKey}
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; c <= ' ' || c >= 0x7f || c == '"' || c == '\\' {
			return "", &badRequest{detail: detailIdempotencyKey}
		}
	}
	return k, nil
}

// fingerprint identifies the transfer a request asks for, without its payment password.
func (req transferRequest) fingerprint() [sha256.Size]byte {
	h := sha256.New()
	for _, f := range []string{req.fromAccountID, req.toCard, req.toName, req.memo} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	var amount [8]byte
	binary.BigEndian.PutUint64(amount[:], uint64(req.amount))
	h.Write(amount[:])
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// scopedKey is an application's key within a user's keys.
func scopedKey(appID, key string) string { return appID + "\x00" + key }

// recalled returns the transfer userID made through appID under key, if it is remembered at
// now: found reports a remembered key, and conflict that it was used for another transfer. The
// caller holds b.mu.
func (b *Bank) recalled(userID, appID, key string, req transferRequest, now time.Time) (v transferView, found, conflict bool) {
	e, ok := b.idempotent[userID][scopedKey(appID, key)]
	if !ok || !now.Before(e.expires) {
		return transferView{}, false, false
	}
	if e.fingerprint != req.fingerprint() {
		return transferView{}, true, true
	}
	return e.view, true, false
}

// remember stores a completed transfer under the application's key and forgets the user's
// expired keys. The caller holds b.mu for writing.
func (b *Bank) remember(userID, appID, key string, req transferRequest, v transferView, now time.Time) {
	keys := b.idempotent[userID]
	if keys == nil {
		keys = map[string]idempotentTransfer{}
		b.idempotent[userID] = keys
	}
	for k, e := range keys {
		if !now.Before(e.expires) {
			delete(keys, k)
		}
	}
	keys[scopedKey(appID, key)] = idempotentTransfer{fingerprint: req.fingerprint(), view: v, expires: now.Add(idempotencyWindow)}
}

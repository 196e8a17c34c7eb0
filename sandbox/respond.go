package sandbox

import (
	"encoding/json"
	"net/http"
)

// Problem codes (CONTRACT.md §4). They are stable: the gateway passes a backend's 4xx code on.
const (
	codeNotFound            = "not_found"
	codeRequestInvalid      = "request_invalid"
	codeInsufficientFunds   = "insufficient_funds"
	codeAccountFrozen       = "account_frozen"
	codeInternal            = "internal"
	codeMethodNotAllowed    = "method_not_allowed"
	codeServiceTerminated   = "service_terminated"
	codeUnsupportedMedia    = "unsupported_media_type"
	codeBodyTooLarge        = "body_too_large"
	codePasswordIncorrect   = "payment_password_incorrect" // 422, see checkPaymentPassword
	codePasswordLocked      = "payment_password_locked"    // 422, see checkPaymentPassword
	codeUserRequired        = "user_required"              // 401, see userBound
	codeIdempotencyConflict = "idempotency_conflict"       // 422, see idempotency.go
)

// problemTitle returns the fixed, human-readable title of a code.
func problemTitle(code string) string {
	switch code {
	case codeNotFound:
		return "Not found"
	case codeRequestInvalid:
		return "Request invalid"
	case codeInsufficientFunds:
		return "Insufficient funds"
	case codeAccountFrozen:
		return "Account frozen"
	case codeMethodNotAllowed:
		return "Method not allowed"
	case codeServiceTerminated:
		return "Service terminated"
	case codeUnsupportedMedia:
		return "Unsupported media type"
	case codeBodyTooLarge:
		return "Body too large"
	case codePasswordIncorrect:
		return "Payment password incorrect"
	case codePasswordLocked:
		return "Payment password locked"
	case codeUserRequired:
		return "User required"
	case codeIdempotencyConflict:
		return "Idempotency key reused"
	default:
		return "Internal error"
	}
}

// problem is an RFC 9457 problem detail. detail is always written by this package for the
// client; no Go error text ever reaches it (T/PCAC 0008-2020 3.1-7).
type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Code      string `json:"code"`
	RequestID string `json:"request_id,omitempty"`
}

// writeProblem renders an error as application/problem+json.
func writeProblem(w http.ResponseWriter, r *http.Request, status int, code, detail string) {
	p := problem{
		Type:      "urn:bankguard:problem:" + code,
		Title:     problemTitle(code),
		Status:    status,
		Detail:    detail,
		Code:      code,
		RequestID: r.Header.Get(headerRequestID),
	}
	body, _ := json.Marshal(p) // a struct of strings and an int always marshals
	writeBody(w, r, status, "application/problem+json; charset=utf-8", body)
}

// writeJSON renders a successful response.
func writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeProblem(w, r, http.StatusInternalServerError, codeInternal, "the bank could not complete the request")
		return
	}
	writeBody(w, r, status, "application/json; charset=utf-8", body)
}

func writeBody(w http.ResponseWriter, r *http.Request, status int, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if id := r.Header.Get(headerRequestID); id != "" {
		h.Set(headerRequestID, id)
	}
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

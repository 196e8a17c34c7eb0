// Package problem is bankguard's one error type and its one renderer: RFC 9457
// application/problem+json with a stable, snake_case code (CONTRACT.md §4).
//
// An Error keeps the client-safe message (Code, Detail) apart from the internal
// cause (Err), which is logged and never rendered. Errors never leak stack
// traces, upstream bodies, SQL, host names or versions: T/PCAC 0008-2020 3.1-7.
package problem

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Code is a stable, snake_case error code that clients may switch on.
type Code string

// The error codes of CONTRACT.md §4, plus method_not_allowed, token_missing
// (a user-bound API called without a bearer token, RFC 6750) and the traffic
// and risk controls' app_paused, throttled, request_blocked,
// transaction_held and transaction_rejected.
const (
	RequestInvalid       Code = "request_invalid"
	SignatureMissing     Code = "signature_missing"
	SignatureInvalid     Code = "signature_invalid"
	DigestMismatch       Code = "digest_mismatch"
	TimestampOutOfWindow Code = "timestamp_out_of_window"
	ReplayDetected       Code = "replay_detected"
	AppUnknown           Code = "app_unknown"
	TokenMissing         Code = "token_missing"
	TokenInvalid         Code = "token_invalid"
	TokenExpired         Code = "token_expired"
	TokenRevoked         Code = "token_revoked"
	AppSuspended         Code = "app_suspended"
	APINotGranted        Code = "api_not_granted"
	LevelInsufficient    Code = "level_insufficient"
	ConsentMissing       Code = "consent_missing"
	Blacklisted          Code = "blacklisted"
	ResourceForbidden    Code = "resource_forbidden"
	SecondFactorRequired Code = "second_factor_required"
	NotFound             Code = "not_found"
	MethodNotAllowed     Code = "method_not_allowed"
	ServiceTerminated    Code = "service_terminated"
	BodyTooLarge         Code = "body_too_large"
	UnsupportedMediaType Code = "unsupported_media_type"
	RateLimited          Code = "rate_limited"
	AppPaused            Code = "app_paused"
	Throttled            Code = "throttled"
	RequestBlocked       Code = "request_blocked"
	TransactionHeld      Code = "transaction_held"
	TransactionRejected  Code = "transaction_rejected"
	UpstreamUnavailable  Code = "upstream_unavailable"
	Internal             Code = "internal"
)

// codeInfo is what a code renders as by default.
type codeInfo struct {
	status int
	title  string
}

var codes = map[Code]codeInfo{
	RequestInvalid:       {http.StatusBadRequest, "Request invalid"},
	SignatureMissing:     {http.StatusUnauthorized, "Signature missing"},
	SignatureInvalid:     {http.StatusUnauthorized, "Signature invalid"},
	DigestMismatch:       {http.StatusUnauthorized, "Content digest mismatch"},
	TimestampOutOfWindow: {http.StatusUnauthorized, "Timestamp out of window"},
	ReplayDetected:       {http.StatusUnauthorized, "Replay detected"},
	AppUnknown:           {http.StatusUnauthorized, "Application unknown"},
	TokenMissing:         {http.StatusUnauthorized, "Token missing"},
	TokenInvalid:         {http.StatusUnauthorized, "Token invalid"},
	TokenExpired:         {http.StatusUnauthorized, "Token expired"},
	TokenRevoked:         {http.StatusUnauthorized, "Token revoked"},
	AppSuspended:         {http.StatusForbidden, "Application suspended"},
	APINotGranted:        {http.StatusForbidden, "API not granted"},
	LevelInsufficient:    {http.StatusForbidden, "Authentication level insufficient"},
	ConsentMissing:       {http.StatusForbidden, "Consent missing"},
	Blacklisted:          {http.StatusForbidden, "Blacklisted"},
	ResourceForbidden:    {http.StatusForbidden, "Resource forbidden"},
	SecondFactorRequired: {http.StatusForbidden, "Second factor required"},
	NotFound:             {http.StatusNotFound, "Not found"},
	MethodNotAllowed:     {http.StatusMethodNotAllowed, "Method not allowed"},
	ServiceTerminated:    {http.StatusGone, "Service terminated"},
	BodyTooLarge:         {http.StatusRequestEntityTooLarge, "Body too large"},
	UnsupportedMediaType: {http.StatusUnsupportedMediaType, "Unsupported media type"},
	RateLimited:          {http.StatusTooManyRequests, "Rate limited"},
	AppPaused:            {http.StatusTooManyRequests, "Application paused"},
	Throttled:            {http.StatusTooManyRequests, "Throttled by the bank"},
	RequestBlocked:       {http.StatusForbidden, "Request blocked"},
	TransactionHeld:      {http.StatusAccepted, "Transaction held for confirmation"},
	TransactionRejected:  {http.StatusForbidden, "Transaction rejected"},
	UpstreamUnavailable:  {http.StatusBadGateway, "Upstream unavailable"},
	Internal:             {http.StatusInternalServerError, "Internal error"},
}

// Error is a refusal with a client-safe code and detail and an internal cause.
type Error struct {
	// Status is the HTTP status; 0 means the code's default.
	Status int
	// Code is the stable error code.
	Code Code
	// Detail is a human-readable, client-safe explanation.
	Detail string
	// Header holds extra response headers (Allow, Retry-After…).
	Header http.Header
	// Err is the internal cause: logged, never sent to the client.
	Err error
}

// New returns an error with code and a client-safe detail.
func New(code Code, detail string) *Error {
	return &Error{Code: code, Detail: detail}
}

// Newf is New with a formatted detail. Never format secrets or internal errors into it.
func Newf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Detail: fmt.Sprintf(format, args...)}
}

// Wrap returns an error with code and detail whose internal cause is err.
func Wrap(err error, code Code, detail string) *Error {
	return &Error{Code: code, Detail: detail, Err: err}
}

// WithStatus sets a status other than the code's default (504 for an upstream timeout).
func (e *Error) WithStatus(status int) *Error {
	e.Status = status
	return e
}

// WithHeader adds a response header to send with the error.
func (e *Error) WithHeader(key, value string) *Error {
	if e.Header == nil {
		e.Header = http.Header{}
	}
	e.Header.Add(key, value)
	return e
}

// Error describes the error for logs, including the internal cause.
func (e *Error) Error() string {
	if e.Err != nil {
		return string(e.Code) + ": " + e.Detail + ": " + e.Err.Error()
	}
	return string(e.Code) + ": " + e.Detail
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Err }

// HTTPStatus is the status the error renders with.
func (e *Error) HTTPStatus() int {
	if e.Status != 0 {
		return e.Status
	}
	if info, ok := codes[e.Code]; ok {
		return info.status
	}
	return http.StatusInternalServerError
}

// Title is the short, fixed summary of the code.
func (e *Error) Title() string {
	if info, ok := codes[e.Code]; ok {
		return info.title
	}
	return http.StatusText(e.HTTPStatus())
}

// From turns any error into an *Error. Errors that are not *Error become
// 500 internal with a generic detail: their text never reaches the client.
func From(err error) *Error {
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	return Wrap(err, Internal, "the request could not be processed")
}

// ValidCode reports whether s can be used as an error code: snake_case, 2 to 64 characters.
func ValidCode(s string) bool {
	if len(s) < 2 || len(s) > 64 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return !strings.HasSuffix(s, "_")
}

// TypeURI is the problem type of a code: a stable URN, documented in docs/errors.md.
func TypeURI(code Code) string {
	return "urn:bankguard:problem:" + string(code)
}

// Write renders err as application/problem+json. It is the only place an
// error body is written.
func Write(w http.ResponseWriter, requestID string, err error) {
	pe := From(err)
	h := w.Header()
	for k, vs := range pe.Header {
		h[k] = vs
	}
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	h.Del("Content-Length")
	h.Del("Content-Encoding")
	status := pe.HTTPStatus()
	w.WriteHeader(status)
	_, _ = w.Write(Body(pe, requestID))
}

// document is the JSON form of an Error, members in RFC 9457 order.
type document struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Code      Code   `json:"code"`
	RequestID string `json:"request_id,omitempty"`
}

// Body is the JSON document Write sends.
func Body(pe *Error, requestID string) []byte {
	b, err := json.Marshal(document{
		Type:      TypeURI(pe.Code),
		Title:     pe.Title(),
		Status:    pe.HTTPStatus(),
		Detail:    pe.Detail,
		Code:      pe.Code,
		RequestID: requestID,
	})
	if err != nil { // cannot happen: every member is a string or an int
		return []byte(`{"type":"urn:bankguard:problem:internal","title":"Internal error","status":500,"code":"internal"}`)
	}
	return append(b, '\n')
}

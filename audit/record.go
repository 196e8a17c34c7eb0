// Package audit is bankguard's tamper-evident access log: one record per
// request (CONTRACT.md §5), kept in RFC 6962 Merkle trees whose roots are
// fixed by checkpoints signed with a dedicated audit key.
//
// Complete, integrity-protected access logs: T/PCAC 0008-2020 3.3.3 and 8.3;
// retention: 6.1.1. The design is in docs/design/audit-and-pii.md.
package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Log names: each record class is its own Merkle tree, so each can be kept
// for its own retention period.
const (
	// LogTransaction holds records of transaction APIs (by default A2).
	LogTransaction = "transaction"
	// LogInterface holds records of other APIs and of requests refused
	// before an API was known.
	LogInterface = "interface"
)

// Logs lists the log names.
var Logs = []string{LogTransaction, LogInterface}

// Result values.
const (
	ResultSuccess = "success"
	ResultFailure = "failure"
)

// Record is one request's audit record. Its canonical JSON encoding, member
// order as below, is the Merkle leaf.
type Record struct {
	Log       string          `json:"log"`
	Seq       uint64          `json:"seq"`
	TxnID     string          `json:"txn_id"`
	Time      time.Time       `json:"timestamp"`
	AppID     string          `json:"app_id"`
	APIID     string          `json:"api_id"`
	Method    string          `json:"method"`
	KeyID     string          `json:"keyid"`
	LatencyMS int64           `json:"latency_ms"`
	Result    string          `json:"result"`
	Status    int             `json:"status"`
	ErrorCode string          `json:"error_code"`
	User      string          `json:"user"`
	ClientIP  string          `json:"client_ip"`
	Body      json.RawMessage `json:"body,omitempty"`
}

// Canonical returns the record's leaf data: compact JSON as encoding/json
// writes it, fixed member order, the time in UTC to the millisecond.
func (r *Record) Canonical() ([]byte, error) {
	return appendCanonical(make([]byte, 0, 384), r)
}

// ParseCanonical decodes leaf data and checks that it is canonical: that
// encoding the decoded record again gives the same bytes.
func ParseCanonical(data []byte) (*Record, error) {
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("audit: record is not valid JSON: %w", err)
	}
	again, err := r.Canonical()
	if err != nil {
		return nil, err
	}
	if string(again) != string(data) {
		return nil, errors.New("audit: record is not in canonical form")
	}
	return &r, nil
}

// Validate checks the fields every record must have.
func (r *Record) Validate() error {
	switch {
	case r.Log != LogTransaction && r.Log != LogInterface:
		return fmt.Errorf("audit: unknown log %q", r.Log)
	case r.TxnID == "":
		return errors.New("audit: txn_id is required")
	case r.Time.IsZero():
		return errors.New("audit: timestamp is required")
	case r.Result != ResultSuccess && r.Result != ResultFailure:
		return fmt.Errorf("audit: result %q is not success or failure", r.Result)
	case r.Status < 100 || r.Status > 999:
		return fmt.Errorf("audit: status %d is not an HTTP status", r.Status)
	}
	if len(r.Body) > 0 && !json.Valid(r.Body) {
		return errors.New("audit: body is not JSON")
	}
	return nil
}

// Entry is a stored record: its canonical data and leaf hash.
type Entry struct {
	Record
	// Data is the canonical encoding the leaf hash was computed over.
	Data []byte
	// Leaf is the record's Merkle leaf hash.
	Leaf []byte
}

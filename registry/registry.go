// Package registry holds the gateway's catalogue: applications (应用方), their
// credentials and the APIs the bank exposes, and the storage interfaces for
// them. Implementations live in store/.
//
// Application identity by App_ID with a secret, a key pair or a client
// certificate: T/PCAC 0008-2020 3.2.1 and 5.2.1.
package registry

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrNotFound is returned by stores for a missing record.
var ErrNotFound = errors.New("registry: not found")

// Level is an API's security level (JR/T 0185-2020): A1 for information
// services, A2 for account and fund services.
type Level int

// The API levels.
const (
	A1 Level = 1
	A2 Level = 2
)

// String returns "A1" or "A2".
func (l Level) String() string {
	switch l {
	case A1:
		return "A1"
	case A2:
		return "A2"
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// ParseLevel parses "A1" or "A2".
func ParseLevel(s string) (Level, error) {
	switch s {
	case "A1":
		return A1, nil
	case "A2":
		return A2, nil
	}
	return 0, fmt.Errorf("level %q is not A1 or A2", s)
}

// MarshalText implements encoding.TextMarshaler.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (l *Level) UnmarshalText(b []byte) error {
	v, err := ParseLevel(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// AppStatus is where an application is in its lifecycle.
type AppStatus string

// The application statuses. Only active applications may call APIs.
const (
	AppPending   AppStatus = "pending"
	AppActive    AppStatus = "active"
	AppSuspended AppStatus = "suspended"
	AppExited    AppStatus = "exited"
)

// Valid reports whether s is a known status.
func (s AppStatus) Valid() bool {
	switch s {
	case AppPending, AppActive, AppSuspended, AppExited:
		return true
	}
	return false
}

// App is an application party (应用方) registered with the bank.
type App struct {
	// ID is the App_ID, unique across the bank.
	ID string
	// Name is shown to people (consent pages, reports).
	Name   string
	Status AppStatus
	// ClientCertPEM is the app's registered TLS client certificate, if any.
	// When set, A2 calls must come over a TLS connection presenting it.
	ClientCertPEM []byte
	// EncryptionKeyID and EncryptionKeyPEM are the app's SM2 encryption
	// public key, to which clearing data is encrypted; it is never one of
	// its signing keys.
	EncryptionKeyID  string
	EncryptionKeyPEM []byte
	// RedirectURIs are where the bank's authorization pages may send the
	// user back with a code; a request's redirect_uri must equal one exactly.
	RedirectURIs []string
	// AgreementEnd is when the app's agreement with the bank ends: no user
	// consent outlasts it (T/PCAC 0008-2020 5.3.2).
	AgreementEnd time.Time
	// NotifyURL is where the bank sends the app notices (paused, throttled),
	// signed like its responses; empty: notices reach the bank's operators
	// only.
	NotifyURL string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// CredentialStatus says whether a credential may be used.
type CredentialStatus string

// The credential statuses. A revoked credential is kept for audit and never accepted.
const (
	CredentialActive  CredentialStatus = "active"
	CredentialRevoked CredentialStatus = "revoked"
)

// Credential is a request-signing key registered to exactly one App_ID.
type Credential struct {
	// KeyID is the RFC 9421 keyid, unique across the bank.
	KeyID string
	AppID string
	// Alg is the httpsig algorithm name; the only one this key may be used with.
	Alg string
	// PublicKeyPEM is the app's public key, for asymmetric algorithms.
	PublicKeyPEM []byte
	// Secret is the shared HMAC key, for symmetric algorithms. Stores seal it at rest.
	Secret    []byte
	Status    CredentialStatus
	NotBefore time.Time
	NotAfter  time.Time
	CreatedAt time.Time
}

// ValidAt reports whether the credential may be used at t.
func (c *Credential) ValidAt(t time.Time) bool {
	return c.Status == CredentialActive &&
		(c.NotBefore.IsZero() || !t.Before(c.NotBefore)) &&
		(c.NotAfter.IsZero() || t.Before(c.NotAfter))
}

// APIStatus is where an API is in its lifecycle (T/PCAC 0008-2020 6.3, 7).
type APIStatus string

// The API statuses.
const (
	APIActive     APIStatus = "active"
	APIDeprecated APIStatus = "deprecated"
	APITerminated APIStatus = "terminated"
)

// Valid reports whether s is a known status.
func (s APIStatus) Valid() bool {
	switch s {
	case APIActive, APIDeprecated, APITerminated:
		return true
	}
	return false
}

// API is one operation the bank exposes: a method on a path template.
type API struct {
	// ID is the unified API identifier code (U_API_ID).
	ID      string
	Name    string
	Method  string
	Path    string // template, e.g. /v1/accounts/{account_id}/balance
	Level   Level
	Status  APIStatus
	Version string // interface version of the document it came from
	// Upstream names the backend that serves the API ("builtin:ping" for the gateway's own).
	Upstream string
	// Spec is the API's own OpenAPI 3 document (JSON) holding this one operation.
	Spec []byte

	DeprecatedAt time.Time
	Sunset       time.Time
	Successor    string // link to the replacement's documentation
	TerminatedAt time.Time
	Notice       string // shown to callers of a terminated API
	UpdatedAt    time.Time

	// Protection says what happens to the API's data (audit class and
	// body, masking, encryption, sensitive inputs) and, for user-bound APIs,
	// which consent a call needs (scope, fund, account_param, account_field).
	Protection Protection
}

// Audit record classes: each is its own log with its own retention.
const (
	AuditTransaction = "transaction"
	AuditInterface   = "interface"
)

// Protection is the personal-data and audit handling of one API, declared in
// its OpenAPI x-bankguard block. Paths are JSON-pointer patterns ("*" one
// member or index, "**" any number of segments).
type Protection struct {
	// AuditClass is "transaction" or "interface"; empty means transaction
	// for A2 APIs and interface for A1.
	AuditClass string `json:"audit_class,omitempty"`
	// AuditBody lists the request body fields kept (masked) in the audit
	// record; nothing else of the body is kept.
	AuditBody []string `json:"audit_body,omitempty"`
	// Mask lists masking rules for the response.
	Mask []MaskRule `json:"mask,omitempty"`
	// ScanPII: unlisted response fields are checked by the detectors too.
	// Nil means on for A2 APIs, off for A1.
	ScanPII *bool `json:"scan_pii,omitempty"`
	// Encrypt lists response fields encrypted to the receiving application.
	Encrypt []string `json:"encrypt,omitempty"`
	// Sensitive lists request fields that must arrive encrypted to the bank.
	Sensitive []string `json:"sensitive,omitempty"`

	// The user binding (T/PCAC 0008-2020 5.3.2, least privilege by App_ID,
	// API and user; 3.3.2, unauthorized access). They live here, with the
	// rest of the x-bankguard block, so that every store keeps them with
	// the API.

	// Scope is the consent scope that covers the API ("accounts",
	// "holdings", "transfers"). Empty: the API is application-level and
	// needs no user's access token.
	Scope string `json:"scope,omitempty"`
	// Fund marks a fund transaction API: a call needs a token from a
	// two-factor login (T/PCAC 0008-2020 3.2.2, 5.3.1, 6.2.2). It requires
	// Scope.
	Fund bool `json:"fund,omitempty"`
	// AccountParam names the path parameter that holds an account id; the
	// account must be among those the user shared in the consent
	// (object-level authorization). It requires Scope.
	AccountParam string `json:"account_param,omitempty"`
	// AccountField is a JSON pointer (RFC 6901) to the request body member
	// that holds the account the call acts on (the debited account); the
	// account must be among those the user shared. It requires Scope.
	AccountField string `json:"account_field,omitempty"`
}

// MaskRule is one response masking rule.
type MaskRule struct {
	Path   string `json:"path"`
	Kind   string `json:"kind,omitempty"`   // card, account, id_number, phone, name, email
	Action string `json:"action,omitempty"` // mask (default), pseudonym, drop, keep
}

// UserBound reports whether a call needs a user's access token: the API
// names a consent scope.
func (a *API) UserBound() bool { return a.Protection.Scope != "" }

// Class returns the API's audit class.
func (a *API) Class() string {
	switch {
	case a.Protection.AuditClass != "":
		return a.Protection.AuditClass
	case a.Level == A2:
		return AuditTransaction
	}
	return AuditInterface
}

// ScansPII reports whether unlisted response fields are checked for personal data.
func (a *API) ScansPII() bool {
	if a.Protection.ScanPII != nil {
		return *a.Protection.ScanPII
	}
	return a.Level == A2
}

// Reader reads the catalogue.
type Reader interface {
	Apps(ctx context.Context) ([]App, error)
	App(ctx context.Context, id string) (App, error)
	Credentials(ctx context.Context) ([]Credential, error)
	APIs(ctx context.Context) ([]API, error)
}

// Writer changes the catalogue.
type Writer interface {
	PutApp(ctx context.Context, a App) error
	SetAppStatus(ctx context.Context, id string, s AppStatus) error
	PutCredential(ctx context.Context, c Credential) error
	PutAPI(ctx context.Context, a API) error
}

// Store is a catalogue that can be read and changed.
type Store interface {
	Reader
	Writer
	Close() error
}

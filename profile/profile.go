// Package profile is the assessor profile (CONTRACT.md §6): one JSON file that
// describes a target gateway — where it is, how to trust it, the test
// applications and users, and which endpoints play which role in the checks.
// `bankguard demo` writes one; `bankguard call` and `bankguard assess` read it.
// Secrets are never inline: the profile names files that hold them.
package profile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bankguard/bankguard/httpsig"
)

// Schema is the profile format version this package reads and writes.
const Schema = "bankguard-profile/v1"

// Profile describes a target.
type Profile struct {
	Schema    string    `json:"schema"`
	Target    Target    `json:"target"`
	BankKeys  BankKeys  `json:"bank_keys"`
	Apps      []App     `json:"apps"`
	Users     []User    `json:"users,omitempty"`
	Endpoints Endpoints `json:"endpoints"`

	dir string
}

// Target is where the gateway is and how to trust it.
type Target struct {
	// BaseURL is the gateway's https URL.
	BaseURL string `json:"base_url"`
	// CACert is a PEM file of the CA that issued the gateway's certificate;
	// empty means the system roots.
	CACert string `json:"ca_cert,omitempty"`
	// AdminURL is the admin API, if the assessor may use it.
	AdminURL string `json:"admin_url,omitempty"`
	// AdminClientCert and AdminClientKey authenticate to the admin API.
	AdminClientCert string `json:"admin_client_cert,omitempty"`
	AdminClientKey  string `json:"admin_client_key,omitempty"`
}

// BankKeys says how to obtain the bank's response-signing keys.
type BankKeys struct {
	// URL is the key document, absolute or relative to the base URL.
	URL string `json:"url,omitempty"`
	// Pinned keys, if present, are trusted instead of fetching URL.
	Pinned []PinnedKey `json:"pinned,omitempty"`
	// EncryptionURL is the bank's encryption key document (default
	// /.well-known/bankguard/encryption-keys).
	EncryptionURL string `json:"encryption_url,omitempty"`
}

// PinnedKey is a bank public key kept with the profile.
type PinnedKey struct {
	KeyID         string `json:"keyid"`
	Alg           string `json:"alg"`
	PublicKeyFile string `json:"public_key_file"`
}

// App is a test application.
type App struct {
	AppID string `json:"app_id"`
	Name  string `json:"name,omitempty"`
	// Level is the highest API level the app is registered for: A1 or A2.
	Level string `json:"level"`
	// Status is what the target should think of the app: "active" unless a
	// check needs a suspended one.
	Status      string       `json:"status,omitempty"`
	Credentials []Credential `json:"credentials"`
	// ClientCert and ClientKey are the app's TLS client certificate files.
	ClientCert string `json:"client_cert,omitempty"`
	ClientKey  string `json:"client_key,omitempty"`
	// EncryptionKey is the app's SM2 encryption private key (PEM), which
	// opens the clearing data the bank encrypts to it.
	EncryptionKey string   `json:"encryption_key,omitempty"`
	GrantedAPIs   []string `json:"granted_apis,omitempty"`
	// RedirectURI is the app's registered redirect URI, where the bank's
	// authorization pages send the user back with a code: the assessor
	// reads the code from that redirect without following it.
	RedirectURI string `json:"redirect_uri,omitempty"`
}

// Credential is a request-signing key of a test app.
type Credential struct {
	KeyID string `json:"keyid"`
	Alg   string `json:"alg"`
	// SecretFile holds an HMAC key (base64); PrivateKeyFile a PEM private key.
	SecretFile     string `json:"secret_file,omitempty"`
	PrivateKeyFile string `json:"private_key_file,omitempty"`
}

// User is a test user of the bank (for the authorization flow).
type User struct {
	Username       string `json:"username"`
	PasswordFile   string `json:"password_file,omitempty"`
	TOTPSecretFile string `json:"totp_secret_file,omitempty"`
	// PaymentPasswordFile holds the user's payment password, which fund
	// transfers carry sealed to the bank's encryption key.
	PaymentPasswordFile string   `json:"payment_password_file,omitempty"`
	Accounts            []string `json:"accounts,omitempty"`
}

// Endpoint is a request that plays a role in the checks.
type Endpoint struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	// Body is a JSON request body, if the endpoint takes one.
	Body json.RawMessage `json:"body,omitempty"`
	// App is the app_id to call it as; empty means the first app whose level fits.
	App   string `json:"app,omitempty"`
	APIID string `json:"api_id,omitempty"`
	Level string `json:"level,omitempty"`
	// User, for an API that acts for a user, is the username (of users) the
	// call is made for: the assessor signs in at the bank's pages as that
	// user, consents to Scopes, and sends the access token it gets.
	User   string   `json:"user,omitempty"`
	Scopes []string `json:"scopes,omitempty"`
}

// RateLimited is the endpoint whose rate limit the checks measure.
type RateLimited struct {
	Endpoint
	// Limit calls are allowed per Window (a Go duration, e.g. "1s").
	Limit  int    `json:"limit"`
	Window string `json:"window"`
}

// Endpoints name the requests that play each role; a missing one makes the
// checks that need it not_tested.
type Endpoints struct {
	Ping              *Endpoint    `json:"ping,omitempty"`
	A1Read            *Endpoint    `json:"a1_read,omitempty"`
	A2Read            *Endpoint    `json:"a2_read,omitempty"`
	A2Transfer        *Endpoint    `json:"a2_transfer,omitempty"`
	InvalidParameter  *Endpoint    `json:"invalid_parameter,omitempty"`
	NotGranted        *Endpoint    `json:"not_granted,omitempty"`
	OtherUserResource *Endpoint    `json:"other_user_resource,omitempty"`
	Terminated        *Endpoint    `json:"terminated,omitempty"`
	Deprecated        *Endpoint    `json:"deprecated,omitempty"`
	PersonalData      *Endpoint    `json:"personal_data,omitempty"`
	RateLimited       *RateLimited `json:"rate_limited,omitempty"`
	AuditRecords      *Endpoint    `json:"audit_records,omitempty"`
}

// Load reads and validates a profile file.
func Load(path string) (*Profile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	p, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", path, err)
	}
	abs, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	p.dir = abs
	return p, nil
}

// Parse decodes and validates profile bytes. Unknown fields are refused.
func Parse(b []byte) (*Profile, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("not a valid profile: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("not a valid profile: data after the JSON document")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Path resolves a file named in the profile against the profile's directory.
func (p *Profile) Path(name string) string {
	if name == "" || filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(p.dir, name)
}

// SetDir sets the directory relative file names are resolved against.
func (p *Profile) SetDir(dir string) { p.dir = dir }

// User returns the user with the given username.
func (p *Profile) User(username string) (*User, bool) {
	for i := range p.Users {
		if p.Users[i].Username == username {
			return &p.Users[i], true
		}
	}
	return nil, false
}

// App returns the app with the given id.
func (p *Profile) App(id string) (*App, bool) {
	for i := range p.Apps {
		if p.Apps[i].AppID == id {
			return &p.Apps[i], true
		}
	}
	return nil, false
}

// Validate checks the profile; each problem names the field's path.
func (p *Profile) Validate() error {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	}
	if p.Schema != Schema {
		bad("schema", "must be %q, is %q", Schema, p.Schema)
	}
	if u, err := url.Parse(p.Target.BaseURL); err != nil || u.Scheme != "https" || u.Host == "" {
		bad("target.base_url", "must be an https URL")
	}
	if (p.Target.AdminClientCert == "") != (p.Target.AdminClientKey == "") {
		bad("target.admin_client_cert", "admin_client_cert and admin_client_key go together")
	}
	for i, k := range p.BankKeys.Pinned {
		if k.KeyID == "" || k.PublicKeyFile == "" || !httpsig.Supported(k.Alg) {
			bad(fmt.Sprintf("bank_keys.pinned[%d]", i), "keyid, a supported alg and public_key_file are required")
		}
	}
	if len(p.Apps) == 0 {
		bad("apps", "at least one test app is required")
	}
	seen := map[string]bool{}
	for i, a := range p.Apps {
		at := fmt.Sprintf("apps[%d]", i)
		if a.AppID == "" || seen[a.AppID] {
			bad(at+".app_id", "must be present and unique")
		}
		seen[a.AppID] = true
		switch a.Status {
		case "", "active", "suspended", "pending", "exited":
		default:
			bad(at+".status", "must be active, suspended, pending or exited, is %q", a.Status)
		}
		if a.Level != "A1" && a.Level != "A2" {
			bad(at+".level", "must be A1 or A2, is %q", a.Level)
		}
		if (a.ClientCert == "") != (a.ClientKey == "") {
			bad(at+".client_cert", "client_cert and client_key go together")
		}
		if len(a.Credentials) == 0 {
			bad(at+".credentials", "at least one credential is required")
		}
		for j, c := range a.Credentials {
			validateCredential(fmt.Sprintf("%s.credentials[%d]", at, j), c, bad)
		}
	}
	p.Endpoints.Each(func(name string, e *Endpoint) {
		at := "endpoints." + name
		if e.Method == "" || strings.ToUpper(e.Method) != e.Method {
			bad(at+".method", "must be an upper-case HTTP method")
		}
		if !strings.HasPrefix(e.Path, "/") {
			bad(at+".path", "must start with /")
		}
		if e.App != "" && !seen[e.App] {
			bad(at+".app", "names no app of this profile: %q", e.App)
		}
		if e.User != "" {
			u, ok := p.User(e.User)
			switch {
			case !ok:
				bad(at+".user", "names no user of this profile: %q", e.User)
			case u.PasswordFile == "":
				bad(at+".user", "user %q has no password_file to sign in with", e.User)
			case len(e.Scopes) == 0:
				bad(at+".scopes", "a call for a user needs the scopes to consent to")
			}
			if a, ok := p.App(e.App); e.App == "" || ok && a.RedirectURI == "" {
				bad(at+".app", "a call for a user needs an app with a redirect_uri")
			}
		}
		if len(e.Body) > 0 && !json.Valid(e.Body) {
			bad(at+".body", "must be JSON")
		}
	})
	if rl := p.Endpoints.RateLimited; rl != nil {
		if rl.Limit <= 0 {
			bad("endpoints.rate_limited.limit", "must be a number of calls greater than 0")
		}
		if w, err := time.ParseDuration(rl.Window); err != nil || w <= 0 {
			bad("endpoints.rate_limited.window", "must be a positive duration such as \"1s\" or \"1m\", is %q", rl.Window)
		}
	}
	return errors.Join(errs...)
}

func validateCredential(at string, c Credential, bad func(path, format string, args ...any)) {
	if c.KeyID == "" {
		bad(at+".keyid", "is required")
	}
	if !httpsig.Supported(c.Alg) {
		bad(at+".alg", "%q is not a supported algorithm", c.Alg)
		return
	}
	if httpsig.Symmetric(c.Alg) && (c.SecretFile == "" || c.PrivateKeyFile != "") {
		bad(at, "an %s credential needs secret_file (and no private_key_file)", c.Alg)
	}
	if !httpsig.Symmetric(c.Alg) && (c.PrivateKeyFile == "" || c.SecretFile != "") {
		bad(at, "an %s credential needs private_key_file (and no secret_file)", c.Alg)
	}
}

// Each calls f for every endpoint the profile names, with its field name.
func (e *Endpoints) Each(f func(name string, e *Endpoint)) {
	named := []struct {
		name string
		ep   *Endpoint
	}{
		{"ping", e.Ping}, {"a1_read", e.A1Read}, {"a2_read", e.A2Read}, {"a2_transfer", e.A2Transfer},
		{"invalid_parameter", e.InvalidParameter}, {"not_granted", e.NotGranted},
		{"other_user_resource", e.OtherUserResource}, {"terminated", e.Terminated},
		{"deprecated", e.Deprecated}, {"personal_data", e.PersonalData}, {"audit_records", e.AuditRecords},
	}
	for _, n := range named {
		if n.ep != nil {
			f(n.name, n.ep)
		}
	}
	if e.RateLimited != nil {
		f("rate_limited", &e.RateLimited.Endpoint)
	}
}

// Write stores the profile as indented JSON.
func (p *Profile) Write(path string) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

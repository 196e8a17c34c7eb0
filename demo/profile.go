package demo

import (
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"net/url"
	"os"

	"path/filepath"
	"strings"

	"github.com/bankguard/bankguard/config"
	"github.com/bankguard/bankguard/fieldcrypt"
	"github.com/bankguard/bankguard/httpsig"
	"github.com/bankguard/bankguard/profile"
	"github.com/bankguard/bankguard/sandbox"
)

// WriteProfile writes the assessor profile of the running demo to
// DIR/demo/profile.json and returns its path. gatewayURL and adminURL are
// where the demo listens; users are the sandbox bank's customers.
func WriteProfile(dir, gatewayURL, adminURL string, cfg *config.File, users []sandbox.User) (string, error) {
	demoDir := filepath.Join(dir, "demo")
	rel := func(name string) string { return filepath.Join("..", name) }
	p := &profile.Profile{
		Schema: profile.Schema,
		Target: profile.Target{
			BaseURL: gatewayURL, CACert: rel(caCert),
			AdminURL: adminURL, AdminClientCert: rel(adminCert), AdminClientKey: rel(adminKey),
		},
		BankKeys: profile.BankKeys{URL: "/.well-known/bankguard/keys"},
	}
	for _, app := range Apps {
		pa := profile.App{AppID: app.ID, Name: app.Name, Level: app.Level.String(), Status: string(app.Status)}
		cred := profile.Credential{KeyID: app.KeyID(), Alg: app.Alg}
		appDir := filepath.Join("apps", app.ID)
		if httpsig.Symmetric(app.Alg) {
			cred.SecretFile = filepath.Join(appDir, "secret")
		} else {
			cred.PrivateKeyFile = filepath.Join(appDir, "signing-key.pem")
		}
		if app.ClientCert {
			pa.ClientCert, pa.ClientKey = filepath.Join(appDir, "client.pem"), filepath.Join(appDir, "client-key.pem")
		}
		if app.EncryptionKeyID() != "" {
			pa.EncryptionKey = filepath.Join(appDir, EncryptionKeyFile)
		}
		pa.Credentials = []profile.Credential{cred}
		pa.RedirectURI = RedirectURI(app.ID)
		p.Apps = append(p.Apps, pa)
	}
	for _, u := range users {
		pu := profile.User{Username: strings.ToLower(u.ID)}
		for _, a := range u.Accounts {
			pu.Accounts = append(pu.Accounts, a.ID)
		}
		userDir := filepath.Join("users", u.ID)
		if err := os.MkdirAll(filepath.Join(demoDir, userDir), 0o700); err != nil {
			return "", err
		}
		pu.PasswordFile = filepath.Join(userDir, PasswordFile)
		pu.TOTPSecretFile = filepath.Join(userDir, TOTPSecretFile)
		pu.PaymentPasswordFile = filepath.Join(userDir, "payment-password")
		if err := writePrivate(filepath.Join(demoDir, pu.PaymentPasswordFile), []byte(u.PaymentPassword+"\n")); err != nil {
			return "", err
		}
		p.Users = append(p.Users, pu)
	}
	if len(users) < 2 || len(users[0].Accounts) == 0 || len(users[1].Accounts) == 0 {
		return "", fmt.Errorf("demo: the sandbox needs two users with accounts")
	}
	own, other := users[0].Accounts[0].ID, users[1].Accounts[0].ID
	// The assessor's transfer carries the first user's payment password,
	// sealed to the bank's encryption key (a request signature's nonce
	// keeps even this fixed body from being replayed).
	sealed, err := sealTo(dir, cfg, users[0].PaymentPassword)
	if err != nil {
		return "", err
	}
	transfer, _ := json.Marshal(map[string]string{
		"from_account_id": own, "to_card_number": users[1].Accounts[0].CardNumber,
		"to_name": users[1].Name, "amount": "1.00", "currency": "CNY", "memo": "bankguard assessor probe",
		"payment_password": sealed,
	})
	ep := func(method, path, app string) *profile.Endpoint {
		return &profile.Endpoint{Method: method, Path: path, App: app}
	}
	// Calls to user-bound APIs are made for the first user, who signs in at
	// the bank's pages and consents to the scopes named.
	forUser := func(e *profile.Endpoint, scopes ...string) *profile.Endpoint {
		e.User, e.Scopes = p.Users[0].Username, scopes
		return e
	}
	p.Endpoints = profile.Endpoints{
		Ping:              ep("GET", "/v1/ping", "demo-a1-hmac"),
		A1Read:            ep("GET", "/v1/products", "demo-a1-hmac"),
		A2Read:            forUser(ep("GET", "/v1/accounts/"+url.PathEscape(own)+"/balance", "demo-a2-sm2"), "accounts"),
		A2Transfer:        forUser(&profile.Endpoint{Method: "POST", Path: "/v1/transfers", App: "demo-a2-ecdsa", Body: transfer}, "transfers"),
		InvalidParameter:  ep("GET", "/v1/products?page_size=100000", "demo-a1-hmac"),
		OtherUserResource: forUser(ep("GET", "/v1/accounts/"+url.PathEscape(other)+"/balance", "demo-a2-sm2"), "accounts"),
		Terminated:        ep("GET", "/v1/loyalty-points", "demo-a2-sm2"),
		Deprecated:        ep("GET", "/v1/exchange-rates", "demo-a1-hmac"),
		PersonalData:      forUser(ep("GET", "/v1/accounts", "demo-a2-sm2"), "accounts"),
		AuditRecords:      &profile.Endpoint{Method: "GET", Path: "/admin/v1/audit/records"},
		RateLimited: &profile.RateLimited{Endpoint: *ep("GET", RateLimitedPath, "demo-a1-hmac"),
			Limit: RateLimitedLimit, Window: "1s"},
	}
	if err := p.Validate(); err != nil {
		return "", fmt.Errorf("demo: generated profile is invalid: %w", err)
	}
	path := filepath.Join(demoDir, "profile.json")
	if err := os.MkdirAll(demoDir, 0o700); err != nil {
		return "", err
	}
	if err := p.Write(path); err != nil {
		return "", err
	}
	return path, nil
}

// sealTo seals value to the bank's first encryption key.
func sealTo(dir string, cfg *config.File, value string) (string, error) {
	if len(cfg.EncryptionKeys) == 0 {
		return "", fmt.Errorf("demo: the configuration has no encryption key")
	}
	k := cfg.EncryptionKeys[0]
	b, err := os.ReadFile(filepath.Join(dir, k.PublicKeyFile))
	if err != nil {
		return "", err
	}
	pub, err := httpsig.ParsePublicKeyPEM(b)
	if err != nil {
		return "", err
	}
	ek, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return "", fmt.Errorf("demo: encryption key %s is not an SM2 key", k.KeyID)
	}
	return fieldcrypt.SealValue([]byte(value), ek, k.KeyID)
}
